// A bf16 prefill (causal GQA, D = 64) for weft-compile --gpu-attention=registers.
func.func @prefill(%q: tensor<2x?x8x64xbf16>, %k: tensor<2x?x2x64xbf16>, %v: tensor<2x?x2x64xbf16>) -> tensor<2x?x8x64xbf16> {
  %0 = weft.attention %q, %k, %v {causal} : (tensor<2x?x8x64xbf16>, tensor<2x?x2x64xbf16>, tensor<2x?x2x64xbf16>) -> tensor<2x?x8x64xbf16>
  return %0 : tensor<2x?x8x64xbf16>
}
