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

def WeftBindParamsPass : Pass<"weft-bind-params", "::mlir::ModuleOp"> {
  let summary = "binds weft.param ops to function arguments, as weft-compile does";
  let description = [{
    Replaces the `weft.param` ops of every public function by trailing
    function arguments, one per distinct name, each marked
    `{weft.param = "name"}`. weft-compile does this first; running it in
    weft-opt gives the IR that the lowering passes take (they reject
    `weft.param`), and weft-compile binds such marked arguments to the
    parameters of the same names. A name used with two types is an error.
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

//===----------------------------------------------------------------------===//
// Passes that rewrite weights. Each reads the parameter archive named by
// `params` and writes `params-out`, holding every parameter the rewritten
// module references (docs/Architecture.md, "Passes that rewrite weights").
//===----------------------------------------------------------------------===//

def WeftQuantizePass : Pass<"weft-quantize", "::mlir::ModuleOp"> {
  let summary = "weight-only round-to-nearest quantization of linear layers";
  let description = [{
    Replaces every `weft.linear` whose weight is a `weft.param` (and whose
    weight name passes `include` / `exclude`) by a `weft.qlinear` with the
    same input, bias, residual and activation. The weight `W[N, K]` is read
    from the `params` archive and quantized group by group with the
    round-to-nearest rules of docs/Quantization.md; the output archive
    `params-out` gets `<prefix>.qweight`, `<prefix>.scales` and, when
    asymmetric, `<prefix>.zeros` for a weight named `<prefix>.weight`
    (`<name>.qweight`, ... for other names), and drops weights no longer
    referenced. A weight shared by several linear layers is quantized once.

    Layers that cannot be quantized with the requested scheme are left as
    `weft.linear`, with a warning and a note in the report: K not a multiple
    of `group-size`, or an odd K for int4. A scale that is not finite in the
    scales type, a weight with a non-finite value, a missing archive entry or
    one whose dtype or shape does not match the `weft.param` is an error.

    `include` and `exclude` are comma-separated glob patterns (`*`, `?` and
    `[a-z]`) matched against the whole weight name: a layer is
    quantized when its weight matches some `include` pattern (all weights
    when none is given) and no `exclude` pattern.

    The pass reports, per layer, the relative weight error
    `||W - dequant(Q)||_F / ||W||_F`, the per-row bound
    `max_n ||W[n] - dequant(Q)[n]||_2` (for any input row `x`, every output
    element of the quantized layer is within `bound * ||x||_2` of the float
    layer's, before f32 rounding) and the relative output error
    `||X (W - dequant(Q))^T||_F / ||X W^T||_F` on `error-rows` random
    N(0, 1) input rows. They go to the JSON file `report` when given and, as a table, to
    stderr (docs/Quantization.md, "The weft-quantize report").

    Example: `weft-opt model.mlir
    '-weft-quantize=bits=4 group-size=128 symmetric=false exclude=lm_head.*
    params=model.safetensors params-out=model-int4.safetensors
    report=int4.json'` turns

    ```mlir
    %w = weft.param "mlp.up_proj.weight" : tensor<1024x512xf32>
    %y = weft.linear %x, %w : (tensor<?x512xf32>, tensor<1024x512xf32>) -> tensor<?x1024xf32>
    ```

    into

    ```mlir
    %q = weft.param "mlp.up_proj.qweight" : tensor<1024x512xi4>
    %s = weft.param "mlp.up_proj.scales" : tensor<1024x4xf32>
    %z = weft.param "mlp.up_proj.zeros" : tensor<1024x4xi4>
    %y = weft.qlinear %x, %q, %s zeros %z {group_size = 128 : i64} : (tensor<?x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>, tensor<1024x4xi4>) -> tensor<?x1024xf32>
    ```

    The pass runs on the module because the output archive covers all of
    its functions.
  }];
  let options = [
    Option<"bits", "bits", "unsigned", "8",
           "width of the quantized values: 8 or 4">,
    Option<"groupSize", "group-size", "int64_t", "-1",
           "input features per scale group (e.g. 32, 64, 128), or -1 for one "
           "group per output channel">,
    Option<"symmetric", "symmetric", "bool", "true",
           "signed values without zero points (true) or unsigned values with "
           "zero points (false)">,
    Option<"scalesType", "scales-type", "std::string", "\"f32\"",
           "element type of the scales: f32, f16 or bf16">,
    ListOption<"include", "include", "std::string",
               "glob patterns of weight names to quantize (default: all)">,
    ListOption<"exclude", "exclude", "std::string",
               "glob patterns of weight names to leave in float">,
    Option<"params", "params", "std::string", "",
           "input safetensors archive holding the weights">,
    Option<"paramsOut", "params-out", "std::string", "",
           "output safetensors archive for the rewritten module">,
    Option<"report", "report", "std::string", "",
           "JSON file for the per-layer error report">,
    Option<"seed", "seed", "uint64_t", "0",
           "seed of the random inputs that measure the output error">,
    Option<"errorRows", "error-rows", "unsigned", "64",
           "random input rows that measure the output error (0: not "
           "measured; it costs 2 * rows * N * K flops per layer)">,
  ];
}

def WeftMergeLoraPass : Pass<"weft-merge-lora", "::mlir::ModuleOp"> {
  let summary = "merges LoRA adapters into the base weights";
  let description = [{
    Rewrites `add(linear(x, W), lora(x, A, B))` (either operand order), where
    `W`, `A` and `B` are `weft.param`s and the linear layer has no activation,
    into one `linear(x, W')` with `W' = W + scale * B A`, keeping the bias and
    residual of the linear layer. `W'` is computed in f64 from the archive
    values, rounded to the dtype of `W` and written to `params-out` as
    `<prefix>.merged.weight` for a base weight named `<prefix>.weight`
    (`<name>.merged` otherwise); `W`, `A` and `B` are dropped from the output
    archive when nothing else references them. The linear layer and the
    adapter must both have no other use. Run it before `weft-fuse-lora`:
    a delta already fused into the layer's `lora` operands is the serving
    form and stays unmerged.

    Multi-adapter loras (`A[n, r, K]`, `B[n, N, r]` with `ids`) are the
    serving form and are left unmerged, unless `adapter=i` is given: then
    adapter `i` is merged (`W' = W + scale * B[i] A[i]`) and the lora op with
    its `ids` is removed, which specializes the program to adapter `i` for
    every token. Single-adapter loras merge whatever `adapter` is. (Keeping
    the other adapters for serving on top of a merged adapter `i` would
    change what id `-1`, no adapter, computes, since the base weight then
    includes adapter `i`; the pass specializes instead of rebasing.)

    Bookkeeping: the output archive's `__metadata__` gets, per merged weight,
    `weft.merged.<merged name>` = `{"base": W, "lora_a": A, "lora_b": B,
    "scale": s, "adapter": i}` (`adapter` -1 for the single-adapter form), so
    that the merge can be undone from the input archive's adapters:
    `W = W' - scale * B A`, exactly up to the rounding of `W'` to the dtype of
    `W` (none for f32 beyond one f32 rounding of the sum).

    Example: `weft-opt model.mlir '-weft-merge-lora=params=model.safetensors
    params-out=merged.safetensors'` turns

    ```mlir
    %w = weft.param "q_proj.weight" : tensor<64x64xf32>
    %a = weft.param "q_proj.lora_A.weight" : tensor<8x64xf32>
    %b = weft.param "q_proj.lora_B.weight" : tensor<64x8xf32>
    %y = weft.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    %d = weft.lora %x, %a, %b {scale = 2.0 : f32} : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<64x8xf32>) -> tensor<?x64xf32>
    %q = weft.add %y, %d : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
    ```

    into

    ```mlir
    %w = weft.param "q_proj.merged.weight" : tensor<64x64xf32>
    %q = weft.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let options = [
    Option<"adapter", "adapter", "int64_t", "-1",
           "adapter index to merge from multi-adapter loras (specializing "
           "the program to it); -1 leaves them unmerged">,
    Option<"params", "params", "std::string", "",
           "input safetensors archive holding the weights and adapters">,
    Option<"paramsOut", "params-out", "std::string", "",
           "output safetensors archive for the rewritten module">,
  ];
}

def WeftFuseProjectionsPass : Pass<"weft-fuse-projections", "::mlir::ModuleOp"> {
  let summary = "fuses linear layers that share an input into one wider layer";
  let description = [{
    Horizontal fusion: linear layers in one block that read the same `x`,
    whose weights (and biases, when they have them) are `weft.param`s and
    that have no activation or residual, become one `weft.linear` on the
    weights concatenated along N, followed by one `weft.slice` per original
    layer. This covers Q/K/V projections (with different N under GQA) and
    the gate and up projections of a gated MLP. `weft.qlinear`s fuse when
    their quantization is identical: the same qweight and scales types, the
    same group size and all with or without zero points. Layers fuse only
    with layers of the same op, weight type, result type and bias presence;
    the others stay as they are.

    The concatenated tensors are written to `params-out` under a name made
    of the common prefix and suffix of the originals and their differing
    middles joined by `+`: `attn.q_proj.weight`, `attn.k_proj.weight` and
    `attn.v_proj.weight` give `attn.q_proj+k_proj+v_proj.weight`.
    Concatenating rows of a row-major tensor appends its bytes, so quantized
    and packed int4 tensors fuse without being decoded.

    Example: `weft-opt model.mlir '-weft-fuse-projections=params=in.safetensors
    params-out=out.safetensors'` turns

    ```mlir
    %wq = weft.param "attn.q_proj.weight" : tensor<64x64xf32>
    %wk = weft.param "attn.k_proj.weight" : tensor<32x64xf32>
    %q = weft.linear %x, %wq : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    %k = weft.linear %x, %wk : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
    ```

    into

    ```mlir
    %w = weft.param "attn.q_proj+k_proj.weight" : tensor<96x64xf32>
    %qk = weft.linear %x, %w : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
    %q = weft.slice %qk {axis = 1 : i64, end = 64 : i64, start = 0 : i64} : (tensor<?x96xf32>) -> tensor<?x64xf32>
    %k = weft.slice %qk {axis = 1 : i64, end = 96 : i64, start = 64 : i64} : (tensor<?x96xf32>) -> tensor<?x32xf32>
    ```
  }];
  let options = [
    Option<"params", "params", "std::string", "",
           "input safetensors archive holding the weights">,
    Option<"paramsOut", "params-out", "std::string", "",
           "output safetensors archive for the rewritten module">,
  ];
}

def WeftTilePass : Pass<"weft-tile"> {
  let summary = "tiles transformer ops (linear, qlinear, norms, attention, "
                "ssm_scan) into loops over tiles";
  let description = [{
    Tiles every `weft.linear`, `weft.qlinear`, `weft.rms_norm`,
    `weft.layer_norm`, `weft.attention` and `weft.ssm_scan`. Each op computes
    one tile per loop iteration with the same op on `tensor.extract_slice`s
    of its operands, inserted into the result with `tensor.insert_slice`, so
    the tiled program computes what the op computes.

    Loops of each op, outermost first (P: parallel, tiled through the op's
    `TilingInterface` model with `scf::tileUsingSCF`; S: sequential or
    reduction, an `scf.for` carrying state, always innermost):

    | op | loops |
    | --- | --- |
    | `linear`, `qlinear` | P: the result's dims (leading dims of `x`, then N); S: K |
    | `rms_norm`, `layer_norm` | P: the leading dims (the normalized dim stays whole) |
    | `attention` | P: batch, query head, query; S: key |
    | `ssm_scan` | P: batch, head; S: sequence (`L`) |

    * K of a linear layer: the first tile of K carries the bias (and the
      residual when there is no activation); each further tile adds its
      product through the residual operand (`acc = linear(x_k, w_k)
      residual acc`), and an activation and its residual follow as
      `weft.silu`/`gelu`/`relu` and `weft.add`. LoRA A is sliced along K
      (the delta is linear in x). The tile must divide a static K, be a
      multiple of `group_size` for a grouped `qlinear`, and `x` must be f32
      (partial sums in f16/bf16 would be rounded once per tile).
    * Query heads of attention: a tile covers whole GQA groups (its kv heads
      follow) or lies inside one group (one kv head); it must divide `Hq`.
      A tile of queries of causal attention gets a `kv_len` of
      `max(L - Sq + i0 + size, 0)` (`L` = `kv_len` or `Sk`, `i0` the tile's
      first query): its bottom-right alignment is then the offset of its
      first query in the whole op, so causal and window visibility do not
      change, and the keys it drops are hidden from all of its queries.
      Masks are sliced (dims of size 1 broadcast as before).
    * Keys of attention: each block of keys is attended with its
      log-sum-exp, and blocks merge as in flash decoding (`lse = log(exp(lse)
      + exp(lse_j))`, `out = out exp(lse_old - lse) + out_j exp(lse_j - lse)`;
      a block past a row's `kv_len` has weight 0). Only exact splits are
      accepted: f32, no mask (a block whose visible scores are all `-inf`
      has no defined softmax), and not causal unless `Sq` is statically 1
      without `window` (a block of keys cannot express the causal diagonal:
      `kv_len` sets both the valid keys and the alignment).
    * Heads of `ssm_scan`: like query heads, a tile covers whole groups of
      `B`/`C` or lies inside one (static `H` and `G`).
    * Sequence of `ssm_scan`: each chunk starts from the state the previous
      one ended with (`initial_state` of the op, or zeros, for the first);
      `final_state` is the last chunk's.

    Sizes: `linear-tile-sizes`, `norm-tile-sizes`, `attention-tile-sizes`
    and `ssm-scan-tile-sizes` give the loops of one family (parallel loops,
    then the sequential one); `tile-sizes` gives the parallel loops of every
    op that has no family option. `0` leaves a loop untiled, missing sizes
    are `0`, extra ones are ignored. A tile that an op cannot take is an
    error naming the op and the reason.
    A tile of N for a `weft.qlinear` must divide N, since quantized weights
    keep static shapes. Tiles of packed int4 parameters compile: the CPU
    pipeline folds the views into the accesses before
    `weft-pack-int4-buffers` rewrites them.

    `target=cpu` gives defaults to ops without explicit sizes, skipping an
    op where they do not apply: norms in tiles of 32 rows of the last
    leading dim (1 of the others); `ssm_scan` per (batch row, head);
    attention per batch row; linear layers untiled (their contractions are
    register-tiled after lowering by `weft-tile-contractions`). With
    `forall`, the parallel loops are `scf.forall` (tasks for OpenMP in the
    CPU pipeline) instead of `scf.for`.

    The ops implement `TilingInterface` and
    `ReifyRankedShapedTypeOpInterface` as external models registered with
    the dialect (`registerTilingInterfaceExternalModels`), so upstream
    tiling and fusion drivers can use them too.

    Example: `weft-opt -weft-tile=linear-tile-sizes=0,16,64,128` on
    `%y = weft.linear %x, %w : (tensor<?x?x512xf32>, tensor<1024x512xf32>) -> tensor<?x?x1024xf32>`
    gives two loops, over 16 tokens and 64 output features, around a loop
    over K in tiles of 128 accumulating
    `weft.linear %x_k, %w_k residual %acc : (tensor<?x?x128xf32>, tensor<64x128xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>`.
  }];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t",
               "parallel tile sizes of every op without a family option, "
               "outermost first (0: not tiled)">,
    ListOption<"linearTileSizes", "linear-tile-sizes", "int64_t",
               "linear/qlinear: result dims, then K">,
    ListOption<"normTileSizes", "norm-tile-sizes", "int64_t",
               "rms_norm/layer_norm: leading dims">,
    ListOption<"attentionTileSizes", "attention-tile-sizes", "int64_t",
               "attention: batch, query head, query, key">,
    ListOption<"ssmScanTileSizes", "ssm-scan-tile-sizes", "int64_t",
               "ssm_scan: batch, head, sequence">,
    Option<"target", "target", "std::string", "\"\"",
           "default sizes for ops without explicit ones: cpu (or none)">,
    Option<"useForall", "forall", "bool", "false",
           "tile parallel dims with scf.forall instead of scf.for">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

#endif // WEFT_DIALECT_WEFT_TRANSFORMS_PASSES_TD
