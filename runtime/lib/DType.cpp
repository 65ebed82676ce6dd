//===- DType.cpp - element types and shapes -------------------------------===//

#include "DType.h"

#include "Status.h"

using namespace weft::runtime;

namespace {
struct DTypeInfo {
  weftDType dtype;
  const char *name;
  size_t bits;
};
// Indexed by the enumerator value.
constexpr DTypeInfo kDTypes[] = {
    {WEFT_DTYPE_F64, "f64", 64}, {WEFT_DTYPE_F32, "f32", 32},
    {WEFT_DTYPE_F16, "f16", 16}, {WEFT_DTYPE_BF16, "bf16", 16},
    {WEFT_DTYPE_I64, "i64", 64}, {WEFT_DTYPE_I32, "i32", 32},
    {WEFT_DTYPE_I16, "i16", 16}, {WEFT_DTYPE_I8, "i8", 8},
    {WEFT_DTYPE_U8, "u8", 8},    {WEFT_DTYPE_I1, "i1", 8},
    {WEFT_DTYPE_I4, "i4", 4},
};
constexpr size_t kNumDTypes = sizeof(kDTypes) / sizeof(kDTypes[0]);

constexpr bool tableIsIndexedByDType() {
  for (size_t i = 0; i < kNumDTypes; ++i)
    if (static_cast<size_t>(kDTypes[i].dtype) != i)
      return false;
  return kNumDTypes == WEFT_DTYPE_I4 + 1;
}
static_assert(tableIsIndexedByDType(), "kDTypes must follow weftDType");
} // namespace

bool weft::runtime::isValidDType(weftDType dtype) {
  return static_cast<size_t>(dtype) < kNumDTypes;
}

size_t weft::runtime::dtypeByteSize(weftDType dtype) {
  return isValidDType(dtype) ? kDTypes[dtype].bits / 8 : 0;
}

std::optional<weftDType> weft::runtime::parseDType(std::string_view name) {
  for (const DTypeInfo &info : kDTypes)
    if (name == info.name)
      return info.dtype;
  return std::nullopt;
}

std::optional<int64_t> weft::runtime::checkedNumElements(const int64_t *shape,
                                                         size_t rank,
                                                         int64_t elementBytes) {
  int64_t product = elementBytes;
  for (size_t i = 0; i < rank; ++i) {
    if (shape[i] < 0 || __builtin_mul_overflow(product, shape[i], &product))
      return std::nullopt;
  }
  return product;
}

int64_t weft::runtime::storageBytes(weftDType dtype, int64_t numElements) {
  if (dtype == WEFT_DTYPE_I4)
    return numElements / 2 + numElements % 2;
  return numElements * static_cast<int64_t>(dtypeByteSize(dtype));
}

std::string weft::runtime::formatShape(const int64_t *shape, size_t rank) {
  std::string out = "[";
  for (size_t i = 0; i < rank; ++i) {
    if (i)
      out += ", ";
    out += shape[i] == -1 ? std::string("?") : std::to_string(shape[i]);
  }
  return out + "]";
}

std::string weft::runtime::formatType(weftDType dtype, const int64_t *shape,
                                      size_t rank) {
  const char *name = weftDTypeGetName(dtype);
  return concat(name ? name : "<invalid dtype>", formatShape(shape, rank));
}

extern "C" {

const char *weftDTypeGetName(weftDType dtype) {
  return isValidDType(dtype) ? kDTypes[dtype].name : nullptr;
}

int weftDTypeFromName(const char *name, weftDType *dtype) {
  if (!name || !dtype)
    return 0;
  std::optional<weftDType> parsed = parseDType(name);
  if (!parsed)
    return 0;
  *dtype = *parsed;
  return 1;
}

size_t weftDTypeGetBitWidth(weftDType dtype) {
  return isValidDType(dtype) ? kDTypes[dtype].bits : 0;
}

} // extern "C"
