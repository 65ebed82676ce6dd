//===- Tile.cpp - tiling weft ops into loops over tiles -------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTTILEPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

struct WeftTilePass : weft::impl::WeftTilePassBase<WeftTilePass> {
  using WeftTilePassBase::WeftTilePassBase;

  void runOnOperation() override {
    for (int64_t size : tileSizes)
      if (size < 0) {
        emitError(getOperation()->getLoc())
            << "weft-tile: tile sizes must be >= 0, got " << size;
        return signalPassFailure();
      }
    SmallVector<TilingInterface> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<LinearOp, QLinearOp, RmsNormOp>(op))
        if (auto tileable = dyn_cast<TilingInterface>(op))
          ops.push_back(tileable);
    });
    IRRewriter rewriter(&getContext());
    for (TilingInterface op : ops)
      if (failed(tile(rewriter, op)))
        return signalPassFailure();
  }

  LogicalResult tile(IRRewriter &rewriter, TilingInterface op) {
    size_t loops = op.getLoopIteratorTypes().size();
    SmallVector<int64_t> sizes(tileSizes.begin(), tileSizes.end());
    sizes.resize(loops, 0);
    if (llvm::all_of(sizes, [](int64_t size) { return size == 0; }))
      return success();
    if (auto qlinear = dyn_cast<QLinearOp>(op.getOperation())) {
      int64_t n = qlinear.getQweight().getType().getDimSize(0);
      if (sizes.back() != 0 && n % sizes.back() != 0)
        return qlinear.emitOpError("cannot be tiled by ")
               << sizes.back() << " along N = " << n
               << ": the tile must divide N (quantized weights keep static "
                  "shapes)";
    }
    scf::SCFTilingOptions options;
    options.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes));
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled =
        scf::tileUsingSCF(rewriter, op, options);
    if (failed(tiled))
      return op.emitError("weft-tile: tiling failed");
    rewriter.replaceOp(op, tiled->replacements);
    return success();
  }
};

} // namespace
