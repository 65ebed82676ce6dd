/*===- Artifact.h - weft runtime: artifacts, functions, calls -------------===*\
|*                                                                            *|
|* An artifact is a shared object produced by weft-compile: entry functions   *|
|* plus a JSON manifest of their signatures (docs/Runtime.md has the ABI).    *|
|* Functions are borrowed from their artifact and live as long as it does.    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef WEFT_RUNTIME_ARTIFACT_H
#define WEFT_RUNTIME_ARTIFACT_H

#include "weft-runtime/Base.h"
#include "weft-runtime/Params.h"
#include "weft-runtime/Tensor.h"

WEFT_EXTERN_C_BEGIN

typedef struct weftArtifactImpl *weftArtifact;
typedef struct weftFunctionImpl *weftFunction;

/// The declared type of an input, param or result. Pointers are owned by the
/// artifact.
typedef struct weftTensorSpec {
  /// The archive name for params, NULL for inputs and results.
  const char *name;
  weftDType dtype;
  size_t rank;
  /// `rank` dims, -1 for a dynamic dim.
  const int64_t *shape;
} weftTensorSpec;

/// Loads the shared object at `path` (RTLD_LOCAL), validates its manifest and
/// resolves every entry symbol.
WEFT_API weftStatus weftArtifactOpen(const char *path, weftArtifact *artifact);
/// Accepts NULL. Unloads the code; tensors returned by calls stay valid.
WEFT_API void weftArtifactRelease(weftArtifact artifact);
/// The manifest target ("cpu").
WEFT_API const char *weftArtifactGetTarget(weftArtifact artifact);
WEFT_API size_t weftArtifactGetNumFunctions(weftArtifact artifact);
/// Manifest order; NULL when `index` is out of range.
WEFT_API weftFunction weftArtifactGetFunction(weftArtifact artifact,
                                              size_t index);
/// NOT_FOUND (listing the functions) when there is no function `name`.
WEFT_API weftStatus weftArtifactFindFunction(weftArtifact artifact,
                                             const char *name,
                                             weftFunction *function);
/// Binds the params of every function from `params`. All or nothing: on an
/// error (missing entry, wrong dtype or shape, naming the param) no binding
/// changes. Must not run concurrently with calls of the artifact.
WEFT_API weftStatus weftArtifactBindParams(weftArtifact artifact,
                                           weftParams params);

WEFT_API const char *weftFunctionGetName(weftFunction function);
WEFT_API size_t weftFunctionGetNumInputs(weftFunction function);
WEFT_API size_t weftFunctionGetNumParams(weftFunction function);
WEFT_API size_t weftFunctionGetNumResults(weftFunction function);
/// INVALID_ARGUMENT when `index` is out of range.
WEFT_API weftStatus weftFunctionGetInputSpec(weftFunction function,
                                             size_t index,
                                             weftTensorSpec *spec);
WEFT_API weftStatus weftFunctionGetParamSpec(weftFunction function,
                                             size_t index,
                                             weftTensorSpec *spec);
WEFT_API weftStatus weftFunctionGetResultSpec(weftFunction function,
                                              size_t index,
                                              weftTensorSpec *spec);
/// Binds the params of one function only (e.g. when the archive serves just
/// that function). Same rules as weftArtifactBindParams.
WEFT_API weftStatus weftFunctionBindParams(weftFunction function,
                                           weftParams params);
/// Checks `tensor` against input `index`: dtype, rank and static dims.
/// The message is "expected f32[?, 64], got f64[2, 64]" style, without the
/// input index, so callers can add their own context.
WEFT_API weftStatus weftFunctionCheckInput(weftFunction function, size_t index,
                                           weftTensor tensor);

/// Calls `function` on `numInputs` inputs (checked as by
/// weftFunctionCheckInput; dynamic dims are not cross-checked). On success
/// stores one new owned tensor per result in `outputs[0..numOutputs)`, which
/// must equal the result count; on error stores NULLs. Inputs and params are
/// read-only to the compiled code. Calls may run concurrently.
WEFT_API weftStatus weftCall(weftFunction function, const weftTensor *inputs,
                             size_t numInputs, weftTensor *outputs,
                             size_t numOutputs);

/// weftCall that also measures the call into `*milliseconds` (0 on error).
/// For cuda artifacts: the GPU time from the call's start to the end of its
/// last kernel, by CUDA events on the calling thread's stream (the way
/// PyTorch's kernels are timed): gaps while the host prepares launches
/// count, the host's work after the last kernel does not. For cpu
/// artifacts: the call's wall time.
WEFT_API weftStatus weftCallTimed(weftFunction function,
                                  const weftTensor *inputs, size_t numInputs,
                                  weftTensor *outputs, size_t numOutputs,
                                  double *milliseconds);

WEFT_EXTERN_C_END

#endif // WEFT_RUNTIME_ARTIFACT_H
