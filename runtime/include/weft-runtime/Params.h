/*===- Params.h - weft runtime: parameter archives ------------------------===*\
|*                                                                            *|
|* A weftParams is a safetensors archive mapped into memory (read-only) and   *|
|* fully validated when opened. Artifacts bind their params from it by name   *|
|* (Artifact.h); a binding keeps the archive alive, so it may be released     *|
|* right after binding.                                                       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef WEFT_RUNTIME_PARAMS_H
#define WEFT_RUNTIME_PARAMS_H

#include "weft-runtime/Base.h"

WEFT_EXTERN_C_BEGIN

typedef struct weftParamsImpl *weftParams;

/// One archive entry. Pointers stay valid while the archive is open.
typedef struct weftParamInfo {
  const char *name;
  /// The safetensors dtype name: "F32", "BF16", "U8", "BOOL", ...
  const char *dtype;
  size_t rank;
  const int64_t *shape;
  /// Little-endian row-major bytes inside the mapping (not necessarily
  /// aligned).
  const void *data;
  size_t byteSize;
} weftParamInfo;

/// Maps and validates `path`: header length, JSON, dtypes, shapes, offsets
/// within the file, sizes matching shapes, no overlapping entries.
WEFT_API weftStatus weftParamsOpen(const char *path, weftParams *params);
/// Accepts NULL. Bindings made from the archive stay valid.
WEFT_API void weftParamsRelease(weftParams params);
WEFT_API size_t weftParamsGetCount(weftParams params);
/// Entries in header order; INVALID_ARGUMENT when `index` is out of range.
WEFT_API weftStatus weftParamsGetInfo(weftParams params, size_t index,
                                      weftParamInfo *info);
/// NOT_FOUND when the archive has no entry `name`.
WEFT_API weftStatus weftParamsFind(weftParams params, const char *name,
                                   weftParamInfo *info);

WEFT_EXTERN_C_END

#endif // WEFT_RUNTIME_PARAMS_H
