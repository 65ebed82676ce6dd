/*===- Base.h - weft runtime: export macros, status, dtypes ---------------===*\
|*                                                                            *|
|* Part of the weft runtime C API. Every call that can fail returns a         *|
|* weftStatus: NULL on success, otherwise an error that the caller owns and   *|
|* releases with weftStatusRelease. The runtime never aborts on bad input.    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef WEFT_RUNTIME_BASE_H
#define WEFT_RUNTIME_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define WEFT_EXTERN_C_BEGIN extern "C" {
#define WEFT_EXTERN_C_END }
#else
#define WEFT_EXTERN_C_BEGIN
#define WEFT_EXTERN_C_END
#endif

#define WEFT_API __attribute__((visibility("default")))

WEFT_EXTERN_C_BEGIN

/// What went wrong; the message says where and why.
typedef enum weftStatusCode {
  WEFT_STATUS_OK = 0,
  /// A bad argument: wrong input count, dtype, rank or static dim, bad shape.
  WEFT_STATUS_INVALID_ARGUMENT = 1,
  /// A file, function or archive entry that does not exist.
  WEFT_STATUS_NOT_FOUND = 2,
  /// A corrupt or inconsistent artifact, manifest or parameter archive.
  WEFT_STATUS_INVALID_FORMAT = 3,
  /// The operating system refused (open, mmap, dlopen).
  WEFT_STATUS_IO_ERROR = 4,
  /// A call that is valid only in another state (params not bound).
  WEFT_STATUS_FAILED_PRECONDITION = 5,
  WEFT_STATUS_OUT_OF_MEMORY = 6,
  /// The compiled code broke the ABI (e.g. returned a wrong static size).
  WEFT_STATUS_INTERNAL = 7,
} weftStatusCode;

/// An error, or NULL for success.
typedef struct weftStatusImpl *weftStatus;

/// WEFT_STATUS_OK for NULL.
WEFT_API weftStatusCode weftStatusGetCode(weftStatus status);
/// A one-line lower-case message; "" for NULL. Valid until the release.
WEFT_API const char *weftStatusGetMessage(weftStatus status);
/// Accepts NULL.
WEFT_API void weftStatusRelease(weftStatus status);
/// "ok", "invalid argument", ...
WEFT_API const char *weftStatusCodeGetName(weftStatusCode code);

/// Element types of the artifact ABI. bf16 and f16 are raw 16-bit words, i1
/// one byte per element, i4 two elements per byte (params only).
typedef enum weftDType {
  WEFT_DTYPE_F64 = 0,
  WEFT_DTYPE_F32 = 1,
  WEFT_DTYPE_F16 = 2,
  WEFT_DTYPE_BF16 = 3,
  WEFT_DTYPE_I64 = 4,
  WEFT_DTYPE_I32 = 5,
  WEFT_DTYPE_I16 = 6,
  WEFT_DTYPE_I8 = 7,
  WEFT_DTYPE_U8 = 8,
  WEFT_DTYPE_I1 = 9,
  WEFT_DTYPE_I4 = 10,
} weftDType;

/// The manifest spelling ("f32", "bf16", ...); NULL for an invalid value.
WEFT_API const char *weftDTypeGetName(weftDType dtype);
/// Parses a manifest spelling; returns 0 when `name` is not a dtype.
WEFT_API int weftDTypeFromName(const char *name, weftDType *dtype);
/// Bits one element occupies in memory: 4 for i4, 8 for i1, 16 for bf16.
WEFT_API size_t weftDTypeGetBitWidth(weftDType dtype);

WEFT_EXTERN_C_END

#endif // WEFT_RUNTIME_BASE_H
