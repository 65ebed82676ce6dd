//===- WeftGraphOps.td - weft graph ops --------------------*- tablegen -*-===//
//
// General tensor ops: enough to write whole models and the decomposed forms
// that the fusion passes raise into transformer ops.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_DIALECT_WEFT_IR_WEFTGRAPHOPS_TD
#define WEFT_DIALECT_WEFT_IR_WEFTGRAPHOPS_TD

include "weft/Dialect/Weft/IR/WeftBase.td"

//===----------------------------------------------------------------------===//
// param
//===----------------------------------------------------------------------===//

def Weft_ParamOp : Weft_Op<"param", [Pure]> {
  let summary = "a named tensor from the external parameter archive";
  let description = [{
    Names a tensor stored in the parameter archive (safetensors) that is bound to
    the compiled program at load time. The result type must be static; the archive
    entry of that name must have the same shape and dtype (checked when the archive
    is bound). Quantized weights are `i4`/`i8` tensors; an `i4` parameter has
    rank >= 1 and is stored packed two per byte along its last dim
    (docs/Quantization.md).

    Example:

    ```mlir
    %w = weft.param "model.layers.0.self_attn.q_proj.weight" : tensor<512x512xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// embedding, matmul
//===----------------------------------------------------------------------===//

def Weft_EmbeddingOp : Weft_InferredOp<"embedding"> {
  let summary = "gathers rows of an embedding table";
  let description = [{
    `result[i..., d] = table[ids[i...], d]` for a table `[V, D]` and integer ids of
    any shape; the result has shape `ids.shape + [D]`. Ids outside `[0, V)` are a
    run-time error.

    Example:

    ```mlir
    %h = weft.embedding %table, %ids : (tensor<32000x512xf32>, tensor<?x?xi64>) -> tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins Weft_Rank2FloatTensor:$table, Weft_IndexTensor:$ids);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = "$table `,` $ids attr-dict `:` functional-type(operands, results)";
}

def Weft_MatmulOp : Weft_InferredOp<"matmul"> {
  let summary = "batched matrix product with numpy broadcasting of batch dims";
  let description = [{
    `result[..., m, n] = sum_k lhs'[..., m, k] * rhs'[..., k, n]` where `lhs'` is
    `lhs` with its last two dims swapped when `transpose_lhs` is set (likewise
    `rhs'`). Both operands have rank >= 2; their leading (batch) dims broadcast as
    in numpy. Accumulation is in f32 for every float type.

    Example:

    ```mlir
    %s = weft.matmul %q, %k {transpose_rhs} : (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x?xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$lhs, Weft_FloatTensor:$rhs,
                   UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Elementwise binary ops (numpy broadcasting)
//===----------------------------------------------------------------------===//

class Weft_BinaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : Weft_InferredOp<mnemonic, !listconcat(traits, [SameOperandsAndResultElementType])> {
  let summary = "elementwise " # mnemonic # " with numpy broadcasting";
  let description = [{
    `result = }] # formula # [{`, elementwise. The operands broadcast as in numpy:
    shapes are aligned at the trailing dim and a dim of size 1 stretches to the
    other operand's size. Both operands have the same element type.

    Example:

    ```mlir
    %r = weft.}] # mnemonic # [{ %a, %b : (tensor<?x?x512xf32>, tensor<512xf32>) -> tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins Weft_NumericTensor:$lhs, Weft_NumericTensor:$rhs);
  let results = (outs Weft_NumericTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Weft_AddOp : Weft_BinaryOp<"add", "lhs + rhs", [Commutative]>;
def Weft_SubOp : Weft_BinaryOp<"sub", "lhs - rhs">;
def Weft_MulOp : Weft_BinaryOp<"mul", "lhs * rhs", [Commutative]>;
def Weft_DivOp : Weft_BinaryOp<"div", "lhs / rhs">;

//===----------------------------------------------------------------------===//
// Elementwise unary ops (activations and math)
//===----------------------------------------------------------------------===//

class Weft_UnaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : Weft_Op<mnemonic, !listconcat(traits, [Pure, Elementwise, SameOperandsAndResultType])> {
  let summary = "elementwise " # mnemonic;
  let description = [{
    `result = }] # formula # [{`, elementwise, computed in f32 for f16/bf16
    inputs and rounded back.

    Example:

    ```mlir
    %r = weft.}] # mnemonic # [{ %x : tensor<?x?x1024xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$input);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Weft_SiluOp : Weft_UnaryOp<"silu", "x * sigmoid(x)">;
def Weft_ReluOp : Weft_UnaryOp<"relu", "max(x, 0)">;
def Weft_SigmoidOp : Weft_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;
def Weft_TanhOp : Weft_UnaryOp<"tanh", "tanh(x)">;
def Weft_ExpOp : Weft_UnaryOp<"exp", "exp(x)">;
def Weft_SoftplusOp : Weft_UnaryOp<"softplus", "log(1 + exp(x))">;
def Weft_RsqrtOp : Weft_UnaryOp<"rsqrt", "1 / sqrt(x)">;
def Weft_NegOp : Weft_UnaryOp<"neg", "-x"> {
  let hasFolder = 1;
}
def Weft_GeluOp : Weft_UnaryOp<"gelu",
    "0.5 x (1 + erf(x / sqrt(2))), or with `tanh_approximation` "
    "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"> {
  let arguments = (ins Weft_FloatTensor:$input, UnitAttr:$tanh_approximation);
}

//===----------------------------------------------------------------------===//
// softmax, reduce, argmax
//===----------------------------------------------------------------------===//

def Weft_SoftmaxOp : Weft_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax along one axis";
  let description = [{
    `result[..., i, ...] = exp(x_i - max_j x_j) / sum_j exp(x_j - max_j x_j)` along
    `axis` (0 <= axis < rank), computed in f32.

    Example:

    ```mlir
    %p = weft.softmax %s {axis = 3} : tensor<1x8x?x?xf32>
    ```
  }];
  let arguments = (ins Weft_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Weft_ReduceOp : Weft_InferredOp<"reduce"> {
  let summary = "sum, max or mean over a set of axes";
  let description = [{
    Reduces `input` over `axes` (sorted, unique, in range) with `kind` (`sum`,
    `max`, `mean`). The reduced dims are removed, or kept with size 1 when
    `keep_dims` is set. Accumulation is in f32.

    Example:

    ```mlir
    %m = weft.reduce <mean> %x {axes = array<i64: 2>, keep_dims} : (tensor<?x?x512xf32>) -> tensor<?x?x1xf32>
    ```
  }];
  let arguments = (ins Weft_ReduceKindAttr:$kind, Weft_FloatTensor:$input,
                   DenseI64ArrayAttr:$axes, UnitAttr:$keep_dims);
  let results = (outs Weft_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` functional-type(operands, results)";
}

def Weft_ArgmaxOp : Weft_InferredOp<"argmax"> {
  let summary = "index of the largest element along one axis";
  let description = [{
    `result[...] = argmax_i input[..., i, ...]` along `axis`, as i64; ties resolve
    to the smallest index. The axis is removed, or kept with size 1 when
    `keep_dims` is set.

    Example:

    ```mlir
    %tok = weft.argmax %logits {axis = 2} : (tensor<?x?x32000xf32>) -> tensor<?x?xi64>
    ```
  }];
  let arguments = (ins Weft_NumericTensor:$input, I64Attr:$axis, UnitAttr:$keep_dims);
  let results = (outs TensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

def Weft_ReshapeOp : Weft_Op<"reshape", [Pure]> {
  let summary = "row-major reshape";
  let description = [{
    Reinterprets `input` with the result's shape, in row-major order. The element
    type is unchanged. Dynamic dims are allowed only as a common leading prefix:
    input and result have the same number `n` of dynamic dims, they are the first
    `n` dims of both, and each keeps its size. The static trailing dims of both
    have the same number of elements. This covers the reshapes of transformer
    graphs (`[B, S, H*D] <-> [B, S, H, D]` with dynamic `B`, `S`).

    Example:

    ```mlir
    %r = weft.reshape %x : tensor<?x?x512xf32> -> tensor<?x?x8x64xf32>
    ```
  }];
  let arguments = (ins Weft_Tensor:$input);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Weft_TransposeOp : Weft_InferredOp<"transpose"> {
  let summary = "permutes the dims of a tensor";
  let description = [{
    Dim `k` of the result is dim `permutation[k]` of the input:
    `result.shape[k] = input.shape[permutation[k]]`, and the element of the result
    at index `j` is the input element at index `i` with `i[permutation[k]] = j[k]`.

    Example:

    ```mlir
    %t = weft.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x?x8x64xf32>) -> tensor<1x8x?x64xf32>
    ```
  }];
  let arguments = (ins Weft_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Weft_ConcatOp : Weft_InferredOp<"concat", [SameOperandsAndResultElementType]> {
  let summary = "concatenates tensors along one axis";
  let description = [{
    Joins one or more tensors of equal rank along `axis`; all other dims must
    agree. The result's `axis` dim is the sum of the inputs' (dynamic if any is).

    Example:

    ```mlir
    %c = weft.concat %a, %b {axis = 1} : (tensor<1x3x64xf32>, tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
    ```
  }];
  let arguments = (ins Variadic<Weft_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Weft_SliceOp : Weft_InferredOp<"slice"> {
  let summary = "strided slice along one axis";
  let description = [{
    `result[..., i, ...] = input[..., start + i * step, ...]` along `axis` for
    `0 <= i < ceil((end - start) / step)`; other dims are kept. Requires
    `0 <= start < end` and `step >= 1`; when the dim is static, `end <= dim`.
    On a dynamic dim, `end` beyond the run-time size is a run-time error.

    Example:

    ```mlir
    %q = weft.slice %qkv {axis = 2, start = 0, end = 512} : (tensor<?x?x768xf32>) -> tensor<?x?x512xf32>
    ```
  }];
  let arguments = (ins Weft_Tensor:$input, I64Attr:$axis, I64Attr:$start,
                   I64Attr:$end, DefaultValuedAttr<I64Attr, "1">:$step);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Weft_CastOp : Weft_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "converts the element type";
  let description = [{
    Converts each element to the result's element type: floats round to
    nearest-even, float to integer truncates toward zero, integers sign-extend or
    truncate. `i1` true is 1.

    Example:

    ```mlir
    %h = weft.cast %x : tensor<?x512xf32> -> tensor<?x512xbf16>
    ```
  }];
  let arguments = (ins Weft_Tensor:$input);
  let results = (outs Weft_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

#endif // WEFT_DIALECT_WEFT_IR_WEFTGRAPHOPS_TD
