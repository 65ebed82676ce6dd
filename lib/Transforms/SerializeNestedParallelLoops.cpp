//===- SerializeNestedParallelLoops.cpp - serial inner parallel loops -----===//

#include "weft/Transforms/LoopUtils.h"
#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTSERIALIZENESTEDPARALLELLOOPSPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

void weft::serializeParallelLoop(scf::ParallelOp loop) {
  OpBuilder builder(loop);
  scf::buildLoopNest(
      builder, loop.getLoc(), loop.getLowerBound(), loop.getUpperBound(),
      loop.getStep(), [&](OpBuilder &b, Location, ValueRange ivs) {
        IRMapping mapping;
        mapping.map(loop.getInductionVars(), ivs);
        for (Operation &op : loop.getBody()->without_terminator())
          b.clone(op, mapping);
      });
  loop.erase();
}

namespace {
struct WeftSerializeNestedParallelLoopsPass
    : weft::impl::WeftSerializeNestedParallelLoopsPassBase<
          WeftSerializeNestedParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> nested;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (loop.getNumReductions() == 0 &&
          (loop->getParentOfType<scf::ForOp>() ||
           loop->getParentOfType<scf::WhileOp>() ||
           loop->getParentOfType<scf::ParallelOp>()))
        nested.push_back(loop);
    });
    // Innermost first (the walk is post-order), so that cloned bodies never
    // hold a loop still listed.
    for (scf::ParallelOp loop : nested)
      weft::serializeParallelLoop(loop);
  }
};
} // namespace
