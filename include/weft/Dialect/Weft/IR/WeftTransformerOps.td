//===- WeftTransformerOps.td - weft transformer ops --------*- tablegen -*-===//
//
// Ops that carry the semantics of a whole model component. docs/Spec.md gives
// each one as formulas; the verifier checks every shape relation listed there.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_DIALECT_WEFT_IR_WEFTTRANSFORMEROPS_TD
#define WEFT_DIALECT_WEFT_IR_WEFTTRANSFORMEROPS_TD

include "weft/Dialect/Weft/IR/WeftBase.td"

def Weft_AttentionOp : Weft_InferredOp<"attention", [AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention (causal, sliding window, GQA, kv_len)";
  let description = [{
    Multi-head attention over `q[B, Sq, Hq, D]`, `k[B, Sk, Hkv, D]`,
    `v[B, Sk, Hkv, Dv]` producing `[B, Sq, Hq, Dv]`. Query head `h` reads kv head
    `h / (Hq / Hkv)` (GQA/MQA; `Hq` must be a multiple of `Hkv`).

    Scores are `s = scale * q . k` (`scale` defaults to `1/sqrt(D)`), then
    `softcap * tanh(s / softcap)` when `softcap` is set, then `+ mask` when the
    additive `mask[B|1, Hq|1, Sq, Sk]` is given. A key `j` is visible to query `i`
    of batch row `b` iff `j < L` where `L = kv_len[b]` (or `Sk`), and, with
    `causal`, `j <= i + (L - Sq)` (bottom-right alignment), and, with `window = W`,
    `i + (L - Sq) - j < W`. The output is the softmax over visible keys applied to
    `v`; a query with no visible key yields zeros. With `return_lse` a second
    result `[B, Hq, Sq]` (f32) holds the natural log-sum-exp of the visible scores.

    Example:

    ```mlir
    %o = weft.attention %q, %k, %v {causal} : (tensor<1x?x8x64xf32>, tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>) -> tensor<1x?x8x64xf32>
    %d = weft.attention %q1, %kc, %vc kv_len %len : (tensor<4x1x8x64xf16>, tensor<4x4096x2x64xf16>, tensor<4x4096x2x64xf16>, tensor<4xi32>) -> tensor<4x1x8x64xf16>
    ```
  }];
  let arguments = (ins Weft_Rank4FloatTensor:$q, Weft_Rank4FloatTensor:$k,
                   Weft_Rank4FloatTensor:$v,
                   Optional<Weft_Rank4FloatTensor>:$mask,
                   Optional<TensorRankOf<[I32, I64], [1]>>:$kv_len,
                   OptionalAttr<F32Attr>:$scale, UnitAttr:$causal,
                   OptionalAttr<I64Attr>:$window, OptionalAttr<F32Attr>:$softcap,
                   UnitAttr:$return_lse);
  let results = (outs Weft_Rank4FloatTensor:$output,
                 Optional<TensorRankOf<[F32], [3]>>:$lse);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`mask` $mask^)? (`kv_len` $kv_len^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The scale applied to q . k: the `scale` attribute or 1/sqrt(D).
    double getEffectiveScale();
    /// Number of query heads that share one kv head.
    int64_t getGroupSize();
  }];
}

def Weft_RopeOp : Weft_InferredOp<"rope"> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates the first `rotary_dim` (default `D`, even) channels of `x[B, S, H, D]`
    by angles `positions[b, s] * inv_freq[i]`, `i < rotary_dim / 2`;
    `inv_freq[i] = theta^(-2i / rotary_dim)` unless the optional `inv_freq`
    operand (f32, `[rotary_dim / 2]`) gives it, which expresses any RoPE scaling
    (linear, NTK, Llama 3). Half-split (NeoX/Llama) pairs channel `i` with
    `i + rotary_dim/2`; `interleaved` (GPT-J) pairs `2i` with `2i+1`. Channels at
    and beyond `rotary_dim` pass through.

    Example:

    ```mlir
    %r = weft.rope %q, %pos {theta = 500000.0 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?xi64>) -> tensor<?x?x8x64xf32>
    ```
  }];
  let arguments = (ins Weft_Rank4FloatTensor:$x,
                   TensorRankOf<[I32, I64], [2]>:$positions,
                   Optional<TensorRankOf<[F32], [1]>>:$inv_freq,
                   DefaultValuedAttr<F64Attr, "10000.0">:$theta,
                   OptionalAttr<I64Attr>:$rotary_dim, UnitAttr:$interleaved);
  let results = (outs Weft_Rank4FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $positions (`inv_freq` $inv_freq^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Number of rotated channels: `rotary_dim` or the head dim.
    int64_t getEffectiveRotaryDim();
  }];
}

def Weft_RmsNormOp : Weft_InferredOp<"rms_norm"> {
  let summary = "root-mean-square normalization over the last dim";
  let description = [{
    `result = x / sqrt(mean(x^2 over the last dim) + eps) * weight`, computed in
    f32; `weight` has shape `[D]` where `D` is the last dim of `x`.

    Example:

    ```mlir
    %n = weft.rms_norm %x, %w {eps = 1.0e-05 : f64} : (tensor<?x?x512xf32>, tensor<512xf32>) -> tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$x, Weft_Rank1FloatTensor:$weight,
                   DefaultValuedAttr<F64Attr, "1.0e-5">:$eps);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = "$x `,` $weight attr-dict `:` functional-type(operands, results)";
}

def Weft_LayerNormOp : Weft_InferredOp<"layer_norm", [AttrSizedOperandSegments]> {
  let summary = "layer normalization over the last dim";
  let description = [{
    `result = (x - mean) / sqrt(var + eps) * weight + bias` over the last dim
    (biased variance), computed in f32; `weight` and `bias` are optional `[D]`.

    Example:

    ```mlir
    %n = weft.layer_norm %x weight %w bias %b {eps = 1.0e-05 : f64} : (tensor<?x?x512xf32>, tensor<512xf32>, tensor<512xf32>) -> tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$x,
                   Optional<Weft_Rank1FloatTensor>:$weight,
                   Optional<Weft_Rank1FloatTensor>:$bias,
                   DefaultValuedAttr<F64Attr, "1.0e-5">:$eps);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $x (`weight` $weight^)? (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_LinearOp : Weft_InferredOp<"linear", [AttrSizedOperandSegments]> {
  let summary = "x W^T + b with an optional activation and residual epilogue";
  let description = [{
    `result = act(x W^T + bias + delta) + residual` for `x[..., K]`,
    `weight[N, K]`, optional `bias[N]` and `residual[..., N]` (same shape as
    the result); `activation` defaults to `none`. Accumulation is in f32.
    Fusion sets the epilogue; importers write plain linears.

    With `lora A, B` (and `lora_ids`, `lora_scale`), `delta` is the LoRA
    delta of `weft.lora x, A, B (ids lora_ids) {scale = lora_scale}` (single
    or multi-adapter, `-1` ids give a zero delta), accumulated into the same
    f32 sum as `x W^T`; without it `delta = 0`. `lora_scale` defaults to 1.
    `weft-fuse-lora` forms it from `add(linear(x, W), lora(x, A, B))`.

    Example:

    ```mlir
    %y = weft.linear %x, %w bias %b {activation = #weft.activation<silu>} : (tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<1024xf32>) -> tensor<?x?x1024xf32>
    %z = weft.linear %x, %w lora %a, %bb lora_ids %ids {lora_scale = 2.0 : f32} : (tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<4x8x512xf32>, tensor<4x1024x8xf32>, tensor<?xi32>) -> tensor<?x?x1024xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$x, Weft_Rank2FloatTensor:$weight,
                   Optional<Weft_Rank1FloatTensor>:$bias,
                   Optional<Weft_FloatTensor>:$residual,
                   Optional<Weft_FloatTensor>:$lora_a,
                   Optional<Weft_FloatTensor>:$lora_b,
                   Optional<Weft_IndexTensor>:$lora_ids,
                   DefaultValuedAttr<Weft_ActivationAttr, "Activation::none">:$activation,
                   OptionalAttr<F32Attr>:$lora_scale);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $weight (`bias` $bias^)? (`residual` $residual^)?
    (`lora` $lora_a^ `,` $lora_b)? (`lora_ids` $lora_ids^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let builders = [
    // The form without LoRA operands.
    OpBuilder<(ins "Type":$result, "Value":$x, "Value":$weight, "Value":$bias,
                   "Value":$residual, "Activation":$activation), [{
      build($_builder, $_state, result, x, weight, bias, residual, Value(),
            Value(), Value(),
            ActivationAttr::get($_builder.getContext(), activation),
            FloatAttr());
    }]>,
    OpBuilder<(ins "Value":$x, "Value":$weight, "Value":$bias,
                   "Value":$residual, "Activation":$activation), [{
      build($_builder, $_state, x, weight, bias, residual, Value(), Value(),
            Value(), ActivationAttr::get($_builder.getContext(), activation),
            FloatAttr());
    }]>,
  ];
  let extraClassDeclaration = [{
    /// True when the op carries a fused LoRA delta.
    bool hasLora() { return static_cast<bool>(getLoraA()); }
    /// The LoRA scale (1 when absent).
    double getEffectiveLoraScale() {
      return getLoraScale() ? getLoraScale()->convertToDouble() : 1.0;
    }
  }];
}

def Weft_GatedLinearOp : Weft_InferredOp<"gated_linear"> {
  let summary = "gated linear unit act(x Wg^T) * (x Wu^T) (SwiGLU, GeGLU)";
  let description = [{
    `result = act(x gate_weight^T) * (x up_weight^T)` for `x[..., K]` and
    `gate_weight`, `up_weight` of shape `[N, K]`; `activation` defaults to
    `silu` (SwiGLU; `gelu` / `gelu_tanh` give GeGLU, `none` a bilinear GLU).
    Both products accumulate in f32 and the result is rounded once. `weft-fuse-gated-linear` forms it from
    `mul(silu(linear(x, Wg)), linear(x, Wu))`.

    Example:

    ```mlir
    %h = weft.gated_linear %x, %wg, %wu : (tensor<?x?x512xf32>, tensor<1408x512xf32>, tensor<1408x512xf32>) -> tensor<?x?x1408xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$x, Weft_Rank2FloatTensor:$gate_weight,
                   Weft_Rank2FloatTensor:$up_weight,
                   DefaultValuedAttr<Weft_ActivationAttr, "Activation::silu">:$activation);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $gate_weight `,` $up_weight attr-dict `:` functional-type(operands, results)
  }];
}

def Weft_QLinearOp : Weft_InferredOp<"qlinear", [AttrSizedOperandSegments]> {
  let summary = "weight-only quantized linear (int8 / int4, per channel or grouped)";
  let description = [{
    Like `weft.linear` with the weight given as integers `qweight[N, K]` (`i8` or
    `i4`; `bits` is the element width) and `scales[N, G]`. With `group_size = g`
    (`K % g == 0`) `G = K / g` and column `k` uses group `k / g`; `group_size = -1`
    means one scale per output channel (`G = 1`). Without `zeros` the
    quantization is symmetric and `qweight` is signed:
    `W[n, k] = scale[n, k/g] * q[n, k]`. With `zeros[N, G]` (same integer type as
    `qweight`) it is asymmetric and both are unsigned:
    `W[n, k] = scale[n, k/g] * (q[n, k] - zero[n, k/g])`. The archive stores
    int4 tensors packed two per byte (docs/Quantization.md); lowerings dequantize
    inside the inner loop and never materialise `W`. `lora`, `lora_ids` and
    `lora_scale` add a LoRA delta as on `weft.linear`.

    Example:

    ```mlir
    %y = weft.qlinear %x, %qw, %s {group_size = 128 : i64} : (tensor<?x?x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>) -> tensor<?x?x1024xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$x, Weft_QuantWeightTensor:$qweight,
                   Weft_Rank2FloatTensor:$scales,
                   Optional<Weft_QuantWeightTensor>:$zeros,
                   Optional<Weft_Rank1FloatTensor>:$bias,
                   Optional<Weft_FloatTensor>:$residual,
                   Optional<Weft_FloatTensor>:$lora_a,
                   Optional<Weft_FloatTensor>:$lora_b,
                   Optional<Weft_IndexTensor>:$lora_ids,
                   I64Attr:$group_size,
                   DefaultValuedAttr<Weft_ActivationAttr, "Activation::none">:$activation,
                   OptionalAttr<F32Attr>:$lora_scale);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $qweight `,` $scales (`zeros` $zeros^)? (`bias` $bias^)?
    (`residual` $residual^)? (`lora` $lora_a^ `,` $lora_b)?
    (`lora_ids` $lora_ids^)? attr-dict `:` functional-type(operands, results)
  }];
  let builders = [
    // The form without LoRA operands.
    OpBuilder<(ins "Type":$result, "Value":$x, "Value":$qweight,
                   "Value":$scales, "Value":$zeros, "Value":$bias,
                   "Value":$residual, "int64_t":$group_size,
                   "Activation":$activation), [{
      build($_builder, $_state, result, x, qweight, scales, zeros, bias,
            residual, Value(), Value(), Value(),
            $_builder.getI64IntegerAttr(group_size),
            ActivationAttr::get($_builder.getContext(), activation),
            FloatAttr());
    }]>,
    OpBuilder<(ins "Value":$x, "Value":$qweight, "Value":$scales,
                   "Value":$zeros, "Value":$bias, "Value":$residual,
                   "int64_t":$group_size, "Activation":$activation), [{
      build($_builder, $_state, x, qweight, scales, zeros, bias, residual,
            Value(), Value(), Value(),
            $_builder.getI64IntegerAttr(group_size),
            ActivationAttr::get($_builder.getContext(), activation),
            FloatAttr());
    }]>,
  ];
  let extraClassDeclaration = [{
    /// True when the op carries a fused LoRA delta.
    bool hasLora() { return static_cast<bool>(getLoraA()); }
    /// The LoRA scale (1 when absent).
    double getEffectiveLoraScale() {
      return getLoraScale() ? getLoraScale()->convertToDouble() : 1.0;
    }
    /// Width of a quantized value: 4 or 8.
    unsigned getBits();
    /// True when there are no zero points (signed values, zero point 0).
    bool isSymmetric() { return !getZeros(); }
    /// Number of scale groups along K.
    int64_t getNumGroups();
  }];
}

def Weft_LoraOp : Weft_InferredOp<"lora"> {
  let summary = "low-rank adapter delta, single or multi-adapter";
  let description = [{
    `result = scale * (x A^T) B^T` for `x[..., K]`, `A[r, K]`, `B[N, r]`.

    Multi-adapter form (Punica SGMV/BGMV): `A[n, r, K]`, `B[n, N, r]` and integer
    `ids`, one adapter index per batch row (`ids[B]`, `B` = first dim of `x`) or per
    token (`ids` shaped like `x` without its last dim); a token uses adapter
    `ids[...]`, and `-1` gives a zero delta. A base layer with an adapter is
    `weft.add(weft.linear(x, W), weft.lora(x, A, B))`.

    Example:

    ```mlir
    %d = weft.lora %x, %a, %b {scale = 2.0 : f32} : (tensor<?x?x512xf32>, tensor<8x512xf32>, tensor<512x8xf32>) -> tensor<?x?x512xf32>
    %m = weft.lora %x, %as, %bs ids %ids {scale = 2.0 : f32} : (tensor<?x?x512xf32>, tensor<4x8x512xf32>, tensor<4x512x8xf32>, tensor<?xi32>) -> tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$x, Weft_FloatTensor:$lora_a,
                   Weft_FloatTensor:$lora_b, Optional<Weft_IndexTensor>:$ids,
                   DefaultValuedAttr<F32Attr, "1.0">:$scale);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $lora_a `,` $lora_b (`ids` $ids^)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// True for the multi-adapter form (rank-3 A and B with ids).
    bool isMultiAdapter() { return getLoraA().getType().getRank() == 3; }
    /// The adapter rank r.
    int64_t getRank();
  }];
}

def Weft_SsmScanOp : Weft_InferredOp<"ssm_scan", [AttrSizedOperandSegments]> {
  let summary = "selective state-space scan (Mamba-1 and Mamba-2)";
  let description = [{
    For `x[B, L, H, P]`, `dt[B, L, H]`, `A[H, N]` or `A[H]`, `Bm[B, L, G, N]`,
    `Cm[B, L, G, N]` (`H % G == 0`; head `h` uses group `h / (H/G)`):

    ```
    dt' = clamp(softplus?(dt + dt_bias), dt_limit)      per (b, t, h)
    state_t[p, n] = exp(dt'_t A[h, n]) state_{t-1}[p, n] + dt'_t x_t[p] Bm_t[g, n]
    y_t[p] = sum_n state_t[p, n] Cm_t[g, n] + D[h(, p)] x_t[p]
    y_t[p] *= silu(z_t[p])                               when z is given
    ```

    with `state_{-1} = initial_state` (or zeros). Optional operands: `D[H]` or
    `D[H, P]`, `z[B, L, H, P]`, `dt_bias[H]`, `initial_state[B, H, P, N]` (f32).
    `dt_softplus` applies softplus; `dt_limit = [lo, hi]` clamps. Results: `y`
    (like `x`) and `final_state[B, H, P, N]` (f32). Mamba-1 is `H` = channels,
    `P = 1`, `G = 1`, `A[H, N]`; Mamba-2 has a scalar `A[H]` per head.

    Example:

    ```mlir
    %y, %s = weft.ssm_scan %x, %dt, %A, %Bm, %Cm D %D z %z dt_bias %db {dt_softplus} : (tensor<1x?x8x64xf32>, tensor<1x?x8xf32>, tensor<8xf32>, tensor<1x?x1x128xf32>, tensor<1x?x1x128xf32>, tensor<8xf32>, tensor<1x?x8x64xf32>, tensor<8xf32>) -> (tensor<1x?x8x64xf32>, tensor<1x8x64x128xf32>)
    ```
  }];
  let arguments = (ins Weft_Rank4FloatTensor:$x, Weft_Rank3FloatTensor:$dt,
                   Weft_FloatTensor:$A, Weft_Rank4FloatTensor:$B,
                   Weft_Rank4FloatTensor:$C,
                   Optional<Weft_FloatTensor>:$D,
                   Optional<Weft_Rank4FloatTensor>:$z,
                   Optional<Weft_Rank1FloatTensor>:$dt_bias,
                   Optional<TensorRankOf<[F32], [4]>>:$initial_state,
                   UnitAttr:$dt_softplus,
                   OptionalAttr<DenseF64ArrayAttr>:$dt_limit);
  let results = (outs Weft_Rank4FloatTensor:$y,
                 TensorRankOf<[F32], [4]>:$final_state);
  let assemblyFormat = [{
    $x `,` $dt `,` $A `,` $B `,` $C (`D` $D^)? (`z` $z^)? (`dt_bias` $dt_bias^)?
    (`initial_state` $initial_state^)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// True when A is a scalar per head (Mamba-2 / SSD form).
    bool hasScalarA() { return getA().getType().getRank() == 1; }
  }];
}

def Weft_CausalConv1dOp : Weft_InferredOp<"causal_conv1d", [AttrSizedOperandSegments]> {
  let summary = "depthwise causal 1-D convolution with carried state";
  let description = [{
    For `x[B, L, C]`, `weight[C, K]`, optional `bias[C]` and `state[B, K-1, C]`
    (zeros when absent): with `xp = concat(state, x)` along the sequence,
    `y[b, t, c] = act(sum_{k<K} weight[c, k] * xp[b, t + k, c] + bias[c])` and
    `new_state = xp[b, L : L + K - 1, c]` (the last `K-1` inputs, for decode).
    `activation` is `none` or `silu`. `K` must be static.

    Example:

    ```mlir
    %y, %st = weft.causal_conv1d %x, %w bias %b {activation = #weft.activation<silu>} : (tensor<1x?x256xf32>, tensor<256x4xf32>, tensor<256xf32>) -> (tensor<1x?x256xf32>, tensor<1x3x256xf32>)
    ```
  }];
  let arguments = (ins Weft_Rank3FloatTensor:$x, Weft_Rank2FloatTensor:$weight,
                   Optional<Weft_Rank1FloatTensor>:$bias,
                   Optional<Weft_Rank3FloatTensor>:$state,
                   DefaultValuedAttr<Weft_ActivationAttr, "Activation::none">:$activation);
  let results = (outs Weft_Rank3FloatTensor:$y, Weft_Rank3FloatTensor:$new_state);
  let assemblyFormat = [{
    $x `,` $weight (`bias` $bias^)? (`state` $state^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

#endif // WEFT_DIALECT_WEFT_IR_WEFTTRANSFORMEROPS_TD
