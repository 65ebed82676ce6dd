//===- Manifest.h - the artifact manifest -----------------------*- C++ -*-===//
//
// The JSON document an artifact exports as `weft_manifest`: the signature of
// each entry function (docs/Runtime.md). Parsing validates everything the
// runtime later relies on, so calls need no further checks of the manifest.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_RUNTIME_LIB_MANIFEST_H
#define WEFT_RUNTIME_LIB_MANIFEST_H

#include "weft-runtime/Base.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::runtime {

constexpr int64_t kDynamicDim = -1;

struct TensorSig {
  /// The archive name (params only).
  std::string name;
  weftDType dtype = WEFT_DTYPE_F32;
  std::vector<int64_t> shape;
  /// Integer inputs used as indices: values must lie in [rangeBegin,
  /// rangeEnd) (optional "range" key; checked before a call).
  bool hasRange = false;
  int64_t rangeBegin = 0, rangeEnd = 0;
  /// Inputs: per dim, empty or a symbol; dims with the same symbol (across
  /// the inputs of a function) must have the same size.
  std::vector<std::string> dimSymbols;
};

struct FunctionSig {
  std::string name;
  std::string symbol;
  std::vector<TensorSig> inputs;
  std::vector<TensorSig> params;
  std::vector<TensorSig> results;
};

struct Manifest {
  std::string target;
  std::vector<FunctionSig> functions;
};

/// Parses and validates a manifest; INVALID_FORMAT errors start with
/// "invalid manifest: ".
weftStatus parseManifest(std::string_view text, Manifest &manifest);

} // namespace weft::runtime

#endif // WEFT_RUNTIME_LIB_MANIFEST_H
