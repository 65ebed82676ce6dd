// RUN: weft-opt %s | weft-opt | FileCheck %s
func.func @f(%q: tensor<1x?x8x64xf32>, %k: tensor<1x?x2x64xf32>, %v: tensor<1x?x2x64xf32>, %len: tensor<1xi32>) -> tensor<1x?x8x64xf32> {
  %o = weft.attention %q, %k, %v kv_len %len {causal, window = 16} : (tensor<1x?x8x64xf32>, tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>, tensor<1xi32>) -> tensor<1x?x8x64xf32>
  %s = weft.silu %o : tensor<1x?x8x64xf32>
  return %s : tensor<1x?x8x64xf32>
}
