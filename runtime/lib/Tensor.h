//===- Tensor.h - weftTensor internals --------------------------*- C++ -*-===//

#ifndef WEFT_RUNTIME_LIB_TENSOR_H
#define WEFT_RUNTIME_LIB_TENSOR_H

#include "weft-runtime/Tensor.h"

#include <cstdint>
#include <vector>

struct weftTensorImpl {
  weftDType dtype;
  std::vector<int64_t> shape;
  int64_t numElements;
  size_t byteSize;
  void *data;
  /// Released with free() (host) or cuda::release (CUDA); nullptr for a
  /// borrowed view. Host allocations come from malloc, so results of
  /// compiled code can be adopted.
  void *allocation;
  weftMemory memory;
};

namespace weft::runtime {

/// Checks a dtype and shape for a tensor (no i4, dims >= 0, no overflow) and
/// computes its element count and byte size.
weftStatus checkTensorType(weftDType dtype, const int64_t *shape, size_t rank,
                           int64_t &numElements, size_t &byteSize);

/// A tensor with uninitialized storage of its own in `memory` (an error
/// status on failure).
weftStatus allocateTensor(weftDType dtype, const int64_t *shape, size_t rank,
                          weftTensor &tensor,
                          weftMemory memory = WEFT_MEMORY_HOST);

/// A tensor whose data is at `data` inside `allocation` in `memory`, which it
/// frees.
weftTensor adoptTensor(weftDType dtype, const int64_t *shape, size_t rank,
                       void *data, void *allocation,
                       weftMemory memory = WEFT_MEMORY_HOST);

} // namespace weft::runtime

#endif // WEFT_RUNTIME_LIB_TENSOR_H
