//===- LoweringUtils.h - helpers shared by weft lowerings -------*- C++ -*-===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_LOWERINGUTILS_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_LOWERINGUTILS_H

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

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_LOWERINGUTILS_H
