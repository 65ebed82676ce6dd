// RUN: weft-opt %s -split-input-file -weft-tile="tile-sizes=0,4,16" | FileCheck %s
// RUN: weft-opt %s -split-input-file -weft-tile="tile-sizes=0,0,0" | FileCheck %s --check-prefix=NONE

// Loops over tokens (4) and output features (16); x keeps all of K, the
// weight, bias and residual follow the N tile, the epilogue is kept.
// CHECK-LABEL: func @linear
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>, %[[W:.+]]: tensor<32x64xf32>, %[[B:.+]]: tensor<32xf32>, %[[R:.+]]: tensor<?x?x32xf32>)
// CHECK: %[[INIT:.+]] = tensor.empty(%{{.+}}, %{{.+}}) : tensor<?x?x32xf32>
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %c4 iter_args(%[[ACC:.+]] = %[[INIT]])
// CHECK: scf.for %[[J:.+]] = %{{.+}} to %c32 step %c16 iter_args(%[[ACC2:.+]] = %[[ACC]])
// CHECK-DAG: %[[XT:.+]] = tensor.extract_slice %[[X]][0, %[[I]], 0] [%{{.+}}, %{{.+}}, 64]
// CHECK-DAG: %[[BT:.+]] = tensor.extract_slice %[[B]][%[[J]]] [16] [1]
// CHECK-DAG: %[[RT:.+]] = tensor.extract_slice %[[R]][0, %[[I]], %[[J]]]
// CHECK-DAG: %[[WT:.+]] = tensor.extract_slice %[[W]][%[[J]], 0] [16, 64] [1, 1] : tensor<32x64xf32> to tensor<16x64xf32>
// CHECK: %[[Y:.+]] = weft.linear %[[XT]], %[[WT]] bias %[[BT]] residual %[[RT]] {activation = #weft.activation<silu>} : (tensor<?x?x64xf32>, tensor<16x64xf32>, tensor<16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
// CHECK: tensor.insert_slice %[[Y]] into %[[ACC2]][0, %[[I]], %[[J]]]
// NONE-LABEL: func @linear
// NONE-NOT: scf.for
func.func @linear(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>, %r: tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  %y = weft.linear %x, %w bias %b residual %r {activation = #weft.activation<silu>} : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// rms_norm has loops over its leading dims only; the normalized dim and the
// weight stay whole.
// CHECK-LABEL: func @norm
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>, %[[G:.+]]: tensor<64xf32>)
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %c4
// CHECK-NOT: scf.for
// CHECK: %[[XT:.+]] = tensor.extract_slice %[[X]][0, %[[I]], 0] [%{{.+}}, %{{.+}}, 64]
// CHECK: weft.rms_norm %[[XT]], %[[G]] {eps = 9.9999999999999995E-7 : f64}
func.func @norm(%x: tensor<?x?x64xf32>, %g: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %y = weft.rms_norm %x, %g {eps = 1.0e-6 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// qlinear (two loops): N tiles of 4 slice qweight, scales and zeros by rows.
// CHECK-LABEL: func @qlinear
// CHECK: scf.for %[[J:.+]] = %{{.+}} to %c32 step %c4
// CHECK-DAG: tensor.extract_slice %{{.+}}[%[[J]], 0] [4, 64] [1, 1] : tensor<32x64xi4> to tensor<4x64xi4>
// CHECK-DAG: tensor.extract_slice %{{.+}}[%[[J]], 0] [4, 2] [1, 1] : tensor<32x2xf32> to tensor<4x2xf32>
// CHECK-DAG: tensor.extract_slice %{{.+}}[%[[J]], 0] [4, 2] [1, 1] : tensor<32x2xi4> to tensor<4x2xi4>
// CHECK: weft.qlinear %{{.+}} {group_size = 32 : i64} : (tensor<5x64xf32>, tensor<4x64xi4>, tensor<4x2xf32>, tensor<4x2xi4>) -> tensor<5x4xf32>
func.func @qlinear(%x: tensor<5x64xf32>, %q: tensor<32x64xi4>, %s: tensor<32x2xf32>, %z: tensor<32x2xi4>) -> tensor<5x32xf32> {
  %y = weft.qlinear %x, %q, %s zeros %z {group_size = 32} : (tensor<5x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>, tensor<32x2xi4>) -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}
