// Linear layers for few rows of x (weft-compile --gpu-linear=blocks):
// int4 symmetric in groups of 128 with f16 x and scales, int8 with
// per-channel zero points for two rows of f32 x, and a bf16 weft.linear;
// linear-blocks.test compiles them for the GPU.
func.func @gemv4(%x: tensor<1x4096xf16>) -> tensor<1x4096xf16> {
  %q = weft.param "q4" : tensor<4096x4096xi4>
  %s = weft.param "s4" : tensor<4096x32xf16>
  %y = weft.qlinear %x, %q, %s {group_size = 128} : (tensor<1x4096xf16>, tensor<4096x4096xi4>, tensor<4096x32xf16>) -> tensor<1x4096xf16>
  return %y : tensor<1x4096xf16>
}
func.func @gemv8(%x: tensor<2x1024xf32>) -> tensor<2x100xf32> {
  %q = weft.param "q8" : tensor<100x1024xi8>
  %s = weft.param "s8" : tensor<100x1xf32>
  %z = weft.param "z8" : tensor<100x1xi8>
  %y = weft.qlinear %x, %q, %s zeros %z {group_size = -1} : (tensor<2x1024xf32>, tensor<100x1024xi8>, tensor<100x1xf32>, tensor<100x1xi8>) -> tensor<2x100xf32>
  return %y : tensor<2x100xf32>
}
func.func @gemv16(%x: tensor<1x4096xbf16>) -> tensor<1x4096xbf16> {
  %w = weft.param "w16" : tensor<4096x4096xbf16>
  %y = weft.linear %x, %w : (tensor<1x4096xbf16>, tensor<4096x4096xbf16>) -> tensor<1x4096xbf16>
  return %y : tensor<1x4096xbf16>
}
func.func @prefill16(%x: tensor<?x4096xf16>, %b: tensor<1024xf16>) -> tensor<?x1024xf16> {
  %w = weft.param "w16p" : tensor<1024x4096xf16>
  %y = weft.linear %x, %w bias %b {activation = #weft.activation<silu>} : (tensor<?x4096xf16>, tensor<1024x4096xf16>, tensor<1024xf16>) -> tensor<?x1024xf16>
  return %y : tensor<?x1024xf16>
}
func.func @prefill4(%x: tensor<?x4096xf16>) -> tensor<?x1024xf16> {
  %q = weft.param "q4p" : tensor<1024x4096xi4>
  %s = weft.param "s4p" : tensor<1024x32xf16>
  %y = weft.qlinear %x, %q, %s {group_size = 128} : (tensor<?x4096xf16>, tensor<1024x4096xi4>, tensor<1024x32xf16>) -> tensor<?x1024xf16>
  return %y : tensor<?x1024xf16>
}
