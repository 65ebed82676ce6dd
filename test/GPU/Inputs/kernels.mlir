// One function per kernel kind; ptx.test compiles each for the GPU.

func.func @qlinear_int4(%x: tensor<?x512xf16>) -> tensor<?x256xf16> {
  %q4 = weft.param "q4" : tensor<256x512xi4>
  %s4 = weft.param "s4" : tensor<256x4xf16>
  %z4 = weft.param "z4" : tensor<256x4xi4>
  %0 = weft.qlinear %x, %q4, %s4 zeros %z4 {group_size = 128} : (tensor<?x512xf16>, tensor<256x512xi4>, tensor<256x4xf16>, tensor<256x4xi4>) -> tensor<?x256xf16>
  return %0 : tensor<?x256xf16>
}

func.func @qlinear_int8(%x: tensor<?x512xf32>, %q8: tensor<256x512xi8>, %s8: tensor<256x1xf32>) -> tensor<?x256xf32> {
  %0 = weft.qlinear %x, %q8, %s8 {group_size = -1} : (tensor<?x512xf32>, tensor<256x512xi8>, tensor<256x1xf32>) -> tensor<?x256xf32>
  return %0 : tensor<?x256xf32>
}

func.func @attention(%q: tensor<2x?x8x64xf16>, %k: tensor<2x?x2x64xf16>, %v: tensor<2x?x2x64xf16>) -> tensor<2x?x8x64xf16> {
  %0 = weft.attention %q, %k, %v {causal, window = 128, softcap = 50.0 : f32} : (tensor<2x?x8x64xf16>, tensor<2x?x2x64xf16>, tensor<2x?x2x64xf16>) -> tensor<2x?x8x64xf16>
  return %0 : tensor<2x?x8x64xf16>
}

func.func @decode_attention(%q: tensor<2x1x8x64xf32>, %k: tensor<2x?x2x64xf32>, %v: tensor<2x?x2x64xf32>, %len: tensor<2xi32>) -> tensor<2x1x8x64xf32> {
  %0 = weft.attention %q, %k, %v kv_len %len : (tensor<2x1x8x64xf32>, tensor<2x?x2x64xf32>, tensor<2x?x2x64xf32>, tensor<2xi32>) -> tensor<2x1x8x64xf32>
  return %0 : tensor<2x1x8x64xf32>
}

func.func @lora(%x: tensor<?x?x512xf32>, %as: tensor<4x8x512xf32>, %bs: tensor<4x256x8xf32>, %tok: tensor<?x?xi64>) -> tensor<?x?x256xf32> {
  %0 = weft.lora %x, %as, %bs ids %tok {scale = 0.5 : f32} : (tensor<?x?x512xf32>, tensor<4x8x512xf32>, tensor<4x256x8xf32>, tensor<?x?xi64>) -> tensor<?x?x256xf32>
  return %0 : tensor<?x?x256xf32>
}

func.func @ssm_scan(%x: tensor<2x?x8x16xf32>, %dt: tensor<2x?x8xf32>, %A: tensor<8xf32>, %B: tensor<2x?x2x32xf32>, %C: tensor<2x?x2x32xf32>, %D: tensor<8xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>) {
  %y, %st = weft.ssm_scan %x, %dt, %A, %B, %C D %D {dt_softplus} : (tensor<2x?x8x16xf32>, tensor<2x?x8xf32>, tensor<8xf32>, tensor<2x?x2x32xf32>, tensor<2x?x2x32xf32>, tensor<8xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>)
  return %y, %st : tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>
}

func.func @causal_conv1d(%x: tensor<?x?x128xf32>, %w: tensor<128x4xf32>, %b: tensor<128xf32>, %s: tensor<?x3x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x3x128xf32>) {
  %y, %ns = weft.causal_conv1d %x, %w bias %b state %s {activation = #weft.activation<silu>} : (tensor<?x?x128xf32>, tensor<128x4xf32>, tensor<128xf32>, tensor<?x3x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x3x128xf32>)
  return %y, %ns : tensor<?x?x128xf32>, tensor<?x3x128xf32>
}

func.func @rms_norm_rope(%x: tensor<?x?x8x64xf32>, %w: tensor<64xf32>, %pos: tensor<?x?xi64>) -> tensor<?x?x8x64xf32> {
  %0 = weft.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x8x64xf32>, tensor<64xf32>) -> tensor<?x?x8x64xf32>
  %1 = weft.rope %0, %pos {theta = 500000.0 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?xi64>) -> tensor<?x?x8x64xf32>
  return %1 : tensor<?x?x8x64xf32>
}

func.func @embedding_bf16(%table: tensor<100x16xbf16>, %ids: tensor<?x?xi64>) -> tensor<?x?x16xbf16> {
  %0 = weft.embedding %table, %ids : (tensor<100x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x16xbf16>
  return %0 : tensor<?x?x16xbf16>
}
