//===- LoweringUtils.h - helpers shared by weft lowerings -------*- C++ -*-===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_LOWERINGUTILS_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_LOWERINGUTILS_H

#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace mlir::weft {

/// The size of every dynamic dim of `type`, read from the first value in
/// `sources` whose dim at the same position (aligned at the trailing dim) is
/// not a static 1. Dynamic dims never broadcast (see docs/Spec.md).
SmallVector<Value> getDynamicSizes(OpBuilder &b, Location loc,
                                   RankedTensorType type, ValueRange sources);

/// A tensor.empty of `type` whose dynamic sizes come from `sources`.
Value createEmptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                        ValueRange sources);

/// An empty tensor of `type` filled with `value`.
Value createFilledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                         ValueRange sources, TypedAttr value);

/// The map reading an operand of `operandType` broadcast (numpy rules) to a
/// result of `resultShape`: missing leading dims are dropped and static size-1
/// dims read index 0.
AffineMap getBroadcastMap(RankedTensorType operandType,
                          ArrayRef<int64_t> resultShape, MLIRContext *context);

/// Extends f16/bf16 `value` to f32; other values are returned unchanged.
Value extendToF32(OpBuilder &b, Location loc, Value value);

/// Converts an f32 `value` to the float type `type` (truncating).
Value truncateFromF32(OpBuilder &b, Location loc, Value value, Type type);

/// `type` with its element type replaced by f32.
RankedTensorType withF32Elements(RankedTensorType type);

/// `n` parallel iterator types.
SmallVector<utils::IteratorType> parallelIterators(int64_t n);

/// f32 scalar `1 / (1 + exp(-x))`.
Value buildSigmoid(OpBuilder &b, Location loc, Value x);

/// f32 scalar code applying `activation` to `x` (docs/Spec.md, scalar
/// functions); `none` returns `x`.
Value buildActivation(OpBuilder &b, Location loc, Activation activation,
                      Value x);

/// A tensor.empty of `type` whose dynamic dim `d` has the run-time size
/// `dynamicSize(d)`; static dims of `type` are used as they are.
Value createEmptyTensorWithSizes(OpBuilder &b, Location loc,
                                 RankedTensorType type,
                                 function_ref<Value(int64_t)> dynamicSize);

/// An f32 tensor of `type`'s shape filled with `value`; dynamic sizes as in
/// createEmptyTensorWithSizes. Used as the accumulator of reductions.
Value createF32AccumulatorWithSizes(OpBuilder &b, Location loc,
                                    RankedTensorType type, double value,
                                    function_ref<Value(int64_t)> dynamicSize);

/// The run-time size of dim `dim` of `tensor` as an f32 scalar (a constant
/// when the dim is static).
Value createDimAsF32(OpBuilder &b, Location loc, Value tensor, int64_t dim);

/// The size of a dim that several operands share (equal at run time): the
/// static size if any source or `staticHints` entry knows it, else the
/// run-time size of the first source.
OpFoldResult getSharedSize(OpBuilder &b, Location loc,
                           ArrayRef<std::pair<Value, int64_t>> sources,
                           ArrayRef<int64_t> staticHints = {});

/// `size` as an index value (a constant when it is static).
Value getIndexValue(OpBuilder &b, Location loc, OpFoldResult size);

/// An f32 tensor of `sizes` filled with `value`.
Value createFilledF32Tensor(OpBuilder &b, Location loc,
                            ArrayRef<OpFoldResult> sizes, double value);

/// `value` as type `type`: a tensor.cast when only the static information
/// differs (an op's result type may be more static than its operands).
Value castToType(OpBuilder &b, Location loc, Value value, Type type);

/// A linalg.generic with one init `init` (its type is the result type) whose
/// body yields `body(args)`, args being the input elements, then the init
/// element.
Value buildGenericOp(
    OpBuilder &b, Location loc, ValueRange inputs, Value init,
    ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body);

/// An f32 constant.
Value f32Const(OpBuilder &b, Location loc, double value);

/// The slice of `source` at `offsets` with `sizes`, keeping only the dims in
/// `keptDims` (the others have size 1).
Value extractBlock(OpBuilder &b, Location loc, Value source,
                   ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                   ArrayRef<int64_t> keptDims);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_LOWERINGUTILS_H
