// RUN: weft-opt %s | FileCheck %s
// Round trip: print, re-parse and print again gives the same text.
// RUN: weft-opt %s | weft-opt | FileCheck %s
// RUN: weft-opt %s -mlir-print-op-generic | weft-opt | FileCheck %s

// CHECK-LABEL: func @param
func.func @param() -> (tensor<64x32xf32>, tensor<64x32xi4>, tensor<64x3xi4>) {
  // CHECK: weft.param "model.embed_tokens.weight" : tensor<64x32xf32>
  %0 = weft.param "model.embed_tokens.weight" : tensor<64x32xf32>
  // CHECK: weft.param "layers.0.q_proj.qweight" : tensor<64x32xi4>
  %1 = weft.param "layers.0.q_proj.qweight" : tensor<64x32xi4>
  // An odd last dim (int4 zero points with an odd group count).
  // CHECK: weft.param "layers.0.q_proj.zeros" : tensor<64x3xi4>
  %2 = weft.param "layers.0.q_proj.zeros" : tensor<64x3xi4>
  return %0, %1, %2 : tensor<64x32xf32>, tensor<64x32xi4>, tensor<64x3xi4>
}

// CHECK-LABEL: func @embedding
func.func @embedding(%table: tensor<100x16xbf16>, %ids: tensor<?x?xi64>) -> tensor<?x?x16xbf16> {
  // CHECK: weft.embedding %{{.*}}, %{{.*}} : (tensor<100x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x16xbf16>
  %0 = weft.embedding %table, %ids : (tensor<100x16xbf16>, tensor<?x?xi64>) -> tensor<?x?x16xbf16>
  return %0 : tensor<?x?x16xbf16>
}

// CHECK-LABEL: func @matmul
func.func @matmul(%a: tensor<2x1x?x64xf32>, %b: tensor<4x?x64xf32>, %c: tensor<64x32xf32>) -> (tensor<2x4x?x?xf32>, tensor<2x1x?x32xf32>) {
  // CHECK: weft.matmul %{{.*}}, %{{.*}} {transpose_rhs} : (tensor<2x1x?x64xf32>, tensor<4x?x64xf32>) -> tensor<2x4x?x?xf32>
  %0 = weft.matmul %a, %b {transpose_rhs} : (tensor<2x1x?x64xf32>, tensor<4x?x64xf32>) -> tensor<2x4x?x?xf32>
  // CHECK: weft.matmul %{{.*}}, %{{.*}} : (tensor<2x1x?x64xf32>, tensor<64x32xf32>) -> tensor<2x1x?x32xf32>
  %1 = weft.matmul %a, %c : (tensor<2x1x?x64xf32>, tensor<64x32xf32>) -> tensor<2x1x?x32xf32>
  return %0, %1 : tensor<2x4x?x?xf32>, tensor<2x1x?x32xf32>
}

// CHECK-LABEL: func @matmul_transpose_lhs
func.func @matmul_transpose_lhs(%a: tensor<64x8xf16>, %b: tensor<64x16xf16>) -> tensor<8x16xf16> {
  // CHECK: weft.matmul %{{.*}}, %{{.*}} {transpose_lhs} : (tensor<64x8xf16>, tensor<64x16xf16>) -> tensor<8x16xf16>
  %0 = weft.matmul %a, %b {transpose_lhs} : (tensor<64x8xf16>, tensor<64x16xf16>) -> tensor<8x16xf16>
  return %0 : tensor<8x16xf16>
}

// CHECK-LABEL: func @binary
func.func @binary(%a: tensor<?x?x512xf32>, %b: tensor<512xf32>, %c: tensor<?x1x1xf32>, %i: tensor<4xi64>) -> (tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<4xi64>) {
  // CHECK: weft.add %{{.*}}, %{{.*}} : (tensor<?x?x512xf32>, tensor<512xf32>) -> tensor<?x?x512xf32>
  %0 = weft.add %a, %b : (tensor<?x?x512xf32>, tensor<512xf32>) -> tensor<?x?x512xf32>
  // CHECK: weft.sub %{{.*}}, %{{.*}} : (tensor<?x?x512xf32>, tensor<?x1x1xf32>) -> tensor<?x?x512xf32>
  %1 = weft.sub %a, %c : (tensor<?x?x512xf32>, tensor<?x1x1xf32>) -> tensor<?x?x512xf32>
  // CHECK: weft.mul %{{.*}}, %{{.*}} : (tensor<512xf32>, tensor<?x?x512xf32>) -> tensor<?x?x512xf32>
  %2 = weft.mul %b, %a : (tensor<512xf32>, tensor<?x?x512xf32>) -> tensor<?x?x512xf32>
  // CHECK: weft.div %{{.*}}, %{{.*}} : (tensor<?x?x512xf32>, tensor<?x?x512xf32>) -> tensor<?x?x512xf32>
  %3 = weft.div %a, %a : (tensor<?x?x512xf32>, tensor<?x?x512xf32>) -> tensor<?x?x512xf32>
  // CHECK: weft.add %{{.*}}, %{{.*}} : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %4 = weft.add %i, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return %0, %1, %2, %3, %4 : tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<4xi64>
}

// CHECK-LABEL: func @unary
func.func @unary(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // CHECK: weft.silu %{{.*}} : tensor<?x64xf32>
  %0 = weft.silu %x : tensor<?x64xf32>
  // CHECK: weft.gelu %{{.*}} : tensor<?x64xf32>
  %1 = weft.gelu %0 : tensor<?x64xf32>
  // CHECK: weft.gelu %{{.*}} {tanh_approximation} : tensor<?x64xf32>
  %2 = weft.gelu %1 {tanh_approximation} : tensor<?x64xf32>
  // CHECK: weft.relu
  %3 = weft.relu %2 : tensor<?x64xf32>
  // CHECK: weft.sigmoid
  %4 = weft.sigmoid %3 : tensor<?x64xf32>
  // CHECK: weft.tanh
  %5 = weft.tanh %4 : tensor<?x64xf32>
  // CHECK: weft.exp
  %6 = weft.exp %5 : tensor<?x64xf32>
  // CHECK: weft.softplus
  %7 = weft.softplus %6 : tensor<?x64xf32>
  // CHECK: weft.neg
  %8 = weft.neg %7 : tensor<?x64xf32>
  // CHECK: weft.rsqrt
  %9 = weft.rsqrt %8 : tensor<?x64xf32>
  return %9 : tensor<?x64xf32>
}

// CHECK-LABEL: func @softmax_reduce_argmax
func.func @softmax_reduce_argmax(%x: tensor<1x8x?x?xf32>, %l: tensor<?x?x100xbf16>) -> (tensor<1x8x?x?xf32>, tensor<1x8x?x1xf32>, tensor<8xf32>, tensor<?x?xi64>, tensor<?x?x1xi64>) {
  // CHECK: weft.softmax %{{.*}} {axis = 3 : i64} : tensor<1x8x?x?xf32>
  %0 = weft.softmax %x {axis = 3} : tensor<1x8x?x?xf32>
  // CHECK: weft.reduce <max> %{{.*}} {axes = array<i64: 3>, keep_dims} : (tensor<1x8x?x?xf32>) -> tensor<1x8x?x1xf32>
  %1 = weft.reduce <max> %0 {axes = array<i64: 3>, keep_dims} : (tensor<1x8x?x?xf32>) -> tensor<1x8x?x1xf32>
  // CHECK: weft.reduce <mean> %{{.*}} {axes = array<i64: 0, 2, 3>} : (tensor<1x8x?x?xf32>) -> tensor<8xf32>
  %2 = weft.reduce <mean> %0 {axes = array<i64: 0, 2, 3>} : (tensor<1x8x?x?xf32>) -> tensor<8xf32>
  // CHECK: weft.argmax %{{.*}} {axis = 2 : i64} : (tensor<?x?x100xbf16>) -> tensor<?x?xi64>
  %3 = weft.argmax %l {axis = 2} : (tensor<?x?x100xbf16>) -> tensor<?x?xi64>
  // CHECK: weft.argmax %{{.*}} {axis = 2 : i64, keep_dims} : (tensor<?x?x100xbf16>) -> tensor<?x?x1xi64>
  %4 = weft.argmax %l {axis = 2, keep_dims} : (tensor<?x?x100xbf16>) -> tensor<?x?x1xi64>
  return %0, %1, %2, %3, %4 : tensor<1x8x?x?xf32>, tensor<1x8x?x1xf32>, tensor<8xf32>, tensor<?x?xi64>, tensor<?x?x1xi64>
}

// CHECK-LABEL: func @shape_ops
func.func @shape_ops(%x: tensor<?x?x512xf32>, %y: tensor<?x?x256xf32>) -> (tensor<?x8x?x64xf32>, tensor<?x?x768xf32>, tensor<?x?x128xf32>, tensor<?x?x512xbf16>) {
  // CHECK: weft.reshape %{{.*}} : tensor<?x?x512xf32> -> tensor<?x?x8x64xf32>
  %0 = weft.reshape %x : tensor<?x?x512xf32> -> tensor<?x?x8x64xf32>
  // CHECK: weft.transpose %{{.*}} {permutation = array<i64: 0, 2, 1, 3>} : (tensor<?x?x8x64xf32>) -> tensor<?x8x?x64xf32>
  %1 = weft.transpose %0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<?x?x8x64xf32>) -> tensor<?x8x?x64xf32>
  // CHECK: weft.concat %{{.*}}, %{{.*}} {axis = 2 : i64} : (tensor<?x?x512xf32>, tensor<?x?x256xf32>) -> tensor<?x?x768xf32>
  %2 = weft.concat %x, %y {axis = 2} : (tensor<?x?x512xf32>, tensor<?x?x256xf32>) -> tensor<?x?x768xf32>
  // CHECK: weft.slice %{{.*}} {axis = 2 : i64, end = 768 : i64, start = 512 : i64, step = 2 : i64} : (tensor<?x?x768xf32>) -> tensor<?x?x128xf32>
  %3 = weft.slice %2 {axis = 2, start = 512, end = 768, step = 2} : (tensor<?x?x768xf32>) -> tensor<?x?x128xf32>
  // CHECK: weft.cast %{{.*}} : tensor<?x?x512xf32> -> tensor<?x?x512xbf16>
  %4 = weft.cast %x : tensor<?x?x512xf32> -> tensor<?x?x512xbf16>
  return %1, %2, %3, %4 : tensor<?x8x?x64xf32>, tensor<?x?x768xf32>, tensor<?x?x128xf32>, tensor<?x?x512xbf16>
}

// CHECK-LABEL: func @attention
func.func @attention(%q: tensor<2x?x8x64xf16>, %k: tensor<2x?x2x64xf16>, %v: tensor<2x?x2x32xf16>, %mask: tensor<1x8x?x?xf16>, %len: tensor<2xi32>) -> (tensor<2x?x8x32xf16>, tensor<2x?x8x32xf16>, tensor<2x8x?xf32>) {
  // CHECK: weft.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.250000e-01 : f32, softcap = 5.000000e+01 : f32, window = 128 : i64} : (tensor<2x?x8x64xf16>, tensor<2x?x2x64xf16>, tensor<2x?x2x32xf16>) -> tensor<2x?x8x32xf16>
  %0 = weft.attention %q, %k, %v {causal, scale = 0.125 : f32, window = 128, softcap = 50.0 : f32} : (tensor<2x?x8x64xf16>, tensor<2x?x2x64xf16>, tensor<2x?x2x32xf16>) -> tensor<2x?x8x32xf16>
  // CHECK: %{{.*}}, %{{.*}} = weft.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} kv_len %{{.*}} {return_lse} : (tensor<2x?x8x64xf16>, tensor<2x?x2x64xf16>, tensor<2x?x2x32xf16>, tensor<1x8x?x?xf16>, tensor<2xi32>) -> (tensor<2x?x8x32xf16>, tensor<2x8x?xf32>)
  %1, %lse = weft.attention %q, %k, %v mask %mask kv_len %len {return_lse} : (tensor<2x?x8x64xf16>, tensor<2x?x2x64xf16>, tensor<2x?x2x32xf16>, tensor<1x8x?x?xf16>, tensor<2xi32>) -> (tensor<2x?x8x32xf16>, tensor<2x8x?xf32>)
  return %0, %1, %lse : tensor<2x?x8x32xf16>, tensor<2x?x8x32xf16>, tensor<2x8x?xf32>
}

// CHECK-LABEL: func @rope
func.func @rope(%x: tensor<?x?x8x64xf32>, %pos: tensor<?x?xi64>, %f: tensor<16xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>) {
  // CHECK: weft.rope %{{.*}}, %{{.*}} {theta = 5.000000e+05 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?xi64>) -> tensor<?x?x8x64xf32>
  %0 = weft.rope %x, %pos {theta = 500000.0 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?xi64>) -> tensor<?x?x8x64xf32>
  // CHECK: weft.rope %{{.*}}, %{{.*}} inv_freq %{{.*}} {interleaved, rotary_dim = 32 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?xi64>, tensor<16xf32>) -> tensor<?x?x8x64xf32>
  %1 = weft.rope %x, %pos inv_freq %f {rotary_dim = 32, interleaved} : (tensor<?x?x8x64xf32>, tensor<?x?xi64>, tensor<16xf32>) -> tensor<?x?x8x64xf32>
  return %0, %1 : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>
}

// CHECK-LABEL: func @norms
func.func @norms(%x: tensor<?x?x512xbf16>, %w: tensor<512xbf16>, %b: tensor<512xbf16>) -> (tensor<?x?x512xbf16>, tensor<?x?x512xbf16>, tensor<?x?x512xbf16>) {
  // CHECK: weft.rms_norm %{{.*}}, %{{.*}} {eps = 9.9999999999999995E-7 : f64} : (tensor<?x?x512xbf16>, tensor<512xbf16>) -> tensor<?x?x512xbf16>
  %0 = weft.rms_norm %x, %w {eps = 1.0e-6 : f64} : (tensor<?x?x512xbf16>, tensor<512xbf16>) -> tensor<?x?x512xbf16>
  // CHECK: weft.layer_norm %{{.*}} weight %{{.*}} bias %{{.*}} : (tensor<?x?x512xbf16>, tensor<512xbf16>, tensor<512xbf16>) -> tensor<?x?x512xbf16>
  %1 = weft.layer_norm %x weight %w bias %b : (tensor<?x?x512xbf16>, tensor<512xbf16>, tensor<512xbf16>) -> tensor<?x?x512xbf16>
  // CHECK: weft.layer_norm %{{.*}} {eps = 1.000000e-03 : f64} : (tensor<?x?x512xbf16>) -> tensor<?x?x512xbf16>
  %2 = weft.layer_norm %x {eps = 1.0e-3 : f64} : (tensor<?x?x512xbf16>) -> tensor<?x?x512xbf16>
  return %0, %1, %2 : tensor<?x?x512xbf16>, tensor<?x?x512xbf16>, tensor<?x?x512xbf16>
}

// CHECK-LABEL: func @linear
func.func @linear(%x: tensor<?x?x512xf32>, %w: tensor<1024x512xf32>, %b: tensor<1024xf32>, %r: tensor<?x?x1024xf32>) -> (tensor<?x?x1024xf32>, tensor<?x?x1024xf32>) {
  // CHECK: weft.linear %{{.*}}, %{{.*}} : (tensor<?x?x512xf32>, tensor<1024x512xf32>) -> tensor<?x?x1024xf32>
  %0 = weft.linear %x, %w : (tensor<?x?x512xf32>, tensor<1024x512xf32>) -> tensor<?x?x1024xf32>
  // CHECK: weft.linear %{{.*}}, %{{.*}} bias %{{.*}} residual %{{.*}} {activation = #weft.activation<gelu_tanh>} : (tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<1024xf32>, tensor<?x?x1024xf32>) -> tensor<?x?x1024xf32>
  %1 = weft.linear %x, %w bias %b residual %r {activation = #weft.activation<gelu_tanh>} : (tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<1024xf32>, tensor<?x?x1024xf32>) -> tensor<?x?x1024xf32>
  return %0, %1 : tensor<?x?x1024xf32>, tensor<?x?x1024xf32>
}

// CHECK-LABEL: func @linear_with_lora
func.func @linear_with_lora(%x: tensor<?x?x512xf32>, %w: tensor<1024x512xf32>, %a: tensor<8x512xf32>, %b: tensor<1024x8xf32>, %as: tensor<4x8x512xf32>, %bs: tensor<4x1024x8xf32>, %ids: tensor<?x?xi64>, %q: tensor<1024x512xi4>, %s: tensor<1024x4xf32>) -> (tensor<?x?x1024xf32>, tensor<?x?x1024xf32>, tensor<?x?x1024xf32>) {
  // CHECK: weft.linear %{{.*}}, %{{.*}} lora %{{.*}}, %{{.*}} {lora_scale = 5.000000e-01 : f32} : (tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<8x512xf32>, tensor<1024x8xf32>) -> tensor<?x?x1024xf32>
  %0 = weft.linear %x, %w lora %a, %b {lora_scale = 0.5 : f32} : (tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<8x512xf32>, tensor<1024x8xf32>) -> tensor<?x?x1024xf32>
  // CHECK: weft.linear %{{.*}}, %{{.*}} lora %{{.*}}, %{{.*}} lora_ids %{{.*}} {activation = #weft.activation<silu>} : (tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<4x8x512xf32>, tensor<4x1024x8xf32>, tensor<?x?xi64>) -> tensor<?x?x1024xf32>
  %1 = weft.linear %x, %w lora %as, %bs lora_ids %ids {activation = #weft.activation<silu>} : (tensor<?x?x512xf32>, tensor<1024x512xf32>, tensor<4x8x512xf32>, tensor<4x1024x8xf32>, tensor<?x?xi64>) -> tensor<?x?x1024xf32>
  // CHECK: weft.qlinear %{{.*}}, %{{.*}}, %{{.*}} lora %{{.*}}, %{{.*}} {group_size = 128 : i64} : (tensor<?x?x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>, tensor<8x512xf32>, tensor<1024x8xf32>) -> tensor<?x?x1024xf32>
  %2 = weft.qlinear %x, %q, %s lora %a, %b {group_size = 128} : (tensor<?x?x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>, tensor<8x512xf32>, tensor<1024x8xf32>) -> tensor<?x?x1024xf32>
  return %0, %1, %2 : tensor<?x?x1024xf32>, tensor<?x?x1024xf32>, tensor<?x?x1024xf32>
}

// CHECK-LABEL: func @gated_linear
func.func @gated_linear(%x: tensor<?x?x512xbf16>, %wg: tensor<1408x512xbf16>, %wu: tensor<1408x512xbf16>) -> (tensor<?x?x1408xbf16>, tensor<?x?x1408xbf16>) {
  // CHECK: weft.gated_linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x?x512xbf16>, tensor<1408x512xbf16>, tensor<1408x512xbf16>) -> tensor<?x?x1408xbf16>
  %0 = weft.gated_linear %x, %wg, %wu : (tensor<?x?x512xbf16>, tensor<1408x512xbf16>, tensor<1408x512xbf16>) -> tensor<?x?x1408xbf16>
  // CHECK: weft.gated_linear %{{.*}}, %{{.*}}, %{{.*}} {activation = #weft.activation<gelu>}
  %1 = weft.gated_linear %x, %wg, %wu {activation = #weft.activation<gelu>} : (tensor<?x?x512xbf16>, tensor<1408x512xbf16>, tensor<1408x512xbf16>) -> tensor<?x?x1408xbf16>
  return %0, %1 : tensor<?x?x1408xbf16>, tensor<?x?x1408xbf16>
}

// CHECK-LABEL: func @qlinear
func.func @qlinear(%x: tensor<?x512xf16>, %q4: tensor<256x512xi4>, %s4: tensor<256x4xf16>, %z4: tensor<256x4xi4>, %q8: tensor<256x512xi8>, %s8: tensor<256x1xf32>, %b: tensor<256xf16>) -> (tensor<?x256xf16>, tensor<?x256xf16>) {
  // CHECK: weft.qlinear %{{.*}}, %{{.*}}, %{{.*}} zeros %{{.*}} {group_size = 128 : i64} : (tensor<?x512xf16>, tensor<256x512xi4>, tensor<256x4xf16>, tensor<256x4xi4>) -> tensor<?x256xf16>
  %0 = weft.qlinear %x, %q4, %s4 zeros %z4 {group_size = 128} : (tensor<?x512xf16>, tensor<256x512xi4>, tensor<256x4xf16>, tensor<256x4xi4>) -> tensor<?x256xf16>
  // CHECK: weft.qlinear %{{.*}}, %{{.*}}, %{{.*}} bias %{{.*}} {activation = #weft.activation<silu>, group_size = -1 : i64} : (tensor<?x512xf16>, tensor<256x512xi8>, tensor<256x1xf32>, tensor<256xf16>) -> tensor<?x256xf16>
  %1 = weft.qlinear %x, %q8, %s8 bias %b {group_size = -1, activation = #weft.activation<silu>} : (tensor<?x512xf16>, tensor<256x512xi8>, tensor<256x1xf32>, tensor<256xf16>) -> tensor<?x256xf16>
  return %0, %1 : tensor<?x256xf16>, tensor<?x256xf16>
}

// CHECK-LABEL: func @lora
func.func @lora(%x: tensor<?x?x512xf32>, %a: tensor<8x512xf32>, %b: tensor<256x8xf32>, %as: tensor<4x8x512xf32>, %bs: tensor<4x256x8xf32>, %row: tensor<?xi32>, %tok: tensor<?x?xi64>) -> (tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>) {
  // CHECK: weft.lora %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.000000e+00 : f32} : (tensor<?x?x512xf32>, tensor<8x512xf32>, tensor<256x8xf32>) -> tensor<?x?x256xf32>
  %0 = weft.lora %x, %a, %b {scale = 2.0 : f32} : (tensor<?x?x512xf32>, tensor<8x512xf32>, tensor<256x8xf32>) -> tensor<?x?x256xf32>
  // CHECK: weft.lora %{{.*}}, %{{.*}}, %{{.*}} ids %{{.*}} : (tensor<?x?x512xf32>, tensor<4x8x512xf32>, tensor<4x256x8xf32>, tensor<?xi32>) -> tensor<?x?x256xf32>
  %1 = weft.lora %x, %as, %bs ids %row : (tensor<?x?x512xf32>, tensor<4x8x512xf32>, tensor<4x256x8xf32>, tensor<?xi32>) -> tensor<?x?x256xf32>
  // CHECK: weft.lora %{{.*}}, %{{.*}}, %{{.*}} ids %{{.*}} {scale = 5.000000e-01 : f32} : (tensor<?x?x512xf32>, tensor<4x8x512xf32>, tensor<4x256x8xf32>, tensor<?x?xi64>) -> tensor<?x?x256xf32>
  %2 = weft.lora %x, %as, %bs ids %tok {scale = 0.5 : f32} : (tensor<?x?x512xf32>, tensor<4x8x512xf32>, tensor<4x256x8xf32>, tensor<?x?xi64>) -> tensor<?x?x256xf32>
  return %0, %1, %2 : tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>
}

// Mamba-2 form: scalar A per head, grouped B/C, D, gate z, dt_bias, state.
// CHECK-LABEL: func @ssm_scan_mamba2
func.func @ssm_scan_mamba2(%x: tensor<2x?x8x16xf32>, %dt: tensor<2x?x8xf32>, %A: tensor<8xf32>, %B: tensor<2x?x2x32xf32>, %C: tensor<2x?x2x32xf32>, %D: tensor<8xf32>, %z: tensor<2x?x8x16xf32>, %db: tensor<8xf32>, %s: tensor<2x8x16x32xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>) {
  // CHECK: %{{.*}}, %{{.*}} = weft.ssm_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} D %{{.*}} z %{{.*}} dt_bias %{{.*}} initial_state %{{.*}} {dt_limit = array<f64: 0.000000e+00, 1.000000e+02>, dt_softplus}
  %y, %st = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db initial_state %s {dt_softplus, dt_limit = array<f64: 0.0, 100.0>} : (tensor<2x?x8x16xf32>, tensor<2x?x8xf32>, tensor<8xf32>, tensor<2x?x2x32xf32>, tensor<2x?x2x32xf32>, tensor<8xf32>, tensor<2x?x8x16xf32>, tensor<8xf32>, tensor<2x8x16x32xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>)
  return %y, %st : tensor<2x?x8x16xf32>, tensor<2x8x16x32xf32>
}

// Mamba-1 form: H = channels, P = 1, G = 1, A[H, N].
// CHECK-LABEL: func @ssm_scan_mamba1
func.func @ssm_scan_mamba1(%x: tensor<1x?x64x1xbf16>, %dt: tensor<1x?x64xbf16>, %A: tensor<64x16xf32>, %B: tensor<1x?x1x16xbf16>, %C: tensor<1x?x1x16xbf16>, %D: tensor<64x1xf32>) -> (tensor<1x?x64x1xbf16>, tensor<1x64x1x16xf32>) {
  // CHECK: weft.ssm_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} D %{{.*}} : (tensor<1x?x64x1xbf16>, tensor<1x?x64xbf16>, tensor<64x16xf32>, tensor<1x?x1x16xbf16>, tensor<1x?x1x16xbf16>, tensor<64x1xf32>) -> (tensor<1x?x64x1xbf16>, tensor<1x64x1x16xf32>)
  %y, %st = weft.ssm_scan %x, %dt, %A, %B, %C D %D : (tensor<1x?x64x1xbf16>, tensor<1x?x64xbf16>, tensor<64x16xf32>, tensor<1x?x1x16xbf16>, tensor<1x?x1x16xbf16>, tensor<64x1xf32>) -> (tensor<1x?x64x1xbf16>, tensor<1x64x1x16xf32>)
  return %y, %st : tensor<1x?x64x1xbf16>, tensor<1x64x1x16xf32>
}

// CHECK-LABEL: func @causal_conv1d
func.func @causal_conv1d(%x: tensor<?x?x128xf32>, %w: tensor<128x4xf32>, %b: tensor<128xf32>, %s: tensor<?x3x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x3x128xf32>, tensor<?x?x128xf32>) {
  // CHECK: weft.causal_conv1d %{{.*}}, %{{.*}} bias %{{.*}} state %{{.*}} {activation = #weft.activation<silu>} : (tensor<?x?x128xf32>, tensor<128x4xf32>, tensor<128xf32>, tensor<?x3x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x3x128xf32>)
  %y, %ns = weft.causal_conv1d %x, %w bias %b state %s {activation = #weft.activation<silu>} : (tensor<?x?x128xf32>, tensor<128x4xf32>, tensor<128xf32>, tensor<?x3x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x3x128xf32>)
  // CHECK: weft.causal_conv1d %{{.*}}, %{{.*}} : (tensor<?x?x128xf32>, tensor<128x4xf32>) -> (tensor<?x?x128xf32>, tensor<?x3x128xf32>)
  %y2, %ns2 = weft.causal_conv1d %x, %w : (tensor<?x?x128xf32>, tensor<128x4xf32>) -> (tensor<?x?x128xf32>, tensor<?x3x128xf32>)
  return %y, %ns, %y2 : tensor<?x?x128xf32>, tensor<?x3x128xf32>, tensor<?x?x128xf32>
}

// A result may be more static than the inferred type.
// CHECK-LABEL: func @refined_result
func.func @refined_result(%x: tensor<?x512xf32>, %w: tensor<64x512xf32>) -> tensor<4x64xf32> {
  // CHECK: weft.linear %{{.*}}, %{{.*}} : (tensor<?x512xf32>, tensor<64x512xf32>) -> tensor<4x64xf32>
  %0 = weft.linear %x, %w : (tensor<?x512xf32>, tensor<64x512xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}
