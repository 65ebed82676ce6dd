// Sequences that the lowering walks with one loop: the key/value length of
// attention (not the query length) and the scan's sequence length.
func.func @main(%q: tensor<1x?x4x32xf32>, %k: tensor<1x?x2x32xf32>, %v: tensor<1x?x2x32xf32>) -> tensor<1x?x4x32xf32> {
  %o = weft.attention %q, %k, %v {causal} : (tensor<1x?x4x32xf32>, tensor<1x?x2x32xf32>, tensor<1x?x2x32xf32>) -> tensor<1x?x4x32xf32>
  return %o : tensor<1x?x4x32xf32>
}
func.func @ssm(%x: tensor<2x?x8x16xf32>, %dt: tensor<2x?x8xf32>, %A: tensor<8xf32>, %B: tensor<2x?x2x32xf32>, %C: tensor<2x?x2x32xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>) {
  %y, %st = weft.ssm_scan %x, %dt, %A, %B, %C : (tensor<2x?x8x16xf32>, tensor<2x?x8xf32>, tensor<8xf32>, tensor<2x?x2x32xf32>, tensor<2x?x2x32xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>)
  return %y, %st : tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>
}
