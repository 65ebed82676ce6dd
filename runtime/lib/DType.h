//===- DType.h - element types and shapes -----------------------*- C++ -*-===//
//
// Sizes and spellings of the ABI element types, and overflow-checked shape
// arithmetic shared by tensors, manifests, archives and calls.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_RUNTIME_LIB_DTYPE_H
#define WEFT_RUNTIME_LIB_DTYPE_H

#include "weft-runtime/Base.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::runtime {

/// Bytes per element in memory; 0 for i4, which packs two per byte.
size_t dtypeByteSize(weftDType dtype);

/// Whether `dtype` is one of the enumerators (guards values from C callers).
bool isValidDType(weftDType dtype);

std::optional<weftDType> parseDType(std::string_view name);

/// The product of `shape`, or nullopt when a dim is negative or the product
/// (times `elementBytes`, when given) overflows int64.
std::optional<int64_t> checkedNumElements(const int64_t *shape, size_t rank,
                                          int64_t elementBytes = 1);

/// Bytes of storage for `numElements` elements: ceil(n / 2) for i4.
int64_t storageBytes(weftDType dtype, int64_t numElements);

/// "f32[?, 64]"; -1 dims print as "?".
std::string formatType(weftDType dtype, const int64_t *shape, size_t rank);
inline std::string formatType(weftDType dtype,
                              const std::vector<int64_t> &shape) {
  return formatType(dtype, shape.data(), shape.size());
}

/// "[2, 64]"; -1 prints as "?".
std::string formatShape(const int64_t *shape, size_t rank);

} // namespace weft::runtime

#endif // WEFT_RUNTIME_LIB_DTYPE_H
