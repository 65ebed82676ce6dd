func.func @main(%ids: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %t = weft.param "table" : tensor<100x8xf32>
  %e = weft.embedding %t, %ids : (tensor<100x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32>
  return %e : tensor<?x?x8xf32>
}
