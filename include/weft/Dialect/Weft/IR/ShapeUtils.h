//===- ShapeUtils.h - shape helpers for weft ops ----------------*- C++ -*-===//
//
// Shape arithmetic shared by the verifiers and the result type inference of
// weft ops. Dynamic dims are ShapedType::kDynamic throughout.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_DIALECT_WEFT_IR_SHAPEUTILS_H
#define WEFT_DIALECT_WEFT_IR_SHAPEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/TypeRange.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::weft {

/// True when two dims may describe the same extent (equal, or one dynamic).
bool areDimsCompatible(int64_t lhs, int64_t rhs);

/// Combines two dims that must describe the same extent: a static dim wins over
/// a dynamic one. Conflicting static dims give a dynamic dim, so that result
/// type inference stays total and the verifier reports the conflict.
int64_t mergeDims(int64_t lhs, int64_t rhs);

/// The numpy broadcast of two shapes, or failure when two static dims differ
/// and neither is 1. A dynamic dim against 1 stays dynamic.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> lhs,
                                                ArrayRef<int64_t> rhs);

/// Like broadcastShapes, but a conflict yields a dynamic dim instead of
/// failure.
SmallVector<int64_t> broadcastShapesOrDynamic(ArrayRef<int64_t> lhs,
                                              ArrayRef<int64_t> rhs);

/// True when both ranges hold ranked tensors pairwise of the same element type
/// and compatible shapes. Used as isCompatibleReturnTypes by all weft ops.
bool areCompatibleTensorTypes(TypeRange lhs, TypeRange rhs);

/// Formats a shape as "[2, ?, 64]" for diagnostics.
std::string formatShape(ArrayRef<int64_t> shape);

/// Formats a single dim ("?" when dynamic).
std::string formatDim(int64_t dim);

/// Shape of `value`'s ranked tensor type.
ArrayRef<int64_t> getShape(Value value);

/// Element type of `value`'s tensor type.
Type getElementType(Value value);

/// Succeeds when the dims are compatible; otherwise emits
/// "expects <what>, got <lhs> and <rhs>" on `op`.
LogicalResult verifyCompatibleDims(Operation *op, int64_t lhs, int64_t rhs,
                                   const Twine &what);

/// Succeeds when `value` has a shape compatible with `expected`; otherwise
/// emits "expects <name> of shape <layout> = <expected>, got <actual>" on `op`.
/// `layout` names the dims symbolically, e.g. "[B, S]".
LogicalResult verifyShape(Operation *op, Value value, StringRef name,
                          StringRef layout, ArrayRef<int64_t> expected);

/// Succeeds when `value` has element type `expected`; otherwise emits
/// "expects <name> to have the element type of <reference> (<expected>), got
/// <actual>" on `op`.
LogicalResult verifyElementType(Operation *op, Value value, StringRef name,
                                Type expected, StringRef reference);

/// Succeeds when 0 <= axis < rank; otherwise emits
/// "expects <name> in [0, <rank>), got <axis>" on `op`.
LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank,
                         StringRef name = "axis");

} // namespace mlir::weft

#endif // WEFT_DIALECT_WEFT_IR_SHAPEUTILS_H
