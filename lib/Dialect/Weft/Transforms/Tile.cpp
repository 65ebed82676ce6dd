//===- Tile.cpp - tiling weft ops into loops over tiles -------------------===//
//
// weft-tile: the parallel dims of each op are tiled through its
// TilingInterface model (scf::tileUsingSCF); the sequential and reduction
// dims are tiled here, as loops that carry state between tiles:
//
//   linear, qlinear   K: acc = linear(x_k, w_k) residual acc
//   attention         keys: partial attentions with their log-sum-exp,
//                     merged as in flash decoding
//   ssm_scan          sequence: chunks of the scan, each starting from the
//                     state the previous one ended with
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTTILEPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

/// The tiles of one op: one size per parallel loop of its TilingInterface
/// model, and the size of its sequential or reduction loop (0: not tiled).
struct OpTileSizes {
  SmallVector<int64_t> parallel;
  int64_t sequential = 0;
  /// False for target defaults, which are skipped where an op cannot take
  /// them instead of failing.
  bool explicitlyGiven = true;
};

/// The extent of the tile that starts at `offset`: min(tile, total - offset).
OpFoldResult tileExtent(OpBuilder &b, Location loc, Value offset, int64_t tile,
                        Value total) {
  AffineExpr d0, s0, s1;
  bindDims(b.getContext(), d0);
  bindSymbols(b.getContext(), s0, s1);
  return affine::makeComposedFoldedAffineMin(
      b, loc, AffineMap::get(1, 2, {s0, s1 - d0}, b.getContext()),
      {offset, b.getIndexAttr(tile), total});
}

Value sliceAlong(OpBuilder &b, Location loc, Value value, int64_t dim,
                 OpFoldResult offset, OpFoldResult size) {
  int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes;
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  for (int64_t i = 0; i < rank; ++i)
    sizes.push_back(tensor::getMixedSize(b, loc, value, i));
  offsets[dim] = offset;
  sizes[dim] = size;
  return tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes, strides);
}

/// A tensor shaped like `like` (sizes reified from `op`'s result
/// `resultNumber`) filled with `value`.
FailureOr<Value> createFilled(OpBuilder &b, Location loc, Operation *op,
                              unsigned resultNumber, Type elementType,
                              TypedAttr value) {
  ReifiedRankedShapedTypeDims shapes;
  if (failed(reifyResultShapes(b, op, shapes)))
    return failure();
  Value empty =
      tensor::EmptyOp::create(b, loc, shapes[resultNumber], elementType);
  Value constant = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, constant, empty).getResult(0);
}

//===----------------------------------------------------------------------===//
// K of linear and qlinear
//===----------------------------------------------------------------------===//

/// Why K of `op` cannot be tiled by `tile`, or an empty string.
std::string whyNotTileK(Operation *op, int64_t tile) {
  auto x = cast<TypedValue<RankedTensorType>>(op->getOperand(0));
  int64_t k = x.getType().getShape().back();
  std::string reason;
  llvm::raw_string_ostream os(reason);
  if (ShapedType::isDynamic(k))
    os << "K must be static";
  else if (k % tile != 0)
    os << "the tile must divide K = " << k;
  else if (!x.getType().getElementType().isF32())
    os << "partial sums would be rounded to " << x.getType().getElementType()
       << " (K tiles need f32)";
  else if (auto qlinear = dyn_cast<QLinearOp>(op);
           qlinear && static_cast<int64_t>(qlinear.getGroupSize()) != -1 &&
           tile % static_cast<int64_t>(qlinear.getGroupSize()) != 0)
    os << "the tile must be a multiple of group_size = "
       << qlinear.getGroupSize();
  return reason;
}

/// `op` on columns [k, k + tile) of K: x, the weight, the scales and zeros
/// of those groups, and LoRA A are sliced; with `first`, the bias (and the
/// residual when there is no activation) is kept, otherwise removed, and
/// `accumulator` becomes the residual.
Operation *createKTile(OpBuilder &b, Operation *op, OpFoldResult k,
                       int64_t tile, bool first, Value accumulator) {
  Location loc = op->getLoc();
  Operation *tiled = b.clone(*op);
  auto sliceK = [&](Value value) {
    int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
    return sliceAlong(b, loc, value, rank - 1, k, b.getIndexAttr(tile));
  };
  auto update = [&](auto linear, auto original) {
    linear.getXMutable().assign(sliceK(original.getX()));
    if (Value a = original.getLoraA())
      linear.getLoraAMutable().assign(sliceK(a));
    bool activation = original.getActivation() != Activation::none;
    if (!first) {
      linear.getBiasMutable().clear();
      linear.getResidualMutable().clear();
    } else if (activation) {
      linear.getResidualMutable().clear();
    }
    if (accumulator)
      linear.getResidualMutable().assign(accumulator);
    linear.setActivation(Activation::none);
  };
  if (auto linear = dyn_cast<LinearOp>(tiled)) {
    auto original = cast<LinearOp>(op);
    update(linear, original);
    linear.getWeightMutable().assign(sliceK(original.getWeight()));
  } else {
    auto qlinear = cast<QLinearOp>(tiled);
    auto original = cast<QLinearOp>(op);
    update(qlinear, original);
    qlinear.getQweightMutable().assign(sliceK(original.getQweight()));
    auto group = static_cast<int64_t>(original.getGroupSize());
    if (group != -1) {
      OpFoldResult groupOffset = affine::makeComposedFoldedAffineApply(
          b, loc, b.getAffineDimExpr(0).floorDiv(group), {k});
      auto sliceGroups = [&](Value value) {
        return sliceAlong(b, loc, value, 1, groupOffset,
                          b.getIndexAttr(tile / group));
      };
      qlinear.getScalesMutable().assign(sliceGroups(original.getScales()));
      if (Value zeros = original.getZeros())
        qlinear.getZerosMutable().assign(sliceGroups(zeros));
    }
  }
  // The clone goes after the slices of its operands.
  tiled->moveBefore(b.getInsertionBlock(), b.getInsertionPoint());
  return tiled;
}

/// act(v) as a weft op.
Value applyActivation(OpBuilder &b, Location loc, Activation activation,
                      Value value) {
  switch (activation) {
  case Activation::none:
    return value;
  case Activation::silu:
    return SiluOp::create(b, loc, value.getType(), value);
  case Activation::relu:
    return ReluOp::create(b, loc, value.getType(), value);
  case Activation::gelu:
    return GeluOp::create(b, loc, value.getType(), value, false);
  case Activation::gelu_tanh:
    return GeluOp::create(b, loc, value.getType(), value, true);
  }
  llvm_unreachable("unknown activation");
}

/// Tiles K of a linear layer by `tile`: the first tile carries the bias (and
/// the residual without activation), an scf.for over the other tiles adds
/// each product through the residual operand, and the activation and
/// residual follow when there is an activation.
void tileK(RewriterBase &rewriter, Operation *op, int64_t tile) {
  Location loc = op->getLoc();
  rewriter.setInsertionPoint(op);
  int64_t k =
      cast<RankedTensorType>(op->getOperand(0).getType()).getShape().back();
  Operation *first =
      createKTile(rewriter, op, rewriter.getIndexAttr(0), tile, true, Value());
  Value result = first->getResult(0);
  if (k > tile) {
    Value lower = arith::ConstantIndexOp::create(rewriter, loc, tile);
    Value upper = arith::ConstantIndexOp::create(rewriter, loc, k);
    Value step = arith::ConstantIndexOp::create(rewriter, loc, tile);
    auto loop = scf::ForOp::create(
        rewriter, loc, lower, upper, step, ValueRange{result},
        [&](OpBuilder &b, Location, Value iv, ValueRange args) {
          Operation *tiled = createKTile(b, op, iv, tile, false, args[0]);
          scf::YieldOp::create(b, loc, tiled->getResult(0));
        });
    result = loop.getResult(0);
  }
  Activation activation = isa<LinearOp>(op)
                              ? cast<LinearOp>(op).getActivation()
                              : cast<QLinearOp>(op).getActivation();
  if (activation != Activation::none) {
    result = applyActivation(rewriter, loc, activation, result);
    Value residual = isa<LinearOp>(op) ? cast<LinearOp>(op).getResidual()
                                       : cast<QLinearOp>(op).getResidual();
    if (residual)
      result = AddOp::create(rewriter, loc, result.getType(), result, residual);
  }
  rewriter.replaceOp(op, result);
}

//===----------------------------------------------------------------------===//
// Key blocks of attention
//===----------------------------------------------------------------------===//

/// Why the keys of `op` cannot be tiled, or an empty string.
std::string whyNotTileKeys(AttentionOp op) {
  auto qType = op.getQ().getType();
  if (!qType.getElementType().isF32()) {
    std::string reason;
    llvm::raw_string_ostream(reason)
        << "partial outputs would be rounded to " << qType.getElementType()
        << " (key tiles need f32)";
    return reason;
  }
  if (op.getMask())
    return "a mask may hide every visible key of a block, whose partial "
           "softmax is then undefined";
  if (op.getCausal() &&
      (qType.isDynamicDim(1) || qType.getDimSize(1) != 1 || op.getWindow()))
    return "a block of keys cannot express the causal alignment (kv_len sets "
           "both the valid keys and the diagonal); only single-query causal "
           "attention without window tiles keys";
  return "";
}

/// log(exp(a) + exp(b)) with -inf for two -inf.
Value logAddExp(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  Value high = arith::MaximumFOp::create(b, loc, lhs, rhs);
  Value low = arith::MinimumFOp::create(b, loc, lhs, rhs);
  Value diff = arith::SubFOp::create(b, loc, low, high);
  Value sum = arith::AddFOp::create(
      b, loc, high,
      math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, diff)));
  Value negInf = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  Value empty =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, high, negInf);
  return arith::SelectOp::create(b, loc, empty, negInf, sum);
}

/// exp(lse - total), 0 where lse is -inf (a block with no visible key).
Value getBlockWeight(OpBuilder &b, Location loc, Value lse, Value total) {
  Value negInf = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value weight =
      math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, lse, total));
  Value empty =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, lse, negInf);
  return arith::SelectOp::create(b, loc, empty, zero, weight);
}

/// Tiles the keys of `op` by `tile`: an scf.for over key blocks computes
/// each block's attention with its log-sum-exp and merges it into the
/// running output and log-sum-exp:
///   lse = log(exp(lse) + exp(lse_j))
///   out = out exp(lse_old - lse) + out_j exp(lse_j - lse)
/// Blocks beyond a row's kv_len have no visible key (lse_j = -inf, weight 0).
LogicalResult tileKeys(RewriterBase &rewriter, AttentionOp op, int64_t tile) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Type f32 = rewriter.getF32Type();
  FailureOr<Value> outInit =
      createFilled(rewriter, loc, op, 0, f32, rewriter.getF32FloatAttr(0));
  Value lseInit;
  {
    // lse has the shape [B, Hq, Sq] whether or not op returns it.
    Value q = op.getQ();
    SmallVector<OpFoldResult> sizes = {
        tensor::getMixedSize(rewriter, loc, q, 0),
        tensor::getMixedSize(rewriter, loc, q, 2),
        tensor::getMixedSize(rewriter, loc, q, 1)};
    if (!op.getOutput().getType().isDynamicDim(0))
      sizes[0] = rewriter.getIndexAttr(op.getOutput().getType().getDimSize(0));
    Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, f32);
    Value negInf = arith::ConstantOp::create(
        rewriter, loc,
        rewriter.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    lseInit = linalg::FillOp::create(rewriter, loc, negInf, empty).getResult(0);
  }
  if (failed(outInit))
    return op.emitOpError("cannot reify its result shape");
  Value keys = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value sk = getValueOrCreateConstantIndexOp(
      rewriter, loc, tensor::getMixedSize(rewriter, loc, op.getK(), 1));
  Value step = arith::ConstantIndexOp::create(rewriter, loc, tile);
  auto lseType = cast<RankedTensorType>(lseInit.getType());
  auto loop = scf::ForOp::create(
      rewriter, loc, keys, sk, step, ValueRange{*outInit, lseInit},
      [&](OpBuilder &b, Location, Value j0, ValueRange args) {
        OpFoldResult size = tileExtent(b, loc, j0, tile, sk);
        Value k = sliceAlong(b, loc, op.getK(), 1, j0, size);
        Value v = sliceAlong(b, loc, op.getV(), 1, j0, size);
        // kv_len of the block: clamp(kv_len - j0, 0, size).
        Value kvLen = op.getKvLen();
        if (kvLen) {
          auto type = cast<RankedTensorType>(kvLen.getType());
          Type element = type.getElementType();
          SmallVector<Value> dynamicSizes;
          if (type.isDynamicDim(0))
            dynamicSizes.push_back(tensor::DimOp::create(b, loc, kvLen, 0));
          Value init = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
          Value offset = arith::IndexCastOp::create(b, loc, element, j0);
          Value limit = arith::IndexCastOp::create(
              b, loc, element, getValueOrCreateConstantIndexOp(b, loc, size));
          Value zero =
              arith::ConstantOp::create(b, loc, b.getIntegerAttr(element, 0));
          AffineMap identity = b.getMultiDimIdentityMap(1);
          kvLen =
              linalg::GenericOp::create(
                  b, loc, type, ValueRange{kvLen}, ValueRange{init},
                  ArrayRef<AffineMap>{identity, identity},
                  ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
                  [&](OpBuilder &nb, Location nl, ValueRange in) {
                    Value valid = arith::SubIOp::create(nb, nl, in[0], offset);
                    valid = arith::MaxSIOp::create(nb, nl, valid, zero);
                    valid = arith::MinSIOp::create(nb, nl, valid, limit);
                    linalg::YieldOp::create(nb, nl, valid);
                  })
                  .getResult(0);
        }
        // Causal single-query attention sees exactly the keys below kv_len.
        auto block = AttentionOp::create(
            b, loc, TypeRange{op.getOutput().getType(), lseType}, op.getQ(), k,
            v, Value(), kvLen, op.getScaleAttr(), UnitAttr(), IntegerAttr(),
            op.getSoftcapAttr(), b.getUnitAttr());
        // Merge: lse first, then the outputs weighted by exp(lse_x - lse).
        MLIRContext *context = b.getContext();
        AffineMap lseMap = AffineMap::getMultiDimIdentityMap(3, context);
        auto parallel3 =
            SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel);
        // A new tensor: the output merge below still reads the old lse.
        Value lseInit = tensor::EmptyOp::create(
            b, loc, tensor::getMixedSizes(b, loc, args[1]), f32);
        Value lse = linalg::GenericOp::create(
                        b, loc, lseType, ValueRange{args[1], block.getLse()},
                        ValueRange{lseInit},
                        ArrayRef<AffineMap>{lseMap, lseMap, lseMap}, parallel3,
                        [&](OpBuilder &nb, Location nl, ValueRange in) {
                          linalg::YieldOp::create(
                              nb, nl, logAddExp(nb, nl, in[0], in[1]));
                        })
                        .getResult(0);
        // out[b, i, h, e] reads lse[b, h, i].
        AffineExpr db, di, dh, de;
        bindDims(context, db, di, dh, de);
        AffineMap outMap = AffineMap::getMultiDimIdentityMap(4, context);
        AffineMap rowMap = AffineMap::get(4, 0, {db, dh, di}, context);
        auto parallel4 =
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel);
        Value out =
            linalg::GenericOp::create(
                b, loc, args[0].getType(),
                ValueRange{args[0], block.getOutput(), args[1], block.getLse(),
                           lse},
                ValueRange{args[0]},
                ArrayRef<AffineMap>{outMap, outMap, rowMap, rowMap, rowMap,
                                    outMap},
                parallel4,
                [&](OpBuilder &nb, Location nl, ValueRange in) {
                  Value old = arith::MulFOp::create(
                      nb, nl, in[0], getBlockWeight(nb, nl, in[2], in[4]));
                  Value add = arith::MulFOp::create(
                      nb, nl, in[1], getBlockWeight(nb, nl, in[3], in[4]));
                  Value sum = arith::AddFOp::create(nb, nl, old, add);
                  linalg::YieldOp::create(nb, nl, sum);
                })
                .getResult(0);
        scf::YieldOp::create(b, loc, ValueRange{out, lse});
      });
  SmallVector<Value> results = {loop.getResult(0)};
  if (op.getLse())
    results.push_back(loop.getResult(1));
  rewriter.replaceOp(op, results);
  return success();
}

//===----------------------------------------------------------------------===//
// Sequence chunks of ssm_scan
//===----------------------------------------------------------------------===//

/// Tiles the sequence of `op` into chunks of `tile` steps: an scf.for over
/// chunks runs the scan on each chunk from the state the previous chunk
/// ended with (the op's initial_state, or zeros, for the first) and inserts
/// the chunk's y into the result.
LogicalResult tileSequence(RewriterBase &rewriter, SsmScanOp op, int64_t tile) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  ReifiedRankedShapedTypeDims shapes;
  if (failed(reifyResultShapes(rewriter, op, shapes)))
    return op.emitOpError("cannot reify its result shapes");
  Value yInit = tensor::EmptyOp::create(rewriter, loc, shapes[0],
                                        op.getY().getType().getElementType());
  Value stateInit = op.getInitialState();
  if (!stateInit) {
    FailureOr<Value> zeros =
        createFilled(rewriter, loc, op, 1, rewriter.getF32Type(),
                     rewriter.getF32FloatAttr(0));
    if (failed(zeros))
      return op.emitOpError("cannot reify its result shapes");
    stateInit = *zeros;
  }
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value length = getValueOrCreateConstantIndexOp(
      rewriter, loc, tensor::getMixedSize(rewriter, loc, op.getX(), 1));
  Value step = arith::ConstantIndexOp::create(rewriter, loc, tile);
  auto loop = scf::ForOp::create(
      rewriter, loc, zero, length, step, ValueRange{yInit, stateInit},
      [&](OpBuilder &b, Location, Value t0, ValueRange args) {
        OpFoldResult size = tileExtent(b, loc, t0, tile, length);
        auto chunk = [&](Value value) {
          return value ? sliceAlong(b, loc, value, 1, t0, size) : value;
        };
        Value x = chunk(op.getX());
        auto yType = cast<RankedTensorType>(x.getType());
        auto scan = SsmScanOp::create(
            b, loc, TypeRange{yType, args[1].getType()}, x, chunk(op.getDt()),
            op.getA(), chunk(op.getB()), chunk(op.getC()), op.getD(),
            chunk(op.getZ()), op.getDtBias(), args[1], op.getDtSoftplusAttr(),
            op.getDtLimitAttr());
        int64_t rank = 4;
        SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes;
        SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
        for (int64_t i = 0; i < rank; ++i)
          sizes.push_back(tensor::getMixedSize(b, loc, x, i));
        offsets[1] = t0;
        Value y = tensor::InsertSliceOp::create(b, loc, scan.getY(), args[0],
                                                offsets, sizes, strides);
        scf::YieldOp::create(b, loc, ValueRange{y, scan.getFinalState()});
      });
  rewriter.replaceOp(op, loop.getResults());
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct WeftTilePass : weft::impl::WeftTilePassBase<WeftTilePass> {
  using WeftTilePassBase::WeftTilePassBase;

  void runOnOperation() override {
    for (ArrayRef<int64_t> list :
         {ArrayRef<int64_t>(tileSizes), ArrayRef<int64_t>(linearTileSizes),
          ArrayRef<int64_t>(normTileSizes),
          ArrayRef<int64_t>(attentionTileSizes),
          ArrayRef<int64_t>(ssmScanTileSizes)})
      for (int64_t size : list)
        if (size < 0) {
          emitError(getOperation()->getLoc())
              << "weft-tile: tile sizes must be >= 0, got " << size;
          return signalPassFailure();
        }
    if (!target.empty() && target != "cpu") {
      emitError(getOperation()->getLoc())
          << "weft-tile: unknown target '" << target << "' (expected cpu)";
      return signalPassFailure();
    }
    SmallVector<TilingInterface> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<LinearOp, QLinearOp, RmsNormOp, LayerNormOp, SsmScanOp,
              AttentionOp>(op))
        if (auto tileable = dyn_cast<TilingInterface>(op))
          ops.push_back(tileable);
    });
    IRRewriter rewriter(&getContext());
    for (TilingInterface op : ops)
      if (failed(tile(rewriter, op, getSizes(op))))
        return signalPassFailure();
  }

  /// The sizes for `op`: its family's option, else `tile-sizes` (parallel
  /// loops only), else the target's defaults.
  OpTileSizes getSizes(TilingInterface op) {
    size_t loops = op.getLoopIteratorTypes().size();
    ArrayRef<int64_t> family =
        TypeSwitch<Operation *, ArrayRef<int64_t>>(op)
            .Case<LinearOp, QLinearOp>(
                [&](auto) { return ArrayRef<int64_t>(linearTileSizes); })
            .Case<RmsNormOp, LayerNormOp>(
                [&](auto) { return ArrayRef<int64_t>(normTileSizes); })
            .Case<AttentionOp>(
                [&](auto) { return ArrayRef<int64_t>(attentionTileSizes); })
            .Case<SsmScanOp>(
                [&](auto) { return ArrayRef<int64_t>(ssmScanTileSizes); });
    OpTileSizes sizes;
    if (!family.empty()) {
      sizes.parallel.assign(family.begin(), family.end());
      if (sizes.parallel.size() > loops)
        sizes.sequential = sizes.parallel[loops];
    } else if (!tileSizes.empty()) {
      sizes.parallel.assign(tileSizes.begin(), tileSizes.end());
    } else if (target == "cpu") {
      sizes = getCpuSizes(op, loops);
    }
    sizes.parallel.resize(loops, 0);
    // A tile of all the (static) heads leaves them untiled.
    int64_t heads = ShapedType::kDynamic;
    if (auto attention = dyn_cast<AttentionOp>(op.getOperation()))
      heads = attention.getQ().getType().getDimSize(2);
    else if (auto scan = dyn_cast<SsmScanOp>(op.getOperation()))
      heads = scan.getX().getType().getDimSize(2);
    if (!ShapedType::isDynamic(heads) && sizes.parallel[1] >= heads)
      sizes.parallel[1] = 0;
    return sizes;
  }

  /// The defaults of target=cpu (see the pass description).
  static OpTileSizes getCpuSizes(TilingInterface op, size_t loops) {
    OpTileSizes sizes;
    sizes.explicitlyGiven = false;
    if (isa<RmsNormOp, LayerNormOp>(op)) {
      // Blocks of 32 rows of the last leading dim, single rows before it.
      sizes.parallel.assign(loops, 1);
      if (loops)
        sizes.parallel.back() = 32;
    } else if (isa<SsmScanOp>(op)) {
      // One task per (batch row, head), as the lowering's own tasks.
      sizes.parallel = {1, 1};
    } else if (isa<AttentionOp>(op)) {
      // One batch row per tile; heads and queries are the lowering's tasks.
      sizes.parallel = {1};
    }
    return sizes;
  }

  /// Why `op` cannot take the parallel tiles `sizes`, or an empty string.
  static std::string whyNotTileParallel(Operation *op,
                                        ArrayRef<int64_t> sizes) {
    std::string reason;
    llvm::raw_string_ostream os(reason);
    if (isa<LinearOp, QLinearOp, RmsNormOp, LayerNormOp>(op) &&
        cast<RankedTensorType>(op->getResult(0).getType())
            .isDynamicDim(
                cast<RankedTensorType>(op->getResult(0).getType()).getRank() -
                1))
      os << "cannot be tiled: the last dim of the result must be static";
    else if (auto qlinear = dyn_cast<QLinearOp>(op)) {
      int64_t n = qlinear.getQweight().getType().getDimSize(0);
      if (sizes.back() != 0 && n % sizes.back() != 0)
        os << "cannot be tiled by " << sizes.back() << " along N = " << n
           << ": the tile must divide N (quantized weights keep static "
              "shapes)";
    } else if (auto attention = dyn_cast<AttentionOp>(op)) {
      int64_t heads = attention.getQ().getType().getDimSize(2);
      int64_t group = attention.getGroupSize();
      int64_t tile = sizes[1];
      if (tile != 0 && tile < heads &&
          (heads % tile != 0 || (tile % group != 0 && group % tile != 0)))
        os << "cannot tile " << heads << " query heads by " << tile
           << ": the tile must divide Hq and cover whole groups of " << group
           << " query heads per kv head or divide that group";
    } else if (auto scan = dyn_cast<SsmScanOp>(op)) {
      int64_t heads = scan.getX().getType().getDimSize(2);
      int64_t groups = scan.getB().getType().getDimSize(2);
      int64_t tile = sizes[1];
      if (tile != 0 &&
          (ShapedType::isDynamic(heads) || ShapedType::isDynamic(groups)))
        os << "cannot tile heads: H and G must be static";
      else if (tile != 0 && tile < heads &&
               (heads % tile != 0 ||
                (tile % (heads / groups) != 0 && (heads / groups) % tile != 0)))
        os << "cannot tile " << heads << " heads by " << tile
           << ": the tile must divide H and cover whole groups of "
           << heads / groups << " heads or divide that group";
    }
    return reason;
  }

  /// Why `op` cannot take the sequential tile `size`, or an empty string.
  static std::string whyNotTileSequential(Operation *op, int64_t size) {
    if (isa<LinearOp, QLinearOp>(op))
      return whyNotTileK(op, size).empty()
                 ? ""
                 : "cannot tile K by " + std::to_string(size) + ": " +
                       whyNotTileK(op, size);
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      std::string reason = whyNotTileKeys(attention);
      return reason.empty() ? "" : "cannot tile keys: " + reason;
    }
    return "";
  }

  LogicalResult tile(IRRewriter &rewriter, TilingInterface op,
                     const OpTileSizes &sizes) {
    bool parallel =
        llvm::any_of(sizes.parallel, [](int64_t size) { return size != 0; });
    int64_t sequential = sizes.sequential;
    if (isa<RmsNormOp, LayerNormOp>(op))
      sequential = 0;
    if (!parallel && !sequential)
      return success();
    // Empty results: nothing to tile (and slices of static empty tensors
    // would be folded into out-of-bounds ones).
    auto hasEmptyDim = [](Value value) {
      return llvm::is_contained(
          cast<RankedTensorType>(value.getType()).getShape(), 0);
    };
    if (llvm::any_of(op->getResults(), hasEmptyDim) ||
        llvm::any_of(op->getOperands(), hasEmptyDim))
      return success();
    std::string reason = parallel ? whyNotTileParallel(op, sizes.parallel) : "";
    if (reason.empty() && sequential)
      reason = whyNotTileSequential(op, sequential);
    if (!reason.empty()) {
      if (!sizes.explicitlyGiven)
        return success();
      return op->emitOpError(reason);
    }

    Operation *inner = op;
    if (parallel) {
      scf::SCFTilingOptions options;
      options.setTileSizes(
          getAsIndexOpFoldResult(&getContext(), sizes.parallel));
      if (useForall)
        options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, op, options);
      if (failed(tiled))
        return op.emitError("weft-tile: tiling failed");
      rewriter.replaceOp(op, tiled->replacements);
      inner = tiled->tiledOps.front();
    }
    if (!sequential)
      return success();
    if (isa<LinearOp, QLinearOp>(inner)) {
      int64_t k = cast<RankedTensorType>(inner->getOperand(0).getType())
                      .getShape()
                      .back();
      if (sequential < k)
        tileK(rewriter, inner, sequential);
      return success();
    }
    if (auto attention = dyn_cast<AttentionOp>(inner))
      return tileKeys(rewriter, attention, sequential);
    if (auto scan = dyn_cast<SsmScanOp>(inner))
      return tileSequence(rewriter, scan, sequential);
    return success();
  }
};

} // namespace
