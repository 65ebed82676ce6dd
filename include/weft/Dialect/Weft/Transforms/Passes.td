//===- Passes.td - weft-to-weft passes ---------------------*- tablegen -*-===//
//
// Passes that rewrite weft IR into better weft IR (fusion, quantization, LoRA
// handling, tiling).
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_DIALECT_WEFT_TRANSFORMS_PASSES_TD
#define WEFT_DIALECT_WEFT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def WeftFuseEpiloguesPass
    : Pass<"weft-fuse-epilogues"> {
  let summary = "folds bias, activation and residual ops into linear layers";
  let description = [{
    Rewrites the elementwise ops that follow a `weft.linear` or
    `weft.qlinear` into the op's epilogue, in the order the epilogue applies
    them (`act(x W^T + bias) + residual`):

    * `add(linear(x, W), b)` with `b : [N]` -> `linear(x, W) bias b`
    * `silu|gelu|relu(linear(...))` -> `linear(...) {activation = ...}`
    * `add(linear(...), r)` with `r` of the result's type -> `linear(...)
      residual r`

    A pattern fires only when the linear layer has no other use and the
    epilogue stage it fills is still empty and comes after the stages already
    filled, so the fused op computes exactly what the ops did. Broadcasting
    adds (other than a bias over the last dim) are left alone.
  }];
}

#endif // WEFT_DIALECT_WEFT_TRANSFORMS_PASSES_TD
