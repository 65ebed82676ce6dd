//===- ShapeUtils.cpp - shape helpers for weft ops ------------------------===//

#include "weft/Dialect/Weft/IR/ShapeUtils.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

bool weft::areDimsCompatible(int64_t lhs, int64_t rhs) {
  return ShapedType::isDynamic(lhs) || ShapedType::isDynamic(rhs) || lhs == rhs;
}

int64_t weft::mergeDims(int64_t lhs, int64_t rhs) {
  if (ShapedType::isDynamic(lhs))
    return rhs;
  if (ShapedType::isDynamic(rhs) || lhs == rhs)
    return lhs;
  return ShapedType::kDynamic;
}

/// Broadcasts one pair of aligned dims; std::nullopt on a static conflict.
static std::optional<int64_t> broadcastDim(int64_t lhs, int64_t rhs) {
  if (lhs == 1)
    return rhs;
  if (rhs == 1)
    return lhs;
  if (ShapedType::isDynamic(lhs))
    return rhs;
  if (ShapedType::isDynamic(rhs) || lhs == rhs)
    return lhs;
  return std::nullopt;
}

FailureOr<SmallVector<int64_t>> weft::broadcastShapes(ArrayRef<int64_t> lhs,
                                                      ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < lhs.size() ? lhs[lhs.size() - 1 - i] : 1;
    int64_t r = i < rhs.size() ? rhs[rhs.size() - 1 - i] : 1;
    std::optional<int64_t> dim = broadcastDim(l, r);
    if (!dim)
      return failure();
    result[rank - 1 - i] = *dim;
  }
  return result;
}

SmallVector<int64_t> weft::broadcastShapesOrDynamic(ArrayRef<int64_t> lhs,
                                                    ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < lhs.size() ? lhs[lhs.size() - 1 - i] : 1;
    int64_t r = i < rhs.size() ? rhs[rhs.size() - 1 - i] : 1;
    result[rank - 1 - i] = broadcastDim(l, r).value_or(ShapedType::kDynamic);
  }
  return result;
}

bool weft::areCompatibleTensorTypes(TypeRange lhs, TypeRange rhs) {
  if (lhs.size() != rhs.size())
    return false;
  for (auto [l, r] : llvm::zip_equal(lhs, rhs)) {
    auto lt = dyn_cast<RankedTensorType>(l);
    auto rt = dyn_cast<RankedTensorType>(r);
    if (!lt || !rt || lt.getElementType() != rt.getElementType() ||
        failed(verifyCompatibleShape(lt.getShape(), rt.getShape())))
      return false;
  }
  return true;
}

std::string weft::formatDim(int64_t dim) {
  return ShapedType::isDynamic(dim) ? "?" : std::to_string(dim);
}

std::string weft::formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(shape, os, [&](int64_t d) { os << formatDim(d); });
  os << "]";
  return text;
}

ArrayRef<int64_t> weft::getShape(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

Type weft::getElementType(Value value) {
  return cast<ShapedType>(value.getType()).getElementType();
}

LogicalResult weft::verifyCompatibleDims(Operation *op, int64_t lhs,
                                         int64_t rhs, const Twine &what) {
  if (areDimsCompatible(lhs, rhs))
    return success();
  return op->emitOpError("expects ")
         << what << ", got " << formatDim(lhs) << " and " << formatDim(rhs);
}

LogicalResult weft::verifyShape(Operation *op, Value value, StringRef name,
                                StringRef layout, ArrayRef<int64_t> expected) {
  ArrayRef<int64_t> actual = getShape(value);
  if (succeeded(verifyCompatibleShape(actual, expected)))
    return success();
  return op->emitOpError("expects ")
         << name << " of shape " << layout << " = " << formatShape(expected)
         << ", got " << formatShape(actual);
}

LogicalResult weft::verifyElementType(Operation *op, Value value,
                                      StringRef name, Type expected,
                                      StringRef reference) {
  Type actual = getElementType(value);
  if (actual == expected)
    return success();
  return op->emitOpError("expects ")
         << name << " to have the element type of " << reference << " ("
         << expected << "), got " << actual;
}

LogicalResult weft::verifyAxis(Operation *op, int64_t axis, int64_t rank,
                               StringRef name) {
  if (axis >= 0 && axis < rank)
    return success();
  return op->emitOpError("expects ")
         << name << " in [0, " << rank << "), got " << axis;
}
