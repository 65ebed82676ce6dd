// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-epilogues))' | FileCheck %s

// Bias, activation and residual, in epilogue order, become one linear.
// CHECK-LABEL: func @all_stages
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>, %[[W:.+]]: tensor<32x64xf32>, %[[B:.+]]: tensor<32xf32>, %[[R:.+]]: tensor<?x?x32xf32>)
// CHECK-NEXT: %[[Y:.+]] = weft.linear %[[X]], %[[W]] bias %[[B]] residual %[[R]] {activation = #weft.activation<silu>}
// CHECK-NEXT: return %[[Y]]
func.func @all_stages(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>, %r: tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  %0 = weft.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %1 = weft.add %b, %0 : (tensor<32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  %2 = weft.silu %1 : tensor<?x?x32xf32>
  %3 = weft.add %r, %2 : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  return %3 : tensor<?x?x32xf32>
}

// -----

// gelu with the tanh approximation becomes gelu_tanh; qlinear fuses too.
// CHECK-LABEL: func @qlinear_gelu_tanh
// CHECK: %[[Y:.+]] = weft.qlinear %{{.+}}, %{{.+}}, %{{.+}} zeros %{{.+}} {activation = #weft.activation<gelu_tanh>, group_size = 32 : i64}
// CHECK-NEXT: return %[[Y]]
func.func @qlinear_gelu_tanh(%x: tensor<4x64xf16>, %q: tensor<8x64xi4>, %s: tensor<8x2xf16>, %z: tensor<8x2xi4>) -> tensor<4x8xf16> {
  %0 = weft.qlinear %x, %q, %s zeros %z {group_size = 32} : (tensor<4x64xf16>, tensor<8x64xi4>, tensor<8x2xf16>, tensor<8x2xi4>) -> tensor<4x8xf16>
  %1 = weft.gelu %0 {tanh_approximation} : tensor<4x8xf16>
  return %1 : tensor<4x8xf16>
}

// -----

// A bias after the activation is not a bias: act(xW^T) + b != act(xW^T + b).
// With a rank-2 result it is not a residual either (broadcast add).
// CHECK-LABEL: func @bias_after_activation
// CHECK: weft.linear {{.*}} {activation = #weft.activation<relu>}
// CHECK-NEXT: weft.add
func.func @bias_after_activation(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %0 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %1 = weft.relu %0 : tensor<4x32xf32>
  %2 = weft.add %1, %b : (tensor<4x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %2 : tensor<4x32xf32>
}

// -----

// An activation after the residual add must stay outside.
// CHECK-LABEL: func @activation_after_residual
// CHECK: %[[L:.+]] = weft.linear {{.*}} residual
// CHECK-NEXT: weft.silu %[[L]]
func.func @activation_after_residual(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %r: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %0 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %1 = weft.add %0, %r : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %2 = weft.silu %1 : tensor<4x32xf32>
  return %2 : tensor<4x32xf32>
}

// -----

// A linear layer with another user keeps its value: nothing fuses.
// CHECK-LABEL: func @shared_linear
// CHECK: %[[L:.+]] = weft.linear %{{.+}}, %{{.+}} :
// CHECK-NEXT: weft.add %[[L]]
// CHECK-NEXT: weft.silu %[[L]]
func.func @shared_linear(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  %0 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %1 = weft.add %0, %b : (tensor<4x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  %2 = weft.silu %0 : tensor<4x32xf32>
  return %1, %2 : tensor<4x32xf32>, tensor<4x32xf32>
}

// -----

// Adds that broadcast the linear's result, or a row-broadcast "bias" of the
// wrong length, are left alone.
// CHECK-LABEL: func @broadcasting_adds
// CHECK-COUNT-2: weft.add
// CHECK-NOT: bias
func.func @broadcasting_adds(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %r: tensor<2x4x32xf32>, %c: tensor<4x1xf32>) -> (tensor<2x4x32xf32>, tensor<4x32xf32>) {
  %0 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %1 = weft.add %0, %r : (tensor<4x32xf32>, tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %2 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %3 = weft.add %2, %c : (tensor<4x32xf32>, tensor<4x1xf32>) -> tensor<4x32xf32>
  return %1, %3 : tensor<2x4x32xf32>, tensor<4x32xf32>
}

// -----

// Sigmoid and tanh are not epilogue activations.
// CHECK-LABEL: func @other_unary
// CHECK: weft.linear
// CHECK-NEXT: weft.sigmoid
func.func @other_unary(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) -> tensor<4x32xf32> {
  %0 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %1 = weft.sigmoid %0 : tensor<4x32xf32>
  return %1 : tensor<4x32xf32>
}
