// RUN: weft-opt %s -split-input-file -verify-diagnostics

// Truncated ops.

func.func @missing_second_operand(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected ','}}
  %0 = weft.add %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @missing_operand(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected SSA operand}}
  %0 = weft.softmax {axis = 0 : i64} : tensor<4xf32>
  return
}

// -----

func.func @missing_qlinear_scales(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>) {
  // expected-error @+1 {{expected ','}}
  %0 = weft.qlinear %x, %w {group_size = -1 : i64} : (tensor<2x64xf32>, tensor<16x64xi8>) -> tensor<2x16xf32>
  return
}

// -----

func.func @missing_type_list(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected ':'}}
  %0 = weft.add %a, %a
  return
}

// -----

func.func @missing_functional_type(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected non-function type}}
  %0 = weft.add %a, %a :
  return
}

// -----

func.func @missing_arrow_in_functional_type(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected '->' in function type}}
  %0 = weft.add %a, %a : (tensor<4xf32>, tensor<4xf32>) tensor<4xf32>
  return
}

// -----

func.func @missing_arrow_in_reshape(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected '->'}}
  %0 = weft.reshape %a : tensor<4xf32> tensor<2x2xf32>
  return
}

// -----

func.func @missing_arrow_in_cast(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected '->'}}
  %0 = weft.cast %a : tensor<4xf32> tensor<4xf16>
  return
}

// -----

// Wrong number of types.

func.func @too_few_operand_types(%a: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'weft.add' number of operands and types do not match: got 2 operands and 1 types}}
  %0 = weft.add %a, %a : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @too_many_operand_types(%a: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'weft.add' number of operands and types do not match: got 2 operands and 3 types}}
  %0 = weft.add %a, %a : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @optional_operand_without_type(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'weft.linear' number of operands and types do not match: got 3 operands and 2 types}}
  %0 = weft.linear %x, %w bias %b : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @too_many_result_types(%a: tensor<4xf32>) {
  // expected-error @+1 {{operation defines 2 results but was provided 1 to bind}}
  %0 = weft.add %a, %a : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @functional_type_for_unary(%a: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'weft.silu' invalid kind of type specified: expected builtin.tensor, but found '(tensor<4xf32>) -> tensor<4xf32>'}}
  %0 = weft.silu %a : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

// Optional operand keywords.

func.func @unknown_optional_operand_keyword(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{expected ':'}}
  %0 = weft.linear %x, %w bais %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @optional_operands_out_of_order(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>, %r: tensor<2x4xf32>) {
  // expected-error @+1 {{expected ':'}}
  %0 = weft.linear %x, %w residual %r bias %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @optional_operand_twice(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{expected ':'}}
  %0 = weft.linear %x, %w bias %b bias %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return
}

// -----

// Enums and attributes.

func.func @bad_activation(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+2 {{expected ::mlir::weft::Activation to be one of: none, silu, gelu, gelu_tanh, relu}}
  // expected-error @+1 {{failed to parse Weft_ActivationAttr parameter 'value' which is to be a `::mlir::weft::Activation`}}
  %0 = weft.linear %x, %w {activation = #weft.activation<bogus>} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @activation_as_integer(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{'weft.linear' op attribute 'activation' failed to satisfy constraint: activation function}}
  %0 = weft.linear %x, %w {activation = 1 : i32} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @bad_reduce_kind(%x: tensor<2x8xf32>) {
  // expected-error @+2 {{custom op 'weft.reduce' expected ::mlir::weft::ReduceKind to be one of: sum, max, mean}}
  // expected-error @+1 {{custom op 'weft.reduce' failed to parse Weft_ReduceKindAttr parameter 'value' which is to be a `::mlir::weft::ReduceKind`}}
  %0 = weft.reduce <avg> %x {axes = array<i64: 1>} : (tensor<2x8xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @reduce_kind_without_brackets(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{expected '<'}}
  %0 = weft.reduce sum %x {axes = array<i64: 1>} : (tensor<2x8xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @unknown_attribute(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{unknown attribute `act` in dialect `weft`}}
  %0 = weft.linear %x, %w {activation = #weft.act<silu>} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @float_for_integer_attribute(%a: tensor<4xf32>) {
  // expected-error @+1 {{'weft.slice' op attribute 'start' failed to satisfy constraint: 64-bit signless integer attribute}}
  %0 = weft.slice %a {axis = 0 : i64, start = 0.5, end = 2} : (tensor<4xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @permutation_not_dense_array(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'weft.transpose' op attribute 'permutation' failed to satisfy constraint: i64 dense array attribute}}
  %0 = weft.transpose %a {permutation = [1, 0]} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @param_without_name() {
  // expected-error @+1 {{expected attribute value}}
  %0 = weft.param : tensor<4xf32>
  return
}

// -----

func.func @generic_form_bad_property(%a: tensor<4xf32>) {
  // expected-error @+1 {{invalid properties {axis = "a"} for op weft.softmax: Invalid attribute `axis` in property conversion: "a"}}
  %0 = "weft.softmax"(%a) <{axis = "a"}> : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

// Operands and ops.

func.func @unknown_op(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{custom op 'weft.nope' is unknown}}
  %0 = weft.nope %x : tensor<2x8xf32>
  return
}

// -----

func.func @undeclared_operand(%a: tensor<4xf32>) {
  // expected-error @+1 {{use of undeclared SSA value name}}
  %0 = weft.add %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

// expected-note @+1 {{prior use here}}
func.func @operand_type_mismatch(%a: tensor<4xf32>) {
  // expected-error @+1 {{use of value '%a' expects different type than prior uses: 'tensor<8xf32>' vs 'tensor<4xf32>'}}
  %0 = weft.add %a, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

// Files that end in the middle of an op.

func.func @truncated_type(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{expected non-function type}}
  %0 = weft.softmax %x {axis = 1} : tensor<2x

// -----

func.func @truncated_attribute(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{expected '>' to close an array attribute}}
  %0 = weft.reduce <sum> %x {axes = array<i64: 1

// -----

func.func @truncated_operands(%q: tensor<1x4x8x64xf32>) {
  // expected-error @+1 {{expected SSA operand}}
  %0 = weft.attention %q, %q,
