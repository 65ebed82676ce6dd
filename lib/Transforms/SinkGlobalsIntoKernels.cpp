//===- SinkGlobalsIntoKernels.cpp - device copies of constant globals -----===//
//
// Kernels must not read host globals: each launch body that uses a
// memref.get_global from outside gets its own clone, and kernel outlining
// then copies the referenced memref.global into the gpu.module.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTSINKGLOBALSINTOKERNELSPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

namespace {
struct WeftSinkGlobalsIntoKernelsPass
    : weft::impl::WeftSinkGlobalsIntoKernelsPassBase<
          WeftSinkGlobalsIntoKernelsPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::LaunchOp launch) {
      Region &body = launch.getBody();
      SmallVector<memref::GetGlobalOp> captured;
      launch.walk([&](Operation *op) {
        for (Value operand : op->getOperands())
          if (auto global = operand.getDefiningOp<memref::GetGlobalOp>())
            if (!body.isAncestor(global->getParentRegion()) &&
                !llvm::is_contained(captured, global))
              captured.push_back(global);
      });
      OpBuilder builder(launch.getContext());
      builder.setInsertionPointToStart(&body.front());
      for (memref::GetGlobalOp global : captured) {
        Operation *clone = builder.clone(*global);
        global.getResult().replaceUsesWithIf(
            clone->getResult(0), [&](OpOperand &use) {
              return body.isAncestor(use.getOwner()->getParentRegion());
            });
      }
    });
  }
};
} // namespace
