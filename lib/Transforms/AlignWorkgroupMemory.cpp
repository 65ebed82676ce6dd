//===- AlignWorkgroupMemory.cpp - aligned shared memory of kernels --------===//
//
// Tensor-core loads and stores need 32-byte aligned shared memory; a
// workgroup buffer is otherwise aligned to its element type only.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTALIGNWORKGROUPMEMORYPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

namespace {
struct WeftAlignWorkgroupMemoryPass
    : weft::impl::WeftAlignWorkgroupMemoryPassBase<
          WeftAlignWorkgroupMemoryPass> {
  using WeftAlignWorkgroupMemoryPassBase::WeftAlignWorkgroupMemoryPassBase;

  void runOnOperation() override {
    if (alignment <= 0 || (alignment & (alignment - 1))) {
      getOperation().emitError("weft-align-workgroup-memory: alignment must "
                               "be a power of two, got ")
          << alignment;
      return signalPassFailure();
    }
    StringRef name = LLVM::LLVMDialect::getAlignAttrName();
    getOperation().walk([&](gpu::GPUFuncOp func) {
      Builder builder(func.getContext());
      for (unsigned i = 0, e = func.getNumWorkgroupAttributions(); i < e; ++i) {
        auto current = dyn_cast_or_null<IntegerAttr>(
            func.getWorkgroupAttributionAttr(i, name));
        if (current && current.getInt() >= alignment)
          continue;
        func.setWorkgroupAttributionAttr(i, name,
                                         builder.getI64IntegerAttr(alignment));
      }
    });
  }
};
} // namespace
