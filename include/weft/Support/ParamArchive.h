//===- ParamArchive.h - safetensors parameter archives ----------*- C++ -*-===//
//
// Reading, validating and writing the safetensors archives that hold the
// values of `weft.param` tensors, and the rule that binds an archive entry to
// a parameter's logical type (docs/Quantization.md). Used by weft-compile
// (--params) and by the passes that rewrite weights.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_SUPPORT_PARAMARCHIVE_H
#define WEFT_SUPPORT_PARAMARCHIVE_H

#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace mlir::weft {

/// One archive tensor: its safetensors dtype ("F32", "U8", ...), its shape
/// and a view of its row-major little-endian bytes. The bytes belong to the
/// archive (or builder) the tensor came from.
struct ArchiveTensor {
  std::string dtype;
  SmallVector<int64_t> shape;
  StringRef data;

  int64_t getNumElements() const;
};

/// Bytes per element of a safetensors dtype, or 0 for a dtype weft does not
/// read (F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL are read).
unsigned getDtypeSize(StringRef dtype);

/// A safetensors archive read into memory and validated: a well-formed
/// header, known dtypes, byte counts matching the shapes, data offsets inside
/// the file and not overlapping.
class ParamArchive {
public:
  /// Reads the archive at `path`; the error names the file and what is wrong.
  static llvm::Expected<ParamArchive> read(StringRef path);

  ParamArchive(ParamArchive &&) = default;
  ParamArchive &operator=(ParamArchive &&) = default;
  ~ParamArchive();

  StringRef getPath() const { return path; }
  /// The tensor named `name`, or null.
  const ArchiveTensor *lookup(StringRef name) const;
  /// Every tensor name, sorted.
  std::vector<StringRef> getNames() const;
  const llvm::StringMap<std::string> &getMetadata() const { return metadata; }

private:
  ParamArchive() = default;

  std::string path;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<ArchiveTensor> tensors;
  llvm::StringMap<std::string> metadata;
};

/// Collects named tensors and writes them as one safetensors archive (names
/// sorted, header padded to 8 bytes, optional `__metadata__`).
class ParamArchiveBuilder {
public:
  /// Adds a tensor that owns `bytes`; replaces an earlier one of that name.
  void add(StringRef name, StringRef dtype, ArrayRef<int64_t> shape,
           std::string bytes);
  /// Adds a view of `tensor`, whose bytes must outlive write().
  void addView(StringRef name, const ArchiveTensor &tensor);
  bool contains(StringRef name) const { return tensors.contains(name); }
  const ArchiveTensor *lookup(StringRef name) const;
  void setMetadata(StringRef key, StringRef value) {
    metadata[key] = value.str();
  }
  const llvm::StringMap<std::string> &getMetadata() const { return metadata; }

  /// Writes the archive to `path` (replacing it); the error names the file.
  llvm::Error write(StringRef path) const;

private:
  std::deque<std::string> ownedBytes; // stable addresses for the views
  llvm::StringMap<ArchiveTensor> tensors;
  llvm::StringMap<std::string> metadata;
};

/// The logical dtype name of a parameter element type ("f32", "i4", ...), as
/// in artifact manifests, or failure for types that cannot be parameters.
FailureOr<std::string> getLogicalDtype(Type elementType);

/// Why `tensor` cannot bind a parameter of logical dtype `dtype` and shape
/// `shape` (docs/Quantization.md, "Binding archive tensors to weft.param"),
/// e.g. "is F16[4, 8], expected f32[4, 8]"; empty when it can.
std::string getBindingMismatch(const ArchiveTensor &tensor, StringRef dtype,
                               ArrayRef<int64_t> shape);

/// The values of an F32, F16 or BF16 tensor as f32 (exact); an error naming
/// the dtype otherwise.
llvm::Expected<std::vector<float>> decodeFloats(const ArchiveTensor &tensor);

/// `values` as the bytes of an F32, F16 or BF16 tensor, each value rounded to
/// nearest even.
std::string encodeFloats(ArrayRef<float> values, StringRef dtype);

/// `value` rounded to nearest even to F32, F16 or BF16, back as f32.
float roundToDtype(float value, StringRef dtype);

/// The safetensors dtype that stores float element type `type` (F32, F16,
/// BF16), or an empty string.
StringRef getFloatDtype(Type type);

} // namespace mlir::weft

#endif // WEFT_SUPPORT_PARAMARCHIVE_H
