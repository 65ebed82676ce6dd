//===- TileContractions.cpp - register-blocked vector contractions --------===//
//
// weft's contractions reduce over K, the contiguous dim of x[..., K] and of
// w[N, K]. Splitting K into (K / L) x L with the L lanes parallel gives one
// f32 vector accumulator per output over the whole of K, loaded contiguously
// from both operands: a register tile of mr x nr outputs is mr x nr FMAs per
// mr + nr vector loads, with no packing copy of w (weights are read once per
// call, so a copy would cost as much as the product at small M). The lanes
// are summed once per output at the end. See Passes.td for the steps.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTTILECONTRACTIONSPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

namespace {

/// Marks the ops of one split contraction while they are tiled (the tiling
/// utilities clone ops with their attributes); removed at the end.
constexpr StringLiteral kLaneSumMarker = "__weft_lane_sum__";
constexpr StringLiteral kLanePartialMarker = "__weft_lane_partial__";
constexpr StringLiteral kTileMarker = "__weft_contraction_tile__";

struct TileSizes {
  int64_t lanes, tileM, tileN, rowTileN, blockN, minBlocks;
};

/// Whether `op` is a contraction that this pass rewrites: an f32
/// accumulator of rank >= 2 indexed by the parallel loops, which come first;
/// input maps that are projections of the loops; a last loop `k` that is a
/// reduction, the innermost dim of every input that reads it, of a static
/// size that is a multiple of `lanes`; a body of plain arithmetic that adds
/// one term to the accumulator.
bool isLaneSplittable(linalg::GenericOp op, int64_t lanes) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0)
    return false;
  unsigned numLoops = op.getNumLoops();
  unsigned numParallel = op.getNumParallelLoops();
  unsigned k = numLoops - 1;
  for (auto [d, iterator] : llvm::enumerate(op.getIteratorTypesArray()))
    if ((iterator == utils::IteratorType::parallel) != (d < numParallel))
      return false;
  OpOperand *init = op.getDpsInitOperand(0);
  auto initType = dyn_cast<RankedTensorType>(init->get().getType());
  if (!initType || !initType.getElementType().isF32() || initType.getRank() < 2)
    return false;
  MLIRContext *context = op.getContext();
  if (op.getMatchingIndexingMap(init) !=
      AffineMap::getMultiDimIdentityMap(numLoops, context)
          .getMajorSubMap(numParallel))
    return false;
  AffineExpr kExpr = getAffineDimExpr(k, context);
  bool readsK = false;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    // What linalg vectorization takes (no floordiv of a GQA head, ...).
    if (!map.isProjectedPermutation())
      return false;
    if (!map.isFunctionOfDim(k))
      continue;
    if (map.getResults().back() != kExpr ||
        !isa<RankedTensorType>(input->get().getType()))
      return false;
    for (AffineExpr expr : map.getResults().drop_back())
      if (expr.isFunctionOfDim(k))
        return false;
    readsK = true;
  }
  int64_t size = op.getStaticLoopRanges()[k];
  if (!readsK || ShapedType::isDynamic(size) || size % lanes != 0)
    return false;
  // The split renumbers loops (no linalg.index) and the vectorizer needs
  // elementwise scalar code.
  Block *body = op.getBody();
  for (Operation &bodyOp : body->without_terminator())
    if (bodyOp.getNumRegions() != 0 ||
        !isa_and_nonnull<arith::ArithDialect>(bodyOp.getDialect()))
      return false;
  Value acc = body->getArguments().back();
  auto add =
      body->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  return add && acc.hasOneUse() && (add.getLhs() == acc || add.getRhs() == acc);
}

/// The two ops that replace a lane-split contraction.
struct LaneSplit {
  linalg::GenericOp partial, sum;
};

/// Rewrites `op` (isLaneSplittable) into
///   partial[P..., l] = sum_{R..., ko} body(in[..., ko, l], ...)
///   acc[P...] += sum_l partial[P..., l]
/// with loops (P..., R..., ko, l) for the first (P: the parallel loops, R:
/// the reductions before k, ko in place of k) and every input that reads k
/// viewed as [..., K/L, L]. The lanes are the last loop, as they are the last
/// dim of every vector read: vectorization then never moves them (a
/// transpose of the lane dim is an element-by-element shuffle).
/// Upstream linalg::splitReduction does this for one reduction loop only and
/// with the lanes before the reduction; qlinear has two (group, k in group).
LaneSplit splitLanes(RewriterBase &rewriter, linalg::GenericOp op,
                     int64_t lanes) {
  Location loc = op.getLoc();
  MLIRContext *context = op.getContext();
  unsigned numLoops = op.getNumLoops();
  unsigned numParallel = op.getNumParallelLoops();
  unsigned k = numLoops - 1, newNumLoops = numLoops + 1;
  int64_t kSize = op.getStaticLoopRanges()[k];
  AffineExpr l = getAffineDimExpr(numLoops, context);
  AffineExpr ko = getAffineDimExpr(k, context);
  rewriter.setInsertionPoint(op);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    map = AffineMap::get(newNumLoops, 0, map.getResults(), context);
    Value value = input->get();
    if (map.isFunctionOfDim(k)) {
      // [..., K] -> [..., K / L, L].
      auto type = cast<RankedTensorType>(value.getType());
      int64_t rank = type.getRank();
      SmallVector<int64_t> shape(type.getShape());
      if (type.isDynamicDim(rank - 1)) {
        shape.back() = kSize;
        value = tensor::CastOp::create(rewriter, loc, type.clone(shape), value);
      }
      shape.back() = kSize / lanes;
      shape.push_back(lanes);
      SmallVector<ReassociationIndices> reassociation;
      for (int64_t d = 0; d < rank - 1; ++d)
        reassociation.push_back({d});
      reassociation.push_back({rank - 1, rank});
      value = tensor::ExpandShapeOp::create(rewriter, loc, type.clone(shape),
                                            value, reassociation);
      SmallVector<AffineExpr> results(map.getResults().drop_back());
      results.append({ko, l});
      map = AffineMap::get(newNumLoops, 0, results, context);
    }
    inputs.push_back(value);
    maps.push_back(map);
  }
  Value init = op.getDpsInits()[0];
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, init);
  sizes.push_back(rewriter.getIndexAttr(lanes));
  Type f32 = rewriter.getF32Type();
  Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, f32);
  Value zero =
      arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0.0));
  Value zeros = linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
  SmallVector<AffineExpr> partialExprs;
  for (unsigned d = 0; d < numParallel; ++d)
    partialExprs.push_back(getAffineDimExpr(d, context));
  partialExprs.push_back(l);
  maps.push_back(AffineMap::get(newNumLoops, 0, partialExprs, context));
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  iterators.push_back(utils::IteratorType::parallel);
  auto partial =
      linalg::GenericOp::create(rewriter, loc, TypeRange{zeros.getType()},
                                inputs, ValueRange{zeros}, maps, iterators);
  rewriter.cloneRegionBefore(op.getRegion(), partial.getRegion(),
                             partial.getRegion().begin());

  SmallVector<AffineMap> sumMaps = {
      AffineMap::getMultiDimIdentityMap(numParallel + 1, context),
      AffineMap::getMultiDimIdentityMap(numParallel + 1, context)
          .getMajorSubMap(numParallel)};
  SmallVector<utils::IteratorType> sumIterators(numParallel,
                                                utils::IteratorType::parallel);
  sumIterators.push_back(utils::IteratorType::reduction);
  auto sum = linalg::GenericOp::create(
      rewriter, loc, TypeRange{init.getType()}, partial.getResult(0), init,
      sumMaps, sumIterators, [](OpBuilder &b, Location nloc, ValueRange args) {
        Value total = arith::AddFOp::create(b, nloc, args[1], args[0]);
        linalg::YieldOp::create(b, nloc, total);
      });
  rewriter.replaceOp(op, sum.getResult(0));
  return {partial, sum};
}

/// Tile sizes for `op`'s loops: per parallel loop in order, `leading` for all
/// but the last two, then `m` and `n`; 0 (untiled) for reduction loops. A
/// tile larger than a static loop is clamped to it.
SmallVector<OpFoldResult> parallelTileSizes(OpBuilder &b, linalg::LinalgOp op,
                                            int64_t leading, int64_t m,
                                            int64_t n) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t numParallel = op.getNumParallelLoops();
  SmallVector<OpFoldResult> sizes;
  int64_t p = 0;
  for (auto [d, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
    int64_t size = 0;
    if (iterator == utils::IteratorType::parallel) {
      size = p < numParallel - 2 ? leading : p == numParallel - 2 ? m : n;
      ++p;
      if (size != 0 && !ShapedType::isDynamic(ranges[d]))
        size = std::min(size, ranges[d]);
    }
    sizes.push_back(b.getIndexAttr(size));
  }
  return sizes;
}

/// Tiles `op` and fuses its producers; returns the tiled and fused ops and
/// the loops (outermost first).
FailureOr<scf::SCFTileAndFuseResult>
tileAndFuse(RewriterBase &rewriter, linalg::LinalgOp op,
            ArrayRef<OpFoldResult> sizes,
            scf::SCFTilingOptions::LoopType loopType) {
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(sizes).setLoopType(loopType);
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling);
  // Only the split's own producers (the lane partial sums and the fills of
  // the accumulators) go into the tiles; whatever computed the inputs stays
  // whole outside.
  options.setFusionControlFn(
      [](tensor::ExtractSliceOp, OpResult producer,
         bool) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        Operation *op = producer.getOwner();
        if (isa<linalg::FillOp>(op) || op->hasAttr(kLanePartialMarker))
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        return std::nullopt;
      });
  rewriter.setInsertionPoint(op);
  auto result = scf::tileConsumerAndFuseProducersUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(result))
    return failure();
  for (Value v : op->getResults())
    rewriter.replaceAllUsesWith(v, result->replacements.lookup(v));
  rewriter.eraseOp(op);
  return result;
}

/// The op of `ops` that carries `marker`.
linalg::LinalgOp findMarked(const llvm::SetVector<Operation *> &ops,
                            StringRef marker) {
  for (Operation *op : ops)
    if (op->hasAttr(marker))
      return cast<linalg::LinalgOp>(op);
  return nullptr;
}

void canonicalize(Operation *root) {
  MLIRContext *context = root->getContext();
  RewritePatternSet patterns(context);
  for (Dialect *dialect : context->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : context->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, context);
  scf::populateSCFForLoopCanonicalizationPatterns(patterns);
  tensor::populateFoldTensorEmptyPatterns(patterns);
  (void)applyPatternsGreedily(root, std::move(patterns));
}

/// Splits, tiles and fuses one contraction into an scf.forall over column
/// blocks; the ops of its tiles are marked with kTileMarker.
LogicalResult tileContraction(RewriterBase &rewriter, linalg::GenericOp op,
                              const TileSizes &tiles) {
  LaneSplit split = splitLanes(rewriter, op, tiles.lanes);
  linalg::LinalgOp sum = split.sum;
  sum->setAttr(kLaneSumMarker, rewriter.getUnitAttr());
  split.partial->setAttr(kLanePartialMarker, rewriter.getUnitAttr());

  // Column blocks as parallel tasks (leading dims one at a time), at least
  // `minBlocks` of them where N allows it so that every thread gets work.
  SmallVector<int64_t> ranges = sum.getStaticLoopRanges();
  int64_t numParallel = sum.getNumParallelLoops();
  // One row of x (GEMV): more rows of w per tile, so that each vector of x
  // serves more weights.
  int64_t tileN = ranges[numParallel - 2] == 1 ? tiles.rowTileN : tiles.tileN;
  int64_t blockN = std::max(tiles.blockN, tileN);
  int64_t n = ranges[numParallel - 1];
  if (!ShapedType::isDynamic(n)) {
    auto even = static_cast<int64_t>(
        llvm::alignTo(llvm::divideCeil(n, tiles.minBlocks), tileN));
    blockN = std::min(blockN, even);
  }
  auto blocks =
      tileAndFuse(rewriter, sum, parallelTileSizes(rewriter, sum, 1, 0, blockN),
                  scf::SCFTilingOptions::LoopType::ForallOp);
  if (failed(blocks))
    return failure();
  for (Operation *tileOp : blocks->tiledAndFusedOps)
    tileOp->setAttr(kTileMarker, rewriter.getUnitAttr());
  sum = findMarked(blocks->tiledAndFusedOps, kLaneSumMarker);

  // Register tiles, with full tiles split from the last partial one.
  auto registerTiles = tileAndFuse(
      rewriter, sum, parallelTileSizes(rewriter, sum, 0, tiles.tileM, tileN),
      scf::SCFTilingOptions::LoopType::ForOp);
  if (failed(registerTiles))
    return failure();
  for (LoopLikeOpInterface loop : llvm::reverse(registerTiles->loops)) {
    scf::ForOp partial;
    (void)scf::peelForLoopAndSimplifyBounds(
        rewriter, cast<scf::ForOp>(loop.getOperation()), partial);
  }
  return success();
}

/// Tiles the partial register tiles by 1 along their dynamic dims, so that
/// every tile has a static shape.
LogicalResult makeTilesStatic(RewriterBase &rewriter, Operation *root) {
  SmallVector<linalg::LinalgOp> dynamicSums;
  root->walk([&](linalg::LinalgOp op) {
    if (op->hasAttr(kLaneSumMarker) && op.hasDynamicShape())
      dynamicSums.push_back(op);
  });
  for (linalg::LinalgOp op : dynamicSums) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<OpFoldResult> sizes;
    for (int64_t range : ranges)
      sizes.push_back(rewriter.getIndexAttr(ShapedType::isDynamic(range)));
    if (failed(tileAndFuse(rewriter, op, sizes,
                           scf::SCFTilingOptions::LoopType::ForOp)))
      return failure();
  }
  return success();
}

/// Tiles the reduction loop of every partial-sum op by 1.
LogicalResult tileReductions(RewriterBase &rewriter, Operation *root) {
  SmallVector<linalg::LinalgOp> partials;
  root->walk([&](linalg::LinalgOp op) {
    if (op->hasAttr(kLanePartialMarker))
      partials.push_back(op);
  });
  for (linalg::LinalgOp op : partials) {
    SmallVector<OpFoldResult> sizes;
    SmallVector<unsigned> reductionDims;
    for (auto [d, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
      bool reduction = iterator == utils::IteratorType::reduction;
      sizes.push_back(rewriter.getIndexAttr(reduction ? 1 : 0));
      if (reduction)
        reductionDims.push_back(d);
    }
    scf::SCFTilingOptions options;
    options.setTileSizes(sizes).setReductionDims(reductionDims);
    rewriter.setInsertionPoint(op);
    auto tiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return failure();
    rewriter.replaceOp(op, tiled->replacements);
  }
  return success();
}

/// Vectorizes every (static) linalg op of the tiles.
LogicalResult vectorizeTiles(RewriterBase &rewriter, Operation *root) {
  SmallVector<linalg::LinalgOp> ops;
  root->walk([&](linalg::LinalgOp op) {
    if (op->hasAttr(kTileMarker))
      ops.push_back(op);
  });
  for (linalg::LinalgOp op : ops) {
    if (op.hasDynamicShape())
      return op->emitError("tile with a dynamic shape left to vectorize");
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, op);
    if (failed(result))
      return op->emitError("cannot vectorize the tile");
    rewriter.replaceOp(op, result->replacements);
  }
  return success();
}

/// In `loop`, a carried vector updated as `acc + t * s` (possibly through a
/// shape_cast) with `s` defined outside the loop becomes a sum of `t` alone,
/// multiplied by `s` once after the loop: the qlinear scale is constant
/// within a group, so each lane then costs one FMA instead of a multiply
/// and an FMA.
void factorLoopInvariantScales(RewriterBase &rewriter, scf::ForOp loop) {
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  for (auto [i, iterArg] : llvm::enumerate(loop.getRegionIterArgs())) {
    auto type = dyn_cast<VectorType>(iterArg.getType());
    auto add = yield.getOperand(i).getDefiningOp<arith::AddFOp>();
    if (!type || !add || !iterArg.hasOneUse() || add.getLhs() != iterArg ||
        !add->hasOneUse())
      continue;
    Value term = add.getRhs();
    auto shapeCast = term.getDefiningOp<vector::ShapeCastOp>();
    auto mul = (shapeCast ? shapeCast.getSource() : term)
                   .getDefiningOp<arith::MulFOp>();
    if (!mul || !mul->hasOneUse() || (shapeCast && !shapeCast->hasOneUse()))
      continue;
    Value scale = mul.getRhs();
    if (loop->isAncestor(scale.getParentRegion()->getParentOp()))
      continue;
    // In the loop: acc + t.
    rewriter.setInsertionPoint(add);
    Value t = mul.getLhs();
    if (shapeCast)
      t = vector::ShapeCastOp::create(rewriter, shapeCast.getLoc(), type, t);
    rewriter.modifyOpInPlace(add, [&] { add.getRhsMutable().assign(t); });
    // Before: a zero sum; after: init + sum * s.
    Value init = loop.getInitArgs()[i];
    rewriter.setInsertionPoint(loop);
    Value zeros = arith::ConstantOp::create(
        rewriter, loop.getLoc(), type,
        DenseElementsAttr::get(
            type, rewriter.getFloatAttr(type.getElementType(), 0.0)));
    rewriter.modifyOpInPlace(
        loop, [&] { loop.getInitArgsMutable()[i].assign(zeros); });
    rewriter.setInsertionPointAfter(loop);
    Value sum = loop.getResult(i);
    Value scaled = sum;
    auto scaleType = cast<VectorType>(scale.getType());
    if (scaleType != type)
      scaled = vector::ShapeCastOp::create(rewriter, loop.getLoc(), scaleType,
                                           scaled);
    Operation *firstUse = scaled.getDefiningOp();
    scaled = arith::MulFOp::create(rewriter, loop.getLoc(), scaled, scale);
    if (!firstUse)
      firstUse = scaled.getDefiningOp();
    if (scaleType != type)
      scaled =
          vector::ShapeCastOp::create(rewriter, loop.getLoc(), type, scaled);
    Value total = arith::AddFOp::create(rewriter, loop.getLoc(), init, scaled);
    rewriter.replaceAllUsesExcept(sum, total, firstUse);
    if (shapeCast)
      rewriter.eraseOp(shapeCast);
    rewriter.eraseOp(mul);
  }
}

struct WeftTileContractionsPass
    : weft::impl::WeftTileContractionsPassBase<WeftTileContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (lanes < 1 || tileM < 1 || tileN < 1 || rowTileN < 1 || minBlocks < 1 ||
        blockN < tileN) {
      getOperation().emitError(
          "weft-tile-contractions: lanes, tile-m, tile-n, row-tile-n and "
          "min-blocks must be >= 1 and block-n >= tile-n");
      return signalPassFailure();
    }
    TileSizes tiles{lanes, tileM, tileN, rowTileN, blockN, minBlocks};
    SmallVector<linalg::GenericOp> contractions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isLaneSplittable(op, tiles.lanes))
        contractions.push_back(op);
    });
    if (contractions.empty())
      return;

    IRRewriter rewriter(&getContext());
    Operation *root = getOperation();
    for (linalg::GenericOp op : contractions) {
      if (failed(tileContraction(rewriter, op, tiles))) {
        op->emitError("weft-tile-contractions: cannot tile the contraction");
        return signalPassFailure();
      }
    }
    // Peeled loops get static tile sizes.
    canonicalize(root);
    if (failed(makeTilesStatic(rewriter, root)))
      return signalPassFailure();
    canonicalize(root);
    if (failed(tileReductions(rewriter, root)) ||
        failed(vectorizeTiles(rewriter, root)))
      return signalPassFailure();
    canonicalize(getOperation());
    // Accumulators: read before the reduction loop, written after it.
    getOperation().walk([&](scf::ForOp loop) {
      (void)hoistLoopInvariantSubsets(rewriter, loop);
    });
    // Per-group scales out of the innermost reduction loops.
    getOperation().walk([&](scf::ForOp loop) {
      if (llvm::any_of(loop.getRegionIterArgs(), [](Value arg) {
            return isa<VectorType>(arg.getType());
          })) {
        moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
        factorLoopInvariantScales(rewriter, loop);
      }
    });
    canonicalize(getOperation());
    getOperation().walk([&](Operation *op) {
      op->removeAttr(kLaneSumMarker);
      op->removeAttr(kLanePartialMarker);
      op->removeAttr(kTileMarker);
    });
  }
};

} // namespace
