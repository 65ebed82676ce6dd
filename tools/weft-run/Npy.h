//===- Npy.h - reading and writing .npy files -------------------*- C++ -*-===//
//
// NumPy's .npy format (versions 1.0, 2.0 and 3.0), limited to what the ABI
// carries: little-endian, C-order arrays of the runtime's dtypes. numpy has
// no bfloat16, so bf16 travels as raw 16-bit words ('<u2' or 'V2').
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_TOOLS_WEFT_RUN_NPY_H
#define WEFT_TOOLS_WEFT_RUN_NPY_H

#include "weft-runtime/Runtime.h"

#include <string>

namespace weft::run {

/// Reads the array in `path` into a new owned tensor. `expected` is the dtype
/// the caller wants, used only to read 2-byte words as bf16. On failure
/// returns false with a lower-case `error` that does not repeat the path.
bool readNpy(const std::string &path, weftDType expected, weftTensor &tensor,
             std::string &error);

/// Writes `tensor` to `path` in format 1.0 (bf16 as '<u2', i1 as '|b1').
bool writeNpy(const std::string &path, weftTensor tensor, std::string &error);

} // namespace weft::run

#endif // WEFT_TOOLS_WEFT_RUN_NPY_H
