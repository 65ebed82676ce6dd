// RUN: weft-opt %s -split-input-file -convert-weft-to-linalg -verify-diagnostics

func.func @unbound_param() -> tensor<4xf32> {
  // expected-error @+1 {{'weft.param' op must be bound to a function argument before lowering; weft-compile does this (see `weft-compile --emit=mlir`)}}
  %0 = weft.param "w" : tensor<4xf32>
  return %0 : tensor<4xf32>
}
