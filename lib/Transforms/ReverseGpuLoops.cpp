//===- ReverseGpuLoops.cpp - run GPU-mapped loops backwards ---------------===//
//
// A checking aid for the thread-block kernels on the CPU: reversing the order
// in which the ids of a block, warp or thread loop are visited exposes phases
// whose result depends on that order.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTREVERSEGPULOOPSPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

/// True for a loop whose ids are GPU blocks, warps or threads.
static bool isMappedToGpu(scf::ForallOp loop) {
  std::optional<ArrayAttr> mapping = loop.getMapping();
  if (!mapping || mapping->empty())
    return false;
  return llvm::all_of(*mapping, [](Attribute attr) {
    return isa<gpu::GPUBlockMappingAttr, gpu::GPUWarpMappingAttr,
               gpu::GPUThreadMappingAttr, gpu::GPULaneMappingAttr>(attr);
  });
}

/// Replaces the uses of each induction variable i of `loop` by
/// last - (i - lb), last = lb + ((ub - lb - 1) / step) * step: the same ids,
/// visited in reverse order. Loops with no iteration are never entered.
static void reverse(scf::ForallOp loop) {
  OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
  Location loc = loop.getLoc();
  SmallVector<Value> lbs =
      getValueOrCreateConstantIndexOp(b, loc, loop.getMixedLowerBound());
  SmallVector<Value> ubs =
      getValueOrCreateConstantIndexOp(b, loc, loop.getMixedUpperBound());
  SmallVector<Value> steps =
      getValueOrCreateConstantIndexOp(b, loc, loop.getMixedStep());
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [iv, lb, ub, step] :
       llvm::zip_equal(loop.getInductionVars(), lbs, ubs, steps)) {
    Value span = arith::SubIOp::create(
        b, loc, arith::SubIOp::create(b, loc, ub, lb), one);
    Value last = arith::AddIOp::create(
        b, loc, lb,
        arith::MulIOp::create(
            b, loc, arith::DivUIOp::create(b, loc, span, step), step));
    Value offset = arith::SubIOp::create(b, loc, iv, lb);
    auto reversed = arith::SubIOp::create(b, loc, last, offset);
    iv.replaceAllUsesExcept(reversed, offset.getDefiningOp());
  }
}

namespace {
struct WeftReverseGpuLoopsPass
    : weft::impl::WeftReverseGpuLoopsPassBase<WeftReverseGpuLoopsPass> {
  void runOnOperation() override {
    getOperation().walk([](scf::ForallOp loop) {
      if (isMappedToGpu(loop))
        reverse(loop);
    });
  }
};
} // namespace
