// A parameter argument (weft.param) before an input: bound-params.mlir.
// error: entry function @inputs_after: argument 1 follows a parameter argument; parameters (weft.param) must be the trailing arguments
func.func @inputs_after(%w: tensor<4xf32> {weft.param = "w"}, %x: tensor<4xf32>) -> tensor<4xf32> {
  %y = weft.add %w, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
