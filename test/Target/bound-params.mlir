// RUN: weft-opt %s -weft-bind-params -o %t.mlir
// RUN: weft-compile %t.mlir -o %t.weft
// RUN: not weft-run %t.weft 2>&1 | FileCheck %s
// RUN: not weft-compile %S/Inputs/param-order.mlir --emit=mlir -o /dev/null 2>&1 | FileCheck %s --check-prefix=ORDER

// weft-compile takes arguments weft-bind-params marked as the parameters of
// those names: the artifact's function has a parameter, not a second input.
// CHECK: weft-run: error: function 'main' has 1 param: pass --params FILE.safetensors
func.func @main(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = weft.param "w" : tensor<4x8xf32>
  %y = weft.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// ORDER: error: entry function @inputs_after: argument 1 follows a parameter argument; parameters (weft.param) must be the trailing arguments
