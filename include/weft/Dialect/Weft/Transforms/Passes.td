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

def WeftFuseAttentionPass : Pass<"weft-fuse-attention"> {
  let summary = "raises decomposed scaled dot-product attention into weft.attention";
  let description = [{
    Rewrites attention written with graph ops,

    ```
    s = matmul(q, k^T)          q [B, Hq, Sq, D], k [B, Hq|1, Sk, D]
    s = s * c | c * s | s / c   optional; c a scalar constant
    s = s + mask                optional; mask [B|1, Hq|1, Sq, Sk], rank 2-4
    p = softmax(s, axis = 3)
    o = matmul(p, v)            v [B, Hq|1, Sk, Dv]
    ```

    into `transpose(weft.attention(q', k', v') {scale}, [0, 2, 1, 3])` where
    `q'`, `k'`, `v'` are the operands in `[B, S, H, D]` layout. `k^T` is the
    `transpose_rhs` flag or an explicit `weft.transpose` (`[0, 1, 3, 2]` of a
    `[B, H, S, D]` k, or `[0, 2, 3, 1]` of a `[B, S, H, D]` k). The layout
    transposes the pass creates cancel, through the transpose folder, against
    the `[B, S, H, D] -> [B, H, S, D]` transposes that the decomposed form
    has, so a model written in `[B, S, H, D]` ends up with no transposes.

    GQA: when both k and v are repeat_kv expansions,
    `reshape(concat(reshape(kv) x g, axis = a + 1))` where the inner reshape
    inserts a unit dim after the head axis `a` (in either layout) and the
    outer one merges it back, the unexpanded tensors become k and v with
    `Hkv = Hq / g` heads (query head `h` reads kv head `h / g`, as the
    expansion does). A kv head dim of 1 that the matmuls broadcast is MQA.

    A constant mask that is 0 where `j <= i + Sk - Sq` and `-inf` (or the
    lowest finite value of its type) elsewhere, with static `Sk >= Sq`,
    becomes the `causal` attribute (with `detect-causal`); any other mask
    becomes the `mask` operand (a static mask of rank < 4 is reshaped to rank
    4). The scale is `c` or `1 / c` (1 without a scale op); q may also be
    scaled before the product (`matmul(q * c, k^T)`, the scales multiply).
    For f16/bf16 graphs the softmax may be taken in f32 between casts
    (`cast(softmax(cast(s, f32)), f16)`), as Hugging Face's eager attention
    does; the attention op computes its softmax in f32 anyway.

    The rewrite fires only on an exact match: every intermediate (both
    products, the scale, the add, the softmax) has no other use, the softmax
    is over the last axis, the scale is a splat constant whose dims are all
    1, the batch sizes of q, k and v are equal (or all dynamic), head dims
    and head counts are static and consistent, the mask does not broadcast
    over its last two dims, and all tensors share one element type.
  }];
  let options = [
    Option<"detectCausal", "detect-causal", "bool", /*default=*/"true",
           "Turn constant causal masks into the causal attribute (otherwise "
           "they stay a mask operand)">,
  ];
}

def WeftFuseGatedLinearPass : Pass<"weft-fuse-gated-linear"> {
  let summary = "fuses the gate and up projections of SwiGLU/GeGLU into weft.gated_linear";
  let description = [{
    Rewrites `mul(act(linear(x, Wg)), linear(x, Wu))`, with the operands of
    the mul in either order, into `weft.gated_linear x, Wg, Wu {activation}`,
    whose lowering accumulates both products in f32 and applies
    `act(g) * u` and the rounding in one epilogue. `act` is `silu` (SwiGLU), `gelu`,
    `gelu_tanh` or `relu`, written as an activation op or already folded into
    the gate linear's epilogue by `weft-fuse-epilogues`.

    Both linears must read the same `x`, have no bias, residual or LoRA
    delta, and be used only by the gate (resp. the mul); the mul must not
    broadcast (both products and the result have one type).
  }];
}

def WeftFuseLoraPass : Pass<"weft-fuse-lora"> {
  let summary = "fuses LoRA deltas into their base linear / qlinear layer";
  let description = [{
    Rewrites `add(linear(x, W), lora(x, A, B))` (either operand order) into
    `linear(x, W) lora A, B {lora_scale}`, and likewise for `weft.qlinear`
    and the multi-adapter form (`lora_ids`, `-1` = no adapter). The lowering
    accumulates the delta into the f32 sum of the base product before the
    epilogue, so neither the delta tensor nor the add is materialised.

    Also rewrites `linear(x, W) residual lora(x, A, B)`, the form
    `weft-fuse-epilogues` gives the same add, so the two passes compose in
    either order.

    Fires only when the lora reads the same `x` value as the base layer,
    both have one result type (no broadcasting), the lora and the base layer
    have no other use, the base layer has no activation (a delta after the
    activation cannot move inside it) and no delta yet. A bias or residual on
    the base layer stays: the fused op adds the delta before the bias.
  }];
}

#endif // WEFT_DIALECT_WEFT_TRANSFORMS_PASSES_TD
