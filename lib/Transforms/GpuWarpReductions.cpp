//===- GpuWarpReductions.cpp - one warp per reduced output element --------===//
//
// Sum and max reductions over a contiguous innermost dimension (the K of
// every contraction, the keys of a softmax) become kernels in which a warp's
// lanes split that dimension, so that neighbouring lanes read neighbouring
// elements, and a shuffle butterfly combines the lanes.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTGPUWARPREDUCTIONSPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

static constexpr int64_t kWarpSize = 32;

/// How a reduction body combines the output with the value it computes:
/// `out + value` or `max(out, value)`.
enum class Combiner { Add, Max };

/// The combiner of `op` when it is a buffer generic whose loops are parallel
/// dimensions then at least one reduction dimension, with one f32 output
/// that only the combining op reads.
static std::optional<Combiner> getCombiner(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0)
    return std::nullopt;
  unsigned numParallel = op.getNumParallelLoops();
  for (auto [i, type] : llvm::enumerate(op.getIteratorTypesArray()))
    if ((i < numParallel) != (type == utils::IteratorType::parallel))
      return std::nullopt;
  if (!op.getIndexingMapsArray().back().isProjectedPermutation())
    return std::nullopt;
  // Lanes split the innermost reduction dimension: worth it when that is
  // the contiguous dimension of every input it indexes (K of x and w, the
  // keys of a score row). Otherwise (the keys of attention's product with V,
  // rows of V) one thread per output element, with neighbouring threads on
  // neighbouring elements of the last parallel dimension, reads better.
  AffineExpr innermost =
      getAffineDimExpr(op.getNumLoops() - 1, op.getContext());
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!map.isFunctionOfDim(op.getNumLoops() - 1))
      continue;
    if (map.getNumResults() == 0 || map.getResults().back() != innermost)
      return std::nullopt;
  }
  Block &body = op.getRegion().front();
  Value out = body.getArguments().back();
  if (!out.getType().isF32() || !out.hasOneUse())
    return std::nullopt;
  Operation *combine = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combine || !llvm::is_contained(combine->getOperands(), out) ||
      combine->getOperand(0) == combine->getOperand(1))
    return std::nullopt;
  if (isa<arith::AddFOp>(combine))
    return Combiner::Add;
  if (isa<arith::MaximumFOp>(combine))
    return Combiner::Max;
  return std::nullopt;
}

static Value combine(OpBuilder &b, Location loc, Combiner combiner, Value lhs,
                     Value rhs) {
  if (combiner == Combiner::Add)
    return arith::AddFOp::create(b, loc, lhs, rhs);
  return arith::MaximumFOp::create(b, loc, lhs, rhs);
}

static bool insideTask(Operation *op) {
  return op->getParentOfType<scf::ForallOp>() ||
         op->getParentOfType<scf::ParallelOp>() ||
         op->getParentOfType<gpu::LaunchOp>();
}

/// `map`'s results at `ivs`, as index values.
static SmallVector<Value> applyMap(OpBuilder &b, Location loc, AffineMap map,
                                   ValueRange ivs) {
  SmallVector<Value> indices;
  for (unsigned i = 0; i < map.getNumResults(); ++i)
    indices.push_back(
        affine::AffineApplyOp::create(b, loc, map.getSubMap({i}), ivs));
  return indices;
}

/// The body of the innermost reduction loop: loads every input at `ivs` and
/// returns `acc + value` as the generic's body computes it.
static Value accumulate(OpBuilder &b, Location loc, linalg::GenericOp op,
                        ValueRange ivs, Value acc) {
  Block &body = op.getRegion().front();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    Value element = memref::LoadOp::create(b, loc, input->get(),
                                           applyMap(b, loc, map, ivs));
    mapping.map(body.getArgument(input->getOperandNumber()), element);
  }
  mapping.map(body.getArguments().back(), acc);
  for (Operation &inner : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      mapping.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    b.clone(inner, mapping);
  }
  return mapping.lookup(body.getTerminator()->getOperand(0));
}

static void rewrite(linalg::GenericOp op, Combiner combiner, int64_t warps) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<Value> sizes;
  for (Range range :
       cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc))
    sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, range.size));
  unsigned numParallel = op.getNumParallelLoops();
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value total = one;
  for (unsigned i = 0; i < numParallel; ++i)
    total = arith::MulIOp::create(b, loc, total, sizes[i]);
  Value warpsPerBlock = arith::ConstantIndexOp::create(b, loc, warps);
  Value lanes = arith::ConstantIndexOp::create(b, loc, kWarpSize);
  Value blocks = arith::CeilDivUIOp::create(b, loc, total, warpsPerBlock);
  auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one, lanes,
                                      warpsPerBlock, one);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value lane = launch.getThreadIds().x;
  Value element = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, launch.getBlockIds().x, warpsPerBlock),
      launch.getThreadIds().y);
  // Whole warps take this branch or not: the shuffles below see all lanes.
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, element, total);
  auto ifOp = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());

  // Parallel indices, the last dimension fastest.
  SmallVector<Value> ivs(sizes.size());
  Value rest = element;
  for (int i = numParallel - 1; i >= 0; --i) {
    ivs[i] = arith::RemUIOp::create(b, loc, rest, sizes[i]);
    rest = arith::DivUIOp::create(b, loc, rest, sizes[i]);
  }

  // Outer reduction dimensions in every lane, the innermost split by lane.
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  // Each lane starts from the combiner's identity; the output's initial
  // value joins once, at the end.
  Value acc = arith::ConstantFloatOp::create(
      b, loc, b.getF32Type(),
      combiner == Combiner::Add ? APFloat(0.0f)
                                : APFloat::getInf(APFloat::IEEEsingle(),
                                                  /*Negative=*/true));
  std::function<Value(OpBuilder &, unsigned, Value)> reduce =
      [&](OpBuilder &nb, unsigned dim, Value init) -> Value {
    bool innermost = dim + 1 == sizes.size();
    auto loop = scf::ForOp::create(nb, loc, innermost ? lane : zero, sizes[dim],
                                   innermost ? lanes : one, ValueRange{init});
    OpBuilder::InsertionGuard guard(nb);
    nb.setInsertionPointToStart(loop.getBody());
    ivs[dim] = loop.getInductionVar();
    Value carried = loop.getRegionIterArgs()[0];
    Value next = innermost ? accumulate(nb, loc, op, ivs, carried)
                           : reduce(nb, dim + 1, carried);
    scf::YieldOp::create(nb, loc, next);
    return loop.getResult(0);
  };
  acc = reduce(b, numParallel, acc);

  // Butterfly: afterwards every lane holds the warp's result.
  Value width = arith::ConstantIntOp::create(b, loc, kWarpSize, 32);
  for (int64_t offset = kWarpSize / 2; offset >= 1; offset /= 2) {
    Value distance = arith::ConstantIntOp::create(b, loc, offset, 32);
    auto shuffle = gpu::ShuffleOp::create(b, loc, acc, distance, width,
                                          gpu::ShuffleMode::XOR);
    acc = combine(b, loc, combiner, acc, shuffle.getShuffleResult());
  }

  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, zero);
  auto store = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&store.getThenRegion().front());
  // The output map reads parallel dimensions only; the reduction indices
  // (loop values out of scope here) are replaced by zeros.
  OpOperand *output = op.getDpsInitOperand(0);
  SmallVector<Value> outputIvs(ivs.begin(), ivs.begin() + numParallel);
  outputIvs.append(sizes.size() - numParallel, zero);
  SmallVector<Value> indices =
      applyMap(b, loc, op.getMatchingIndexingMap(output), outputIvs);
  Value init = memref::LoadOp::create(b, loc, output->get(), indices);
  memref::StoreOp::create(b, loc, combine(b, loc, combiner, init, acc),
                          output->get(), indices);

  b.setInsertionPointToEnd(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
  op.erase();
}

namespace {
struct WeftGpuWarpReductionsPass
    : weft::impl::WeftGpuWarpReductionsPassBase<WeftGpuWarpReductionsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (warps < 1 || warps * kWarpSize > 1024) {
      getOperation().emitError("weft-gpu-warp-reductions: warps must be in "
                               "[1, 32], got ")
          << warps;
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::GenericOp, Combiner>> reductions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (insideTask(op))
        return;
      if (std::optional<Combiner> combiner = getCombiner(op))
        reductions.push_back({op, *combiner});
    });
    for (auto [op, combiner] : reductions)
      rewrite(op, combiner, warps);
  }
};
} // namespace
