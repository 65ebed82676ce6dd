// Parameters are drawn from the IR without its comments (the CHECK lines).
// RUN: grep -v '^//' %s > %t.input.mlir
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft random-params %t.input.mlir -o %t.safetensors
// RUN: weft-opt %s -weft-merge-lora="params=%t.safetensors params-out=%t.merged.safetensors" | FileCheck %s
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft show-params %t.merged.safetensors | FileCheck %s --check-prefix=ARCHIVE
// RUN: weft-opt %s -weft-merge-lora="adapter=1 params=%t.safetensors params-out=%t.adapter1.safetensors" | FileCheck %s --check-prefix=ADAPTER
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft show-params %t.adapter1.safetensors | FileCheck %s --check-prefix=ARCHIVE1
// RUN: not weft-opt %s -weft-merge-lora="adapter=3 params=%t.safetensors params-out=%t.bad.safetensors" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not weft-opt %s -weft-merge-lora="params=%t.safetensors" 2>&1 | FileCheck %s --check-prefix=NO-OUT

// CHECK-LABEL: func @single
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[W:.+]] = weft.param "a.q_proj.merged.weight" : tensor<32x64xf32>
// CHECK-NEXT: %[[Y:.+]] = weft.linear %[[X]], %[[W]] : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
// CHECK-NEXT: return %[[Y]]
func.func @single(%x: tensor<?x?x64xf32>) -> tensor<?x?x32xf32> {
  %w = weft.param "a.q_proj.weight" : tensor<32x64xf32>
  %a = weft.param "a.q_proj.lora_A.weight" : tensor<4x64xf32>
  %b = weft.param "a.q_proj.lora_B.weight" : tensor<32x4xf32>
  %y = weft.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %d = weft.lora %x, %a, %b {scale = 2.0 : f32} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<32x4xf32>) -> tensor<?x?x32xf32>
  %q = weft.add %y, %d : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  return %q : tensor<?x?x32xf32>
}

// The adapter first, a bias and a residual on the base layer: both kept.
// CHECK-LABEL: func @bias_residual
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf16>, %[[R:.+]]: tensor<4x16xf16>)
// CHECK-DAG: %[[W:.+]] = weft.param "b.merged.weight" : tensor<16x64xf16>
// CHECK-DAG: %[[B:.+]] = weft.param "b.bias" : tensor<16xf16>
// CHECK: %[[Y:.+]] = weft.linear %[[X]], %[[W]] bias %[[B]] residual %[[R]]
// CHECK-NEXT: return %[[Y]]
func.func @bias_residual(%x: tensor<4x64xf16>, %r: tensor<4x16xf16>) -> tensor<4x16xf16> {
  %w = weft.param "b.weight" : tensor<16x64xf16>
  %bias = weft.param "b.bias" : tensor<16xf16>
  %a = weft.param "b.lora_A" : tensor<2x64xf16>
  %b = weft.param "b.lora_B" : tensor<16x2xf16>
  %d = weft.lora %x, %a, %b : (tensor<4x64xf16>, tensor<2x64xf16>, tensor<16x2xf16>) -> tensor<4x16xf16>
  %y = weft.linear %x, %w bias %bias residual %r : (tensor<4x64xf16>, tensor<16x64xf16>, tensor<16xf16>, tensor<4x16xf16>) -> tensor<4x16xf16>
  %q = weft.add %d, %y : (tensor<4x16xf16>, tensor<4x16xf16>) -> tensor<4x16xf16>
  return %q : tensor<4x16xf16>
}

// Multi-adapter loras are the serving form: left alone unless adapter=i,
// which merges adapter i and drops the ids.
// CHECK-LABEL: func @multi
// CHECK: weft.linear
// CHECK: weft.lora %{{.+}} ids
// CHECK: weft.add
// ADAPTER-LABEL: func @multi
// ADAPTER-SAME: (%[[X:.+]]: tensor<?x64xf32>, %{{.+}}: tensor<?xi32>)
// ADAPTER-NEXT: %[[W:.+]] = weft.param "c.merged.weight" : tensor<8x64xf32>
// ADAPTER-NEXT: %[[Y:.+]] = weft.linear %[[X]], %[[W]]
// ADAPTER-NEXT: return %[[Y]]
func.func @multi(%x: tensor<?x64xf32>, %ids: tensor<?xi32>) -> tensor<?x8xf32> {
  %w = weft.param "c.weight" : tensor<8x64xf32>
  %a = weft.param "c.lora_A" : tensor<3x4x64xf32>
  %b = weft.param "c.lora_B" : tensor<3x8x4xf32>
  %y = weft.linear %x, %w : (tensor<?x64xf32>, tensor<8x64xf32>) -> tensor<?x8xf32>
  %d = weft.lora %x, %a, %b ids %ids {scale = 0.5 : f32} : (tensor<?x64xf32>, tensor<3x4x64xf32>, tensor<3x8x4xf32>, tensor<?xi32>) -> tensor<?x8xf32>
  %q = weft.add %y, %d : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %q : tensor<?x8xf32>
}

// Not merged: the adapter reads another input; the base layer has an
// activation; the base layer has another use.
// CHECK-LABEL: func @not_merged
// CHECK-COUNT-3: weft.add
// CHECK-NOT: merged
func.func @not_merged(%x: tensor<2x64xf32>, %x2: tensor<2x64xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %w = weft.param "d.weight" : tensor<8x64xf32>
  %a = weft.param "d.lora_A" : tensor<4x64xf32>
  %b = weft.param "d.lora_B" : tensor<8x4xf32>
  %y0 = weft.linear %x, %w : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %d0 = weft.lora %x2, %a, %b : (tensor<2x64xf32>, tensor<4x64xf32>, tensor<8x4xf32>) -> tensor<2x8xf32>
  %q0 = weft.add %y0, %d0 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y1 = weft.linear %x, %w {activation = #weft.activation<silu>} : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %d1 = weft.lora %x, %a, %b : (tensor<2x64xf32>, tensor<4x64xf32>, tensor<8x4xf32>) -> tensor<2x8xf32>
  %q1 = weft.add %y1, %d1 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y2 = weft.linear %x, %w : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %d2 = weft.lora %x, %a, %b : (tensor<2x64xf32>, tensor<4x64xf32>, tensor<8x4xf32>) -> tensor<2x8xf32>
  %q2 = weft.add %y2, %d2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %q0, %q1, %q2, %y2 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// The merged archive: merged weights with their bookkeeping, no adapters of
// merged layers, the multi-adapter tensors kept for serving.
// ARCHIVE:      a.q_proj.merged.weight F32[32, 64]
// ARCHIVE-NEXT: b.bias F16[16]
// ARCHIVE-NEXT: b.merged.weight F16[16, 64]
// ARCHIVE-NEXT: c.lora_A F32[3, 4, 64]
// ARCHIVE-NEXT: c.lora_B F32[3, 8, 4]
// ARCHIVE-NEXT: c.weight F32[8, 64]
// ARCHIVE-NEXT: d.lora_A F32[4, 64]
// ARCHIVE-NEXT: d.lora_B F32[8, 4]
// ARCHIVE-NEXT: d.weight F32[8, 64]
// ARCHIVE-NEXT: __metadata__ weft.merged.a.q_proj.merged.weight = {"adapter":-1,"base":"a.q_proj.weight","lora_a":"a.q_proj.lora_A.weight","lora_b":"a.q_proj.lora_B.weight","scale":2}
// ARCHIVE-NEXT: __metadata__ weft.merged.b.merged.weight = {"adapter":-1,"base":"b.weight","lora_a":"b.lora_A","lora_b":"b.lora_B","scale":1}

// ARCHIVE1: c.merged.weight F32[8, 64]
// ARCHIVE1-NOT: c.lora_A
// ARCHIVE1: __metadata__ weft.merged.c.merged.weight = {"adapter":1,"base":"c.weight","lora_a":"c.lora_A","lora_b":"c.lora_B","scale":0.5}

// RANGE: error: weft-merge-lora: adapter 3 is out of range: the lora holds 3 adapters
// NO-OUT: error: weft-merge-lora needs the 'params-out' option
