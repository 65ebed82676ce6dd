//===- TilingInterfaceImpl.cpp - TilingInterface for weft ops -------------===//
//
// External models of TilingInterface (and of ReifyRankedShapedTypeOpInterface,
// which tiling needs to create the destination of a non-destination-style
// op) for weft.linear, weft.qlinear and weft.rms_norm. Only parallel dims are
// tiled: the leading dims of x and N for the linear layers, the leading dims
// for rms_norm; K and the normalized dim stay whole, since tiling them would
// need partial reductions.
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

/// The extent of dim `dim` of `value` as an OpFoldResult.
OpFoldResult getDim(OpBuilder &b, Location loc, Value value, int64_t dim) {
  return tensor::getMixedSize(b, loc, value, dim);
}

/// True when `offsets` / `sizes` cover all of the static-shaped `value`.
bool isWhole(Value value, ArrayRef<OpFoldResult> offsets,
             ArrayRef<OpFoldResult> sizes) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(value.getType()).getShape();
  for (auto [offset, size, dim] : llvm::zip(offsets, sizes, shape))
    if (!isConstantIntValue(offset, 0) || ShapedType::isDynamic(dim) ||
        !isConstantIntValue(size, dim))
      return false;
  return true;
}

/// `value` restricted to `offsets` / `sizes` (unit strides).
Value extractSlice(OpBuilder &b, Location loc, Value value,
                   ArrayRef<OpFoldResult> offsets,
                   ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes, strides);
}

/// The shape of the result of `op`, reified from x (leading dims) and the
/// result type's last dim.
SmallVector<OpFoldResult> getResultSizes(OpBuilder &b, Operation *op) {
  Value x = op->getOperand(0);
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    sizes.push_back(getDim(b, op->getLoc(), x, i));
  sizes.push_back(
      type.isDynamicDim(type.getRank() - 1)
          ? getDim(b, op->getLoc(), op->getResult(0), type.getRank() - 1)
          : b.getIndexAttr(type.getShape().back()));
  return sizes;
}

/// The result type of a tile of `sizes` of `op`.
RankedTensorType getTileType(Operation *op, ArrayRef<OpFoldResult> sizes) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  return type.clone(shape);
}

/// Both linear layers: the iteration space is the result's, all parallel.
template <typename OpTy>
struct LinearTilingModel
    : TilingInterface::ExternalModel<LinearTilingModel<OpTy>, OpTy> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    return SmallVector<utils::IteratorType>(type.getRank(),
                                            utils::IteratorType::parallel);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    SmallVector<Range> domain;
    for (OpFoldResult size : getResultSizes(b, op))
      domain.push_back({b.getIndexAttr(0), size, b.getIndexAttr(1)});
    return domain;
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto linear = cast<OpTy>(op);
    Location loc = op->getLoc();
    Value x = linear.getX();
    int64_t rank = offsets.size();
    // x: the tile's leading dims, all of K.
    SmallVector<OpFoldResult> xOffsets(offsets.drop_back());
    SmallVector<OpFoldResult> xSizes(sizes.drop_back());
    xOffsets.push_back(b.getIndexAttr(0));
    xSizes.push_back(getDim(b, loc, x, rank - 1));
    SmallVector<Operation *> slices;
    auto slice = [&](Value value, ArrayRef<OpFoldResult> sliceOffsets,
                     ArrayRef<OpFoldResult> sliceSizes) -> Value {
      // Whole operands (weights when N is not tiled) are used as they are.
      if (!value || isWhole(value, sliceOffsets, sliceSizes))
        return value;
      Value result = extractSlice(b, loc, value, sliceOffsets, sliceSizes);
      slices.push_back(result.getDefiningOp());
      return result;
    };
    // Weight-like operands [N, *]: the tile's rows, all columns.
    auto rows = [&](Value value) {
      if (!value)
        return value;
      return slice(value, {offsets.back(), b.getIndexAttr(0)},
                   {sizes.back(), getDim(b, loc, value, 1)});
    };
    Value tiledX = slice(x, xOffsets, xSizes);
    Value bias = slice(linear.getBias(), {offsets.back()}, {sizes.back()});
    Value residual = slice(linear.getResidual(), offsets, sizes);
    Type type = getTileType(op, sizes);
    Operation *tiled;
    if constexpr (std::is_same_v<OpTy, LinearOp>) {
      tiled = LinearOp::create(b, loc, type, tiledX, rows(linear.getWeight()),
                               bias, residual, linear.getActivation());
    } else {
      tiled = QLinearOp::create(b, loc, type, tiledX, rows(linear.getQweight()),
                                rows(linear.getScales()),
                                rows(linear.getZeros()), bias, residual,
                                linear.getGroupSize(), linear.getActivation());
    }
    return TilingResult{{tiled}, {tiled->getResult(0)}, slices};
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    resultOffsets.assign(offsets.begin(), offsets.end());
    resultSizes.assign(sizes.begin(), sizes.end());
    return success();
  }
};

/// rms_norm: the leading dims are parallel; the normalized dim stays whole.
struct RmsNormTilingModel
    : TilingInterface::ExternalModel<RmsNormTilingModel, RmsNormOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    return SmallVector<utils::IteratorType>(type.getRank() - 1,
                                            utils::IteratorType::parallel);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    SmallVector<OpFoldResult> sizes = getResultSizes(b, op);
    SmallVector<Range> domain;
    for (OpFoldResult size : ArrayRef(sizes).drop_back())
      domain.push_back({b.getIndexAttr(0), size, b.getIndexAttr(1)});
    return domain;
  }

  /// The tile of the input and result: `offsets` / `sizes` plus the whole
  /// normalized dim.
  static void getFullTile(Operation *op, OpBuilder &b,
                          ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes,
                          SmallVector<OpFoldResult> &tileOffsets,
                          SmallVector<OpFoldResult> &tileSizes) {
    tileOffsets.assign(offsets.begin(), offsets.end());
    tileSizes.assign(sizes.begin(), sizes.end());
    tileOffsets.push_back(b.getIndexAttr(0));
    tileSizes.push_back(
        getDim(b, op->getLoc(), op->getOperand(0), offsets.size()));
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto norm = cast<RmsNormOp>(op);
    SmallVector<OpFoldResult> tileOffsets, tileSizes;
    getFullTile(op, b, offsets, sizes, tileOffsets, tileSizes);
    Value input =
        extractSlice(b, op->getLoc(), norm.getX(), tileOffsets, tileSizes);
    Operation *tiled = b.clone(*op);
    tiled->setOperand(0, input);
    tiled->getResult(0).setType(getTileType(op, tileSizes));
    return TilingResult{
        {tiled}, {tiled->getResult(0)}, {input.getDefiningOp()}};
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    getFullTile(op, b, offsets, sizes, resultOffsets, resultSizes);
    return success();
  }
};

/// The result shape from x's leading dims and the static last dim, so that
/// tiling can create the destination tensor.
template <typename OpTy>
struct ReifyFromInputModel
    : ReifyRankedShapedTypeOpInterface::ExternalModel<ReifyFromInputModel<OpTy>,
                                                      OpTy> {
  LogicalResult
  reifyResultShapes(Operation *op, OpBuilder &b,
                    ReifiedRankedShapedTypeDims &reifiedReturnShapes) const {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    if (type.isDynamicDim(type.getRank() - 1))
      return failure();
    reifiedReturnShapes.push_back(getResultSizes(b, op));
    return success();
  }
};

} // namespace

void weft::registerTilingInterfaceExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, WeftDialect *) {
    LinearOp::attachInterface<LinearTilingModel<LinearOp>,
                              ReifyFromInputModel<LinearOp>>(*context);
    QLinearOp::attachInterface<LinearTilingModel<QLinearOp>,
                               ReifyFromInputModel<QLinearOp>>(*context);
    RmsNormOp::attachInterface<RmsNormTilingModel,
                               ReifyFromInputModel<RmsNormOp>>(*context);
  });
}
