//===- Safetensors.h - memory-mapped safetensors archives -------*- C++ -*-===//
//
// A parameter archive mapped read-only and validated once when opened: header
// length bounds, JSON, dtypes, shapes, offsets inside the data section, sizes
// that match the shapes, and no overlapping entries. Every error names the
// file, and the tensor when there is one.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_RUNTIME_LIB_SAFETENSORS_H
#define WEFT_RUNTIME_LIB_SAFETENSORS_H

#include "weft-runtime/Params.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace weft::runtime {

struct ArchiveEntry {
  std::string name;
  /// The safetensors spelling: "F32", "BF16", "BOOL", ...
  std::string dtype;
  size_t elementSize = 0;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t byteSize = 0;
};

class ParamArchive {
public:
  /// Headers larger than this are rejected as corrupt (as in python/weft).
  static constexpr uint64_t kMaxHeaderBytes = 100 * 1024 * 1024;

  /// Maps and validates the archive at `path`.
  static weftStatus open(const std::string &path,
                         std::shared_ptr<const ParamArchive> &archive);

  ParamArchive(const ParamArchive &) = delete;
  ParamArchive &operator=(const ParamArchive &) = delete;
  ~ParamArchive();

  const std::string &getPath() const { return path; }
  /// Entries in header order.
  const std::vector<ArchiveEntry> &getEntries() const { return entries; }
  const ArchiveEntry *find(std::string_view name) const;

private:
  ParamArchive() = default;
  weftStatus parseHeader(std::string_view header, uint64_t dataSize,
                         const uint8_t *dataStart);

  std::string path;
  void *mapping = nullptr;
  size_t mappingSize = 0;
  std::vector<ArchiveEntry> entries;
  std::unordered_map<std::string_view, size_t> indexByName;
};

} // namespace weft::runtime

struct weftParamsImpl {
  std::shared_ptr<const weft::runtime::ParamArchive> archive;
};

#endif // WEFT_RUNTIME_LIB_SAFETENSORS_H
