func.func @main(%x: tensor<?x100xf32>) -> tensor<?x100xf32> {
  %y = weft.softmax %x {axis = 1 : i64} : tensor<?x100xf32>
  return %y : tensor<?x100xf32>
}
