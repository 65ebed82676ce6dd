// Three inputs whose batch dims the lowered code indexes with one loop; the
// K dim of %c is tied to the static parameter w.
func.func @main(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>, %c: tensor<?x?xf32>) -> tensor<?x4xf32> {
  %0 = weft.add %a, %b : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %w = weft.param "w" : tensor<4x8xf32>
  %1 = weft.linear %c, %w : (tensor<?x?xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %2 = weft.add %0, %1 : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %2 : tensor<?x4xf32>
}
