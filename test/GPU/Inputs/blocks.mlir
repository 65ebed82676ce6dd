// The thread-block forms (weft-compile --gpu-attention=blocks
// --gpu-ssm-scan=blocks); blocks.test compiles them for the GPU.

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

// A Mamba-2 scan (scalar A, D, z; 8 heads in 2 groups, P = 64, N = 128):
// one kernel whose threads own the elements of a [4, 128] state tile.
func.func @ssm_scan(%x: tensor<1x?x8x64xf32>, %dt: tensor<1x?x8xf32>, %A: tensor<8xf32>, %B: tensor<1x?x2x128xf32>, %C: tensor<1x?x2x128xf32>, %D: tensor<8xf32>, %z: tensor<1x?x8x64xf32>) -> (tensor<1x?x8x64xf32>, tensor<1x8x64x128xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z : (tensor<1x?x8x64xf32>, tensor<1x?x8xf32>, tensor<8xf32>, tensor<1x?x2x128xf32>, tensor<1x?x2x128xf32>, tensor<8xf32>, tensor<1x?x8x64xf32>) -> (tensor<1x?x8x64xf32>, tensor<1x8x64x128xf32>)
  return %y, %s : tensor<1x?x8x64xf32>, tensor<1x8x64x128xf32>
}
