// RUN: weft-opt %s -split-input-file -weft-tile="tile-sizes=0,4,16" | FileCheck %s
// RUN: weft-opt %s -split-input-file -weft-tile="tile-sizes=0,0,0" | FileCheck %s --check-prefix=NONE
// RUN: weft-opt %s -split-input-file -weft-tile="norm-tile-sizes=1,4 ssm-scan-tile-sizes=1,2,5 linear-tile-sizes=0,16,32" | FileCheck %s --check-prefix=FAMILY
// RUN: weft-opt %s -split-input-file -weft-tile="target=cpu forall" | FileCheck %s --check-prefix=CPU

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

// -----

// layer_norm: loops over single batch rows and 4 tokens.
// FAMILY-LABEL: func @layer_norm
// FAMILY-SAME: (%[[X:.+]]: tensor<?x?x64xf32>, %[[W:.+]]: tensor<64xf32>, %[[B:.+]]: tensor<64xf32>)
// FAMILY: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %c1
// FAMILY: scf.for %[[J:.+]] = %{{.+}} to %{{.+}} step %c4
// FAMILY: %[[XT:.+]] = tensor.extract_slice %[[X]][%[[I]], %[[J]], 0] [1, %{{.+}}, 64]
// FAMILY: weft.layer_norm %[[XT]] weight %[[W]] bias %[[B]] : (tensor<1x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
// target=cpu: scf.forall over single batch rows and 32 tokens.
// CPU-LABEL: func @layer_norm
// CPU: scf.forall (%{{.+}}, %{{.+}}) = (0, 0) to (%{{.+}}, %{{.+}}) step (1, 32)
// CPU: weft.layer_norm {{.*}} -> tensor<1x?x64xf32>
// CPU: scf.forall.in_parallel
func.func @layer_norm(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %y = weft.layer_norm %x weight %w bias %b : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// ssm_scan: tiles of 1 batch row and 2 heads (inside one group of 4 heads:
// B and C give that group), then chunks of 5 steps carrying the state from
// initial_state.
// FAMILY-LABEL: func @ssm_scan
// FAMILY-SAME: (%[[X:.+]]: tensor<2x?x8x16xf32>, %[[DT:.+]]: tensor<2x?x8xf32>, %[[A:.+]]: tensor<8xf32>, %[[BM:.+]]: tensor<2x?x2x32xf32>, %[[CM:.+]]: tensor<2x?x2x32xf32>, %[[S0:.+]]: tensor<2x8x16x32xf32>)
// FAMILY: scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step %c1
// FAMILY: scf.for %[[H:.+]] = %{{.+}} to %{{.+}} step %c2
// FAMILY: %[[G:.+]] = affine.apply #{{.+}}(%[[H]])
// FAMILY: %[[XT:.+]] = tensor.extract_slice %[[X]][%[[B]], 0, %[[H]], 0] [1, %{{.+}}, 2, 16]
// FAMILY: %[[AT:.+]] = tensor.extract_slice %[[A]][%[[H]]] [2] [1]
// FAMILY: tensor.extract_slice %{{.+}}[0, 0, %[[G]], 0] [1, %{{.+}}, 1, 32]
// FAMILY: %[[ST:.+]] = tensor.extract_slice %[[S0]][%[[B]], %[[H]], 0, 0] [1, 2, 16, 32]
// FAMILY: scf.for %[[T:.+]] = %{{.+}} to %{{.+}} step %c5 iter_args(%[[Y:.+]] = %{{.+}}, %[[STATE:.+]] = %[[ST]])
// FAMILY: %[[XC:.+]] = tensor.extract_slice %[[XT]][0, %[[T]], 0, 0]
// FAMILY: %[[YC:.+]], %[[SC:.+]] = weft.ssm_scan %[[XC]], {{.*}} initial_state %[[STATE]] {dt_softplus}
// FAMILY: %[[YN:.+]] = tensor.insert_slice %[[YC]] into %[[Y]][0, %[[T]], 0, 0]
// FAMILY: scf.yield %[[YN]], %[[SC]]
// target=cpu: one task per (batch row, head).
// CPU-LABEL: func @ssm_scan
// CPU: scf.forall (%{{.+}}, %{{.+}}) in (2, 8)
// CPU: weft.ssm_scan {{.*}} -> (tensor<1x?x1x16xf32>, tensor<1x1x16x32xf32>)
func.func @ssm_scan(%x: tensor<2x?x8x16xf32>, %dt: tensor<2x?x8xf32>, %a: tensor<8xf32>, %bm: tensor<2x?x2x32xf32>, %cm: tensor<2x?x2x32xf32>, %s0: tensor<2x8x16x32xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %a, %bm, %cm initial_state %s0 {dt_softplus} : (tensor<2x?x8x16xf32>, tensor<2x?x8xf32>, tensor<8xf32>, tensor<2x?x2x32xf32>, tensor<2x?x2x32xf32>, tensor<2x8x16x32xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>)
  return %y, %s : tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>
}

// -----

// linear: N tiles of 16 (LoRA B and the ids follow), then K tiles of 32: the
// first with the bias, the second through the residual operand; LoRA A is
// sliced along K; the activation and residual come after the loop.
// FAMILY-LABEL: func @linear_k
// FAMILY-SAME: (%[[X:.+]]: tensor<?x64xf32>, %[[W:.+]]: tensor<32x64xf32>, %[[BIAS:.+]]: tensor<32xf32>, %[[R:.+]]: tensor<?x32xf32>, %[[LA:.+]]: tensor<2x4x64xf32>, %[[LB:.+]]: tensor<2x32x4xf32>, %[[IDS:.+]]: tensor<?xi32>)
// FAMILY: scf.for %[[N:.+]] = %{{.+}} to %c32 step %c16
// FAMILY-DAG: %[[WT:.+]] = tensor.extract_slice %[[W]][%[[N]], 0] [16, 64]
// FAMILY-DAG: %[[BT:.+]] = tensor.extract_slice %[[BIAS]][%[[N]]] [16]
// FAMILY-DAG: %[[RT:.+]] = tensor.extract_slice %[[R]][0, %[[N]]] [%{{.+}}, 16]
// FAMILY-DAG: %[[LBT:.+]] = tensor.extract_slice %[[LB]][0, %[[N]], 0] [2, 16, 4]
// FAMILY: %[[X0:.+]] = tensor.extract_slice %[[X]][0, 0] [%{{.+}}, 32]
// FAMILY: %[[LA0:.+]] = tensor.extract_slice %[[LA]][0, 0, 0] [2, 4, 32]
// FAMILY: %[[W0:.+]] = tensor.extract_slice %[[WT]][0, 0] [16, 32]
// FAMILY: %[[Y0:.+]] = weft.linear %[[X0]], %[[W0]] bias %[[BT]] lora %[[LA0]], %[[LBT]] lora_ids %{{.+}} : (tensor<?x32xf32>, tensor<16x32xf32>, tensor<16xf32>, tensor<2x4x32xf32>, tensor<2x16x4xf32>, tensor<?xi32>) -> tensor<?x16xf32>
// FAMILY: %[[ACC:.+]] = scf.for %[[K:.+]] = %{{.+}} to %c64 step %{{.+}} iter_args(%[[A:.+]] = %[[Y0]])
// FAMILY: %[[XK:.+]] = tensor.extract_slice %[[X]][0, %[[K]]] [%{{.+}}, 32]
// FAMILY: weft.linear %[[XK]], %{{.+}} residual %[[A]] lora %{{.+}}, %[[LBT]] lora_ids %{{.+}} : (tensor<?x32xf32>, tensor<16x32xf32>, tensor<?x16xf32>, tensor<2x4x32xf32>, tensor<2x16x4xf32>, tensor<?xi32>) -> tensor<?x16xf32>
// FAMILY: %[[ACT:.+]] = weft.gelu %[[ACC]] {tanh_approximation}
// FAMILY: weft.add %[[ACT]], %[[RT]]
// target=cpu leaves linear layers to weft-tile-contractions.
// CPU-LABEL: func @linear_k
// CPU-NOT: scf.forall
// CPU: weft.linear
func.func @linear_k(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>, %r: tensor<?x32xf32>, %la: tensor<2x4x64xf32>, %lb: tensor<2x32x4xf32>, %ids: tensor<?xi32>) -> tensor<?x32xf32> {
  %y = weft.linear %x, %w bias %b residual %r lora %la, %lb lora_ids %ids {activation = #weft.activation<gelu_tanh>} : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>, tensor<?x32xf32>, tensor<2x4x64xf32>, tensor<2x32x4xf32>, tensor<?xi32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// qlinear K tiles of 32 with groups of 16: scales and zeros follow by groups.
// FAMILY-LABEL: func @qlinear_k
// FAMILY: weft.qlinear {{.*}} : (tensor<5x32xf32>, tensor<16x32xi4>, tensor<16x2xf32>, tensor<16x2xi4>) -> tensor<5x16xf32>
// FAMILY: scf.for %[[K:.+]] = %{{.+}} to %c64 step
// FAMILY: %[[G:.+]] = affine.apply #{{.+}}(%[[K]])
// FAMILY: tensor.extract_slice %{{.+}}[0, %[[G]]] [16, 2] [1, 1] : tensor<16x4xf32> to tensor<16x2xf32>
// FAMILY: weft.qlinear {{.*}} residual %{{.+}} {group_size = 16 : i64} : (tensor<5x32xf32>, tensor<16x32xi4>, tensor<16x2xf32>, tensor<16x2xi4>, tensor<5x16xf32>) -> tensor<5x16xf32>
func.func @qlinear_k(%x: tensor<5x64xf32>, %q: tensor<32x64xi4>, %s: tensor<32x4xf32>, %z: tensor<32x4xi4>) -> tensor<5x32xf32> {
  %y = weft.qlinear %x, %q, %s zeros %z {group_size = 16} : (tensor<5x64xf32>, tensor<32x64xi4>, tensor<32x4xf32>, tensor<32x4xi4>) -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}
