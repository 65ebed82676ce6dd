// RUN: weft-opt %s -split-input-file -weft-tile="attention-tile-sizes=0,0,0,32" | FileCheck %s

// Key blocks of 32: each block's attention with its lse (kv_len clamped to
// the block), merged into the running output and lse.
// CHECK-LABEL: func @keys
// CHECK-SAME: (%[[Q:.+]]: tensor<2x5x8x16xf32>, %[[K:.+]]: tensor<2x?x2x16xf32>, %[[V:.+]]: tensor<2x?x2x16xf32>, %[[LEN:.+]]: tensor<2xi32>)
// CHECK: %[[OUT0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x5x8x16xf32>)
// CHECK: %[[LSE0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x8x5xf32>)
// CHECK: scf.for %[[J:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[OUT:.+]] = %[[OUT0]], %[[LSE:.+]] = %[[LSE0]])
// CHECK: %[[SIZE:.+]] = affine.min
// CHECK-DAG: %[[KB:.+]] = tensor.extract_slice %[[K]][0, %[[J]], 0, 0] [2, %[[SIZE]], 2, 16]
// CHECK-DAG: %[[VB:.+]] = tensor.extract_slice %[[V]][0, %[[J]], 0, 0] [2, %[[SIZE]], 2, 16]
// CHECK: %[[BLEN:.+]] = linalg.generic {{.*}} ins(%[[LEN]] : tensor<2xi32>)
// CHECK: arith.subi
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: %[[O:.+]], %[[L:.+]] = weft.attention %[[Q]], %[[KB]], %[[VB]] kv_len %[[BLEN]] {return_lse}
// CHECK: %[[NEWLSE:.+]] = linalg.generic {{.*}} ins(%[[LSE]], %[[L]] : {{.*}})
// CHECK: math.log1p
// CHECK: %[[NEWOUT:.+]] = linalg.generic {{.*}} ins(%[[OUT]], %[[O]], %[[LSE]], %[[L]], %[[NEWLSE]] : {{.*}}) outs(%[[OUT]] : tensor<2x5x8x16xf32>)
// CHECK: scf.yield %[[NEWOUT]], %[[NEWLSE]]
func.func @keys(%q: tensor<2x5x8x16xf32>, %k: tensor<2x?x2x16xf32>, %v: tensor<2x?x2x16xf32>, %len: tensor<2xi32>) -> (tensor<2x5x8x16xf32>, tensor<2x8x5xf32>) {
  %o, %l = weft.attention %q, %k, %v kv_len %len {return_lse} : (tensor<2x5x8x16xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>, tensor<2xi32>) -> (tensor<2x5x8x16xf32>, tensor<2x8x5xf32>)
  return %o, %l : tensor<2x5x8x16xf32>, tensor<2x8x5xf32>
}

// -----

// Causal decoding (Sq = 1) sees exactly the keys below kv_len: the blocks
// drop causal; without return_lse only the output is returned.
// CHECK-LABEL: func @causal_decode
// CHECK: scf.for
// CHECK: weft.attention {{.*}} kv_len %{{.+}} {return_lse} : (tensor<4x1x8x16xf32>, tensor<4x?x8x16xf32>, tensor<4x?x8x16xf32>, tensor<4xi64>) -> (tensor<4x1x8x16xf32>, tensor<4x8x1xf32>)
// CHECK: return %{{.+}}#0 : tensor<4x1x8x16xf32>
func.func @causal_decode(%q: tensor<4x1x8x16xf32>, %k: tensor<4x?x8x16xf32>, %v: tensor<4x?x8x16xf32>, %len: tensor<4xi64>) -> tensor<4x1x8x16xf32> {
  %o = weft.attention %q, %k, %v kv_len %len {causal} : (tensor<4x1x8x16xf32>, tensor<4x?x8x16xf32>, tensor<4x?x8x16xf32>, tensor<4xi64>) -> tensor<4x1x8x16xf32>
  return %o : tensor<4x1x8x16xf32>
}
