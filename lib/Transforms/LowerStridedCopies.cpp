//===- LowerStridedCopies.cpp - strided memref.copy to linalg.copy --------===//

#include "weft/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTLOWERSTRIDEDCOPIESPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

/// True when finalize-memref-to-llvm lowers a copy from/to `type` to memcpy.
static bool isContiguous(Type type) {
  auto memref = cast<MemRefType>(type);
  return memref.getLayout().isIdentity() ||
         (memref.hasStaticShape() &&
          memref.areTrailingDimsContiguous(memref.getRank()));
}

namespace {
struct WeftLowerStridedCopiesPass
    : weft::impl::WeftLowerStridedCopiesPassBase<WeftLowerStridedCopiesPass> {
  using Base::Base;

  void runOnOperation() override {
    getOperation().walk([&](memref::CopyOp copy) {
      if (!all && isContiguous(copy.getSource().getType()) &&
          isContiguous(copy.getTarget().getType()))
        return;
      OpBuilder builder(copy);
      linalg::CopyOp::create(builder, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    });
  }
};
} // namespace
