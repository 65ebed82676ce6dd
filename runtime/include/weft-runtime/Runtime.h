/*===- Runtime.h - weft runtime C API -------------------------------------===*\
|*                                                                            *|
|* The whole C API of the weft runtime: load an AOT artifact, bind a          *|
|* safetensors parameter archive, make tensors, call functions. No MLIR or    *|
|* LLVM dependency. See docs/Runtime.md for the ABI and an example.           *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef WEFT_RUNTIME_RUNTIME_H
#define WEFT_RUNTIME_RUNTIME_H

#include "weft-runtime/Artifact.h"
#include "weft-runtime/Base.h"
#include "weft-runtime/Params.h"
#include "weft-runtime/Tensor.h"

#endif // WEFT_RUNTIME_RUNTIME_H
