// Parameters are drawn from the IR without its comments (the CHECK lines).
// RUN: grep -v '^//' %s > %t.input.mlir
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft random-params %t.input.mlir -o %t.safetensors
// RUN: weft-opt %s -weft-fuse-projections="params=%t.safetensors params-out=%t.fused.safetensors" | FileCheck %s
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft show-params %t.fused.safetensors | FileCheck %s --check-prefix=ARCHIVE
// RUN: not weft-opt %s -weft-fuse-projections="params-out=%t.fused.safetensors" 2>&1 | FileCheck %s --check-prefix=NO-PARAMS

// Q/K/V with GQA (different N): one linear of 64 + 32 + 32 rows, three slices.
// CHECK-LABEL: func @qkv
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[W:.+]] = weft.param "attn.q_proj+k_proj+v_proj.weight" : tensor<128x64xf32>
// CHECK-NEXT: %[[QKV:.+]] = weft.linear %[[X]], %[[W]] : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[Q:.+]] = weft.slice %[[QKV]] {axis = 2 : i64, end = 64 : i64, start = 0 : i64} : (tensor<?x?x128xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[K:.+]] = weft.slice %[[QKV]] {axis = 2 : i64, end = 96 : i64, start = 64 : i64} : (tensor<?x?x128xf32>) -> tensor<?x?x32xf32>
// CHECK-NEXT: %[[V:.+]] = weft.slice %[[QKV]] {axis = 2 : i64, end = 128 : i64, start = 96 : i64} : (tensor<?x?x128xf32>) -> tensor<?x?x32xf32>
// CHECK-NEXT: return %[[Q]], %[[K]], %[[V]]
func.func @qkv(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %wq = weft.param "attn.q_proj.weight" : tensor<64x64xf32>
  %q = weft.linear %x, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %wk = weft.param "attn.k_proj.weight" : tensor<32x64xf32>
  %k = weft.linear %x, %wk : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %wv = weft.param "attn.v_proj.weight" : tensor<32x64xf32>
  %v = weft.linear %x, %wv : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  return %q, %k, %v : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// gate/up with biases: weights and biases both concatenate.
// CHECK-LABEL: func @gate_up_bias
// CHECK-DAG: %[[W:.+]] = weft.param "mlp.gate_proj+up_proj.weight" : tensor<256x64xf16>
// CHECK-DAG: %[[B:.+]] = weft.param "mlp.gate_proj+up_proj.bias" : tensor<256xf16>
// CHECK: %[[GU:.+]] = weft.linear %{{.+}}, %[[W]] bias %[[B]] : (tensor<4x64xf16>, tensor<256x64xf16>, tensor<256xf16>) -> tensor<4x256xf16>
// CHECK: weft.slice %[[GU]] {axis = 1 : i64, end = 128 : i64, start = 0 : i64}
// CHECK: weft.slice %[[GU]] {axis = 1 : i64, end = 256 : i64, start = 128 : i64}
func.func @gate_up_bias(%x: tensor<4x64xf16>) -> (tensor<4x128xf16>, tensor<4x128xf16>) {
  %wg = weft.param "mlp.gate_proj.weight" : tensor<128x64xf16>
  %bg = weft.param "mlp.gate_proj.bias" : tensor<128xf16>
  %wu = weft.param "mlp.up_proj.weight" : tensor<128x64xf16>
  %bu = weft.param "mlp.up_proj.bias" : tensor<128xf16>
  %g = weft.linear %x, %wg bias %bg : (tensor<4x64xf16>, tensor<128x64xf16>, tensor<128xf16>) -> tensor<4x128xf16>
  %u = weft.linear %x, %wu bias %bu : (tensor<4x64xf16>, tensor<128x64xf16>, tensor<128xf16>) -> tensor<4x128xf16>
  return %g, %u : tensor<4x128xf16>, tensor<4x128xf16>
}

// qlinears with identical quantization (int4, group 32, asymmetric, f32
// scales) fuse; others with another group size, scales dtype or qweight dtype
// do not.
// CHECK-LABEL: func @qlinear
// CHECK-DAG: %[[Q:.+]] = weft.param "q.gate_proj+up_proj.qweight" : tensor<48x64xi4>
// CHECK-DAG: %[[S:.+]] = weft.param "q.gate_proj+up_proj.scales" : tensor<48x2xf32>
// CHECK-DAG: %[[Z:.+]] = weft.param "q.gate_proj+up_proj.zeros" : tensor<48x2xi4>
// CHECK: %[[F:.+]] = weft.qlinear %{{.+}}, %[[Q]], %[[S]] zeros %[[Z]] {group_size = 32 : i64}
// CHECK-COUNT-2: weft.slice %[[F]]
// CHECK: weft.qlinear %{{.+}} {group_size = 64 : i64}
// CHECK: weft.qlinear %{{.+}} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x2xf16>, tensor<16x2xi4>)
// CHECK: weft.qlinear %{{.+}} : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x2xf32>, tensor<16x2xi8>)
// CHECK-NOT: weft.slice
func.func @qlinear(%x: tensor<2x64xf32>) -> (tensor<2x16xf32>, tensor<2x32xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>) {
  %q0 = weft.param "q.gate_proj.qweight" : tensor<16x64xi4>
  %s0 = weft.param "q.gate_proj.scales" : tensor<16x2xf32>
  %z0 = weft.param "q.gate_proj.zeros" : tensor<16x2xi4>
  %q1 = weft.param "q.up_proj.qweight" : tensor<32x64xi4>
  %s1 = weft.param "q.up_proj.scales" : tensor<32x2xf32>
  %z1 = weft.param "q.up_proj.zeros" : tensor<32x2xi4>
  %q2 = weft.param "q.other.qweight" : tensor<16x64xi4>
  %s2 = weft.param "q.other.scales" : tensor<16x1xf32>
  %z2 = weft.param "q.other.zeros" : tensor<16x1xi4>
  %y0 = weft.qlinear %x, %q0, %s0 zeros %z0 {group_size = 32} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x2xf32>, tensor<16x2xi4>) -> tensor<2x16xf32>
  %y1 = weft.qlinear %x, %q1, %s1 zeros %z1 {group_size = 32} : (tensor<2x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>, tensor<32x2xi4>) -> tensor<2x32xf32>
  %y2 = weft.qlinear %x, %q2, %s2 zeros %z2 {group_size = 64} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x1xf32>, tensor<16x1xi4>) -> tensor<2x16xf32>
  %q3 = weft.param "q.half.qweight" : tensor<16x64xi4>
  %s3 = weft.param "q.half.scales" : tensor<16x2xf16>
  %z3 = weft.param "q.half.zeros" : tensor<16x2xi4>
  %y3 = weft.qlinear %x, %q3, %s3 zeros %z3 {group_size = 32} : (tensor<2x64xf32>, tensor<16x64xi4>, tensor<16x2xf16>, tensor<16x2xi4>) -> tensor<2x16xf32>
  %q4 = weft.param "q.int8.qweight" : tensor<16x64xi8>
  %s4 = weft.param "q.int8.scales" : tensor<16x2xf32>
  %z4 = weft.param "q.int8.zeros" : tensor<16x2xi8>
  %y4 = weft.qlinear %x, %q4, %s4 zeros %z4 {group_size = 32} : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x2xf32>, tensor<16x2xi8>) -> tensor<2x16xf32>
  return %y0, %y1, %y2, %y3, %y4 : tensor<2x16xf32>, tensor<2x32xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>
}

// Not fused: different inputs; an epilogue on one layer; a weight that is
// not a param.
// CHECK-LABEL: func @not_fused
// CHECK-NOT: weft.slice
// CHECK-COUNT-6: weft.linear
// CHECK-NOT: weft.slice
func.func @not_fused(%x: tensor<2x64xf32>, %x2: tensor<2x64xf32>, %warg: tensor<8x64xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %w0 = weft.param "n.a.weight" : tensor<8x64xf32>
  %w1 = weft.param "n.b.weight" : tensor<8x64xf32>
  %y0 = weft.linear %x, %w0 : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %y1 = weft.linear %x2, %w1 : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %w3 = weft.param "n.d.weight" : tensor<8x64xf32>
  %y3 = weft.linear %x2, %w3 {activation = #weft.activation<relu>} : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %w4 = weft.param "n.e.weight" : tensor<8x64xf32>
  %y4 = weft.linear %x2, %w4 residual %y0 : (tensor<2x64xf32>, tensor<8x64xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y5 = weft.linear %x2, %warg : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %y6 = weft.linear %x, %warg : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  return %y0, %y1, %y3, %y4, %y5, %y6 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// ARCHIVE:      attn.q_proj+k_proj+v_proj.weight F32[128, 64]
// ARCHIVE-NEXT: l.k.weight F32[8, 64]
// ARCHIVE-NEXT: l.q.lora_a F32[4, 64]
// ARCHIVE-NEXT: l.q.lora_b F32[8, 4]
// ARCHIVE-NEXT: l.q.weight F32[8, 64]
// ARCHIVE-NEXT: mlp.gate_proj+up_proj.bias F16[256]
// ARCHIVE-NEXT: mlp.gate_proj+up_proj.weight F16[256, 64]
// ARCHIVE-NEXT: n.a.weight F32[8, 64]
// ARCHIVE-NEXT: n.b.weight F32[8, 64]
// ARCHIVE-NEXT: n.d.weight F32[8, 64]
// ARCHIVE-NEXT: n.e.weight F32[8, 64]
// ARCHIVE-NEXT: q.gate_proj+up_proj.qweight U8[48, 32]
// ARCHIVE-NEXT: q.gate_proj+up_proj.scales F32[48, 2]
// ARCHIVE-NEXT: q.gate_proj+up_proj.zeros U8[48, 1]
// ARCHIVE-NEXT: q.half.qweight U8[16, 32]
// ARCHIVE-NEXT: q.half.scales F16[16, 2]
// ARCHIVE-NEXT: q.half.zeros U8[16, 1]
// ARCHIVE-NEXT: q.int8.qweight I8[16, 64]
// ARCHIVE-NEXT: q.int8.scales F32[16, 2]
// ARCHIVE-NEXT: q.int8.zeros I8[16, 2]
// ARCHIVE-NEXT: q.other.qweight U8[16, 32]
// ARCHIVE-NEXT: q.other.scales F32[16, 1]
// ARCHIVE-NEXT: q.other.zeros U8[16, 1]
// ARCHIVE-EMPTY:

// NO-PARAMS: error: weft-fuse-projections needs the 'params' option

// Not fused: a layer carrying a fused LoRA delta (its delta covers its own
// rows only).
// CHECK-LABEL: func @lora_not_fused
// CHECK-NOT: weft.slice
// CHECK: weft.linear %{{.+}}, %{{.+}} lora
// CHECK: weft.linear
// CHECK-NOT: weft.slice
func.func @lora_not_fused(%x: tensor<2x64xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %w0 = weft.param "l.q.weight" : tensor<8x64xf32>
  %a = weft.param "l.q.lora_a" : tensor<4x64xf32>
  %b = weft.param "l.q.lora_b" : tensor<8x4xf32>
  %y0 = weft.linear %x, %w0 lora %a, %b {lora_scale = 2.0 : f32} : (tensor<2x64xf32>, tensor<8x64xf32>, tensor<4x64xf32>, tensor<8x4xf32>) -> tensor<2x8xf32>
  %w1 = weft.param "l.k.weight" : tensor<8x64xf32>
  %y1 = weft.linear %x, %w1 : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  return %y0, %y1 : tensor<2x8xf32>, tensor<2x8xf32>
}
