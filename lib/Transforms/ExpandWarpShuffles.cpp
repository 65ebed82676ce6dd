//===- ExpandWarpShuffles.cpp - gpu.shuffle through memory, for the CPU ---===//
//
// On the CPU the lanes of a warp are iterations of a thread loop, so a
// shuffle becomes an exchange through a per-thread buffer between barriers,
// which weft-split-thread-loops-at-barriers then cuts the loop at.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"
#include "weft/Transforms/ThreadLoops.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTEXPANDWARPSHUFFLESPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

static constexpr int64_t kWarpSize = 32;

/// The source lane of `shuffle` for `lane` and whether it is valid, as
/// upstream's NVVM lowering has shfl.sync compute them: lanes 0..width-1
/// take part and no segments (clamp width - 1, or 32 - width for `up`).
/// An invalid source is the lane itself, whose own value shfl returns.
static std::pair<Value, Value>
buildSourceLane(OpBuilder &b, gpu::ShuffleOp shuffle, Value lane) {
  Location loc = shuffle.getLoc();
  auto toIndex = [&](Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  };
  auto constant = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto sle = [&](Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, x, y);
  };
  Value offset = toIndex(shuffle.getOffset());
  Value width = toIndex(shuffle.getWidth());
  Value lastLane = arith::SubIOp::create(b, loc, width, constant(1));
  Value source;
  Value valid;
  switch (shuffle.getMode()) {
  case gpu::ShuffleMode::XOR:
    source = arith::XOrIOp::create(b, loc, lane, offset);
    valid = sle(source, lastLane);
    break;
  case gpu::ShuffleMode::DOWN:
    source = arith::AddIOp::create(b, loc, lane, offset);
    valid = sle(source, lastLane);
    break;
  case gpu::ShuffleMode::UP:
    source = arith::SubIOp::create(b, loc, lane, offset);
    valid =
        sle(arith::SubIOp::create(b, loc, constant(kWarpSize), width), source);
    break;
  case gpu::ShuffleMode::IDX:
    source = arith::AndIOp::create(b, loc, offset, constant(kWarpSize - 1));
    valid = sle(source, lastLane);
    break;
  }
  source = arith::SelectOp::create(b, loc, valid, source, lane);
  return {source, valid};
}

static LogicalResult expand(gpu::ShuffleOp shuffle) {
  auto loop = shuffle->getParentOfType<scf::ForallOp>();
  if (!loop || !weft::isThreadLoop(loop))
    return shuffle.emitOpError("is not inside a loop over #gpu.thread ids");
  FailureOr<int64_t> numThreads = weft::getStaticThreadCount(loop);
  if (failed(numThreads))
    return failure();
  if (*numThreads % kWarpSize != 0)
    return shuffle.emitOpError("is in a thread loop of ")
           << *numThreads << " threads, not whole warps of " << kWarpSize;

  Value exchange = weft::allocatePerThreadArray(loop, *numThreads,
                                                shuffle.getValue().getType());
  OpBuilder b(shuffle);
  Location loc = shuffle.getLoc();
  Value id = weft::buildLinearThreadId(b, loop);
  Value lane = arith::RemUIOp::create(
      b, loc, id, arith::ConstantIndexOp::create(b, loc, kWarpSize));
  Value warpStart = arith::SubIOp::create(b, loc, id, lane);
  auto [source, valid] = buildSourceLane(b, shuffle, lane);
  memref::StoreOp::create(b, loc, shuffle.getValue(), exchange, id);
  gpu::BarrierOp::create(b, loc);
  Value value = memref::LoadOp::create(
      b, loc, exchange,
      ValueRange{arith::AddIOp::create(b, loc, warpStart, source)});
  // Nobody may overwrite the buffer before every thread has read it.
  gpu::BarrierOp::create(b, loc);
  shuffle.replaceAllUsesWith(ValueRange{value, valid});
  shuffle.erase();
  return success();
}

namespace {
struct WeftExpandWarpShufflesPass
    : weft::impl::WeftExpandWarpShufflesPassBase<WeftExpandWarpShufflesPass> {
  void runOnOperation() override {
    SmallVector<gpu::ShuffleOp> shuffles;
    getOperation().walk([&](gpu::ShuffleOp op) { shuffles.push_back(op); });
    for (gpu::ShuffleOp shuffle : shuffles)
      if (failed(expand(shuffle)))
        return signalPassFailure();
  }
};
} // namespace
