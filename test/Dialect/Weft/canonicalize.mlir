// RUN: weft-opt %s -split-input-file -canonicalize | FileCheck %s

// CHECK-LABEL: func @add_zero
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-NEXT: return %[[X]]
func.func @add_zero(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant dense<0.0> : tensor<8xf32>
  %0 = weft.add %zero, %x : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Broadcasting changes the type: the add must stay.
// CHECK-LABEL: func @add_zero_broadcasting
// CHECK: weft.add
func.func @add_zero_broadcasting(%x: tensor<8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant dense<0.0> : tensor<4x8xf32>
  %0 = weft.add %x, %zero : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @sub_zero_mul_one_div_one
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-NEXT: return %[[X]]
func.func @sub_zero_mul_one_div_one(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant dense<0.0> : tensor<4x8xf32>
  %one = arith.constant dense<1.0> : tensor<1xf32>
  %0 = weft.sub %x, %zero : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = weft.mul %one, %0 : (tensor<1xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = weft.div %1, %one : (tensor<4x8xf32>, tensor<1xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// Subtracting x from zero is not the identity.
// CHECK-LABEL: func @zero_sub
// CHECK: weft.sub
func.func @zero_sub(%x: tensor<4xf32>) -> tensor<4xf32> {
  %zero = arith.constant dense<0.0> : tensor<4xf32>
  %0 = weft.sub %zero, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @int_mul_one
// CHECK-SAME: (%[[X:.+]]: tensor<4xi64>)
// CHECK-NEXT: return %[[X]]
func.func @int_mul_one(%x: tensor<4xi64>) -> tensor<4xi64> {
  %one = arith.constant dense<1> : tensor<4xi64>
  %0 = weft.mul %x, %one : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// CHECK-LABEL: func @double_neg
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NEXT: return %[[X]]
func.func @double_neg(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = weft.neg %x : tensor<4xf32>
  %1 = weft.neg %0 : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @reshape_chain
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x512xf32>)
// CHECK-NEXT: %[[R:.+]] = weft.reshape %[[X]] : tensor<?x?x512xf32> -> tensor<?x?x8x8x8xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_chain(%x: tensor<?x?x512xf32>) -> tensor<?x?x8x8x8xf32> {
  %0 = weft.reshape %x : tensor<?x?x512xf32> -> tensor<?x?x8x64xf32>
  %1 = weft.reshape %0 : tensor<?x?x8x64xf32> -> tensor<?x?x8x8x8xf32>
  return %1 : tensor<?x?x8x8x8xf32>
}

// -----

// CHECK-LABEL: func @reshape_roundtrip
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x512xf32>)
// CHECK-NEXT: return %[[X]]
func.func @reshape_roundtrip(%x: tensor<?x?x512xf32>) -> tensor<?x?x512xf32> {
  %0 = weft.reshape %x : tensor<?x?x512xf32> -> tensor<?x?x8x64xf32>
  %1 = weft.reshape %0 : tensor<?x?x8x64xf32> -> tensor<?x?x512xf32>
  return %1 : tensor<?x?x512xf32>
}

// -----

// CHECK-LABEL: func @transpose_identity
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]]
func.func @transpose_identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = weft.transpose %x {permutation = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @transpose_compose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[T:.+]] = weft.transpose %[[X]] {permutation = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT: return %[[T]]
func.func @transpose_compose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = weft.transpose %x {permutation = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  %1 = weft.transpose %0 {permutation = array<i64: 1, 2, 0>} : (tensor<3x4x2xf32>) -> tensor<4x2x3xf32>
  return %1 : tensor<4x2x3xf32>
}

// -----

// Two transposes that cancel fold away entirely.
// CHECK-LABEL: func @transpose_inverse
// CHECK-SAME: (%[[X:.+]]: tensor<1x?x8x64xf32>)
// CHECK-NEXT: return %[[X]]
func.func @transpose_inverse(%x: tensor<1x?x8x64xf32>) -> tensor<1x?x8x64xf32> {
  %0 = weft.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x?x8x64xf32>) -> tensor<1x8x?x64xf32>
  %1 = weft.transpose %0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x?x64xf32>) -> tensor<1x?x8x64xf32>
  return %1 : tensor<1x?x8x64xf32>
}

// -----

// CHECK-LABEL: func @concat_single_slice_full_cast_same
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>)
// CHECK-NEXT: return %[[X]]
func.func @concat_single_slice_full_cast_same(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = weft.concat %x {axis = 1} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %1 = weft.slice %0 {axis = 1, start = 0, end = 8} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = weft.cast %1 : tensor<2x8xf32> -> tensor<2x8xf32>
  return %2 : tensor<2x8xf32>
}

// -----

// A partial slice stays.
// CHECK-LABEL: func @partial_slice
// CHECK: weft.slice
func.func @partial_slice(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %0 = weft.slice %x {axis = 1, start = 0, end = 4} : (tensor<2x8xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Unused pure ops are erased.
// CHECK-LABEL: func @dead_param
// CHECK-NOT: weft.param
func.func @dead_param() {
  %0 = weft.param "unused" : tensor<4xf32>
  return
}
