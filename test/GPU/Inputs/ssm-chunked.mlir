// A bf16 Mamba-2 scan (32 heads on one group, P = 64, N = 128) for
// weft-compile --gpu-ssm-scan=chunked.
func.func @scan(%x: tensor<1x?x32x64xbf16>, %dt: tensor<1x?x32xbf16>, %A: tensor<32xf32>, %B: tensor<1x?x1x128xbf16>, %C: tensor<1x?x1x128xbf16>, %D: tensor<32xf32>, %z: tensor<1x?x32x64xbf16>, %db: tensor<32xf32>) -> (tensor<1x?x32x64xbf16>, tensor<1x32x64x128xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db {dt_softplus} : (tensor<1x?x32x64xbf16>, tensor<1x?x32xbf16>, tensor<32xf32>, tensor<1x?x1x128xbf16>, tensor<1x?x1x128xbf16>, tensor<32xf32>, tensor<1x?x32x64xbf16>, tensor<32xf32>) -> (tensor<1x?x32x64xbf16>, tensor<1x32x64x128xf32>)
  return %y, %s : tensor<1x?x32x64xbf16>, tensor<1x32x64x128xf32>
}
