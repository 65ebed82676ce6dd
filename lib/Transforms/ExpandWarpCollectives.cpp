//===- ExpandWarpCollectives.cpp - gpu.shuffle through memory, for the CPU
//---===//
//
// On the CPU the lanes of a warp are iterations of a thread loop, so a
// shuffle becomes an exchange through a per-thread buffer between barriers,
// which weft-split-thread-loops-at-barriers then cuts the loop at.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"
#include "weft/Transforms/ThreadLoops.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTEXPANDWARPCOLLECTIVESPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

namespace {
/// Where a collective op runs: its thread loop and the thread's place in
/// it, built just before the op.
struct WarpPosition {
  scf::ForallOp loop;
  int64_t numThreads;
  Value thread;    // linear id in the block
  Value lane;      // thread mod 32
  Value warp;      // thread / 32
  Value warpStart; // thread - lane: the warp's lane 0
  /// The lane's place in PTX's matrix fragments, lane = 4 g + t: the group
  /// g (a row) and 2t (the first column of a pair).
  Value group, pairColumn;
};

/// The exchange buffers of the block, by thread loop and type: each
/// collective is done with its buffers at its second barrier, so the
/// collectives of one loop share them.
class ExchangeBuffers {
public:
  /// `slot` tells apart buffers of one type that one collective needs at
  /// the same time.
  Value get(scf::ForallOp loop, MemRefType type, int64_t slot = 0) {
    Value &buffer = buffers[{loop, type, slot}];
    if (!buffer)
      buffer = weft::allocateBlockBuffer(loop, type);
    return buffer;
  }

private:
  DenseMap<std::tuple<Operation *, Type, int64_t>, Value> buffers;
};
} // namespace

static FailureOr<WarpPosition> locate(OpBuilder &b, Operation *op) {
  auto loop = op->getParentOfType<scf::ForallOp>();
  if (!loop || !weft::isThreadLoop(loop))
    return op->emitOpError("is not inside a loop over #gpu.thread ids");
  FailureOr<int64_t> numThreads = weft::getStaticThreadCount(loop);
  if (failed(numThreads))
    return failure();
  if (*numThreads % kWarpSize != 0)
    return op->emitOpError("is in a thread loop of ")
           << *numThreads << " threads, not whole warps of " << kWarpSize;
  Location loc = op->getLoc();
  auto index = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  WarpPosition at;
  at.loop = loop;
  at.numThreads = *numThreads;
  at.thread = weft::buildLinearThreadId(b, loop);
  at.lane = arith::RemUIOp::create(b, loc, at.thread, index(kWarpSize));
  at.warp = arith::DivUIOp::create(b, loc, at.thread, index(kWarpSize));
  at.warpStart = arith::SubIOp::create(b, loc, at.thread, at.lane);
  at.group = arith::DivUIOp::create(b, loc, at.lane, index(4));
  at.pairColumn = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, at.lane, index(4)), index(2));
  return at;
}

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

static LogicalResult expand(gpu::ShuffleOp shuffle, ExchangeBuffers &buffers) {
  OpBuilder b(shuffle);
  Location loc = shuffle.getLoc();
  FailureOr<WarpPosition> at = locate(b, shuffle);
  if (failed(at))
    return failure();
  Value exchange =
      buffers.get(at->loop, MemRefType::get({at->numThreads},
                                            shuffle.getValue().getType()));
  auto [source, valid] = buildSourceLane(b, shuffle, at->lane);
  memref::StoreOp::create(b, loc, shuffle.getValue(), exchange, at->thread);
  gpu::BarrierOp::create(b, loc);
  Value value = memref::LoadOp::create(
      b, loc, exchange,
      ValueRange{arith::AddIOp::create(b, loc, at->warpStart, source)});
  // Nobody may overwrite the buffer before every thread has read it.
  gpu::BarrierOp::create(b, loc);
  shuffle.replaceAllUsesWith(ValueRange{value, valid});
  shuffle.erase();
  return success();
}

/// An m16n8k16 product: lane = 4 g + t holds, of row-major A (16x16), the
/// pairs at rows g and g + 8 and columns 2t and 2t + 8 (register i: row
/// g + 8 (i mod 2), column 2t + 8 (i / 2)); of B (16x8, k by n), column g
/// at k = 2t and 2t + 8; of C and D (16x8), rows g and g + 8 at columns 2t.
static LogicalResult expand(nvgpu::MmaSyncOp mma, ExchangeBuffers &buffers) {
  auto aType = cast<VectorType>(mma.getMatrixA().getType());
  auto bType = cast<VectorType>(mma.getMatrixB().getType());
  auto cType = cast<VectorType>(mma.getMatrixC().getType());
  Type operand = aType.getElementType();
  SmallVector<int64_t> shape =
      llvm::to_vector(llvm::map_range(mma.getMmaShape(), [](Attribute a) {
        return cast<IntegerAttr>(a).getInt();
      }));
  if (shape != SmallVector<int64_t>{16, 8, 16} ||
      !(operand.isF16() || operand.isBF16()) ||
      bType.getElementType() != operand || !cType.getElementType().isF32() ||
      aType.getShape() != ArrayRef<int64_t>{4, 2} ||
      bType.getShape() != ArrayRef<int64_t>{2, 2} ||
      cType.getShape() != ArrayRef<int64_t>{2, 2})
    return mma.emitOpError(
        "the CPU runs only products of shape [16, 8, 16] with f16 or bf16 "
        "operands and f32 accumulators");

  OpBuilder b(mma);
  Location loc = mma.getLoc();
  FailureOr<WarpPosition> at = locate(b, mma);
  if (failed(at))
    return failure();
  int64_t numWarps = at->numThreads / kWarpSize;
  Type f32 = b.getF32Type();
  Value aMatrix =
      buffers.get(at->loop, MemRefType::get({numWarps, 16, 16}, f32));
  Value bMatrix =
      buffers.get(at->loop, MemRefType::get({numWarps, 16, 8}, f32));

  auto index = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto plus = [&](Value x, int64_t v) -> Value {
    return v ? arith::AddIOp::create(b, loc, x, index(v)) : x;
  };
  Value group = at->group, pairColumn = at->pairColumn;
  auto element = [&](Value fragment, int64_t reg, int64_t half) -> Value {
    Value e = vector::ExtractOp::create(b, loc, fragment,
                                        ArrayRef<int64_t>{reg, half});
    return e.getType() == f32 ? e : arith::ExtFOp::create(b, loc, f32, e);
  };
  for (int64_t reg = 0; reg < 4; ++reg)
    for (int64_t half = 0; half < 2; ++half)
      memref::StoreOp::create(
          b, loc, element(mma.getMatrixA(), reg, half), aMatrix,
          ValueRange{at->warp, plus(group, 8 * (reg % 2)),
                     plus(pairColumn, half + 8 * (reg / 2))});
  for (int64_t reg = 0; reg < 2; ++reg)
    for (int64_t half = 0; half < 2; ++half)
      memref::StoreOp::create(
          b, loc, element(mma.getMatrixB(), reg, half), bMatrix,
          ValueRange{at->warp, plus(pairColumn, half + 8 * reg), group});
  gpu::BarrierOp::create(b, loc);

  Value result = mma.getMatrixC();
  for (int64_t reg = 0; reg < 2; ++reg)
    for (int64_t half = 0; half < 2; ++half) {
      Value row = plus(group, 8 * reg);
      Value column = plus(pairColumn, half);
      auto sum = scf::ForOp::create(
          b, loc, index(0), index(16), index(1),
          ValueRange{element(mma.getMatrixC(), reg, half)},
          [&](OpBuilder &nested, Location nestedLoc, Value k, ValueRange acc) {
            Value x = memref::LoadOp::create(nested, nestedLoc, aMatrix,
                                             ValueRange{at->warp, row, k});
            Value y = memref::LoadOp::create(nested, nestedLoc, bMatrix,
                                             ValueRange{at->warp, k, column});
            Value product = arith::MulFOp::create(nested, nestedLoc, x, y);
            scf::YieldOp::create(nested, nestedLoc,
                                 ValueRange{arith::AddFOp::create(
                                     nested, nestedLoc, acc[0], product)});
          });
      result = vector::InsertOp::create(b, loc, sum.getResult(0), result,
                                        ArrayRef<int64_t>{reg, half});
    }
  // Nobody may overwrite the matrices before every lane has read them.
  gpu::BarrierOp::create(b, loc);
  mma.replaceAllUsesWith(result);
  mma.erase();
  return success();
}

/// ldmatrix: lane 8 m + r gives the address of row r of 8x8 matrix m (its
/// indices, the row's elements consecutive along the last dim); lane 4 g + t
/// receives elements (g, 2t) and (g, 2t + 1) of each matrix, or with
/// `transpose` elements (2t, g) and (2t + 1, g). On the CPU the source is a
/// block-local buffer seen as shared memory through memref.memory_space_cast.
static LogicalResult expand(nvgpu::LdMatrixOp load, ExchangeBuffers &buffers) {
  auto resultType = cast<VectorType>(load.getRes().getType());
  int64_t tiles = load.getNumTiles();
  if (resultType.getRank() != 2 || resultType.getDimSize(0) != tiles ||
      resultType.getDimSize(1) != 2 ||
      resultType.getElementTypeBitWidth() != 16)
    return load.emitOpError("the CPU runs only loads of 8x8 matrices of "
                            "16-bit elements (vector<Nx2x...>)");
  Value source = load.getSrcMemref();
  if (auto view = source.getDefiningOp<memref::MemorySpaceCastOp>())
    source = view.getSource();
  if (cast<MemRefType>(source.getType()).getMemorySpace())
    return load.emitOpError("reads a buffer the CPU cannot: it must be a "
                            "memref.memory_space_cast of a block-local buffer");

  OpBuilder b(load);
  Location loc = load.getLoc();
  FailureOr<WarpPosition> at = locate(b, load);
  if (failed(at))
    return failure();
  auto index = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto indexArray = MemRefType::get({at->numThreads}, b.getIndexType());
  ValueRange indices = load.getIndices();
  SmallVector<Value> exchanges;
  for (auto [slot, value] : llvm::enumerate(indices)) {
    exchanges.push_back(buffers.get(at->loop, indexArray, slot));
    memref::StoreOp::create(b, loc, value, exchanges.back(), at->thread);
  }
  gpu::BarrierOp::create(b, loc);

  Value group = at->group;
  Value result = arith::ConstantOp::create(b, loc, b.getZeroAttr(resultType));
  for (int64_t m = 0; m < tiles; ++m)
    for (int64_t j = 0; j < 2; ++j) {
      Value pairElement =
          arith::AddIOp::create(b, loc, at->pairColumn, index(j));
      Value row = load.getTranspose() ? pairElement : group;
      Value column = load.getTranspose() ? group : pairElement;
      Value sourceLane = arith::AddIOp::create(
          b, loc, at->warpStart,
          arith::AddIOp::create(b, loc, index(8 * m), row));
      SmallVector<Value> address;
      for (Value exchange : exchanges)
        address.push_back(memref::LoadOp::create(b, loc, exchange, sourceLane));
      address.back() = arith::AddIOp::create(b, loc, address.back(), column);
      Value element = memref::LoadOp::create(b, loc, source, address);
      result = vector::InsertOp::create(b, loc, element, result,
                                        ArrayRef<int64_t>{m, j});
    }
  // Nobody may overwrite the addresses before every lane has read them.
  gpu::BarrierOp::create(b, loc);
  Operation *view = load.getSrcMemref().getDefiningOp();
  load.replaceAllUsesWith(result);
  load.erase();
  // The shared-memory view has no meaning on the CPU.
  if (isa_and_nonnull<memref::MemorySpaceCastOp>(view) && view->use_empty())
    view->erase();
  return success();
}

namespace {
struct WeftExpandWarpCollectivesPass
    : weft::impl::WeftExpandWarpCollectivesPassBase<
          WeftExpandWarpCollectivesPass> {
  void runOnOperation() override {
    SmallVector<Operation *> collectives;
    getOperation().walk([&](Operation *op) {
      if (isa<gpu::ShuffleOp, nvgpu::MmaSyncOp, nvgpu::LdMatrixOp>(op))
        collectives.push_back(op);
    });
    ExchangeBuffers buffers;
    for (Operation *op : collectives) {
      LogicalResult expanded =
          TypeSwitch<Operation *, LogicalResult>(op)
              .Case<gpu::ShuffleOp, nvgpu::MmaSyncOp, nvgpu::LdMatrixOp>(
                  [&](auto collective) { return expand(collective, buffers); });
      if (failed(expanded))
        return signalPassFailure();
    }
  }
};
} // namespace
