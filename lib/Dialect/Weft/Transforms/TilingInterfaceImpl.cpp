//===- TilingInterfaceImpl.cpp - TilingInterface for weft ops -------------===//
//
// External models of TilingInterface (and of ReifyRankedShapedTypeOpInterface,
// which tiling needs to create the destination of a non-destination-style
// op) for the transformer ops. Their iteration domains hold the parallel dims
// only:
//
//   linear, qlinear        the result's dims (leading dims of x, then N)
//   rms_norm, layer_norm   the leading dims (the normalized dim stays whole)
//   ssm_scan               (batch, head)
//   attention              (batch, query head, query)
//
// The sequential and reduction dims (K of a linear layer, the sequence of a
// scan, the keys of attention) carry state between tiles that a tile of a
// non-destination-style op cannot read back from the loop; weft-tile builds
// those loops itself (Tile.cpp).
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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

/// True when `size` is known to be dim `dim` of `value`: its static extent or
/// a tensor.dim of it.
bool isDimOf(OpFoldResult size, Value value, int64_t dim) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.isDynamicDim(dim))
    return isConstantIntValue(size, type.getDimSize(dim));
  auto dimOp = dyn_cast_if_present<tensor::DimOp>(
      dyn_cast_if_present<Value>(size) ? cast<Value>(size).getDefiningOp()
                                       : nullptr);
  return dimOp && dimOp.getSource() == value &&
         dimOp.getConstantIndex() == std::optional<int64_t>(dim);
}

/// True when `offsets` / `sizes` cover all of `value`.
bool isWhole(Value value, ArrayRef<OpFoldResult> offsets,
             ArrayRef<OpFoldResult> sizes) {
  for (auto [dim, offset, size] : llvm::enumerate(offsets, sizes))
    if (!isConstantIntValue(offset, 0) || !isDimOf(size, value, dim))
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

/// Slices operands of one tile and records the slices it creates; whole
/// static operands (weights when their dim is not tiled) are used as they
/// are, and a null value stays null.
struct TileSlicer {
  OpBuilder &b;
  Location loc;
  SmallVector<Operation *> slices;

  Value operator()(Value value, ArrayRef<OpFoldResult> offsets,
                   ArrayRef<OpFoldResult> sizes) {
    if (!value || isWhole(value, offsets, sizes))
      return value;
    Value result = extractSlice(b, loc, value, offsets, sizes);
    slices.push_back(result.getDefiningOp());
    return result;
  }

  /// `value` with dim `dim` restricted to `offset` / `size`, other dims
  /// whole.
  Value alongDim(Value value, int64_t dim, OpFoldResult offset,
                 OpFoldResult size) {
    if (!value)
      return value;
    int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes;
    for (int64_t i = 0; i < rank; ++i)
      sizes.push_back(getDim(b, loc, value, i));
    offsets[dim] = offset;
    sizes[dim] = size;
    return (*this)(value, offsets, sizes);
  }
};

/// `type` with the shape of `sizes` (static where a size is a constant).
RankedTensorType getTileType(Type type, ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  return cast<RankedTensorType>(type).clone(shape);
}

/// The sizes of `type`, its dynamic dims read from `like` (a value of the
/// same extents).
SmallVector<OpFoldResult>
getSizesLike(OpBuilder &b, Location loc, RankedTensorType type,
             ArrayRef<std::pair<Value, int64_t>> like) {
  SmallVector<OpFoldResult> sizes;
  for (auto [i, dim] : llvm::enumerate(type.getShape()))
    sizes.push_back(ShapedType::isDynamic(dim)
                        ? getDim(b, loc, like[i].first, like[i].second)
                        : OpFoldResult(b.getIndexAttr(dim)));
  return sizes;
}

/// The shape of the result of a linear layer or norm, reified from x (leading
/// dims) and the result type's last dim.
SmallVector<OpFoldResult> getRowResultSizes(OpBuilder &b, Operation *op) {
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

SmallVector<Range> toDomain(OpBuilder &b, ArrayRef<OpFoldResult> sizes) {
  SmallVector<Range> domain;
  for (OpFoldResult size : sizes)
    domain.push_back({b.getIndexAttr(0), size, b.getIndexAttr(1)});
  return domain;
}

/// The first index of the group of `size` consecutive tiles of `perGroup`
/// items that the tile starting at `offset` falls into: `offset / perGroup`.
OpFoldResult getGroupOffset(OpBuilder &b, Location loc, OpFoldResult offset,
                            int64_t perGroup) {
  AffineExpr d0 = b.getAffineDimExpr(0);
  return affine::makeComposedFoldedAffineApply(b, loc, d0.floorDiv(perGroup),
                                               {offset});
}

/// The range of groups read by the tile [offset, offset + size) of `total`
/// items in groups of `perGroup` (heads of a kv head or an SSM group), or
/// failure when the tile neither covers whole groups nor stays inside one.
/// Tiles are aligned: `size` divides `total`.
LogicalResult getGroupRange(OpBuilder &b, Location loc, OpFoldResult offset,
                            OpFoldResult size, int64_t total, int64_t perGroup,
                            OpFoldResult &groupOffset,
                            OpFoldResult &groupSize) {
  std::optional<int64_t> tile = getConstantIntValue(size);
  if (tile && *tile == total && isConstantIntValue(offset, 0)) {
    groupOffset = b.getIndexAttr(0);
    groupSize = b.getIndexAttr(total / perGroup);
    return success();
  }
  if (!tile || total % *tile != 0)
    return failure();
  if (*tile % perGroup == 0) {
    groupOffset = getGroupOffset(b, loc, offset, perGroup);
    groupSize = b.getIndexAttr(*tile / perGroup);
    return success();
  }
  if (perGroup % *tile == 0) {
    groupOffset = getGroupOffset(b, loc, offset, perGroup);
    groupSize = b.getIndexAttr(1);
    return success();
  }
  return failure();
}

//===----------------------------------------------------------------------===//
// linear, qlinear
//===----------------------------------------------------------------------===//

/// Both linear layers: the iteration space is the result's, all parallel. A
/// tile reads the tile's rows of x (all of K), the tile's rows of every
/// [N, *] operand and the matching parts of bias, residual, LoRA B and ids.
template <typename OpTy>
struct LinearTilingModel
    : TilingInterface::ExternalModel<LinearTilingModel<OpTy>, OpTy> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    return SmallVector<utils::IteratorType>(type.getRank(),
                                            utils::IteratorType::parallel);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    return toDomain(b, getRowResultSizes(b, op));
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto linear = cast<OpTy>(op);
    Location loc = op->getLoc();
    TileSlicer slice{b, loc, {}};
    Value x = linear.getX();
    int64_t rank = offsets.size();
    // x: the tile's leading dims, all of K.
    SmallVector<OpFoldResult> xOffsets(offsets.drop_back());
    SmallVector<OpFoldResult> xSizes(sizes.drop_back());
    xOffsets.push_back(b.getIndexAttr(0));
    xSizes.push_back(getDim(b, loc, x, rank - 1));
    OpFoldResult nOffset = offsets.back(), nSize = sizes.back();

    auto tiled = cast<OpTy>(b.clone(*op));
    tiled.getXMutable().assign(slice(x, xOffsets, xSizes));
    if constexpr (std::is_same_v<OpTy, LinearOp>) {
      tiled.getWeightMutable().assign(
          slice.alongDim(linear.getWeight(), 0, nOffset, nSize));
    } else {
      tiled.getQweightMutable().assign(
          slice.alongDim(linear.getQweight(), 0, nOffset, nSize));
      tiled.getScalesMutable().assign(
          slice.alongDim(linear.getScales(), 0, nOffset, nSize));
      if (Value zeros = linear.getZeros())
        tiled.getZerosMutable().assign(
            slice.alongDim(zeros, 0, nOffset, nSize));
    }
    if (Value bias = linear.getBias())
      tiled.getBiasMutable().assign(slice(bias, {nOffset}, {nSize}));
    if (Value residual = linear.getResidual())
      tiled.getResidualMutable().assign(slice(residual, offsets, sizes));
    // LoRA: A [(n,) r, K] stays whole, B [(n,) N, r] follows the N tile, ids
    // (per batch row or per token) follow the leading dims.
    if (Value loraB = linear.getLoraB()) {
      int64_t nDim = cast<RankedTensorType>(loraB.getType()).getRank() - 2;
      tiled.getLoraBMutable().assign(
          slice.alongDim(loraB, nDim, nOffset, nSize));
    }
    if (Value ids = linear.getLoraIds()) {
      int64_t idsRank = cast<RankedTensorType>(ids.getType()).getRank();
      tiled.getLoraIdsMutable().assign(
          slice(ids, offsets.take_front(idsRank), sizes.take_front(idsRank)));
    }
    tiled->getResult(0).setType(getTileType(op->getResult(0).getType(), sizes));
    // The clone goes after the slices of its operands.
    tiled->moveBefore(b.getInsertionBlock(), b.getInsertionPoint());
    return TilingResult{{tiled}, {tiled->getResult(0)}, slice.slices};
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

//===----------------------------------------------------------------------===//
// rms_norm, layer_norm
//===----------------------------------------------------------------------===//

/// Norms: the leading dims are parallel; the normalized dim and the [D]
/// parameters stay whole.
template <typename OpTy>
struct NormTilingModel
    : TilingInterface::ExternalModel<NormTilingModel<OpTy>, OpTy> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    return SmallVector<utils::IteratorType>(type.getRank() - 1,
                                            utils::IteratorType::parallel);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    SmallVector<OpFoldResult> sizes = getRowResultSizes(b, op);
    return toDomain(b, ArrayRef(sizes).drop_back());
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
    auto norm = cast<OpTy>(op);
    SmallVector<OpFoldResult> tileOffsets, tileSizes;
    getFullTile(op, b, offsets, sizes, tileOffsets, tileSizes);
    Value input =
        extractSlice(b, op->getLoc(), norm.getX(), tileOffsets, tileSizes);
    auto tiled = cast<OpTy>(b.clone(*op));
    tiled.getXMutable().assign(input);
    tiled->getResult(0).setType(
        getTileType(op->getResult(0).getType(), tileSizes));
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

/// The result shape from x's leading dims and the static last dim.
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
    reifiedReturnShapes.push_back(getRowResultSizes(b, op));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// ssm_scan
//===----------------------------------------------------------------------===//

/// ssm_scan: batch and head are parallel. A tile of heads reads its rows of
/// the per-head operands (A, D, dt_bias) and the groups of B and C its heads
/// use: it must cover whole groups or stay inside one (static H and G).
struct SsmScanTilingModel
    : TilingInterface::ExternalModel<SsmScanTilingModel, SsmScanOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    return SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    Value x = cast<SsmScanOp>(op).getX();
    return toDomain(
        b, {getDim(b, op->getLoc(), x, 0), getDim(b, op->getLoc(), x, 2)});
  }

  /// Where the tile (batch, head) of `offsets` / `sizes` lies in y and in
  /// final_state.
  static void getResultTiles(Operation *op, OpBuilder &b,
                             ArrayRef<OpFoldResult> offsets,
                             ArrayRef<OpFoldResult> sizes,
                             SmallVector<OpFoldResult> &yOffsets,
                             SmallVector<OpFoldResult> &ySizes,
                             SmallVector<OpFoldResult> &stateOffsets,
                             SmallVector<OpFoldResult> &stateSizes) {
    auto scan = cast<SsmScanOp>(op);
    Location loc = op->getLoc();
    Value x = scan.getX();
    OpFoldResult zero = b.getIndexAttr(0);
    yOffsets = {offsets[0], zero, offsets[1], zero};
    ySizes = {sizes[0], getDim(b, loc, x, 1), sizes[1], getDim(b, loc, x, 3)};
    auto stateType = cast<RankedTensorType>(scan.getFinalState().getType());
    OpFoldResult n =
        stateType.isDynamicDim(3)
            ? getDim(b, loc, scan.getB(), 3)
            : OpFoldResult(b.getIndexAttr(stateType.getDimSize(3)));
    stateOffsets = {offsets[0], offsets[1], zero, zero};
    stateSizes = {sizes[0], sizes[1], getDim(b, loc, x, 3), n};
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto scan = cast<SsmScanOp>(op);
    Location loc = op->getLoc();
    OpFoldResult b0 = offsets[0], bs = sizes[0], h0 = offsets[1], hs = sizes[1];
    OpFoldResult g0 = b.getIndexAttr(0), gs = getDim(b, loc, scan.getB(), 2);
    int64_t heads = scan.getX().getType().getDimSize(2);
    int64_t groups = scan.getB().getType().getDimSize(2);
    bool wholeHeads = isConstantIntValue(h0, 0) && isDimOf(hs, scan.getX(), 2);
    if (!wholeHeads) {
      if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(groups) ||
          failed(getGroupRange(b, loc, h0, hs, heads, heads / groups, g0, gs)))
        return failure();
    }
    TileSlicer slice{b, loc, {}};
    SmallVector<OpFoldResult> yOffsets, ySizes, stateOffsets, stateSizes;
    getResultTiles(op, b, offsets, sizes, yOffsets, ySizes, stateOffsets,
                   stateSizes);
    auto tiled = cast<SsmScanOp>(b.clone(*op));
    tiled.getXMutable().assign(slice(scan.getX(), yOffsets, ySizes));
    tiled.getDtMutable().assign(slice(scan.getDt(),
                                      ArrayRef(yOffsets).take_front(3),
                                      ArrayRef(ySizes).take_front(3)));
    tiled.getAMutable().assign(slice.alongDim(scan.getA(), 0, h0, hs));
    auto groupSlice = [&](Value value) {
      Value rows = slice.alongDim(value, 0, b0, bs);
      return slice.alongDim(rows, 2, g0, gs);
    };
    tiled.getBMutable().assign(groupSlice(scan.getB()));
    tiled.getCMutable().assign(groupSlice(scan.getC()));
    if (Value d = scan.getD())
      tiled.getDMutable().assign(slice.alongDim(d, 0, h0, hs));
    if (Value z = scan.getZ())
      tiled.getZMutable().assign(slice(z, yOffsets, ySizes));
    if (Value bias = scan.getDtBias())
      tiled.getDtBiasMutable().assign(slice(bias, {h0}, {hs}));
    if (Value state = scan.getInitialState())
      tiled.getInitialStateMutable().assign(
          slice(state, stateOffsets, stateSizes));
    tiled.getY().setType(getTileType(scan.getY().getType(), ySizes));
    tiled.getFinalState().setType(
        getTileType(scan.getFinalState().getType(), stateSizes));
    tiled->moveBefore(b.getInsertionBlock(), b.getInsertionPoint());
    return TilingResult{
        {tiled}, SmallVector<Value>(tiled->getResults()), slice.slices};
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    SmallVector<OpFoldResult> yOffsets, ySizes, stateOffsets, stateSizes;
    getResultTiles(op, b, offsets, sizes, yOffsets, ySizes, stateOffsets,
                   stateSizes);
    resultOffsets = resultNumber == 0 ? yOffsets : stateOffsets;
    resultSizes = resultNumber == 0 ? ySizes : stateSizes;
    return success();
  }
};

struct SsmScanReifyModel
    : ReifyRankedShapedTypeOpInterface::ExternalModel<SsmScanReifyModel,
                                                      SsmScanOp> {
  LogicalResult
  reifyResultShapes(Operation *op, OpBuilder &b,
                    ReifiedRankedShapedTypeDims &reifiedReturnShapes) const {
    auto scan = cast<SsmScanOp>(op);
    Location loc = op->getLoc();
    Value x = scan.getX();
    reifiedReturnShapes.push_back(getSizesLike(
        b, loc, scan.getY().getType(), {{x, 0}, {x, 1}, {x, 2}, {x, 3}}));
    reifiedReturnShapes.push_back(
        getSizesLike(b, loc, scan.getFinalState().getType(),
                     {{x, 0}, {x, 2}, {x, 3}, {scan.getB(), 3}}));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

/// The valid key count of a tile of queries [i0, i0 + size) of causal
/// attention: `max(L - Sq + i0 + size, 0)` per batch row, `L` the kv_len row
/// (or Sk). With it the tile's own bottom-right alignment
/// `kv_len' - size = L - Sq + i0` is the offset of its first query in the
/// whole op, so causal and window visibility are unchanged, and the keys it
/// drops (`j >= kv_len'`) are hidden from every query of the tile anyway.
Value getQueryTileKvLen(OpBuilder &b, Location loc, AttentionOp attention,
                        Value kvLen, OpFoldResult batchSize,
                        OpFoldResult offset, OpFoldResult size) {
  Value q = attention.getQ();
  AffineExpr i0, tile, sq;
  bindSymbols(b.getContext(), i0, tile, sq);
  OpFoldResult shift = affine::makeComposedFoldedAffineApply(
      b, loc, i0 + tile - sq, {offset, size, getDim(b, loc, q, 1)});
  Value shiftValue = getValueOrCreateConstantIndexOp(b, loc, shift);
  Type elementType =
      kvLen ? cast<RankedTensorType>(kvLen.getType()).getElementType()
            : b.getI64Type();
  auto type = RankedTensorType::get(
      {getConstantIntValue(batchSize).value_or(ShapedType::kDynamic)},
      elementType);
  SmallVector<Value> dynamicSizes;
  if (type.isDynamicDim(0))
    dynamicSizes.push_back(getValueOrCreateConstantIndexOp(b, loc, batchSize));
  Value init = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  Value zero =
      arith::ConstantOp::create(b, loc, b.getIntegerAttr(elementType, 0));
  if (!kvLen) {
    // max(Sk - Sq + i0 + size, 0): one value for every row.
    Value sk = getValueOrCreateConstantIndexOp(
        b, loc, getDim(b, loc, attention.getK(), 1));
    Value valid = arith::AddIOp::create(b, loc, sk, shiftValue);
    valid = arith::IndexCastOp::create(b, loc, elementType, valid);
    valid = arith::MaxSIOp::create(b, loc, valid, zero);
    return linalg::FillOp::create(b, loc, valid, init).getResult(0);
  }
  Value shiftElement =
      arith::IndexCastOp::create(b, loc, elementType, shiftValue);
  MLIRContext *context = b.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{kvLen}, ValueRange{init},
      ArrayRef<AffineMap>{identity, identity},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value valid =
            arith::AddIOp::create(nested, nestedLoc, args[0], shiftElement);
        valid = arith::MaxSIOp::create(nested, nestedLoc, valid, zero);
        linalg::YieldOp::create(nested, nestedLoc, valid);
      });
  return generic.getResult(0);
}

/// attention: batch, query head and query are parallel. A tile of query heads
/// reads the kv heads they use (whole GQA groups, or one kv head for a tile
/// inside a group); a tile of queries of causal attention gets a kv_len that
/// keeps its causal alignment (getQueryTileKvLen).
struct AttentionTilingModel
    : TilingInterface::ExternalModel<AttentionTilingModel, AttentionOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    return SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel);
  }

  static OpFoldResult getBatch(OpBuilder &b, AttentionOp attention) {
    auto type = attention.getOutput().getType();
    if (!type.isDynamicDim(0))
      return b.getIndexAttr(type.getDimSize(0));
    return getDim(b, attention.getLoc(), attention.getQ(), 0);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    auto attention = cast<AttentionOp>(op);
    Value q = attention.getQ();
    return toDomain(b, {getBatch(b, attention), getDim(b, op->getLoc(), q, 2),
                        getDim(b, op->getLoc(), q, 1)});
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto attention = cast<AttentionOp>(op);
    Location loc = op->getLoc();
    TypedValue<RankedTensorType> q = attention.getQ();
    Value k = attention.getK(), v = attention.getV();
    OpFoldResult b0 = offsets[0], bs = sizes[0], h0 = offsets[1], hs = sizes[1],
                 i0 = offsets[2], is = sizes[2];
    int64_t heads = attention.getQ().getType().getDimSize(2);
    OpFoldResult kh0, khs;
    if (failed(getGroupRange(b, loc, h0, hs, heads, attention.getGroupSize(),
                             kh0, khs)))
      return failure();
    TileSlicer slice{b, loc, {}};
    OpFoldResult zero = b.getIndexAttr(0);
    Value tiledQ =
        slice(q, {b0, i0, h0, zero}, {bs, is, hs, getDim(b, loc, q, 3)});
    auto kvSlice = [&](Value value) {
      return slice(
          value, {b0, zero, kh0, zero},
          {bs, getDim(b, loc, value, 1), khs, getDim(b, loc, value, 3)});
    };
    Value mask = attention.getMask();
    if (mask) {
      auto maskType = cast<RankedTensorType>(mask.getType());
      bool batchBroadcast = maskType.getDimSize(0) == 1;
      bool headBroadcast = maskType.getDimSize(1) == 1;
      mask = slice(
          mask,
          {batchBroadcast ? zero : b0, headBroadcast ? zero : h0, i0, zero},
          {batchBroadcast ? OpFoldResult(b.getIndexAttr(1)) : bs,
           headBroadcast ? OpFoldResult(b.getIndexAttr(1)) : hs, is,
           getDim(b, loc, mask, 3)});
    }
    Value kvLen = slice(attention.getKvLen(), {b0}, {bs});
    bool wholeQueries = isConstantIntValue(i0, 0) && isDimOf(is, q, 1);
    if (attention.getCausal() && !wholeQueries)
      kvLen = getQueryTileKvLen(b, loc, attention, kvLen, bs, i0, is);

    SmallVector<Type> resultTypes = {getTileType(
        attention.getOutput().getType(),
        {bs, is, hs,
         b.getIndexAttr(attention.getOutput().getType().getDimSize(3))})};
    if (Value lse = attention.getLse())
      resultTypes.push_back(getTileType(lse.getType(), {bs, hs, is}));
    auto tiled = AttentionOp::create(
        b, loc, resultTypes, tiledQ, kvSlice(k), kvSlice(v), mask, kvLen,
        attention.getScaleAttr(), attention.getCausalAttr(),
        attention.getWindowAttr(), attention.getSoftcapAttr(),
        attention.getReturnLseAttr());
    // The scale defaults to 1/sqrt(D): D is not tiled, so it is unchanged.
    return TilingResult{
        {tiled}, SmallVector<Value>(tiled->getResults()), slice.slices};
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    auto attention = cast<AttentionOp>(op);
    if (resultNumber == 0) {
      resultOffsets = {offsets[0], offsets[2], offsets[1], b.getIndexAttr(0)};
      resultSizes = {
          sizes[0], sizes[2], sizes[1],
          b.getIndexAttr(attention.getOutput().getType().getDimSize(3))};
    } else {
      resultOffsets = {offsets[0], offsets[1], offsets[2]};
      resultSizes = {sizes[0], sizes[1], sizes[2]};
    }
    return success();
  }
};

struct AttentionReifyModel
    : ReifyRankedShapedTypeOpInterface::ExternalModel<AttentionReifyModel,
                                                      AttentionOp> {
  LogicalResult
  reifyResultShapes(Operation *op, OpBuilder &b,
                    ReifiedRankedShapedTypeDims &reifiedReturnShapes) const {
    auto attention = cast<AttentionOp>(op);
    Location loc = op->getLoc();
    Value q = attention.getQ();
    reifiedReturnShapes.push_back(
        getSizesLike(b, loc, attention.getOutput().getType(),
                     {{q, 0}, {q, 1}, {q, 2}, {attention.getV(), 3}}));
    if (Value lse = attention.getLse())
      reifiedReturnShapes.push_back(
          getSizesLike(b, loc, cast<RankedTensorType>(lse.getType()),
                       {{q, 0}, {q, 2}, {q, 1}}));
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
    RmsNormOp::attachInterface<NormTilingModel<RmsNormOp>,
                               ReifyFromInputModel<RmsNormOp>>(*context);
    LayerNormOp::attachInterface<NormTilingModel<LayerNormOp>,
                                 ReifyFromInputModel<LayerNormOp>>(*context);
    SsmScanOp::attachInterface<SsmScanTilingModel, SsmScanReifyModel>(*context);
    AttentionOp::attachInterface<AttentionTilingModel, AttentionReifyModel>(
        *context);
  });
}
