/*===- Tensor.h - weft runtime: host tensors ------------------------------===*\
|*                                                                            *|
|* A weftTensor is a dense row-major tensor: a dtype, a shape and the element *|
|* bytes. It either owns a copy of its data or borrows the caller's memory    *|
|* (weftTensorWrap), which must then outlive it. Its bytes are in host memory *|
|* or in CUDA unified memory, which the host reads and writes through the    *|
|* same pointer and which cuda artifacts use without copying.                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef WEFT_RUNTIME_TENSOR_H
#define WEFT_RUNTIME_TENSOR_H

#include "weft-runtime/Base.h"

WEFT_EXTERN_C_BEGIN

typedef struct weftTensorImpl *weftTensor;

/// Where a tensor's element bytes live.
typedef enum weftMemory {
  WEFT_MEMORY_HOST = 0,
  /// CUDA unified memory of the runtime's device: results of cuda artifacts,
  /// and inputs that several calls share (a cache) without being copied in
  /// each time. The host may read and write it between calls.
  WEFT_MEMORY_CUDA = 1,
} weftMemory;

/// Creates a tensor that owns a copy of `data` (zero-filled when `data` is
/// NULL). `data` holds numel * element size bytes in row-major order. Dims
/// must be >= 0; i4 tensors cannot be created (i4 is for params only).
WEFT_API weftStatus weftTensorCreate(weftDType dtype, const int64_t *shape,
                                     size_t rank, const void *data,
                                     weftTensor *tensor);

/// weftTensorCreate in the given memory. WEFT_MEMORY_CUDA needs a usable
/// CUDA driver and device (FAILED_PRECONDITION naming what is missing).
WEFT_API weftStatus weftTensorCreateIn(weftMemory memory, weftDType dtype,
                                       const int64_t *shape, size_t rank,
                                       const void *data, weftTensor *tensor);

/// Creates a tensor that borrows `data` without copying it; the caller keeps
/// `data` alive and unchanged for the tensor's lifetime. `data` must be
/// aligned to the element size.
WEFT_API weftStatus weftTensorWrap(weftDType dtype, const int64_t *shape,
                                   size_t rank, void *data, weftTensor *tensor);

/// Accepts NULL. Frees the data only when the tensor owns it.
WEFT_API void weftTensorRelease(weftTensor tensor);

WEFT_API weftDType weftTensorGetDType(weftTensor tensor);
WEFT_API weftMemory weftTensorGetMemory(weftTensor tensor);
WEFT_API size_t weftTensorGetRank(weftTensor tensor);
/// `rank` dims, valid for the tensor's lifetime.
WEFT_API const int64_t *weftTensorGetShape(weftTensor tensor);
WEFT_API int64_t weftTensorGetNumElements(weftTensor tensor);
WEFT_API size_t weftTensorGetByteSize(weftTensor tensor);
/// The row-major element bytes (may be NULL when the tensor is empty).
WEFT_API void *weftTensorGetData(weftTensor tensor);

WEFT_EXTERN_C_END

#endif // WEFT_RUNTIME_TENSOR_H
