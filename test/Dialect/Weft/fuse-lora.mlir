// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-lora))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-epilogues,weft-fuse-lora))' | FileCheck %s --check-prefix=EPI

// linear(x) + lora(x) becomes one linear with the LoRA operands.
// CHECK-LABEL: func @linear_lora
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>, %[[W:.+]]: tensor<32x64xf32>, %[[A:.+]]: tensor<4x64xf32>, %[[B:.+]]: tensor<32x4xf32>)
// CHECK-NEXT: %[[Y:.+]] = weft.linear %[[X]], %[[W]] lora %[[A]], %[[B]] {lora_scale = 2.000000e+00 : f32} : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<4x64xf32>, tensor<32x4xf32>) -> tensor<?x?x32xf32>
// CHECK-NEXT: return %[[Y]]
// weft-fuse-epilogues first turns the add into a residual; the LoRA pass
// still fuses it.
// EPI-LABEL: func @linear_lora
// EPI-NEXT: weft.linear %{{.+}}, %{{.+}} lora %{{.+}}, %{{.+}} {lora_scale = 2.000000e+00 : f32}
// EPI-NEXT: return
func.func @linear_lora(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %a: tensor<4x64xf32>, %b: tensor<32x4xf32>) -> tensor<?x?x32xf32> {
  %y = weft.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %d = weft.lora %x, %a, %b {scale = 2.0 : f32} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<32x4xf32>) -> tensor<?x?x32xf32>
  %r = weft.add %y, %d : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  return %r : tensor<?x?x32xf32>
}

// -----

// Multi-adapter lora first in the add, on a qlinear with a bias.
// CHECK-LABEL: func @qlinear_multi_adapter
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x64xf16>, %[[Q:.+]]: tensor<32x64xi8>, %[[S:.+]]: tensor<32x1xf16>, %[[BIAS:.+]]: tensor<32xf16>, %[[A:.+]]: tensor<3x4x64xf16>, %[[B:.+]]: tensor<3x32x4xf16>, %[[IDS:.+]]: tensor<2xi32>)
// CHECK-NEXT: %[[Y:.+]] = weft.qlinear %[[X]], %[[Q]], %[[S]] bias %[[BIAS]] lora %[[A]], %[[B]] lora_ids %[[IDS]] {group_size = -1 : i64} :
// CHECK-NEXT: return %[[Y]]
func.func @qlinear_multi_adapter(%x: tensor<2x3x64xf16>, %q: tensor<32x64xi8>, %s: tensor<32x1xf16>, %bias: tensor<32xf16>, %a: tensor<3x4x64xf16>, %b: tensor<3x32x4xf16>, %ids: tensor<2xi32>) -> tensor<2x3x32xf16> {
  %y = weft.qlinear %x, %q, %s bias %bias {group_size = -1} : (tensor<2x3x64xf16>, tensor<32x64xi8>, tensor<32x1xf16>, tensor<32xf16>) -> tensor<2x3x32xf16>
  %d = weft.lora %x, %a, %b ids %ids : (tensor<2x3x64xf16>, tensor<3x4x64xf16>, tensor<3x32x4xf16>, tensor<2xi32>) -> tensor<2x3x32xf16>
  %r = weft.add %d, %y : (tensor<2x3x32xf16>, tensor<2x3x32xf16>) -> tensor<2x3x32xf16>
  return %r : tensor<2x3x32xf16>
}

// -----

// LoRA on a different x, a linear with another user, a lora whose result
// broadcasts against the linear's, and an activated linear (act(s) + d is
// not act(s + d)): nothing fuses.
// CHECK-LABEL: func @not_fusable
// CHECK-NOT: lora %
// CHECK-COUNT-4: weft.lora
// CHECK-NOT: lora %
func.func @not_fusable(%x: tensor<4x64xf32>, %x2: tensor<4x64xf32>, %x1: tensor<1x64xf32>, %w: tensor<32x64xf32>, %a: tensor<4x64xf32>, %b: tensor<32x4xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>) {
  %y0 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %d0 = weft.lora %x2, %a, %b : (tensor<4x64xf32>, tensor<4x64xf32>, tensor<32x4xf32>) -> tensor<4x32xf32>
  %r0 = weft.add %y0, %d0 : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %y1 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %d1 = weft.lora %x, %a, %b : (tensor<4x64xf32>, tensor<4x64xf32>, tensor<32x4xf32>) -> tensor<4x32xf32>
  %r1 = weft.add %y1, %d1 : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  %y2 = weft.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %d2 = weft.lora %x1, %a, %b : (tensor<1x64xf32>, tensor<4x64xf32>, tensor<32x4xf32>) -> tensor<1x32xf32>
  %r2 = weft.add %y2, %d2 : (tensor<4x32xf32>, tensor<1x32xf32>) -> tensor<4x32xf32>
  %y3 = weft.linear %x, %w {activation = #weft.activation<relu>} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %d3 = weft.lora %x, %a, %b : (tensor<4x64xf32>, tensor<4x64xf32>, tensor<32x4xf32>) -> tensor<4x32xf32>
  %r3 = weft.add %y3, %d3 : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  return %r0, %r1, %y1, %r2, %r3 : tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
}
