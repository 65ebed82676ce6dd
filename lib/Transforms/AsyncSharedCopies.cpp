//===- AsyncSharedCopies.cpp - tile pieces loaded with cp.async -----------===//
//
// A tile piece loaded into shared memory the plain way goes through a
// register: the load must complete before the store can issue, so a thread
// has only as many loads in flight as it has pieces, and the phase ends when
// the last one arrives. As an asynchronous copy (cp.async) the piece goes
// straight to shared memory, and a double-buffered kernel lets the copies of
// the next tile run while its warps work on the current one
// (weft/Transforms/AsyncCopies.h).
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/AsyncCopies.h"
#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTASYNCSHAREDCOPIESPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

namespace {

/// What a marked store writes: a piece loaded from global memory, possibly
/// only where `condition` holds (an scf.if whose other branch yields zeros;
/// the ops computing the load's indices in its branch are `branchOps`).
struct LoadedPiece {
  vector::LoadOp load;
  Value condition;
  SmallVector<Operation *> branchOps;
};

std::optional<LoadedPiece> matchLoadedPiece(Value value) {
  if (auto load = value.getDefiningOp<vector::LoadOp>())
    return LoadedPiece{load, Value(), {}};
  auto branch = value.getDefiningOp<scf::IfOp>();
  if (!branch || branch->getNumResults() != 1 || branch.getElseRegion().empty())
    return std::nullopt;
  auto load = branch.thenYield().getOperand(0).getDefiningOp<vector::LoadOp>();
  Value otherwise = branch.elseYield().getOperand(0);
  if (!load || !(matchPattern(otherwise, m_PosZeroFloat()) ||
                 matchPattern(otherwise, m_Zero())))
    return std::nullopt;
  LoadedPiece piece{load, branch.getCondition(), {}};
  // Only pure index computations beside the load, which can move out.
  for (Operation &op : branch.thenBlock()->without_terminator()) {
    if (&op == load)
      continue;
    if (!isPure(&op) || op.getNumRegions())
      return std::nullopt;
    piece.branchOps.push_back(&op);
  }
  return piece;
}

/// The barrier that ends the phase of `op` in `launch`: the first gpu.barrier
/// after `op` or after one of its ancestors in their blocks.
gpu::BarrierOp getPhaseEnd(Operation *op, gpu::LaunchOp launch) {
  for (; op && op != launch; op = op->getParentOp())
    for (Operation *next = op->getNextNode(); next; next = next->getNextNode())
      if (auto barrier = dyn_cast<gpu::BarrierOp>(next))
        return barrier;
  return {};
}

/// The shared memory a generic view (memref.memory_space_cast) is of.
Value getSharedMemory(Value view) {
  auto cast = view.getDefiningOp<memref::MemorySpaceCastOp>();
  if (!cast)
    return {};
  auto space = dyn_cast_if_present<gpu::AddressSpaceAttr>(
      cast.getSource().getType().getMemorySpace());
  return space && space.getValue() == gpu::AddressSpace::Workgroup
             ? cast.getSource()
             : Value();
}

/// Replaces a marked store by asynchronous copies; returns its phase's end
/// or null where it stays a plain store.
gpu::BarrierOp convertStore(RewriterBase &rewriter, vector::StoreOp store,
                            gpu::LaunchOp launch) {
  Value shared = getSharedMemory(store.getBase());
  std::optional<LoadedPiece> piece = matchLoadedPiece(store.getValueToStore());
  gpu::BarrierOp end = getPhaseEnd(store, launch);
  if (!shared || !piece || !end)
    return {};
  VectorType type = store.getVectorType();
  vector::LoadOp load = piece->load;
  // The source is global memory: a buffer of no memory space (function
  // arguments, host allocations), not a view of shared memory.
  if (load.getVectorType() != type || type.getRank() != 1 ||
      load.getBase().getType().getMemorySpace() ||
      getSharedMemory(load.getBase()) || type.getElementTypeBitWidth() % 8 != 0)
    return {};
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  int64_t bytes = type.getNumElements() * elementBytes;
  int64_t copyBytes = std::min<int64_t>(
      {bytes, 16, static_cast<int64_t>(load.getAlignment().value_or(0)),
       static_cast<int64_t>(store.getAlignment().value_or(0))});
  if (copyBytes < 4 || copyBytes % elementBytes || bytes % copyBytes)
    return {};

  Location loc = store.getLoc();
  rewriter.setInsertionPoint(store);
  IRMapping mapping;
  for (Operation *op : piece->branchOps)
    rewriter.clone(*op, mapping);
  SmallVector<Value> srcIndices = llvm::map_to_vector(
      load.getIndices(), [&](Value v) { return mapping.lookupOrDefault(v); });
  auto c = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  int64_t copyElements = copyBytes / elementBytes;
  Value srcElements;
  if (piece->condition) {
    // Nothing is read where the piece does not exist; the indices are
    // clamped to 0 all the same.
    for (Value &index : srcIndices)
      index =
          arith::SelectOp::create(rewriter, loc, piece->condition, index, c(0));
    srcElements = arith::SelectOp::create(rewriter, loc, piece->condition,
                                          c(copyElements), c(0));
  }
  auto token = nvgpu::DeviceAsyncTokenType::get(rewriter.getContext());
  for (int64_t first = 0; first < type.getNumElements();
       first += copyElements) {
    SmallVector<Value> src = srcIndices;
    SmallVector<Value> dst(store.getIndices());
    if (first) {
      src.back() = arith::AddIOp::create(rewriter, loc, src.back(), c(first));
      dst.back() = arith::AddIOp::create(rewriter, loc, dst.back(), c(first));
    }
    nvgpu::DeviceAsyncCopyOp::create(
        rewriter, loc, token, shared, dst, load.getBase(), src,
        rewriter.getIndexAttr(copyElements), srcElements,
        copyBytes == 16 ? rewriter.getUnitAttr() : UnitAttr());
  }
  Operation *producer = store.getValueToStore().getDefiningOp();
  rewriter.eraseOp(store);
  if (producer->use_empty())
    rewriter.eraseOp(producer);
  return end;
}

struct WeftAsyncSharedCopiesPass
    : weft::impl::WeftAsyncSharedCopiesPassBase<WeftAsyncSharedCopiesPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](gpu::LaunchOp launch) {
      SmallVector<vector::StoreOp> stores;
      launch.getBody().walk([&](vector::StoreOp store) {
        if (store->hasAttr(weft::kAsyncCopyAttrName))
          stores.push_back(store);
      });
      // Per phase end, the fewest groups any of its copies leaves pending.
      llvm::MapVector<Operation *, int64_t> phaseEnds;
      for (vector::StoreOp store : stores) {
        auto pending =
            store->getAttrOfType<IntegerAttr>(weft::kAsyncCopyAttrName);
        store->removeAttr(weft::kAsyncCopyAttrName);
        if (!pending || pending.getInt() < 0)
          continue;
        gpu::BarrierOp end = convertStore(rewriter, store, launch);
        if (!end)
          continue;
        auto [it, inserted] = phaseEnds.insert({end, pending.getInt()});
        if (!inserted)
          it->second = std::min(it->second, pending.getInt());
      }
      auto commitAndWait = [&](Operation *before, int64_t pending) {
        rewriter.setInsertionPoint(before);
        auto token = nvgpu::DeviceAsyncTokenType::get(rewriter.getContext());
        Value group = nvgpu::DeviceAsyncCreateGroupOp::create(
            rewriter, before->getLoc(), token, ValueRange{});
        nvgpu::DeviceAsyncWaitOp::create(rewriter, before->getLoc(), group,
                                         rewriter.getI32IntegerAttr(pending));
      };
      for (auto [end, pending] : phaseEnds)
        commitAndWait(end, pending);
      // No copy may still be writing when the block's shared memory goes to
      // the next block (a prefetch past the last tile).
      if (!phaseEnds.empty())
        launch.getBody().walk(
            [&](gpu::TerminatorOp exit) { commitAndWait(exit, 0); });
    });
  }
};

} // namespace
