//===- MapParallelLoopsToGpu.cpp - loop nests onto blocks and threads -----===//
//
// Decides which loops of a bufferized function become GPU kernels and how
// their dimensions map onto the grid; convert-parallel-loops-to-gpu then
// builds the gpu.launch ops from the `mapping` attributes set here.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/LoopUtils.h"
#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTMAPPARALLELLOOPSTOGPUPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using gpu::Processor;

static bool containsParallelLoop(Operation *op) {
  return op->walk([](scf::ParallelOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Sets the mapping of `loop`'s dimensions, given from the last dimension
/// backwards; dimensions beyond `fromLast` run sequentially.
static LogicalResult setMapping(scf::ParallelOp loop,
                                ArrayRef<Processor> fromLast) {
  MLIRContext *context = loop.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  unsigned rank = loop.getNumLoops();
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping;
  for (unsigned dim = 0; dim < rank; ++dim) {
    unsigned back = rank - 1 - dim;
    Processor processor =
        back < fromLast.size() ? fromLast[back] : Processor::Sequential;
    mapping.push_back(gpu::ParallelLoopDimMappingAttr::get(context, processor,
                                                           identity, identity));
  }
  return gpu::setMappingAttr(loop, mapping);
}

/// Moves `op` into a one-iteration parallel loop that runs on one thread of
/// one block.
static LogicalResult wrapInSingleThread(Operation *op) {
  OpBuilder builder(op);
  Location loc = op->getLoc();
  Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
  Value one = arith::ConstantIndexOp::create(builder, loc, 1);
  auto loop = scf::ParallelOp::create(builder, loc, ValueRange{zero},
                                      ValueRange{one}, ValueRange{one});
  op->moveBefore(loop.getBody()->getTerminator());
  return setMapping(loop, {Processor::BlockX});
}

namespace {
struct WeftMapParallelLoopsToGpuPass
    : weft::impl::WeftMapParallelLoopsToGpuPassBase<
          WeftMapParallelLoopsToGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    if (threads <= 0 || threads > 1024) {
      getOperation().emitError("weft-map-parallel-loops-to-gpu: threads must "
                               "be in [1, 1024], got ")
          << threads;
      return signalPassFailure();
    }
    if (failed(serializeNestedLoops()) || failed(wrapSequentialNests()) ||
        failed(tileAndMapOutermostLoops()))
      signalPassFailure();
  }

  /// One level of parallelism is mapped: inner parallel loops run in order
  /// inside the thread that reaches them.
  LogicalResult serializeNestedLoops() {
    SmallVector<scf::ParallelOp> nested;
    WalkResult result = getOperation().walk([&](scf::ParallelOp loop) {
      if (loop.getNumReductions() != 0) {
        loop.emitError("parallel loops with reductions are not supported "
                       "by the GPU mapping");
        return WalkResult::interrupt();
      }
      if (loop->getParentOfType<scf::ParallelOp>())
        nested.push_back(loop);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return failure();
    // Post-order: innermost first, so cloned bodies hold no listed loop.
    for (scf::ParallelOp loop : nested)
      weft::serializeParallelLoop(loop);
    return success();
  }

  /// Loop nests without parallel loops, and stores outside any loop, run on
  /// one GPU thread instead of on the host.
  LogicalResult wrapSequentialNests() {
    SmallVector<Operation *> toWrap;
    getOperation().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<scf::ParallelOp, gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (isa<scf::ForOp, scf::WhileOp>(op)) {
        if (containsParallelLoop(op))
          return WalkResult::advance();
        // A loop whose results the host uses (scalars, buffers) stays on the
        // host, reading unified memory.
        if (op->getNumResults() == 0)
          toWrap.push_back(op);
        return WalkResult::skip();
      }
      if (isa<memref::StoreOp>(op))
        toWrap.push_back(op);
      return WalkResult::advance();
    });
    for (Operation *op : toWrap)
      if (failed(wrapInSingleThread(op)))
        return failure();
    return success();
  }

  LogicalResult tileAndMapOutermostLoops() {
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost) {
      if (loop->hasAttr(gpu::getMappingAttrName()))
        continue; // a single-thread wrapper
      SmallVector<int64_t> tileSizes(loop.getNumLoops(), 1);
      tileSizes.back() = threads;
      auto [outer, inner] =
          scf::tileParallelLoop(loop, tileSizes, /*noMinMaxBounds=*/false);
      if (failed(setMapping(outer, {Processor::BlockX, Processor::BlockY,
                                    Processor::BlockZ})) ||
          failed(setMapping(inner, {Processor::ThreadX})))
        return failure();
    }
    // Folds the tile arithmetic to constants: convert-parallel-loops-to-gpu
    // needs the constant tile size inside the inner bound's affine.min to
    // size the block.
    GreedyRewriteConfig config;
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    (void)applyPatternsGreedily(getOperation(), FrozenRewritePatternSet(),
                                config);
    return success();
  }
};
} // namespace
