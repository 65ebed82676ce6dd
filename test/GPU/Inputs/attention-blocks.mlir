// Attention in the thread-block form (weft-compile --gpu-attention=blocks);
// attention-blocks.test compiles it for the GPU.

// Causal GQA prefill with a window, softcap and lse: one fused kernel.
func.func @prefill(%q: tensor<2x?x8x64xf16>, %k: tensor<2x?x2x64xf16>, %v: tensor<2x?x2x64xf16>) -> (tensor<2x?x8x64xf16>, tensor<2x8x?xf32>) {
  %0, %1 = weft.attention %q, %k, %v {causal, window = 128, softcap = 50.0 : f32, return_lse} : (tensor<2x?x8x64xf16>, tensor<2x?x2x64xf16>, tensor<2x?x2x64xf16>) -> (tensor<2x?x8x64xf16>, tensor<2x8x?xf32>)
  return %0, %1 : tensor<2x?x8x64xf16>, tensor<2x8x?xf32>
}

// Decode over a padded cache of 4096 keys (kv_len): split keys, then a
// merging kernel.
func.func @decode(%q: tensor<1x1x32x128xf16>, %k: tensor<1x4096x8x128xf16>, %v: tensor<1x4096x8x128xf16>, %len: tensor<1xi32>) -> tensor<1x1x32x128xf16> {
  %0 = weft.attention %q, %k, %v kv_len %len : (tensor<1x1x32x128xf16>, tensor<1x4096x8x128xf16>, tensor<1x4096x8x128xf16>, tensor<1xi32>) -> tensor<1x1x32x128xf16>
  return %0 : tensor<1x1x32x128xf16>
}
