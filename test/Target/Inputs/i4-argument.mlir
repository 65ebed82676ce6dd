func.func @f(%x: tensor<2x4xi4>) -> tensor<2x4xi4> {
  return %x : tensor<2x4xi4>
}
