//===- WeftBase.td - weft dialect definition, enums, constraints -*- tablegen -*-===//
//
// The dialect, its enum attributes and the type constraints shared by its ops.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_DIALECT_WEFT_IR_WEFTBASE_TD
#define WEFT_DIALECT_WEFT_IR_WEFTBASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Weft_Dialect : Dialect {
  let name = "weft";
  let cppNamespace = "::mlir::weft";
  let summary = "Tensor-level operations of transformer and state-space models";
  let description = [{
    The `weft` dialect models transformer, Mamba (selective state-space) and hybrid
    model graphs at the tensor level, with value semantics. It has two groups of ops:

    * transformer ops that carry the semantics of a whole layer component
      (`attention`, `rope`, `rms_norm`, `layer_norm`, `linear`, `qlinear`, `lora`,
      `ssm_scan`, `causal_conv1d`), which passes fuse, quantize, tile and lower;
    * graph ops (`embedding`, `matmul`, elementwise arithmetic with numpy broadcasting,
      activations, `softmax`, `reduce`, `reshape`, `transpose`, `concat`, `slice`,
      `cast`, `argmax`) that express whole models and the decomposed forms fusion
      recognises;

    plus `param`, which names a weight stored in an external parameter archive.

    Layouts follow PyTorch/FlashAttention: activations are `[B, S, H, D]` (batch,
    sequence, heads, head dim) and linear weights are `[N, K]` (out features, in
    features). Batch and sequence dims may be dynamic. The exact semantics of every op,
    as formulas, are in docs/Spec.md.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Weft_Activation : I32EnumAttr<"Activation", "activation function", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"silu", 1>,
    I32EnumAttrCase<"gelu", 2>,
    I32EnumAttrCase<"gelu_tanh", 3>,
    I32EnumAttrCase<"relu", 4>,
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::weft";
}
def Weft_ActivationAttr : EnumAttr<Weft_Dialect, Weft_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

def Weft_ReduceKind : I32EnumAttr<"ReduceKind", "reduction kind", [
    I32EnumAttrCase<"sum", 0>,
    I32EnumAttrCase<"max", 1>,
    I32EnumAttrCase<"mean", 2>,
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::weft";
}
def Weft_ReduceKindAttr : EnumAttr<Weft_Dialect, Weft_ReduceKind, "reduce_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

// Activations are f32, f16 or bf16.
def Weft_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
// Token ids, positions, sequence lengths, adapter ids.
def Weft_IndexTensor : RankedTensorOf<[I32, I64]>;
// Any tensor a model graph carries (quantized weights included).
def Weft_Tensor : RankedTensorOf<[F32, F16, BF16, I64, I32, I8, I<4>, I1]>;
// Elementwise arithmetic.
def Weft_NumericTensor : RankedTensorOf<[F32, F16, BF16, I64, I32]>;
// Logical (unpacked) quantized weights [N, K].
def Weft_QuantWeightTensor : TensorRankOf<[I8, I<4>], [2]>;

def Weft_Rank4FloatTensor : TensorRankOf<[F32, F16, BF16], [4]>;
def Weft_Rank3FloatTensor : TensorRankOf<[F32, F16, BF16], [3]>;
def Weft_Rank2FloatTensor : TensorRankOf<[F32, F16, BF16], [2]>;
def Weft_Rank1FloatTensor : TensorRankOf<[F32, F16, BF16], [1]>;

//===----------------------------------------------------------------------===//
// Base op classes
//===----------------------------------------------------------------------===//

class Weft_Op<string mnemonic, list<Trait> traits = []>
    : Op<Weft_Dialect, mnemonic, traits>;

// Ops whose result types follow from their operands and attributes. The
// printed form still spells the result types out; the verifier checks that
// they are compatible with the inferred ones (a result may be more static).
class Weft_InferredOp<string mnemonic, list<Trait> traits = []>
    : Weft_Op<mnemonic, !listconcat(traits, [Pure, InferTypeOpAdaptorWithIsCompatible])> {
  let hasVerifier = 1;
  let extraClassDefinition = [{
    bool $cppClass::isCompatibleReturnTypes(::mlir::TypeRange lhs,
                                            ::mlir::TypeRange rhs) {
      return ::mlir::weft::areCompatibleTensorTypes(lhs, rhs);
    }
  }];
}

#endif // WEFT_DIALECT_WEFT_IR_WEFTBASE_TD
