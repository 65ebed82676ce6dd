// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-gated-linear))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-epilogues,weft-fuse-gated-linear))' | FileCheck %s --check-prefix=EPI

// SwiGLU: silu(x Wg^T) * (x Wu^T) becomes one op.
// CHECK-LABEL: func @swiglu
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>, %[[WG:.+]]: tensor<96x64xf32>, %[[WU:.+]]: tensor<96x64xf32>)
// CHECK-NEXT: %[[Y:.+]] = weft.gated_linear %[[X]], %[[WG]], %[[WU]] : (tensor<?x?x64xf32>, tensor<96x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
// CHECK-NEXT: return %[[Y]]
// With the silu folded into the gate linear first, the result is the same.
// EPI-LABEL: func @swiglu
// EPI-NEXT: weft.gated_linear
// EPI-NEXT: return
func.func @swiglu(%x: tensor<?x?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>) -> tensor<?x?x96xf32> {
  %g = weft.linear %x, %wg : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
  %a = weft.silu %g : tensor<?x?x96xf32>
  %u = weft.linear %x, %wu : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
  %y = weft.mul %a, %u : (tensor<?x?x96xf32>, tensor<?x?x96xf32>) -> tensor<?x?x96xf32>
  return %y : tensor<?x?x96xf32>
}

// -----

// The up projection on the left of the mul, and GeGLU (tanh gelu).
// CHECK-LABEL: func @up_first_geglu
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xbf16>, %[[WG:.+]]: tensor<32x64xbf16>, %[[WU:.+]]: tensor<32x64xbf16>)
// CHECK-NEXT: weft.gated_linear %[[X]], %[[WG]], %[[WU]] {activation = #weft.activation<gelu_tanh>}
func.func @up_first_geglu(%x: tensor<4x64xbf16>, %wg: tensor<32x64xbf16>, %wu: tensor<32x64xbf16>) -> tensor<4x32xbf16> {
  %u = weft.linear %x, %wu : (tensor<4x64xbf16>, tensor<32x64xbf16>) -> tensor<4x32xbf16>
  %g = weft.linear %x, %wg : (tensor<4x64xbf16>, tensor<32x64xbf16>) -> tensor<4x32xbf16>
  %a = weft.gelu %g {tanh_approximation} : tensor<4x32xbf16>
  %y = weft.mul %u, %a : (tensor<4x32xbf16>, tensor<4x32xbf16>) -> tensor<4x32xbf16>
  return %y : tensor<4x32xbf16>
}

// -----

// Different x, a bias on a projection, an activated value with another
// user, and an activation on the up side (silu(g) * silu(u) is not a GLU
// with a plain up projection): nothing fuses.
// CHECK-LABEL: func @not_gated
// CHECK-NOT: weft.gated_linear
func.func @not_gated(%x: tensor<4x64xf32>, %x2: tensor<4x64xf32>, %wg: tensor<32x64xf32>, %wu: tensor<32x64xf32>, %b: tensor<32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>) {
  %g0 = weft.linear %x, %wg : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %a0 = weft.silu %g0 : tensor<4x32xf32>
  %u0 = weft.linear %x2, %wu : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %y0 = weft.mul %a0, %u0 : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %g1 = weft.linear %x, %wg bias %b : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  %a1 = weft.silu %g1 : tensor<4x32xf32>
  %u1 = weft.linear %x, %wu : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %y1 = weft.mul %a1, %u1 : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %g2 = weft.linear %x, %wg : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %a2 = weft.silu %g2 : tensor<4x32xf32>
  %u2 = weft.linear %x, %wu : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %y2 = weft.mul %a2, %u2 : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %g3 = weft.linear %x, %wg : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %a3 = weft.silu %g3 : tensor<4x32xf32>
  %u3 = weft.linear %x, %wu : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %s3 = weft.silu %u3 : tensor<4x32xf32>
  %y3 = weft.mul %a3, %s3 : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y0, %y1, %y2, %a2, %y3 : tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
}

// -----

// A mul that broadcasts the product is not a GLU.
// CHECK-LABEL: func @broadcasting_mul
// CHECK-NOT: weft.gated_linear
func.func @broadcasting_mul(%x: tensor<1x64xf32>, %x4: tensor<4x64xf32>, %wg: tensor<32x64xf32>, %wu: tensor<32x64xf32>) -> tensor<4x32xf32> {
  %g = weft.linear %x, %wg : (tensor<1x64xf32>, tensor<32x64xf32>) -> tensor<1x32xf32>
  %a = weft.silu %g : tensor<1x32xf32>
  %u = weft.linear %x4, %wu : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %y = weft.mul %a, %u : (tensor<1x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
