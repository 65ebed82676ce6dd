// RUN: weft-opt %s -split-input-file -weft-bind-params -verify-diagnostics | FileCheck %s

// Each distinct name becomes one trailing argument marked with its name;
// private functions keep their params (weft-compile rejects them).
// CHECK-LABEL: func @main
// CHECK-SAME:  (%[[X:.+]]: tensor<2x8xf32>, %[[W:.+]]: tensor<4x8xf32> {weft.param = "w"}, %[[B:.+]]: tensor<4xf32> {weft.param = "b"})
// CHECK-NOT:   weft.param "
// CHECK:       weft.linear %[[X]], %[[W]] bias %[[B]]
// CHECK:       weft.linear %[[X]], %[[W]] :
// CHECK-LABEL: func private @helper
// CHECK:       weft.param "w"
func.func @main(%x: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = weft.param "w" : tensor<4x8xf32>
  %b = weft.param "b" : tensor<4xf32>
  %y = weft.linear %x, %w bias %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %w2 = weft.param "w" : tensor<4x8xf32>
  %z = weft.linear %x, %w2 : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %y, %z : tensor<2x4xf32>, tensor<2x4xf32>
}
func.func private @helper() -> tensor<4x8xf32> {
  %w = weft.param "w" : tensor<4x8xf32>
  return %w : tensor<4x8xf32>
}

// -----

// Binding again is a no-op for names already bound.
// CHECK-LABEL: func @bound
// CHECK-SAME:  (%[[W:.+]]: tensor<4xf32> {weft.param = "w"}) -> tensor<4xf32>
// CHECK-NEXT:  return %[[W]]
func.func @bound(%w: tensor<4xf32> {weft.param = "w"}) -> tensor<4xf32> {
  %again = weft.param "w" : tensor<4xf32>
  return %again : tensor<4xf32>
}

// -----

func.func @two_types() -> (tensor<4xf32>, tensor<4xf16>) {
  %a = weft.param "w" : tensor<4xf32>
  // expected-error @below {{parameter 'w' is used with two types, 'tensor<4xf32>' and 'tensor<4xf16>'}}
  %b = weft.param "w" : tensor<4xf16>
  return %a, %b : tensor<4xf32>, tensor<4xf16>
}
