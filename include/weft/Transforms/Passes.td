//===- Passes.td - weft code generation passes -------------*- tablegen -*-===//
//
// Passes over upstream dialects that weft's pipelines need.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_TRANSFORMS_PASSES_TD
#define WEFT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def WeftPackInt4BuffersPass
    : Pass<"weft-pack-int4-buffers", "::mlir::ModuleOp"> {
  let summary = "stores i4 function arguments packed, two values per byte";
  let description = [{
    Rewrites every `memref<...xKxi4>` function argument (static shape, even
    `K`) into the packed `memref<...x(K/2)xi8>` of docs/Quantization.md
    (element `k` in byte `k/2`, even `k` in the low nibble), and each
    `memref.load` from it into a byte load, a shift and a truncation to `i4`.
    This is how quantized weights cross the artifact boundary. Any other use
    of an `i4` buffer is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // WEFT_TRANSFORMS_PASSES_TD
