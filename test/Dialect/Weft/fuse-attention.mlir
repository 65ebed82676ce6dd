// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-attention))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-attention{detect-causal=false}))' | FileCheck %s --check-prefix=NOCAUSAL

// [B, S, H, D] in and out with transposes around a [B, H, S, D] core: the
// layout transposes cancel, div by sqrt(D) becomes the scale.
// CHECK-LABEL: func @bshd_layout
// CHECK-SAME: (%[[Q:.+]]: tensor<2x?x4x16xf32>, %[[K:.+]]: tensor<2x?x4x16xf32>, %[[V:.+]]: tensor<2x?x4x8xf32>)
// CHECK-NEXT: %[[O:.+]] = weft.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f32} : (tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x8xf32>) -> tensor<2x?x4x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @bshd_layout(%q: tensor<2x?x4x16xf32>, %k: tensor<2x?x4x16xf32>, %v: tensor<2x?x4x8xf32>) -> tensor<2x?x4x8xf32> {
  %c = arith.constant dense<4.0> : tensor<f32>
  %qt = weft.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x?x4x16xf32>) -> tensor<2x4x?x16xf32>
  %kt = weft.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x?x4x16xf32>) -> tensor<2x4x?x16xf32>
  %vt = weft.transpose %v {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x?x4x8xf32>) -> tensor<2x4x?x8xf32>
  %s = weft.matmul %qt, %kt {transpose_rhs} : (tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>) -> tensor<2x4x?x?xf32>
  %d = weft.div %s, %c : (tensor<2x4x?x?xf32>, tensor<f32>) -> tensor<2x4x?x?xf32>
  %p = weft.softmax %d {axis = 3} : tensor<2x4x?x?xf32>
  %o = weft.matmul %p, %vt : (tensor<2x4x?x?xf32>, tensor<2x4x?x8xf32>) -> tensor<2x4x?x8xf32>
  %r = weft.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x?x8xf32>) -> tensor<2x?x4x8xf32>
  return %r : tensor<2x?x4x8xf32>
}

// -----

// [B, H, S, D] operands, k^T as an explicit transpose, the scale constant on
// the left of the mul, a causal -inf mask: attention between transposes.
// CHECK-LABEL: func @bhsd_causal
// CHECK-SAME: (%[[Q:.+]]: tensor<1x2x3x8xf32>, %[[K:.+]]: tensor<1x2x4x8xf32>, %[[V:.+]]: tensor<1x2x4x8xf32>)
// CHECK-DAG: %[[QT:.+]] = weft.transpose %[[Q]] {permutation = array<i64: 0, 2, 1, 3>}
// CHECK-DAG: %[[KT:.+]] = weft.transpose %[[K]] {permutation = array<i64: 0, 2, 1, 3>}
// CHECK-DAG: %[[VT:.+]] = weft.transpose %[[V]] {permutation = array<i64: 0, 2, 1, 3>}
// CHECK: %[[O:.+]] = weft.attention %[[QT]], %[[KT]], %[[VT]] {causal, scale = 5.000000e-01 : f32}
// CHECK-NEXT: %[[R:.+]] = weft.transpose %[[O]] {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x8xf32>) -> tensor<1x2x3x8xf32>
// CHECK-NEXT: return %[[R]]
// NOCAUSAL-LABEL: func @bhsd_causal
// NOCAUSAL: weft.attention {{.*}} mask %{{.+}} {scale = 5.000000e-01 : f32}
func.func @bhsd_causal(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x3x8xf32> {
  %c = arith.constant dense<0.5> : tensor<1x1x1x1xf32>
  %mask = arith.constant dense<[[0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]> : tensor<3x4xf32>
  %kt = weft.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = weft.matmul %q, %kt : (tensor<1x2x3x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x3x4xf32>
  %m = weft.mul %c, %s : (tensor<1x1x1x1xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %a = weft.add %mask, %m : (tensor<3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %p = weft.softmax %a {axis = 3} : tensor<1x2x3x4xf32>
  %o = weft.matmul %p, %v : (tensor<1x2x3x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x3x8xf32>
  return %o : tensor<1x2x3x8xf32>
}

// -----

// Causal with the lowest finite f16 value as the fill, GQA through
// repeat_kv (reshape, concat, reshape) in [B, H, S, D] layout: k and v keep
// their 2 kv heads. No scale op: the scale is 1.
// CHECK-LABEL: func @gqa_repeat_kv_f16
// CHECK-SAME: (%[[Q:.+]]: tensor<1x2x4x8xf16>, %[[K:.+]]: tensor<1x2x2x8xf16>, %[[V:.+]]: tensor<1x2x2x8xf16>)
// CHECK-NOT: weft.concat
// CHECK: weft.attention %[[Q]], %[[K]], %[[V]] {causal, scale = 1.000000e+00 : f32} : (tensor<1x2x4x8xf16>, tensor<1x2x2x8xf16>, tensor<1x2x2x8xf16>) -> tensor<1x2x4x8xf16>
// CHECK-NOT: weft.softmax
func.func @gqa_repeat_kv_f16(%q: tensor<1x2x4x8xf16>, %k: tensor<1x2x2x8xf16>, %v: tensor<1x2x2x8xf16>) -> tensor<1x2x4x8xf16> {
  %mask = arith.constant dense<[[0.0, 0xFBFF], [0.0, 0.0]]> : tensor<2x2xf16>
  %qt = weft.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x4x8xf16>) -> tensor<1x4x2x8xf16>
  %kt = weft.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x2x8xf16>) -> tensor<1x2x2x8xf16>
  %vt = weft.transpose %v {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x2x8xf16>) -> tensor<1x2x2x8xf16>
  %k5 = weft.reshape %kt : tensor<1x2x2x8xf16> -> tensor<1x2x1x2x8xf16>
  %kc = weft.concat %k5, %k5 {axis = 2} : (tensor<1x2x1x2x8xf16>, tensor<1x2x1x2x8xf16>) -> tensor<1x2x2x2x8xf16>
  %kr = weft.reshape %kc : tensor<1x2x2x2x8xf16> -> tensor<1x4x2x8xf16>
  %v5 = weft.reshape %vt : tensor<1x2x2x8xf16> -> tensor<1x2x1x2x8xf16>
  %vc = weft.concat %v5, %v5 {axis = 2} : (tensor<1x2x1x2x8xf16>, tensor<1x2x1x2x8xf16>) -> tensor<1x2x2x2x8xf16>
  %vr = weft.reshape %vc : tensor<1x2x2x2x8xf16> -> tensor<1x4x2x8xf16>
  %s = weft.matmul %qt, %kr {transpose_rhs} : (tensor<1x4x2x8xf16>, tensor<1x4x2x8xf16>) -> tensor<1x4x2x2xf16>
  %a = weft.add %s, %mask : (tensor<1x4x2x2xf16>, tensor<2x2xf16>) -> tensor<1x4x2x2xf16>
  %p = weft.softmax %a {axis = 3} : tensor<1x4x2x2xf16>
  %o = weft.matmul %p, %vr : (tensor<1x4x2x2xf16>, tensor<1x4x2x8xf16>) -> tensor<1x4x2x8xf16>
  %r = weft.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x2x8xf16>) -> tensor<1x2x4x8xf16>
  return %r : tensor<1x2x4x8xf16>
}

// -----

// GQA repeat in [B, S, H, D] layout with dynamic B and S, k^T written as a
// [0, 2, 3, 1] transpose of the [B, S, H, D] k, and a general mask operand.
// CHECK-LABEL: func @gqa_bshd_mask
// CHECK-SAME: (%[[Q:.+]]: tensor<?x?x4x8xf32>, %[[K:.+]]: tensor<?x?x1x8xf32>, %[[V:.+]]: tensor<?x?x1x8xf32>, %[[M:.+]]: tensor<?x1x?x?xf32>)
// CHECK-NEXT: %[[O:.+]] = weft.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 0.353553385 : f32}
// CHECK-NEXT: return %[[O]]
func.func @gqa_bshd_mask(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x1x8xf32>, %v: tensor<?x?x1x8xf32>, %mask: tensor<?x1x?x?xf32>) -> tensor<?x?x4x8xf32> {
  %c = arith.constant dense<0.353553385> : tensor<1xf32>
  %k5 = weft.reshape %k : tensor<?x?x1x8xf32> -> tensor<?x?x1x1x8xf32>
  %kc = weft.concat %k5, %k5, %k5, %k5 {axis = 3} : (tensor<?x?x1x1x8xf32>, tensor<?x?x1x1x8xf32>, tensor<?x?x1x1x8xf32>, tensor<?x?x1x1x8xf32>) -> tensor<?x?x1x4x8xf32>
  %kr = weft.reshape %kc : tensor<?x?x1x4x8xf32> -> tensor<?x?x4x8xf32>
  %v5 = weft.reshape %v : tensor<?x?x1x8xf32> -> tensor<?x?x1x1x8xf32>
  %vc = weft.concat %v5, %v5, %v5, %v5 {axis = 3} : (tensor<?x?x1x1x8xf32>, tensor<?x?x1x1x8xf32>, tensor<?x?x1x1x8xf32>, tensor<?x?x1x1x8xf32>) -> tensor<?x?x1x4x8xf32>
  %vr = weft.reshape %vc : tensor<?x?x1x4x8xf32> -> tensor<?x?x4x8xf32>
  %qt = weft.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<?x?x4x8xf32>) -> tensor<?x4x?x8xf32>
  %kt = weft.transpose %kr {permutation = array<i64: 0, 2, 3, 1>} : (tensor<?x?x4x8xf32>) -> tensor<?x4x8x?xf32>
  %vt = weft.transpose %vr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<?x?x4x8xf32>) -> tensor<?x4x?x8xf32>
  %s = weft.matmul %qt, %kt : (tensor<?x4x?x8xf32>, tensor<?x4x8x?xf32>) -> tensor<?x4x?x?xf32>
  %m = weft.mul %s, %c : (tensor<?x4x?x?xf32>, tensor<1xf32>) -> tensor<?x4x?x?xf32>
  %a = weft.add %m, %mask : (tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>) -> tensor<?x4x?x?xf32>
  %p = weft.softmax %a {axis = 3} : tensor<?x4x?x?xf32>
  %o = weft.matmul %p, %vt : (tensor<?x4x?x?xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
  %r = weft.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<?x4x?x8xf32>) -> tensor<?x?x4x8xf32>
  return %r : tensor<?x?x4x8xf32>
}

// -----

// MQA through matmul broadcasting: one kv head against 4 query heads.
// CHECK-LABEL: func @mqa_broadcast
// CHECK: weft.attention {{.*}} : (tensor<1x5x4x8xf32>, tensor<1x5x1x8xf32>, tensor<1x5x1x8xf32>) -> tensor<1x5x4x8xf32>
func.func @mqa_broadcast(%q: tensor<1x4x5x8xf32>, %k: tensor<1x1x5x8xf32>, %v: tensor<1x1x5x8xf32>) -> tensor<1x4x5x8xf32> {
  %s = weft.matmul %q, %k {transpose_rhs} : (tensor<1x4x5x8xf32>, tensor<1x1x5x8xf32>) -> tensor<1x4x5x5xf32>
  %p = weft.softmax %s {axis = 3} : tensor<1x4x5x5xf32>
  %o = weft.matmul %p, %v : (tensor<1x4x5x5xf32>, tensor<1x1x5x8xf32>) -> tensor<1x4x5x8xf32>
  return %o : tensor<1x4x5x8xf32>
}

// -----

// q scaled before the product (and the scores once more): the scales
// multiply.
// CHECK-LABEL: func @prescaled_q
// CHECK-SAME: (%[[Q:.+]]: tensor<1x3x2x8xf32>, %[[K:.+]]: tensor<1x3x2x8xf32>, %[[V:.+]]: tensor<1x3x2x8xf32>)
// CHECK-NEXT: %[[O:.+]] = weft.attention %[[Q]], %[[K]], %[[V]] {scale = 1.250000e-01 : f32}
// CHECK-NEXT: return %[[O]]
func.func @prescaled_q(%q: tensor<1x3x2x8xf32>, %k: tensor<1x3x2x8xf32>, %v: tensor<1x3x2x8xf32>) -> tensor<1x3x2x8xf32> {
  %c = arith.constant dense<0.25> : tensor<f32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %qt = weft.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x8xf32>) -> tensor<1x2x3x8xf32>
  %kt = weft.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x8xf32>) -> tensor<1x2x3x8xf32>
  %vt = weft.transpose %v {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x8xf32>) -> tensor<1x2x3x8xf32>
  %qs = weft.mul %qt, %c : (tensor<1x2x3x8xf32>, tensor<f32>) -> tensor<1x2x3x8xf32>
  %s = weft.matmul %qs, %kt {transpose_rhs} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) -> tensor<1x2x3x3xf32>
  %d = weft.div %s, %two : (tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %p = weft.softmax %d {axis = 3} : tensor<1x2x3x3xf32>
  %o = weft.matmul %p, %vt : (tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32>
  %r = weft.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x3x8xf32>) -> tensor<1x3x2x8xf32>
  return %r : tensor<1x3x2x8xf32>
}

// -----

// bf16 scores with the softmax taken in f32 between casts.
// CHECK-LABEL: func @f32_softmax_between_casts
// CHECK-NOT: weft.cast
// CHECK: weft.attention {{.*}} : (tensor<1x4x2x8xbf16>, tensor<1x4x2x8xbf16>, tensor<1x4x2x8xbf16>) -> tensor<1x4x2x8xbf16>
// CHECK-NOT: weft.cast
func.func @f32_softmax_between_casts(%q: tensor<1x2x4x8xbf16>, %k: tensor<1x2x4x8xbf16>, %v: tensor<1x2x4x8xbf16>) -> tensor<1x2x4x8xbf16> {
  %s = weft.matmul %q, %k {transpose_rhs} : (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>) -> tensor<1x2x4x4xbf16>
  %w = weft.cast %s : tensor<1x2x4x4xbf16> -> tensor<1x2x4x4xf32>
  %p = weft.softmax %w {axis = 3} : tensor<1x2x4x4xf32>
  %n = weft.cast %p : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xbf16>
  %o = weft.matmul %n, %v : (tensor<1x2x4x4xbf16>, tensor<1x2x4x8xbf16>) -> tensor<1x2x4x8xbf16>
  return %o : tensor<1x2x4x8xbf16>
}

// -----

// Softmax over the query axis is not attention.
// CHECK-LABEL: func @softmax_wrong_axis
// CHECK-NOT: weft.attention
// CHECK: weft.softmax %{{.+}} {axis = 2 : i64}
func.func @softmax_wrong_axis(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = weft.matmul %q, %k {transpose_rhs} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %p = weft.softmax %s {axis = 2} : tensor<1x2x4x4xf32>
  %o = weft.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A scale that is a run-time tensor, or a per-head constant, is not a scalar.
// CHECK-LABEL: func @scale_not_scalar_constant
// CHECK-NOT: weft.attention
// CHECK-COUNT-2: weft.softmax
func.func @scale_not_scalar_constant(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %c: tensor<f32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) {
  %s = weft.matmul %q, %k {transpose_rhs} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %m = weft.mul %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = weft.softmax %m {axis = 3} : tensor<1x2x4x4xf32>
  %o = weft.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %h = arith.constant dense<[[[[0.5]], [[0.25]]]]> : tensor<1x2x1x1xf32>
  %s2 = weft.matmul %q, %k {transpose_rhs} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %m2 = weft.mul %s2, %h : (tensor<1x2x4x4xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %p2 = weft.softmax %m2 {axis = 3} : tensor<1x2x4x4xf32>
  %o2 = weft.matmul %p2, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o, %o2 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// The probabilities have another user (returned): they must stay.
// CHECK-LABEL: func @probabilities_used_twice
// CHECK-NOT: weft.attention
// CHECK: weft.softmax
func.func @probabilities_used_twice(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>) {
  %s = weft.matmul %q, %k {transpose_rhs} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %p = weft.softmax %s {axis = 3} : tensor<1x2x4x4xf32>
  %o = weft.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o, %p : tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>
}

// -----

// The scaled scores have another user.
// CHECK-LABEL: func @scores_used_twice
// CHECK-NOT: weft.attention
func.func @scores_used_twice(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>) {
  %c = arith.constant dense<0.5> : tensor<f32>
  %s = weft.matmul %q, %k {transpose_rhs} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %m = weft.mul %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = weft.softmax %m {axis = 3} : tensor<1x2x4x4xf32>
  %o = weft.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o, %m : tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>
}

// -----

// Mismatched shapes: a k batch of 1 that the matmul broadcasts against a q
// batch of 2; a mask broadcast over the keys.
// CHECK-LABEL: func @mismatched_shapes
// CHECK-NOT: weft.attention
func.func @mismatched_shapes(%q: tensor<2x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %q4: tensor<1x4x4x8xf32>, %mask: tensor<1x1x4x1xf32>) -> (tensor<2x2x4x8xf32>, tensor<1x4x4x8xf32>) {
  %s = weft.matmul %q, %k {transpose_rhs} : (tensor<2x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %p = weft.softmax %s {axis = 3} : tensor<2x2x4x4xf32>
  %o = weft.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %s3 = weft.matmul %q4, %q4 {transpose_rhs} : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x4xf32>
  %a3 = weft.add %s3, %mask : (tensor<1x4x4x4xf32>, tensor<1x1x4x1xf32>) -> tensor<1x4x4x4xf32>
  %p3 = weft.softmax %a3 {axis = 3} : tensor<1x4x4x4xf32>
  %o3 = weft.matmul %p3, %q4 : (tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  return %o, %o3 : tensor<2x2x4x8xf32>, tensor<1x4x4x8xf32>
}

// -----

// kv heads tiled by a plain concat along the head axis make head h read kv
// head h % Hkv, not h / g: the concat is not a repeat_kv expansion, so the
// attention reads the tiled tensors with all 4 heads.
// CHECK-LABEL: func @tiled_heads_are_not_gqa
// CHECK: weft.concat
// CHECK: weft.attention {{.*}} : (tensor<1x3x4x8xf32>, tensor<1x3x4x8xf32>, tensor<1x3x4x8xf32>) -> tensor<1x3x4x8xf32>
func.func @tiled_heads_are_not_gqa(%q: tensor<1x4x3x8xf32>, %kv: tensor<1x2x3x8xf32>) -> tensor<1x4x3x8xf32> {
  %kc = weft.concat %kv, %kv {axis = 1} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) -> tensor<1x4x3x8xf32>
  %s = weft.matmul %q, %kc {transpose_rhs} : (tensor<1x4x3x8xf32>, tensor<1x4x3x8xf32>) -> tensor<1x4x3x3xf32>
  %p = weft.softmax %s {axis = 3} : tensor<1x4x3x3xf32>
  %o = weft.matmul %p, %kc : (tensor<1x4x3x3xf32>, tensor<1x4x3x8xf32>) -> tensor<1x4x3x8xf32>
  return %o : tensor<1x4x3x8xf32>
}

// -----

// A mask that is causal but for one entry is not claimed causal: it stays a
// mask operand. A mask shifted the wrong way (top-left aligned with Sk > Sq)
// is not causal either.
// CHECK-LABEL: func @not_quite_causal
// CHECK-NOT: causal
// CHECK: weft.attention {{.*}} mask
// CHECK-NOT: causal
// CHECK: weft.attention {{.*}} mask
// CHECK-NOT: causal
func.func @not_quite_causal(%q: tensor<1x1x2x8xf32>, %k: tensor<1x1x3x8xf32>, %v: tensor<1x1x3x8xf32>) -> (tensor<1x1x2x8xf32>, tensor<1x1x2x8xf32>) {
  %bad = arith.constant dense<[[0.0, 0.0, 0xFF800000], [0.0, 0.0, -1.0e+09]]> : tensor<2x3xf32>
  %top_left = arith.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000]]> : tensor<2x3xf32>
  %s = weft.matmul %q, %k {transpose_rhs} : (tensor<1x1x2x8xf32>, tensor<1x1x3x8xf32>) -> tensor<1x1x2x3xf32>
  %a = weft.add %s, %bad : (tensor<1x1x2x3xf32>, tensor<2x3xf32>) -> tensor<1x1x2x3xf32>
  %p = weft.softmax %a {axis = 3} : tensor<1x1x2x3xf32>
  %o = weft.matmul %p, %v : (tensor<1x1x2x3xf32>, tensor<1x1x3x8xf32>) -> tensor<1x1x2x8xf32>
  %s2 = weft.matmul %q, %k {transpose_rhs} : (tensor<1x1x2x8xf32>, tensor<1x1x3x8xf32>) -> tensor<1x1x2x3xf32>
  %a2 = weft.add %s2, %top_left : (tensor<1x1x2x3xf32>, tensor<2x3xf32>) -> tensor<1x1x2x3xf32>
  %p2 = weft.softmax %a2 {axis = 3} : tensor<1x1x2x3xf32>
  %o2 = weft.matmul %p2, %v : (tensor<1x1x2x3xf32>, tensor<1x1x3x8xf32>) -> tensor<1x1x2x8xf32>
  return %o, %o2 : tensor<1x1x2x8xf32>, tensor<1x1x2x8xf32>
}
