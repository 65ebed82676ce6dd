//===- Tensor.cpp - tensors
//-------------------------------------------------===//

#include "Tensor.h"

#include "Cuda.h"
#include "DType.h"
#include "Status.h"

#include <cstdlib>
#include <cstring>
#include <optional>

using namespace weft::runtime;

weftStatus weft::runtime::checkTensorType(weftDType dtype, const int64_t *shape,
                                          size_t rank, int64_t &numElements,
                                          size_t &byteSize) {
  if (!isValidDType(dtype))
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, "invalid dtype ",
                     static_cast<int>(dtype));
  if (dtype == WEFT_DTYPE_I4)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "i4 tensors are not supported (i4 is for params only)");
  if (rank && !shape)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, "null shape for rank ",
                     rank);
  std::optional<int64_t> count = checkedNumElements(shape, rank);
  std::optional<int64_t> bytes =
      checkedNumElements(shape, rank, dtypeByteSize(dtype));
  if (!count || !bytes)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, "invalid shape ",
                     formatShape(shape, rank),
                     " (dims must be >= 0 and the size must fit int64)");
  numElements = *count;
  byteSize = static_cast<size_t>(*bytes);
  return nullptr;
}

weftStatus weft::runtime::allocateTensor(weftDType dtype, const int64_t *shape,
                                         size_t rank, weftTensor &tensor,
                                         weftMemory memory) {
  int64_t numElements;
  size_t byteSize;
  if (weftStatus status =
          checkTensorType(dtype, shape, rank, numElements, byteSize))
    return status;
  void *data = nullptr;
  if (memory == WEFT_MEMORY_CUDA) {
    if (weftStatus status = cuda::ensureReady())
      return status;
    if (weftStatus status = cuda::allocate(byteSize, data))
      return status;
  } else if (byteSize) {
    data = std::malloc(byteSize);
    if (!data)
      return makeError(WEFT_STATUS_OUT_OF_MEMORY, "cannot allocate ", byteSize,
                       " bytes for ", formatType(dtype, shape, rank));
  }
  tensor = new weftTensorImpl{
      dtype, {shape, shape + rank}, numElements, byteSize, data, data, memory};
  return nullptr;
}

weftTensor weft::runtime::adoptTensor(weftDType dtype, const int64_t *shape,
                                      size_t rank, void *data, void *allocation,
                                      weftMemory memory) {
  int64_t numElements = *checkedNumElements(shape, rank);
  return new weftTensorImpl{
      dtype,       {shape, shape + rank},
      numElements, static_cast<size_t>(numElements) * dtypeByteSize(dtype),
      data,        allocation,
      memory};
}

extern "C" {

weftStatus weftTensorCreateIn(weftMemory memory, weftDType dtype,
                              const int64_t *shape, size_t rank,
                              const void *data, weftTensor *tensor) {
  if (!tensor)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftTensorCreate: null tensor pointer");
  *tensor = nullptr;
  if (memory != WEFT_MEMORY_HOST && memory != WEFT_MEMORY_CUDA)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftTensorCreate: invalid memory ",
                     static_cast<int>(memory));
  weftTensor result = nullptr;
  if (weftStatus status = allocateTensor(dtype, shape, rank, result, memory))
    return status;
  if (result->byteSize) {
    if (data)
      std::memcpy(result->data, data, result->byteSize);
    else
      std::memset(result->data, 0, result->byteSize);
  }
  *tensor = result;
  return nullptr;
}

weftStatus weftTensorCreate(weftDType dtype, const int64_t *shape, size_t rank,
                            const void *data, weftTensor *tensor) {
  return weftTensorCreateIn(WEFT_MEMORY_HOST, dtype, shape, rank, data, tensor);
}

weftStatus weftTensorWrap(weftDType dtype, const int64_t *shape, size_t rank,
                          void *data, weftTensor *tensor) {
  if (!tensor)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftTensorWrap: null tensor pointer");
  *tensor = nullptr;
  int64_t numElements;
  size_t byteSize;
  if (weftStatus status =
          checkTensorType(dtype, shape, rank, numElements, byteSize))
    return status;
  if (byteSize && !data)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftTensorWrap: null data for ",
                     formatType(dtype, shape, rank));
  // Compiled code may load elements with their natural alignment.
  if (reinterpret_cast<uintptr_t>(data) % dtypeByteSize(dtype))
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftTensorWrap: data is not aligned to ",
                     dtypeByteSize(dtype), " bytes");
  // Borrowed unified memory is still unified memory.
  weftMemory memory =
      cuda::isUnifiedMemory(data) ? WEFT_MEMORY_CUDA : WEFT_MEMORY_HOST;
  *tensor = new weftTensorImpl{
      dtype, {shape, shape + rank}, numElements, byteSize, data, nullptr,
      memory};
  return nullptr;
}

void weftTensorRelease(weftTensor tensor) {
  if (!tensor)
    return;
  if (tensor->memory == WEFT_MEMORY_CUDA)
    cuda::release(tensor->allocation);
  else
    std::free(tensor->allocation);
  delete tensor;
}

weftDType weftTensorGetDType(weftTensor tensor) { return tensor->dtype; }
weftMemory weftTensorGetMemory(weftTensor tensor) { return tensor->memory; }

size_t weftTensorGetRank(weftTensor tensor) { return tensor->shape.size(); }

const int64_t *weftTensorGetShape(weftTensor tensor) {
  return tensor->shape.data();
}

int64_t weftTensorGetNumElements(weftTensor tensor) {
  return tensor->numElements;
}

size_t weftTensorGetByteSize(weftTensor tensor) { return tensor->byteSize; }

void *weftTensorGetData(weftTensor tensor) { return tensor->data; }

} // extern "C"
