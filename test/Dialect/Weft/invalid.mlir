// RUN: weft-opt %s -split-input-file -verify-diagnostics

// weft.param

func.func @param_empty_name() {
  // expected-error @+1 {{'weft.param' op expects a non-empty parameter name}}
  %0 = weft.param "" : tensor<4xf32>
  return
}

// -----

func.func @param_dynamic_shape() {
  // expected-error @+1 {{'weft.param' op expects a static shape, got 'tensor<?x4xf32>'}}
  %0 = weft.param "w" : tensor<?x4xf32>
  return
}

// -----

func.func @param_rank0_i4() {
  // expected-error @+1 {{'weft.param' op expects an i4 parameter to have rank >= 1, got 'tensor<i4>'}}
  %0 = weft.param "w" : tensor<i4>
  return
}

// -----

func.func @param_f64() {
  // expected-error @+1 {{'weft.param' op result #0 must be ranked tensor of}}
  %0 = weft.param "w" : tensor<4xf64>
  return
}

// -----

// weft.embedding

func.func @embedding_rank1_table(%t: tensor<16xf32>, %ids: tensor<4xi64>) {
  // expected-error @+1 {{'weft.embedding' op operand #0 must be 2D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<16xf32>'}}
  %0 = weft.embedding %t, %ids : (tensor<16xf32>, tensor<4xi64>) -> tensor<4x?xf32>
  return
}

// -----

func.func @embedding_float_ids(%t: tensor<16x8xf32>, %ids: tensor<4xf32>) {
  // expected-error @+1 {{'weft.embedding' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<4xf32>'}}
  %0 = weft.embedding %t, %ids : (tensor<16x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @embedding_wrong_result(%t: tensor<16x8xf32>, %ids: tensor<2x4xi64>) {
  // expected-error @+2 {{'weft.embedding' op inferred type(s) 'tensor<2x4x8xf32>' are incompatible with return type(s) of operation 'tensor<2x4x16xf32>'}}
  // expected-error @+1 {{'weft.embedding' op failed to infer returned types}}
  %0 = weft.embedding %t, %ids : (tensor<16x8xf32>, tensor<2x4xi64>) -> tensor<2x4x16xf32>
  return
}

// -----

// weft.matmul

func.func @matmul_rank1(%a: tensor<8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{'weft.matmul' op expects lhs and rhs to have rank >= 2, got 1 and 2}}
  %0 = weft.matmul %a, %b : (tensor<8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @matmul_element_type(%a: tensor<2x8xf32>, %b: tensor<8x4xf16>) {
  // expected-error @+1 {{'weft.matmul' op expects rhs to have the element type of lhs ('f32'), got 'f16'}}
  %0 = weft.matmul %a, %b : (tensor<2x8xf32>, tensor<8x4xf16>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<2x8xf32>, %b: tensor<9x4xf32>) {
  // expected-error @+1 {{'weft.matmul' op expects the contraction dims of lhs and rhs to match, got 8 and 9}}
  %0 = weft.matmul %a, %b : (tensor<2x8xf32>, tensor<9x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_contraction_transpose_lhs(%a: tensor<8x2xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+1 {{'weft.matmul' op expects the contraction dims of lhs and rhs to match, got 8 and 2}}
  %0 = weft.matmul %a, %b {transpose_lhs} : (tensor<8x2xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x8xf32>, %b: tensor<4x8x5xf32>) {
  // expected-error @+1 {{'weft.matmul' op expects broadcast-compatible batch dims, got [2] and [4]}}
  %0 = weft.matmul %a, %b : (tensor<2x3x8xf32>, tensor<4x8x5xf32>) -> tensor<?x3x5xf32>
  return
}

// -----

func.func @matmul_integer(%a: tensor<2x8xi32>, %b: tensor<8x4xi32>) {
  // expected-error @+1 {{'weft.matmul' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x8xi32>'}}
  %0 = weft.matmul %a, %b : (tensor<2x8xi32>, tensor<8x4xi32>) -> tensor<2x4xi32>
  return
}

// -----

func.func @matmul_wrong_result(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>) {
  // expected-error @+2 {{'weft.matmul' op inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x8xf32>'}}
  // expected-error @+1 {{'weft.matmul' op failed to infer returned types}}
  %0 = weft.matmul %a, %b {transpose_rhs} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

// weft.add, weft.sub, weft.mul, weft.div

func.func @add_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'weft.add' op expects broadcast-compatible shapes, got [2, 3] and [4]}}
  %0 = weft.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x?xf32>
  return
}

// -----

func.func @sub_broadcast(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) {
  // expected-error @+1 {{'weft.sub' op expects broadcast-compatible shapes, got [2, 3] and [3, 3]}}
  %0 = weft.sub %a, %b : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<?x3xf32>
  return
}

// -----

func.func @mul_broadcast(%a: tensor<?x3xi64>, %b: tensor<2x4xi64>) {
  // expected-error @+1 {{'weft.mul' op expects broadcast-compatible shapes, got [?, 3] and [2, 4]}}
  %0 = weft.mul %a, %b : (tensor<?x3xi64>, tensor<2x4xi64>) -> tensor<2x?xi64>
  return
}

// -----

func.func @div_broadcast(%a: tensor<5xf16>, %b: tensor<6xf16>) {
  // expected-error @+1 {{'weft.div' op expects broadcast-compatible shapes, got [5] and [6]}}
  %0 = weft.div %a, %b : (tensor<5xf16>, tensor<6xf16>) -> tensor<?xf16>
  return
}

// -----

func.func @add_element_type(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error @+1 {{'weft.add' op requires the same element type for all operands and results}}
  %0 = weft.add %a, %b : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return
}

// -----

func.func @add_i8(%a: tensor<4xi8>, %b: tensor<4xi8>) {
  // expected-error @+1 {{'weft.add' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type or 64-bit signless integer or 32-bit signless integer values, but got 'tensor<4xi8>'}}
  %0 = weft.add %a, %b : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  return
}

// -----

func.func @add_wrong_result(%a: tensor<2x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{'weft.add' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<2x1xf32>'}}
  // expected-error @+1 {{'weft.add' op failed to infer returned types}}
  %0 = weft.add %a, %b : (tensor<2x1xf32>, tensor<3xf32>) -> tensor<2x1xf32>
  return
}

// -----

// weft.silu and the other unary ops

func.func @silu_integer(%a: tensor<4xi32>) {
  // expected-error @+1 {{'weft.silu' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4xi32>'}}
  %0 = weft.silu %a : tensor<4xi32>
  return
}

// -----

// weft.softmax

func.func @softmax_axis_too_large(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.softmax' op expects axis in [0, 2), got 2}}
  %0 = weft.softmax %a {axis = 2} : tensor<2x8xf32>
  return
}

// -----

func.func @softmax_axis_negative(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.softmax' op expects axis in [0, 2), got -1}}
  %0 = weft.softmax %a {axis = -1} : tensor<2x8xf32>
  return
}

// -----

func.func @softmax_missing_axis(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.softmax' op requires attribute 'axis'}}
  %0 = weft.softmax %a : tensor<2x8xf32>
  return
}

// -----

// weft.reduce

func.func @reduce_no_axes(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.reduce' op expects axes to be non-empty, sorted, unique and in [0, 2), got []}}
  %0 = weft.reduce <sum> %a {axes = array<i64>} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @reduce_unsorted_axes(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.reduce' op expects axes to be non-empty, sorted, unique and in [0, 2), got [1, 0]}}
  %0 = weft.reduce <max> %a {axes = array<i64: 1, 0>} : (tensor<2x8xf32>) -> tensor<f32>
  return
}

// -----

func.func @reduce_duplicate_axes(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.reduce' op expects axes to be non-empty, sorted, unique and in [0, 2), got [1, 1]}}
  %0 = weft.reduce <mean> %a {axes = array<i64: 1, 1>} : (tensor<2x8xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @reduce_axis_out_of_range(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.reduce' op expects axes to be non-empty, sorted, unique and in [0, 2), got [0, 2]}}
  %0 = weft.reduce <sum> %a {axes = array<i64: 0, 2>} : (tensor<2x8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @reduce_wrong_result(%a: tensor<2x8xf32>) {
  // expected-error @+2 {{'weft.reduce' op inferred type(s) 'tensor<2x1xf32>' are incompatible with return type(s) of operation 'tensor<2xf32>'}}
  // expected-error @+1 {{'weft.reduce' op failed to infer returned types}}
  %0 = weft.reduce <sum> %a {axes = array<i64: 1>, keep_dims} : (tensor<2x8xf32>) -> tensor<2xf32>
  return
}

// -----

// weft.argmax

func.func @argmax_axis(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.argmax' op expects axis in [0, 2), got 2}}
  %0 = weft.argmax %a {axis = 2} : (tensor<2x8xf32>) -> tensor<2x8xi64>
  return
}

// -----

func.func @argmax_rank0(%a: tensor<f32>) {
  // expected-error @+1 {{'weft.argmax' op expects axis in [0, 0), got 0}}
  %0 = weft.argmax %a {axis = 0} : (tensor<f32>) -> tensor<i64>
  return
}

// -----

func.func @argmax_i32_result(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.argmax' op result #0 must be tensor of 64-bit signless integer values, but got 'tensor<2xi32>'}}
  %0 = weft.argmax %a {axis = 1} : (tensor<2x8xf32>) -> tensor<2xi32>
  return
}

// -----

func.func @argmax_wrong_result(%a: tensor<2x8xf32>) {
  // expected-error @+2 {{'weft.argmax' op inferred type(s) 'tensor<8xi64>' are incompatible with return type(s) of operation 'tensor<2xi64>'}}
  // expected-error @+1 {{'weft.argmax' op failed to infer returned types}}
  %0 = weft.argmax %a {axis = 0} : (tensor<2x8xf32>) -> tensor<2xi64>
  return
}

// -----

// weft.reshape

func.func @reshape_element_type(%a: tensor<4xf32>) {
  // expected-error @+1 {{'weft.reshape' op expects the result to have the element type of the input ('f32'), got 'f16'}}
  %0 = weft.reshape %a : tensor<4xf32> -> tensor<2x2xf16>
  return
}

// -----

func.func @reshape_dynamic_not_leading(%a: tensor<?x4xf32>) {
  // expected-error @+1 {{'weft.reshape' op expects dynamic dims only as a common leading prefix of input and result, got [?, 4] and [4, ?]}}
  %0 = weft.reshape %a : tensor<?x4xf32> -> tensor<4x?xf32>
  return
}

// -----

func.func @reshape_dynamic_prefix_length(%a: tensor<?x?x4xf32>) {
  // expected-error @+1 {{'weft.reshape' op expects dynamic dims only as a common leading prefix of input and result, got [?, ?, 4] and [?, 16]}}
  %0 = weft.reshape %a : tensor<?x?x4xf32> -> tensor<?x16xf32>
  return
}

// -----

func.func @reshape_element_count(%a: tensor<?x4x8xf32>) {
  // expected-error @+1 {{'weft.reshape' op expects the static dims of input and result to hold the same number of elements, got 32 and 33}}
  %0 = weft.reshape %a : tensor<?x4x8xf32> -> tensor<?x33xf32>
  return
}

// -----

// weft.transpose

func.func @transpose_short_permutation(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'weft.transpose' op expects permutation to be a permutation of [0, 2), got [0]}}
  %0 = weft.transpose %a {permutation = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @transpose_duplicate(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'weft.transpose' op expects permutation to be a permutation of [0, 2), got [1, 1]}}
  %0 = weft.transpose %a {permutation = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<3x3xf32>
  return
}

// -----

func.func @transpose_out_of_range(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'weft.transpose' op expects permutation to be a permutation of [0, 2), got [0, 2]}}
  %0 = weft.transpose %a {permutation = array<i64: 0, 2>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @transpose_huge_indices(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'weft.transpose' op expects permutation to be a permutation of [0, 2), got [9223372036854775807,}}
  %0 = weft.transpose %a {permutation = array<i64: 9223372036854775807, -9223372036854775808>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @transpose_wrong_result(%a: tensor<2x3x4xf32>) {
  // expected-error @+2 {{'weft.transpose' op inferred type(s) 'tensor<4x2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x4x2xf32>'}}
  // expected-error @+1 {{'weft.transpose' op failed to infer returned types}}
  %0 = weft.transpose %a {permutation = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  return
}

// -----

// weft.concat

func.func @concat_no_inputs() {
  // expected-error @+1 {{'weft.concat' op expected 1 or more operands, but found 0}}
  %0 = weft.concat {axis = 0} : () -> tensor<1xf32>
  return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'weft.concat' op expects axis in [0, 2), got 2}}
  %0 = weft.concat %a, %a {axis = 2} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'weft.concat' op expects all inputs to have rank 2, got 3 for input 1}}
  %0 = weft.concat %a, %b {axis = 0} : (tensor<2x3xf32>, tensor<2x3x4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @concat_dim(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) {
  // expected-error @+1 {{'weft.concat' op expects input 2 to match input 0 in dim 1, got 3 and 5}}
  %0 = weft.concat %a, %a, %b {axis = 0} : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<6x?xf32>
  return
}

// -----

func.func @concat_element_type(%a: tensor<2x3xf32>, %b: tensor<2x3xf16>) {
  // expected-error @+1 {{'weft.concat' op requires the same element type for all operands and results}}
  %0 = weft.concat %a, %b {axis = 0} : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<4x3xf32>
  return
}

// -----

// The sum of the sizes along the axis used to overflow in type inference.
func.func @concat_size_overflow(%a: tensor<4611686018427387904x2xf32>) {
  // expected-error @+1 {{'weft.concat' op expects the static sizes of dim 0 to sum to at most 9223372036854775807, got an overflow at input 1}}
  %0 = weft.concat %a, %a {axis = 0} : (tensor<4611686018427387904x2xf32>, tensor<4611686018427387904x2xf32>) -> tensor<?x2xf32>
  return
}

// -----

func.func @concat_wrong_result(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) {
  // expected-error @+2 {{'weft.concat' op inferred type(s) 'tensor<6x3xf32>' are incompatible with return type(s) of operation 'tensor<5x3xf32>'}}
  // expected-error @+1 {{'weft.concat' op failed to infer returned types}}
  %0 = weft.concat %a, %b {axis = 0} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<5x3xf32>
  return
}

// -----

// weft.slice

func.func @slice_rank0(%a: tensor<f32>) {
  // expected-error @+1 {{'weft.slice' op expects axis in [0, 0), got 0}}
  %0 = weft.slice %a {axis = 0, start = 0, end = 1} : (tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @slice_axis(%a: tensor<2x8xf32>) {
  // expected-error @+1 {{'weft.slice' op expects axis in [0, 2), got 2}}
  %0 = weft.slice %a {axis = 2, start = 0, end = 1} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @slice_start_after_end(%a: tensor<8xf32>) {
  // expected-error @+1 {{'weft.slice' op expects 0 <= start < end and step >= 1, got start = 4, end = 2, step = 1}}
  %0 = weft.slice %a {axis = 0, start = 4, end = 2} : (tensor<8xf32>) -> tensor<?xf32>
  return
}

// -----

func.func @slice_negative_start(%a: tensor<8xf32>) {
  // expected-error @+1 {{'weft.slice' op expects 0 <= start < end and step >= 1, got start = -1, end = 2, step = 1}}
  %0 = weft.slice %a {axis = 0, start = -1, end = 2} : (tensor<8xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @slice_zero_step(%a: tensor<8xf32>) {
  // expected-error @+1 {{'weft.slice' op expects 0 <= start < end and step >= 1, got start = 0, end = 2, step = 0}}
  %0 = weft.slice %a {axis = 0, start = 0, end = 2, step = 0} : (tensor<8xf32>) -> tensor<?xf32>
  return
}

// -----

func.func @slice_end_past_dim(%a: tensor<?x8xf32>) {
  // expected-error @+1 {{'weft.slice' op expects end <= 8 (the size of dim 1), got 9}}
  %0 = weft.slice %a {axis = 1, start = 0, end = 9} : (tensor<?x8xf32>) -> tensor<?x9xf32>
  return
}

// -----

func.func @slice_wrong_result(%a: tensor<8xf32>) {
  // expected-error @+2 {{'weft.slice' op inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<2xf32>'}}
  // expected-error @+1 {{'weft.slice' op failed to infer returned types}}
  %0 = weft.slice %a {axis = 0, start = 0, end = 8, step = 3} : (tensor<8xf32>) -> tensor<2xf32>
  return
}

// -----

// The ceil division in type inference used to overflow.
func.func @slice_huge_end(%a: tensor<?xf32>) {
  // expected-error @+2 {{'weft.slice' op inferred type(s) 'tensor<4611686018427387904xf32>' are incompatible with return type(s) of operation 'tensor<2xf32>'}}
  // expected-error @+1 {{'weft.slice' op failed to infer returned types}}
  %0 = weft.slice %a {axis = 0, start = 0, end = 9223372036854775807, step = 2} : (tensor<?xf32>) -> tensor<2xf32>
  return
}

// -----

// weft.cast

func.func @cast_shape(%a: tensor<4xf32>) {
  // expected-error @+1 {{'weft.cast' op requires the same shape for all operands and results}}
  %0 = weft.cast %a : tensor<4xf32> -> tensor<8xf16>
  return
}

// -----

func.func @cast_f64(%a: tensor<4xf32>) {
  // expected-error @+1 {{'weft.cast' op result #0 must be ranked tensor of}}
  %0 = weft.cast %a : tensor<4xf32> -> tensor<4xf64>
  return
}

// -----

// weft.attention

func.func @attention_integer_q(%q: tensor<1x16x8x64xi32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op operand #0 must be 4D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<1x16x8x64xi32>'}}
  %0 = weft.attention %q, %k, %k : (tensor<1x16x8x64xi32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xi32>
  return
}

// -----

func.func @attention_rank3_q(%q: tensor<16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op operand #0 must be 4D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<16x8x64xf32>'}}
  %0 = weft.attention %q, %k, %k : (tensor<16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_float_kv_len(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>, %len: tensor<1xf32>) {
  // expected-error @+1 {{'weft.attention' op operand #3 must be 1D tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<1xf32>'}}
  %0 = weft.attention %q, %k, %k kv_len %len : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>, tensor<1xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_k_element_type(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf16>, %v: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects k to have the element type of q ('f32'), got 'f16'}}
  %0 = weft.attention %q, %k, %v : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf16>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_v_element_type(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>, %v: tensor<1x16x2x64xbf16>) {
  // expected-error @+1 {{'weft.attention' op expects v to have the element type of q ('f32'), got 'bf16'}}
  %0 = weft.attention %q, %k, %v : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xbf16>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_dynamic_heads(%q: tensor<1x16x?x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects static head counts and head dims, got q [1, 16, ?, 64], k [1, 16, 2, 64] and v [1, 16, 2, 64]}}
  %0 = weft.attention %q, %k, %k : (tensor<1x16x?x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x?x64xf32>
  return
}

// -----

func.func @attention_dynamic_v_head_dim(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>, %v: tensor<1x16x2x?xf32>) {
  // expected-error @+1 {{'weft.attention' op expects static head counts and head dims, got q [1, 16, 8, 64], k [1, 16, 2, 64] and v [1, 16, 2, ?]}}
  %0 = weft.attention %q, %k, %v : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x?xf32>) -> tensor<1x16x8x?xf32>
  return
}

// -----

func.func @attention_qk_batch(%q: tensor<2x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects q and k to have the same batch size, got 2 and 1}}
  %0 = weft.attention %q, %k, %k : (tensor<2x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<?x16x8x64xf32>
  return
}

// -----

func.func @attention_kv_batch(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>, %v: tensor<3x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects k and v to have the same batch size, got 1 and 3}}
  %0 = weft.attention %q, %k, %v : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<3x16x2x64xf32>) -> tensor<?x16x8x64xf32>
  return
}

// -----

func.func @attention_qk_head_dim(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x32xf32>, %v: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects q and k to have the same head dim, got 64 and 32}}
  %0 = weft.attention %q, %k, %v : (tensor<1x16x8x64xf32>, tensor<1x16x2x32xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_kv_seq_len(%q: tensor<1x1x8x64xf32>, %k: tensor<1x16x2x64xf32>, %v: tensor<1x8x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects k and v to have the same sequence length, got 16 and 8}}
  %0 = weft.attention %q, %k, %v : (tensor<1x1x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x8x2x64xf32>) -> tensor<1x1x8x64xf32>
  return
}

// -----

func.func @attention_kv_heads(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x8x64xf32>, %v: tensor<1x16x4x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects k and v to have the same number of heads, got 8 and 4}}
  %0 = weft.attention %q, %k, %v : (tensor<1x16x8x64xf32>, tensor<1x16x8x64xf32>, tensor<1x16x4x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_gqa_multiple(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x3x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects the number of query heads (8) to be a multiple of the number of kv heads (3)}}
  %0 = weft.attention %q, %k, %k : (tensor<1x16x8x64xf32>, tensor<1x16x3x64xf32>, tensor<1x16x3x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

// The verifier used to divide by zero.
func.func @attention_zero_kv_heads(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x0x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects the number of query heads (8) to be a multiple of the number of kv heads (0)}}
  %0 = weft.attention %q, %k, %k : (tensor<1x16x8x64xf32>, tensor<1x16x0x64xf32>, tensor<1x16x0x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_mask_element_type(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>, %m: tensor<1x1x16x16xf16>) {
  // expected-error @+1 {{'weft.attention' op expects mask to have the element type of q ('f32'), got 'f16'}}
  %0 = weft.attention %q, %k, %k mask %m : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>, tensor<1x1x16x16xf16>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_mask_seq_dims(%q: tensor<1x16x8x64xf32>, %k: tensor<1x32x2x64xf32>, %m: tensor<1x1x16x16xf32>) {
  // expected-error @+1 {{'weft.attention' op expects mask of shape [B|1, Hq|1, Sq, Sk] = [1|1, 8|1, 16, 32], got [1, 1, 16, 16]}}
  %0 = weft.attention %q, %k, %k mask %m : (tensor<1x16x8x64xf32>, tensor<1x32x2x64xf32>, tensor<1x32x2x64xf32>, tensor<1x1x16x16xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_mask_heads(%q: tensor<2x16x8x64xf32>, %k: tensor<2x16x2x64xf32>, %m: tensor<2x2x16x16xf32>) {
  // expected-error @+1 {{'weft.attention' op expects mask of shape [B|1, Hq|1, Sq, Sk] = [2|1, 8|1, 16, 16], got [2, 2, 16, 16]}}
  %0 = weft.attention %q, %k, %k mask %m : (tensor<2x16x8x64xf32>, tensor<2x16x2x64xf32>, tensor<2x16x2x64xf32>, tensor<2x2x16x16xf32>) -> tensor<2x16x8x64xf32>
  return
}

// -----

func.func @attention_mask_batch(%q: tensor<2x16x8x64xf32>, %k: tensor<2x16x2x64xf32>, %m: tensor<3x8x16x16xf32>) {
  // expected-error @+1 {{'weft.attention' op expects mask of shape [B|1, Hq|1, Sq, Sk] = [2|1, 8|1, 16, 16], got [3, 8, 16, 16]}}
  %0 = weft.attention %q, %k, %k mask %m : (tensor<2x16x8x64xf32>, tensor<2x16x2x64xf32>, tensor<2x16x2x64xf32>, tensor<3x8x16x16xf32>) -> tensor<2x16x8x64xf32>
  return
}

// -----

func.func @attention_kv_len_shape(%q: tensor<2x1x8x64xf32>, %k: tensor<2x16x2x64xf32>, %len: tensor<4xi32>) {
  // expected-error @+1 {{'weft.attention' op expects kv_len of shape [B] = [2], got [4]}}
  %0 = weft.attention %q, %k, %k kv_len %len : (tensor<2x1x8x64xf32>, tensor<2x16x2x64xf32>, tensor<2x16x2x64xf32>, tensor<4xi32>) -> tensor<2x1x8x64xf32>
  return
}

// -----

func.func @attention_zero_scale(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects scale to be finite and non-zero, got 0.000000e+00}}
  %0 = weft.attention %q, %k, %k {scale = 0.0 : f32} : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_infinite_scale(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects scale to be finite and non-zero, got INF}}
  %0 = weft.attention %q, %k, %k {scale = 0x7F800000 : f32} : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_window_not_positive(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects window to be positive, got 0}}
  %0 = weft.attention %q, %k, %k {causal, window = 0} : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_window_without_causal(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects window to be used together with causal}}
  %0 = weft.attention %q, %k, %k {window = 4} : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_negative_softcap(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects softcap to be positive and finite, got -1.000000e+00}}
  %0 = weft.attention %q, %k, %k {softcap = -1.0 : f32} : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_zero_softcap(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+1 {{'weft.attention' op expects softcap to be positive and finite, got 0.000000e+00}}
  %0 = weft.attention %q, %k, %k {softcap = 0.0 : f32} : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_wrong_result(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>, %v: tensor<1x16x2x32xf32>) {
  // expected-error @+2 {{'weft.attention' op inferred type(s) 'tensor<1x16x8x32xf32>' are incompatible with return type(s) of operation 'tensor<1x16x8x64xf32>'}}
  // expected-error @+1 {{'weft.attention' op failed to infer returned types}}
  %0 = weft.attention %q, %k, %v : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x32xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_missing_lse(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+2 {{'weft.attention' op inferred type(s) 'tensor<1x16x8x64xf32>', 'tensor<1x8x16xf32>' are incompatible with return type(s) of operation 'tensor<1x16x8x64xf32>'}}
  // expected-error @+1 {{'weft.attention' op failed to infer returned types}}
  %0 = weft.attention %q, %k, %k {return_lse} : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @attention_lse_without_return_lse(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+2 {{'weft.attention' op inferred type(s) 'tensor<1x16x8x64xf32>' are incompatible with return type(s) of operation 'tensor<1x16x8x64xf32>', 'tensor<1x8x16xf32>'}}
  // expected-error @+1 {{'weft.attention' op failed to infer returned types}}
  %0:2 = weft.attention %q, %k, %k : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x16xf32>)
  return
}

// -----

func.func @attention_lse_layout(%q: tensor<1x16x8x64xf32>, %k: tensor<1x16x2x64xf32>) {
  // expected-error @+2 {{'weft.attention' op inferred type(s) 'tensor<1x16x8x64xf32>', 'tensor<1x8x16xf32>' are incompatible with return type(s) of operation 'tensor<1x16x8x64xf32>', 'tensor<1x16x8xf32>'}}
  // expected-error @+1 {{'weft.attention' op failed to infer returned types}}
  %0:2 = weft.attention %q, %k, %k {return_lse} : (tensor<1x16x8x64xf32>, tensor<1x16x2x64xf32>, tensor<1x16x2x64xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>)
  return
}

// -----

// weft.rope

func.func @rope_dynamic_head_dim(%x: tensor<1x16x8x?xf32>, %pos: tensor<1x16xi64>) {
  // expected-error @+1 {{'weft.rope' op expects x to have a static head dim, got [1, 16, 8, ?]}}
  %0 = weft.rope %x, %pos : (tensor<1x16x8x?xf32>, tensor<1x16xi64>) -> tensor<1x16x8x?xf32>
  return
}

// -----

func.func @rope_positions_shape(%x: tensor<1x16x8x64xf32>, %pos: tensor<1x8xi64>) {
  // expected-error @+1 {{'weft.rope' op expects positions of shape [B, S] = [1, 16], got [1, 8]}}
  %0 = weft.rope %x, %pos : (tensor<1x16x8x64xf32>, tensor<1x8xi64>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @rope_float_positions(%x: tensor<1x16x8x64xf32>, %pos: tensor<1x16xf32>) {
  // expected-error @+1 {{'weft.rope' op operand #1 must be 2D tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<1x16xf32>'}}
  %0 = weft.rope %x, %pos : (tensor<1x16x8x64xf32>, tensor<1x16xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @rope_odd_rotary_dim(%x: tensor<1x16x8x64xf32>, %pos: tensor<1x16xi64>) {
  // expected-error @+1 {{'weft.rope' op expects rotary_dim to be even and in (0, 64], got 33}}
  %0 = weft.rope %x, %pos {rotary_dim = 33} : (tensor<1x16x8x64xf32>, tensor<1x16xi64>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @rope_rotary_dim_too_large(%x: tensor<1x16x8x64xf32>, %pos: tensor<1x16xi64>) {
  // expected-error @+1 {{'weft.rope' op expects rotary_dim to be even and in (0, 64], got 128}}
  %0 = weft.rope %x, %pos {rotary_dim = 128} : (tensor<1x16x8x64xf32>, tensor<1x16xi64>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @rope_zero_head_dim(%x: tensor<1x16x8x0xf32>, %pos: tensor<1x16xi64>) {
  // expected-error @+1 {{'weft.rope' op expects rotary_dim to be even and in (0, 0], got 0}}
  %0 = weft.rope %x, %pos : (tensor<1x16x8x0xf32>, tensor<1x16xi64>) -> tensor<1x16x8x0xf32>
  return
}

// -----

func.func @rope_inv_freq_shape(%x: tensor<1x16x8x64xf32>, %pos: tensor<1x16xi64>, %f: tensor<32xf32>) {
  // expected-error @+1 {{'weft.rope' op expects inv_freq of shape [rotary_dim / 2] = [16], got [32]}}
  %0 = weft.rope %x, %pos inv_freq %f {rotary_dim = 32} : (tensor<1x16x8x64xf32>, tensor<1x16xi64>, tensor<32xf32>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @rope_f16_inv_freq(%x: tensor<1x16x8x64xf16>, %pos: tensor<1x16xi64>, %f: tensor<32xf16>) {
  // expected-error @+1 {{'weft.rope' op operand #2 must be 1D tensor of 32-bit float values, but got 'tensor<32xf16>'}}
  %0 = weft.rope %x, %pos inv_freq %f : (tensor<1x16x8x64xf16>, tensor<1x16xi64>, tensor<32xf16>) -> tensor<1x16x8x64xf16>
  return
}

// -----

func.func @rope_theta(%x: tensor<1x16x8x64xf32>, %pos: tensor<1x16xi64>) {
  // expected-error @+1 {{'weft.rope' op expects theta to be positive, got 0.000000e+00}}
  %0 = weft.rope %x, %pos {theta = 0.0 : f64} : (tensor<1x16x8x64xf32>, tensor<1x16xi64>) -> tensor<1x16x8x64xf32>
  return
}

// -----

func.func @rope_wrong_result(%x: tensor<1x16x8x64xf32>, %pos: tensor<1x16xi64>) {
  // expected-error @+2 {{'weft.rope' op inferred type(s) 'tensor<1x16x8x64xf32>' are incompatible with return type(s) of operation 'tensor<1x16x8x64xf16>'}}
  // expected-error @+1 {{'weft.rope' op failed to infer returned types}}
  %0 = weft.rope %x, %pos : (tensor<1x16x8x64xf32>, tensor<1x16xi64>) -> tensor<1x16x8x64xf16>
  return
}

// -----

// weft.rms_norm

func.func @rms_norm_rank0(%x: tensor<f32>, %w: tensor<1xf32>) {
  // expected-error @+1 {{'weft.rms_norm' op expects x to have rank >= 1, got 0}}
  %0 = weft.rms_norm %x, %w : (tensor<f32>, tensor<1xf32>) -> tensor<f32>
  return
}

// -----

func.func @rms_norm_weight_element_type(%x: tensor<2x16x512xf32>, %w: tensor<512xf16>) {
  // expected-error @+1 {{'weft.rms_norm' op expects weight to have the element type of x ('f32'), got 'f16'}}
  %0 = weft.rms_norm %x, %w : (tensor<2x16x512xf32>, tensor<512xf16>) -> tensor<2x16x512xf32>
  return
}

// -----

func.func @rms_norm_weight_shape(%x: tensor<2x16x512xf32>, %w: tensor<256xf32>) {
  // expected-error @+1 {{'weft.rms_norm' op expects weight of shape [D] (the last dim of x) = [512], got [256]}}
  %0 = weft.rms_norm %x, %w : (tensor<2x16x512xf32>, tensor<256xf32>) -> tensor<2x16x512xf32>
  return
}

// -----

func.func @rms_norm_weight_rank2(%x: tensor<2x16x512xf32>, %w: tensor<1x512xf32>) {
  // expected-error @+1 {{'weft.rms_norm' op operand #1 must be 1D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<1x512xf32>'}}
  %0 = weft.rms_norm %x, %w : (tensor<2x16x512xf32>, tensor<1x512xf32>) -> tensor<2x16x512xf32>
  return
}

// -----

func.func @rms_norm_negative_eps(%x: tensor<2x16x512xf32>, %w: tensor<512xf32>) {
  // expected-error @+1 {{'weft.rms_norm' op expects eps to be non-negative and finite, got -1.000000e+00}}
  %0 = weft.rms_norm %x, %w {eps = -1.0 : f64} : (tensor<2x16x512xf32>, tensor<512xf32>) -> tensor<2x16x512xf32>
  return
}

// -----

func.func @rms_norm_infinite_eps(%x: tensor<2x16x512xf32>, %w: tensor<512xf32>) {
  // expected-error @+1 {{'weft.rms_norm' op expects eps to be non-negative and finite, got INF}}
  %0 = weft.rms_norm %x, %w {eps = 0x7FF0000000000000 : f64} : (tensor<2x16x512xf32>, tensor<512xf32>) -> tensor<2x16x512xf32>
  return
}

// -----

func.func @rms_norm_wrong_result(%x: tensor<2x16x512xf32>, %w: tensor<512xf32>) {
  // expected-error @+2 {{'weft.rms_norm' op inferred type(s) 'tensor<2x16x512xf32>' are incompatible with return type(s) of operation 'tensor<2x16x256xf32>'}}
  // expected-error @+1 {{'weft.rms_norm' op failed to infer returned types}}
  %0 = weft.rms_norm %x, %w : (tensor<2x16x512xf32>, tensor<512xf32>) -> tensor<2x16x256xf32>
  return
}

// -----

// weft.layer_norm

func.func @layer_norm_rank0(%x: tensor<f32>) {
  // expected-error @+1 {{'weft.layer_norm' op expects x to have rank >= 1, got 0}}
  %0 = weft.layer_norm %x : (tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @layer_norm_weight_element_type(%x: tensor<2x512xbf16>, %w: tensor<512xf32>) {
  // expected-error @+1 {{'weft.layer_norm' op expects weight to have the element type of x ('bf16'), got 'f32'}}
  %0 = weft.layer_norm %x weight %w : (tensor<2x512xbf16>, tensor<512xf32>) -> tensor<2x512xbf16>
  return
}

// -----

func.func @layer_norm_weight_shape(%x: tensor<2x512xf32>, %w: tensor<511xf32>) {
  // expected-error @+1 {{'weft.layer_norm' op expects weight of shape [D] (the last dim of x) = [512], got [511]}}
  %0 = weft.layer_norm %x weight %w : (tensor<2x512xf32>, tensor<511xf32>) -> tensor<2x512xf32>
  return
}

// -----

func.func @layer_norm_bias_element_type(%x: tensor<2x512xf32>, %w: tensor<512xf32>, %b: tensor<512xf16>) {
  // expected-error @+1 {{'weft.layer_norm' op expects bias to have the element type of x ('f32'), got 'f16'}}
  %0 = weft.layer_norm %x weight %w bias %b : (tensor<2x512xf32>, tensor<512xf32>, tensor<512xf16>) -> tensor<2x512xf32>
  return
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x512xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'weft.layer_norm' op expects bias of shape [D] (the last dim of x) = [512], got [1]}}
  %0 = weft.layer_norm %x bias %b : (tensor<2x512xf32>, tensor<1xf32>) -> tensor<2x512xf32>
  return
}

// -----

func.func @layer_norm_eps(%x: tensor<2x512xf32>) {
  // expected-error @+1 {{'weft.layer_norm' op expects eps to be non-negative and finite, got -5.000000e-01}}
  %0 = weft.layer_norm %x {eps = -0.5 : f64} : (tensor<2x512xf32>) -> tensor<2x512xf32>
  return
}

// -----

func.func @layer_norm_wrong_result(%x: tensor<2x512xf32>) {
  // expected-error @+2 {{'weft.layer_norm' op inferred type(s) 'tensor<2x512xf32>' are incompatible with return type(s) of operation 'tensor<2x512xbf16>'}}
  // expected-error @+1 {{'weft.layer_norm' op failed to infer returned types}}
  %0 = weft.layer_norm %x : (tensor<2x512xf32>) -> tensor<2x512xbf16>
  return
}

// -----

// weft.linear

func.func @linear_rank0(%x: tensor<f32>, %w: tensor<1024x512xf32>) {
  // expected-error @+1 {{'weft.linear' op expects x to have rank >= 1, got 0}}
  %0 = weft.linear %x, %w : (tensor<f32>, tensor<1024x512xf32>) -> tensor<1024xf32>
  return
}

// -----

func.func @linear_weight_element_type(%x: tensor<2x16x512xf32>, %w: tensor<1024x512xbf16>) {
  // expected-error @+1 {{'weft.linear' op expects weight to have the element type of x ('f32'), got 'bf16'}}
  %0 = weft.linear %x, %w : (tensor<2x16x512xf32>, tensor<1024x512xbf16>) -> tensor<2x16x1024xf32>
  return
}

// -----

func.func @linear_in_features(%x: tensor<2x16x512xf32>, %w: tensor<1024x256xf32>) {
  // expected-error @+1 {{'weft.linear' op expects the last dim of x to match the in-features (dim 1) of weight, got 512 and 256}}
  %0 = weft.linear %x, %w : (tensor<2x16x512xf32>, tensor<1024x256xf32>) -> tensor<2x16x1024xf32>
  return
}

// -----

func.func @linear_weight_rank3(%x: tensor<2x16x512xf32>, %w: tensor<1x1024x512xf32>) {
  // expected-error @+1 {{'weft.linear' op operand #1 must be 2D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<1x1024x512xf32>'}}
  %0 = weft.linear %x, %w : (tensor<2x16x512xf32>, tensor<1x1024x512xf32>) -> tensor<2x16x1024xf32>
  return
}

// -----

func.func @linear_bias_element_type(%x: tensor<2x16x512xf32>, %w: tensor<1024x512xf32>, %b: tensor<1024xf16>) {
  // expected-error @+1 {{'weft.linear' op expects bias to have the element type of x ('f32'), got 'f16'}}
  %0 = weft.linear %x, %w bias %b : (tensor<2x16x512xf32>, tensor<1024x512xf32>, tensor<1024xf16>) -> tensor<2x16x1024xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<2x16x512xf32>, %w: tensor<1024x512xf32>, %b: tensor<512xf32>) {
  // expected-error @+1 {{'weft.linear' op expects bias of shape [N] = [1024], got [512]}}
  %0 = weft.linear %x, %w bias %b : (tensor<2x16x512xf32>, tensor<1024x512xf32>, tensor<512xf32>) -> tensor<2x16x1024xf32>
  return
}

// -----

func.func @linear_residual_element_type(%x: tensor<2x16x512xf32>, %w: tensor<1024x512xf32>, %r: tensor<2x16x1024xf16>) {
  // expected-error @+1 {{'weft.linear' op expects residual to have the element type of x ('f32'), got 'f16'}}
  %0 = weft.linear %x, %w residual %r : (tensor<2x16x512xf32>, tensor<1024x512xf32>, tensor<2x16x1024xf16>) -> tensor<2x16x1024xf32>
  return
}

// -----

func.func @linear_residual_shape(%x: tensor<2x16x512xf32>, %w: tensor<1024x512xf32>, %r: tensor<2x16x512xf32>) {
  // expected-error @+1 {{'weft.linear' op expects residual of shape [..., N] = [2, 16, 1024], got [2, 16, 512]}}
  %0 = weft.linear %x, %w residual %r : (tensor<2x16x512xf32>, tensor<1024x512xf32>, tensor<2x16x512xf32>) -> tensor<2x16x1024xf32>
  return
}

// -----

func.func @linear_wrong_result(%x: tensor<2x16x512xf32>, %w: tensor<1024x512xf32>) {
  // expected-error @+2 {{'weft.linear' op inferred type(s) 'tensor<2x16x1024xf32>' are incompatible with return type(s) of operation 'tensor<2x16x512xf32>'}}
  // expected-error @+1 {{'weft.linear' op failed to infer returned types}}
  %0 = weft.linear %x, %w : (tensor<2x16x512xf32>, tensor<1024x512xf32>) -> tensor<2x16x512xf32>
  return
}

// -----

// weft.qlinear

func.func @qlinear_rank0(%x: tensor<f32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects x to have rank >= 1, got 0}}
  %0 = weft.qlinear %x, %w, %s {group_size = 128 : i64} : (tensor<f32>, tensor<1024x512xi4>, tensor<1024x4xf32>) -> tensor<1024xf32>
  return
}

// -----

func.func @qlinear_float_qweight(%x: tensor<2x512xf32>, %w: tensor<1024x512xf32>, %s: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.qlinear' op operand #1 must be 2D tensor of 8-bit signless integer or 4-bit signless integer values, but got 'tensor<1024x512xf32>'}}
  %0 = weft.qlinear %x, %w, %s {group_size = 128 : i64} : (tensor<2x512xf32>, tensor<1024x512xf32>, tensor<1024x4xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_dynamic_qweight(%x: tensor<2x512xf32>, %w: tensor<?x512xi4>, %s: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects qweight to have a static shape, got 'tensor<?x512xi4>'}}
  %0 = weft.qlinear %x, %w, %s {group_size = 128 : i64} : (tensor<2x512xf32>, tensor<?x512xi4>, tensor<1024x4xf32>) -> tensor<2x?xf32>
  return
}

// -----

func.func @qlinear_odd_i4_k(%x: tensor<2x63xf32>, %w: tensor<16x63xi4>, %s: tensor<16x1xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects an even K for an i4 qweight (two values are packed per byte), got 63}}
  %0 = weft.qlinear %x, %w, %s {group_size = -1 : i64} : (tensor<2x63xf32>, tensor<16x63xi4>, tensor<16x1xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @qlinear_in_features(%x: tensor<2x256xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects the last dim of x to match the in-features (dim 1) of qweight, got 256 and 512}}
  %0 = weft.qlinear %x, %w, %s {group_size = 128 : i64} : (tensor<2x256xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_zero_group_size(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects group_size to be -1 or a positive divisor of K (512), got 0}}
  %0 = weft.qlinear %x, %w, %s {group_size = 0 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_negative_group_size(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects group_size to be -1 or a positive divisor of K (512), got -2}}
  %0 = weft.qlinear %x, %w, %s {group_size = -2 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_group_size_not_divisor(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects group_size to be -1 or a positive divisor of K (512), got 100}}
  %0 = weft.qlinear %x, %w, %s {group_size = 100 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_scales_shape(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x1xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects scales of shape [N, G] = [1024, 4], got [1024, 1]}}
  %0 = weft.qlinear %x, %w, %s {group_size = 128 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x1xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_scales_shape_per_channel(%x: tensor<2x512xf32>, %w: tensor<1024x512xi8>, %s: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects scales of shape [N, G] = [1024, 1], got [1024, 4]}}
  %0 = weft.qlinear %x, %w, %s {group_size = -1 : i64} : (tensor<2x512xf32>, tensor<1024x512xi8>, tensor<1024x4xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_zeros_element_type(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>, %z: tensor<1024x4xi8>) {
  // expected-error @+1 {{'weft.qlinear' op expects zeros to have the element type of qweight ('i4'), got 'i8'}}
  %0 = weft.qlinear %x, %w, %s zeros %z {group_size = 128 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>, tensor<1024x4xi8>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_zeros_shape(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>, %z: tensor<1024x2xi4>) {
  // expected-error @+1 {{'weft.qlinear' op expects zeros of shape [N, G] = [1024, 4], got [1024, 2]}}
  %0 = weft.qlinear %x, %w, %s zeros %z {group_size = 128 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>, tensor<1024x2xi4>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_bias_element_type(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>, %b: tensor<1024xbf16>) {
  // expected-error @+1 {{'weft.qlinear' op expects bias to have the element type of x ('f32'), got 'bf16'}}
  %0 = weft.qlinear %x, %w, %s bias %b {group_size = 128 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>, tensor<1024xbf16>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_residual_shape(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>, %r: tensor<1024xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects residual of shape [..., N] = [2, 1024], got [1024]}}
  %0 = weft.qlinear %x, %w, %s residual %r {group_size = 128 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>, tensor<1024xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @qlinear_wrong_result(%x: tensor<2x512xf32>, %w: tensor<1024x512xi4>, %s: tensor<1024x4xf32>) {
  // expected-error @+2 {{'weft.qlinear' op inferred type(s) 'tensor<2x1024xf32>' are incompatible with return type(s) of operation 'tensor<2x512xf32>'}}
  // expected-error @+1 {{'weft.qlinear' op failed to infer returned types}}
  %0 = weft.qlinear %x, %w, %s {group_size = 128 : i64} : (tensor<2x512xf32>, tensor<1024x512xi4>, tensor<1024x4xf32>) -> tensor<2x512xf32>
  return
}

// -----

// weft.lora

func.func @lora_rank0(%x: tensor<f32>, %a: tensor<8x512xf32>, %b: tensor<1024x8xf32>) {
  // expected-error @+1 {{'weft.lora' op expects x to have rank >= 1, got 0}}
  %0 = weft.lora %x, %a, %b : (tensor<f32>, tensor<8x512xf32>, tensor<1024x8xf32>) -> tensor<1024xf32>
  return
}

// -----

func.func @lora_a_element_type(%x: tensor<2x512xf32>, %a: tensor<8x512xf16>, %b: tensor<1024x8xf32>) {
  // expected-error @+1 {{'weft.lora' op expects lora_a to have the element type of x ('f32'), got 'f16'}}
  %0 = weft.lora %x, %a, %b : (tensor<2x512xf32>, tensor<8x512xf16>, tensor<1024x8xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_b_element_type(%x: tensor<2x512xf32>, %a: tensor<8x512xf32>, %b: tensor<1024x8xf16>) {
  // expected-error @+1 {{'weft.lora' op expects lora_b to have the element type of x ('f32'), got 'f16'}}
  %0 = weft.lora %x, %a, %b : (tensor<2x512xf32>, tensor<8x512xf32>, tensor<1024x8xf16>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_rank1_a(%x: tensor<2x512xf32>, %a: tensor<512xf32>, %b: tensor<1024x8xf32>) {
  // expected-error @+1 {{'weft.lora' op expects lora_a and lora_b to both have rank 2 (single adapter) or 3 (multi-adapter), got 1 and 2}}
  %0 = weft.lora %x, %a, %b : (tensor<2x512xf32>, tensor<512xf32>, tensor<1024x8xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_mixed_ranks(%x: tensor<2x512xf32>, %a: tensor<4x8x512xf32>, %b: tensor<1024x8xf32>, %ids: tensor<2xi32>) {
  // expected-error @+1 {{'weft.lora' op expects lora_a and lora_b to both have rank 2 (single adapter) or 3 (multi-adapter), got 3 and 2}}
  %0 = weft.lora %x, %a, %b ids %ids : (tensor<2x512xf32>, tensor<4x8x512xf32>, tensor<1024x8xf32>, tensor<2xi32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_rank4(%x: tensor<2x512xf32>, %a: tensor<1x4x8x512xf32>, %b: tensor<1x4x1024x8xf32>) {
  // expected-error @+1 {{'weft.lora' op expects lora_a and lora_b to both have rank 2 (single adapter) or 3 (multi-adapter), got 4 and 4}}
  %0 = weft.lora %x, %a, %b : (tensor<2x512xf32>, tensor<1x4x8x512xf32>, tensor<1x4x1024x8xf32>) -> tensor<2x?xf32>
  return
}

// -----

func.func @lora_adapter_count(%x: tensor<2x512xf32>, %a: tensor<4x8x512xf32>, %b: tensor<3x1024x8xf32>, %ids: tensor<2xi32>) {
  // expected-error @+1 {{'weft.lora' op expects lora_a and lora_b to hold the same number of adapters, got 4 and 3}}
  %0 = weft.lora %x, %a, %b ids %ids : (tensor<2x512xf32>, tensor<4x8x512xf32>, tensor<3x1024x8xf32>, tensor<2xi32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_multi_without_ids(%x: tensor<2x512xf32>, %a: tensor<4x8x512xf32>, %b: tensor<4x1024x8xf32>) {
  // expected-error @+1 {{'weft.lora' op expects ids with the multi-adapter form}}
  %0 = weft.lora %x, %a, %b : (tensor<2x512xf32>, tensor<4x8x512xf32>, tensor<4x1024x8xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_ids_shape(%x: tensor<2x16x512xf32>, %a: tensor<4x8x512xf32>, %b: tensor<4x1024x8xf32>, %ids: tensor<3xi32>) {
  // expected-error @+1 {{'weft.lora' op expects ids of shape [B] = [2] or x's leading dims [2, 16], got [3]}}
  %0 = weft.lora %x, %a, %b ids %ids : (tensor<2x16x512xf32>, tensor<4x8x512xf32>, tensor<4x1024x8xf32>, tensor<3xi32>) -> tensor<2x16x1024xf32>
  return
}

// -----

func.func @lora_float_ids(%x: tensor<2x512xf32>, %a: tensor<4x8x512xf32>, %b: tensor<4x1024x8xf32>, %ids: tensor<2xf32>) {
  // expected-error @+1 {{'weft.lora' op operand #3 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<2xf32>'}}
  %0 = weft.lora %x, %a, %b ids %ids : (tensor<2x512xf32>, tensor<4x8x512xf32>, tensor<4x1024x8xf32>, tensor<2xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_single_with_ids(%x: tensor<2x512xf32>, %a: tensor<8x512xf32>, %b: tensor<1024x8xf32>, %ids: tensor<2xi32>) {
  // expected-error @+1 {{'weft.lora' op expects ids only with the multi-adapter form (rank-3 lora_a and lora_b)}}
  %0 = weft.lora %x, %a, %b ids %ids : (tensor<2x512xf32>, tensor<8x512xf32>, tensor<1024x8xf32>, tensor<2xi32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_rank_mismatch(%x: tensor<2x512xf32>, %a: tensor<8x512xf32>, %b: tensor<1024x4xf32>) {
  // expected-error @+1 {{'weft.lora' op expects lora_a [r, K] and lora_b [N, r] to have the same rank r, got 8 and 4}}
  %0 = weft.lora %x, %a, %b : (tensor<2x512xf32>, tensor<8x512xf32>, tensor<1024x4xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_multi_rank_mismatch(%x: tensor<2x512xf32>, %a: tensor<4x8x512xf32>, %b: tensor<4x1024x16xf32>, %ids: tensor<2xi32>) {
  // expected-error @+1 {{'weft.lora' op expects lora_a [r, K] and lora_b [N, r] to have the same rank r, got 8 and 16}}
  %0 = weft.lora %x, %a, %b ids %ids : (tensor<2x512xf32>, tensor<4x8x512xf32>, tensor<4x1024x16xf32>, tensor<2xi32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_in_features(%x: tensor<2x512xf32>, %a: tensor<8x256xf32>, %b: tensor<1024x8xf32>) {
  // expected-error @+1 {{'weft.lora' op expects the last dim of x to match the in-features of lora_a, got 512 and 256}}
  %0 = weft.lora %x, %a, %b : (tensor<2x512xf32>, tensor<8x256xf32>, tensor<1024x8xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_infinite_scale(%x: tensor<2x512xf32>, %a: tensor<8x512xf32>, %b: tensor<1024x8xf32>) {
  // expected-error @+1 {{'weft.lora' op expects a finite scale}}
  %0 = weft.lora %x, %a, %b {scale = 0x7F800000 : f32} : (tensor<2x512xf32>, tensor<8x512xf32>, tensor<1024x8xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @lora_wrong_result(%x: tensor<2x512xf32>, %a: tensor<8x512xf32>, %b: tensor<1024x8xf32>) {
  // expected-error @+2 {{'weft.lora' op inferred type(s) 'tensor<2x1024xf32>' are incompatible with return type(s) of operation 'tensor<2x512xf32>'}}
  // expected-error @+1 {{'weft.lora' op failed to infer returned types}}
  %0 = weft.lora %x, %a, %b : (tensor<2x512xf32>, tensor<8x512xf32>, tensor<1024x8xf32>) -> tensor<2x512xf32>
  return
}

// -----

// weft.ssm_scan

func.func @ssm_scan_dt_element_type(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf16>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects dt to have the element type of x ('f32'), got 'f16'}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf16>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_B_element_type(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xbf16>, %C: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects B to have the element type of x ('f32'), got 'bf16'}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xbf16>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_C_element_type(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>, %C: tensor<1x16x1x128xf16>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects C to have the element type of x ('f32'), got 'f16'}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf16>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_dt_rank4(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8x1xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op operand #1 must be 3D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<1x16x8x1xf32>'}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8x1xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_dt_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x4xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects dt of shape [B, L, H] = [1, 16, 8], got [1, 16, 4]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x4xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_B_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x12x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects B of shape [B, L, G, N] = [1, 16, 1, 128], got [1, 12, 1, 128]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x12x1x128xf32>, tensor<1x12x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_C_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>, %C: tensor<1x16x1x64xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects C of shape [B, L, G, N] (the shape of B) = [1, 16, 1, 128], got [1, 16, 1, 64]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x64xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_groups(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x3x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects the number of heads (8) to be a multiple of the number of groups (3)}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x3x128xf32>, tensor<1x16x3x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_zero_groups(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x0x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects the number of heads (8) to be a multiple of the number of groups (0)}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x0x128xf32>, tensor<1x16x0x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_scalar_A_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<4xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects A of shape [H] = [8], got [4]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<4xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_matrix_A_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8x64xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects A of shape [H, N] = [8, 128], got [8, 64]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8x64xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x?xf32>)
  return
}

// -----

func.func @ssm_scan_rank3_A(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8x128x2xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects A of shape [H, N] or [H], got rank 3}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8x128x2xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_rank0_A(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<f32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects A of shape [H, N] or [H], got rank 0}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<f32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_D_vector_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>, %D: tensor<4xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects D of shape [H] = [8], got [4]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B D %D : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>, tensor<4xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_D_matrix_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>, %D: tensor<8x32xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects D of shape [H, P] = [8, 64], got [8, 32]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B D %D : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>, tensor<8x32xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_z_element_type(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>, %z: tensor<1x16x8x64xf16>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects z to have the element type of x ('f32'), got 'f16'}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B z %z : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>, tensor<1x16x8x64xf16>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_z_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>, %z: tensor<1x16x8x32xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects z of shape [B, L, H, P] (the shape of x) = [1, 16, 8, 64], got [1, 16, 8, 32]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B z %z : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>, tensor<1x16x8x32xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_dt_bias_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>, %db: tensor<4xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects dt_bias of shape [H] = [8], got [4]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B dt_bias %db : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>, tensor<4xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_initial_state_shape(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>, %st: tensor<1x8x64x64xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects initial_state of shape [B, H, P, N] = [1, 8, 64, 128], got [1, 8, 64, 64]}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B initial_state %st : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>, tensor<1x8x64x64xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_f16_initial_state(%x: tensor<1x16x8x64xf16>, %dt: tensor<1x16x8xf16>, %A: tensor<8xf16>, %B: tensor<1x16x1x128xf16>, %st: tensor<1x8x64x128xf16>) {
  // expected-error @+1 {{'weft.ssm_scan' op operand #5 must be 4D tensor of 32-bit float values, but got 'tensor<1x8x64x128xf16>'}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B initial_state %st : (tensor<1x16x8x64xf16>, tensor<1x16x8xf16>, tensor<8xf16>, tensor<1x16x1x128xf16>, tensor<1x16x1x128xf16>, tensor<1x8x64x128xf16>) -> (tensor<1x16x8x64xf16>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_dt_limit_size(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects dt_limit to be [lo, hi] with lo <= hi, got 3 values}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B {dt_limit = array<f64: 0.0, 1.0, 2.0>} : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_dt_limit_order(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+1 {{'weft.ssm_scan' op expects dt_limit to be [lo, hi] with lo <= hi, got 2 values}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B {dt_limit = array<f64: 1.0, 0.5>} : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x64x128xf32>)
  return
}

// -----

func.func @ssm_scan_wrong_result(%x: tensor<1x16x8x64xf32>, %dt: tensor<1x16x8xf32>, %A: tensor<8xf32>, %B: tensor<1x16x1x128xf32>) {
  // expected-error @+2 {{'weft.ssm_scan' op inferred type(s) 'tensor<1x16x8x64xf32>', 'tensor<1x8x64x128xf32>' are incompatible with return type(s) of operation 'tensor<1x16x8x64xf32>', 'tensor<1x8x128x64xf32>'}}
  // expected-error @+1 {{'weft.ssm_scan' op failed to infer returned types}}
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %B : (tensor<1x16x8x64xf32>, tensor<1x16x8xf32>, tensor<8xf32>, tensor<1x16x1x128xf32>, tensor<1x16x1x128xf32>) -> (tensor<1x16x8x64xf32>, tensor<1x8x128x64xf32>)
  return
}

// -----

// weft.causal_conv1d

func.func @causal_conv1d_dynamic_kernel(%x: tensor<1x16x256xf32>, %w: tensor<256x?xf32>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects weight [C, K] to have a static K >= 1, got [256, ?]}}
  %y, %s = weft.causal_conv1d %x, %w : (tensor<1x16x256xf32>, tensor<256x?xf32>) -> (tensor<1x16x256xf32>, tensor<1x?x256xf32>)
  return
}

// -----

func.func @causal_conv1d_zero_kernel(%x: tensor<1x16x256xf32>, %w: tensor<256x0xf32>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects weight [C, K] to have a static K >= 1, got [256, 0]}}
  %y, %s = weft.causal_conv1d %x, %w : (tensor<1x16x256xf32>, tensor<256x0xf32>) -> (tensor<1x16x256xf32>, tensor<1x?x256xf32>)
  return
}

// -----

func.func @causal_conv1d_weight_element_type(%x: tensor<1x16x256xf32>, %w: tensor<256x4xf16>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects weight to have the element type of x ('f32'), got 'f16'}}
  %y, %s = weft.causal_conv1d %x, %w : (tensor<1x16x256xf32>, tensor<256x4xf16>) -> (tensor<1x16x256xf32>, tensor<1x3x256xf32>)
  return
}

// -----

func.func @causal_conv1d_weight_shape(%x: tensor<1x16x256xf32>, %w: tensor<128x4xf32>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects weight of shape [C, K] = [256, 4], got [128, 4]}}
  %y, %s = weft.causal_conv1d %x, %w : (tensor<1x16x256xf32>, tensor<128x4xf32>) -> (tensor<1x16x256xf32>, tensor<1x3x256xf32>)
  return
}

// -----

func.func @causal_conv1d_bias_element_type(%x: tensor<1x16x256xf32>, %w: tensor<256x4xf32>, %b: tensor<256xbf16>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects bias to have the element type of x ('f32'), got 'bf16'}}
  %y, %s = weft.causal_conv1d %x, %w bias %b : (tensor<1x16x256xf32>, tensor<256x4xf32>, tensor<256xbf16>) -> (tensor<1x16x256xf32>, tensor<1x3x256xf32>)
  return
}

// -----

func.func @causal_conv1d_bias_shape(%x: tensor<1x16x256xf32>, %w: tensor<256x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects bias of shape [C] = [256], got [4]}}
  %y, %s = weft.causal_conv1d %x, %w bias %b : (tensor<1x16x256xf32>, tensor<256x4xf32>, tensor<4xf32>) -> (tensor<1x16x256xf32>, tensor<1x3x256xf32>)
  return
}

// -----

func.func @causal_conv1d_state_element_type(%x: tensor<1x16x256xf32>, %w: tensor<256x4xf32>, %st: tensor<1x3x256xf16>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects state to have the element type of x ('f32'), got 'f16'}}
  %y, %s = weft.causal_conv1d %x, %w state %st : (tensor<1x16x256xf32>, tensor<256x4xf32>, tensor<1x3x256xf16>) -> (tensor<1x16x256xf32>, tensor<1x3x256xf32>)
  return
}

// -----

func.func @causal_conv1d_state_shape(%x: tensor<1x16x256xf32>, %w: tensor<256x4xf32>, %st: tensor<1x4x256xf32>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects state of shape [B, K-1, C] = [1, 3, 256], got [1, 4, 256]}}
  %y, %s = weft.causal_conv1d %x, %w state %st : (tensor<1x16x256xf32>, tensor<256x4xf32>, tensor<1x4x256xf32>) -> (tensor<1x16x256xf32>, tensor<1x3x256xf32>)
  return
}

// -----

func.func @causal_conv1d_activation(%x: tensor<1x16x256xf32>, %w: tensor<256x4xf32>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expects activation none or silu, got gelu}}
  %y, %s = weft.causal_conv1d %x, %w {activation = #weft.activation<gelu>} : (tensor<1x16x256xf32>, tensor<256x4xf32>) -> (tensor<1x16x256xf32>, tensor<1x3x256xf32>)
  return
}

// -----

func.func @causal_conv1d_rank2_x(%x: tensor<16x256xf32>, %w: tensor<256x4xf32>) {
  // expected-error @+1 {{'weft.causal_conv1d' op operand #0 must be 3D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<16x256xf32>'}}
  %y, %s = weft.causal_conv1d %x, %w : (tensor<16x256xf32>, tensor<256x4xf32>) -> (tensor<16x256xf32>, tensor<1x3x256xf32>)
  return
}

// -----

func.func @causal_conv1d_one_result(%x: tensor<1x16x256xf32>, %w: tensor<256x4xf32>) {
  // expected-error @+1 {{'weft.causal_conv1d' op expected 2 results}}
  %y = weft.causal_conv1d %x, %w : (tensor<1x16x256xf32>, tensor<256x4xf32>) -> tensor<1x16x256xf32>
  return
}

// -----

func.func @causal_conv1d_wrong_result(%x: tensor<1x16x256xf32>, %w: tensor<256x4xf32>) {
  // expected-error @+2 {{'weft.causal_conv1d' op inferred type(s) 'tensor<1x16x256xf32>', 'tensor<1x3x256xf32>' are incompatible with return type(s) of operation 'tensor<1x16x256xf32>', 'tensor<1x4x256xf32>'}}
  // expected-error @+1 {{'weft.causal_conv1d' op failed to infer returned types}}
  %y, %s = weft.causal_conv1d %x, %w : (tensor<1x16x256xf32>, tensor<256x4xf32>) -> (tensor<1x16x256xf32>, tensor<1x4x256xf32>)
  return
}

// -----

// weft.gated_linear

func.func @gated_linear_up_shape(%x: tensor<4x64xf32>, %wg: tensor<32x64xf32>, %wu: tensor<16x64xf32>) {
  // expected-error @+1 {{'weft.gated_linear' op expects up_weight of shape [N, K] (the shape of gate_weight) = [32, 64], got [16, 64]}}
  %0 = weft.gated_linear %x, %wg, %wu : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<16x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @gated_linear_in_features(%x: tensor<4x48xf32>, %wg: tensor<32x64xf32>, %wu: tensor<32x64xf32>) {
  // expected-error @+1 {{'weft.gated_linear' op expects the last dim of x to match the in-features (dim 1) of gate_weight, got 48 and 64}}
  %0 = weft.gated_linear %x, %wg, %wu : (tensor<4x48xf32>, tensor<32x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

// LoRA operands of weft.linear / weft.qlinear

func.func @linear_lora_out_features(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %a: tensor<8x64xf32>, %b: tensor<16x8xf32>) {
  // expected-error @+1 {{'weft.linear' op expects the out-features of lora_b to match the out-features of the weight, got 16 and 32}}
  %0 = weft.linear %x, %w lora %a, %b : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<8x64xf32>, tensor<16x8xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_lora_scale_alone(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{'weft.linear' op expects lora_b, lora_ids and lora_scale only together with lora_a}}
  %0 = weft.linear %x, %w {lora_scale = 2.0 : f32} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @qlinear_lora_multi_without_ids(%x: tensor<4x64xf32>, %q: tensor<32x64xi8>, %s: tensor<32x1xf32>, %a: tensor<2x8x64xf32>, %b: tensor<2x32x8xf32>) {
  // expected-error @+1 {{'weft.qlinear' op expects lora_ids with the multi-adapter form}}
  %0 = weft.qlinear %x, %q, %s lora %a, %b {group_size = -1} : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<32x1xf32>, tensor<2x8x64xf32>, tensor<2x32x8xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @linear_lora_rank_mismatch(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %a: tensor<8x64xf32>, %b: tensor<32x4xf32>) {
  // expected-error @+1 {{'weft.linear' op expects lora_a [r, K] and lora_b [N, r] to have the same rank r, got 8 and 4}}
  %0 = weft.linear %x, %w lora %a, %b : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<8x64xf32>, tensor<32x4xf32>) -> tensor<4x32xf32>
  return
}
