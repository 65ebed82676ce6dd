//===- SplitThreadLoopsAtBarriers.cpp - SIMT kernels on the CPU -----------===//
//
// The CPU runs a loop over the threads of a GPU block one thread after the
// other, so a gpu.barrier inside it cannot wait for the others. This pass
// cuts such a loop at its barriers into consecutive thread loops, the way
// CPU implementations of CUDA and OpenCL run kernels: a barrier in a loop or
// a conditional with block-uniform bounds takes the loop or conditional out
// of the threads (each iteration runs the pieces of its body in turn), and a
// value that one piece defines and a later one uses either is recomputed
// there (constants, index arithmetic, views) or goes through a buffer of one
// element per thread.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"
#include "weft/Transforms/ThreadLoops.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTSPLITTHREADLOOPSATBARRIERSPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

/// Splits one thread loop (and the pieces it is split into) at its barriers.
class ThreadLoopSplitter {
public:
  ThreadLoopSplitter(scf::ForallOp loop, int64_t numThreads)
      : original(loop), numThreads(numThreads) {}

  LogicalResult run();

private:
  /// A new, empty thread loop like the original one, at `b`'s point.
  scf::ForallOp createPiece(OpBuilder &b);
  /// Cuts `piece` at its first op that is or holds a barrier; the pieces
  /// that may hold more barriers are added to `worklist`.
  LogicalResult splitAtFirstBarrier(scf::ForallOp piece,
                                    SmallVectorImpl<scf::ForallOp> &worklist);
  /// `value` (an operand of a block-uniform loop or conditional that was
  /// inside `piece`) as a value defined before `piece`, or failure when it
  /// depends on the thread or on memory.
  FailureOr<Value> hoistUniform(Value value, scf::ForallOp piece,
                                Operation *user);
  /// Makes every use of a value defined in another piece valid again.
  LogicalResult reconnectValues();
  FailureOr<Value> materialize(Value value, scf::ForallOp from,
                               scf::ForallOp into);
  /// Stores `values` at the thread's slot of new buffers before `point`
  /// (in `piece`), and returns the buffers.
  SmallVector<Value> storePerThread(ValueRange values, scf::ForallOp piece,
                                    Operation *point);
  /// Stores `values` at the thread's slot of `arrays` at the end of `piece`.
  void storeAtEnd(ValueRange values, ValueRange arrays, scf::ForallOp piece);
  /// Loads each buffer's slot at the start of `piece`.
  SmallVector<Value> loadPerThread(ValueRange arrays, scf::ForallOp piece);
  Value threadId(scf::ForallOp piece);
  scf::ForallOp pieceOf(Operation *op);

  scf::ForallOp original;
  int64_t numThreads;
  llvm::SetVector<Operation *> pieces;
  DenseMap<scf::ForallOp, Value> threadIds;
  /// Per piece: where the values it recomputes or loads go (after the
  /// earlier ones), and what it already has.
  DenseMap<scf::ForallOp, Operation *> lastMaterialized;
  DenseMap<std::pair<Value, Operation *>, Value> materialized;
  DenseMap<Value, Value> spillArrays;
  /// The loads of the buffers above. Each buffer slot keeps its value until
  /// every piece that may use it has run, so a later piece loads it again
  /// instead of spilling the loaded value.
  DenseSet<Operation *> perThreadLoads;
};

} // namespace

scf::ForallOp ThreadLoopSplitter::createPiece(OpBuilder &b) {
  auto piece = scf::ForallOp::create(
      b, original.getLoc(), original.getMixedLowerBound(),
      original.getMixedUpperBound(), original.getMixedStep(), ValueRange(),
      original.getMapping());
  pieces.insert(piece);
  return piece;
}

Value ThreadLoopSplitter::threadId(scf::ForallOp piece) {
  Value &id = threadIds[piece];
  if (!id) {
    auto b = OpBuilder::atBlockBegin(piece.getBody());
    id = buildLinearThreadId(b, piece);
    if (Operation *def = id.getDefiningOp();
        def && !lastMaterialized.contains(piece))
      lastMaterialized[piece] = def;
  }
  return id;
}

scf::ForallOp ThreadLoopSplitter::pieceOf(Operation *op) {
  for (; op; op = op->getParentOp())
    if (pieces.contains(op))
      return cast<scf::ForallOp>(op);
  return {};
}

SmallVector<Value> ThreadLoopSplitter::storePerThread(ValueRange values,
                                                      scf::ForallOp piece,
                                                      Operation *point) {
  SmallVector<Value> arrays;
  for (Value value : values) {
    Value array = allocatePerThreadArray(original, numThreads, value.getType());
    Value id = threadId(piece);
    OpBuilder b(point);
    memref::StoreOp::create(b, point->getLoc(), value, array, id);
    arrays.push_back(array);
  }
  return arrays;
}

void ThreadLoopSplitter::storeAtEnd(ValueRange values, ValueRange arrays,
                                    scf::ForallOp piece) {
  Value id = threadId(piece);
  auto b = OpBuilder(piece.getBody()->getTerminator());
  for (auto [value, array] : llvm::zip_equal(values, arrays))
    memref::StoreOp::create(b, piece.getLoc(), value, array, id);
}

SmallVector<Value> ThreadLoopSplitter::loadPerThread(ValueRange arrays,
                                                     scf::ForallOp piece) {
  SmallVector<Value> values;
  Value id = threadId(piece);
  for (Value array : arrays) {
    OpBuilder b(piece.getContext());
    Operation *last = lastMaterialized.lookup(piece);
    if (last)
      b.setInsertionPointAfter(last);
    else
      b.setInsertionPointToStart(piece.getBody());
    auto load = memref::LoadOp::create(b, piece.getLoc(), array, id);
    lastMaterialized[piece] = load;
    perThreadLoads.insert(load);
    values.push_back(load);
  }
  return values;
}

FailureOr<Value> ThreadLoopSplitter::hoistUniform(Value value,
                                                  scf::ForallOp piece,
                                                  Operation *user) {
  Operation *def = value.getDefiningOp();
  if (!pieceOf(def ? def : value.getParentBlock()->getParentOp()))
    return value;
  if (!def || !isMemoryEffectFree(def) || def->getNumRegions() != 0)
    return user->emitOpError(
        "holds a barrier but its bounds or condition depend on the thread "
        "(or on memory): every thread of the block must reach the barrier");
  OpBuilder b(piece);
  IRMapping mapping;
  for (Value operand : def->getOperands()) {
    FailureOr<Value> hoisted = hoistUniform(operand, piece, user);
    if (failed(hoisted))
      return failure();
    mapping.map(operand, *hoisted);
  }
  return b.clone(*def, mapping)
      ->getResult(cast<OpResult>(value).getResultNumber());
}

LogicalResult ThreadLoopSplitter::splitAtFirstBarrier(
    scf::ForallOp piece, SmallVectorImpl<scf::ForallOp> &worklist) {
  Block *body = piece.getBody();
  Operation *cut = nullptr;
  for (Operation &op : body->without_terminator())
    if (holdsBarrier(&op)) {
      cut = &op;
      break;
    }
  if (!cut)
    return success();

  // Everything after the cut goes to a new piece after this one.
  OpBuilder b(piece->getContext());
  b.setInsertionPointAfter(piece);
  scf::ForallOp after = createPiece(b);
  Block *afterBody = after.getBody();
  afterBody->getOperations().splice(
      afterBody->getTerminator()->getIterator(), body->getOperations(),
      std::next(cut->getIterator()), body->getTerminator()->getIterator());
  worklist.push_back(after);

  if (isa<gpu::BarrierOp>(cut)) {
    cut->erase();
    return success();
  }

  b.setInsertionPoint(after);
  if (auto loop = dyn_cast<scf::ForOp>(cut)) {
    SmallVector<Value> bounds;
    for (Value bound :
         {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()}) {
      FailureOr<Value> hoisted = hoistUniform(bound, piece, loop);
      if (failed(hoisted))
        return failure();
      bounds.push_back(*hoisted);
    }
    // The loop around pieces of its body; its iteration values go through
    // per-thread buffers.
    SmallVector<Value> carried =
        storePerThread(loop.getInitArgs(), piece, loop);
    auto outer =
        scf::ForOp::create(b, loop.getLoc(), bounds[0], bounds[1], bounds[2]);
    b.setInsertionPointToStart(outer.getBody());
    scf::ForallOp inner = createPiece(b);
    Block *innerBody = inner.getBody();
    Block *loopBody = loop.getBody();
    auto yield = cast<scf::YieldOp>(loopBody->getTerminator());
    innerBody->getOperations().splice(innerBody->getTerminator()->getIterator(),
                                      loopBody->getOperations(),
                                      loopBody->begin(), yield->getIterator());
    storeAtEnd(yield.getOperands(), carried, inner);
    loop.getInductionVar().replaceAllUsesWith(outer.getInductionVar());
    for (auto [arg, value] : llvm::zip_equal(loop.getRegionIterArgs(),
                                             loadPerThread(carried, inner)))
      arg.replaceAllUsesWith(value);
    for (auto [result, value] :
         llvm::zip_equal(loop.getResults(), loadPerThread(carried, after)))
      result.replaceAllUsesWith(value);
    loop->erase();
    worklist.push_back(inner);
    return success();
  }

  if (auto branch = dyn_cast<scf::IfOp>(cut)) {
    FailureOr<Value> condition =
        hoistUniform(branch.getCondition(), piece, branch);
    if (failed(condition))
      return failure();
    SmallVector<Value> results;
    for (Type type : branch.getResultTypes())
      results.push_back(allocatePerThreadArray(original, numThreads, type));
    auto outer =
        scf::IfOp::create(b, branch.getLoc(), *condition,
                          /*withElseRegion=*/!branch.getElseRegion().empty());
    for (auto [from, to] :
         llvm::zip(branch->getRegions(), outer->getRegions())) {
      if (from.empty())
        continue;
      b.setInsertionPointToStart(&to.front());
      scf::ForallOp inner = createPiece(b);
      Block *innerBody = inner.getBody();
      auto yield = cast<scf::YieldOp>(from.front().getTerminator());
      innerBody->getOperations().splice(
          innerBody->getTerminator()->getIterator(),
          from.front().getOperations(), from.front().begin(),
          yield->getIterator());
      storeAtEnd(yield.getOperands(), results, inner);
      worklist.push_back(inner);
    }
    for (auto [result, value] :
         llvm::zip_equal(branch.getResults(), loadPerThread(results, after)))
      result.replaceAllUsesWith(value);
    branch->erase();
    return success();
  }

  return cut->emitOpError("holds a barrier, which the CPU can only run in "
                          "scf.for and scf.if inside a thread loop");
}

FailureOr<Value> ThreadLoopSplitter::materialize(Value value,
                                                 scf::ForallOp from,
                                                 scf::ForallOp into) {
  if (Value known = materialized.lookup({value, into}))
    return known;
  Value result;
  auto atStart = [&](OpBuilder &b) {
    if (Operation *last = lastMaterialized.lookup(into))
      b.setInsertionPointAfter(last);
    else
      b.setInsertionPointToStart(into.getBody());
  };
  OpBuilder b(into->getContext());
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    // A thread id: the same thread's id in this piece.
    result = into.getInductionVars()[arg.getArgNumber()];
    materialized[{value, into}] = result;
    return result;
  }
  Operation *def = value.getDefiningOp();
  if (perThreadLoads.contains(def)) {
    Value array = cast<memref::LoadOp>(def).getMemRef();
    result = loadPerThread(array, into).front();
    materialized[{value, into}] = result;
    return result;
  }
  // Cheap, pure values are recomputed: constants, index arithmetic, views.
  bool cheap = def->hasTrait<OpTrait::ConstantLike>() ||
               (isMemoryEffectFree(def) && def->getNumRegions() == 0 &&
                llvm::all_of(def->getResultTypes(), [](Type type) {
                  return isa<IndexType, MemRefType>(type);
                }));
  if (cheap) {
    IRMapping mapping;
    for (Value operand : def->getOperands()) {
      scf::ForallOp owner =
          operand.getDefiningOp()
              ? pieceOf(operand.getDefiningOp())
              : pieceOf(operand.getParentBlock()->getParentOp());
      if (!owner || owner == into)
        continue;
      FailureOr<Value> operandHere = materialize(operand, owner, into);
      if (failed(operandHere))
        return failure();
      mapping.map(operand, *operandHere);
    }
    atStart(b);
    Operation *clone = b.clone(*def, mapping);
    lastMaterialized[into] = clone;
    result = clone->getResult(cast<OpResult>(value).getResultNumber());
    materialized[{value, into}] = result;
    return result;
  }
  Type type = value.getType();
  if (!isa<IntegerType, IndexType, FloatType, VectorType>(type))
    return def->emitOpError("defines a value of type ")
           << type
           << " that is used across a barrier; the CPU can carry only "
              "scalars and vectors from one side to the other";
  Value array = spillArrays.lookup(value);
  if (!array) {
    array = allocatePerThreadArray(original, numThreads, type);
    spillArrays[value] = array;
    Value id = threadId(from);
    b.setInsertionPointAfter(def);
    memref::StoreOp::create(b, def->getLoc(), value, array, id);
  }
  result = loadPerThread(array, into).front();
  materialized[{value, into}] = result;
  return result;
}

LogicalResult ThreadLoopSplitter::reconnectValues() {
  for (Operation *op : pieces) {
    auto piece = cast<scf::ForallOp>(op);
    WalkResult walk = piece.getBody()->walk([&](Operation *user) {
      for (OpOperand &use : user->getOpOperands()) {
        Value value = use.get();
        Operation *where = value.getDefiningOp()
                               ? value.getDefiningOp()
                               : value.getParentBlock()->getParentOp();
        scf::ForallOp owner = pieceOf(where);
        if (!owner || owner == piece)
          continue;
        FailureOr<Value> here = materialize(value, owner, piece);
        if (failed(here))
          return WalkResult::interrupt();
        use.set(*here);
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
  }
  return success();
}

LogicalResult ThreadLoopSplitter::run() {
  pieces.insert(original);
  SmallVector<scf::ForallOp> worklist = {original};
  while (!worklist.empty())
    if (failed(splitAtFirstBarrier(worklist.pop_back_val(), worklist)))
      return failure();
  if (failed(reconnectValues()))
    return failure();
  for (Operation *op : pieces) {
    // What a piece computed only for the others is dead there now.
    Block *body = cast<scf::ForallOp>(op).getBody();
    for (Operation &dead : llvm::make_early_inc_range(llvm::reverse(*body)))
      if (isOpTriviallyDead(&dead))
        dead.erase();
    if (body->without_terminator().empty())
      op->erase();
  }
  return success();
}

namespace {
struct WeftSplitThreadLoopsAtBarriersPass
    : weft::impl::WeftSplitThreadLoopsAtBarriersPassBase<
          WeftSplitThreadLoopsAtBarriersPass> {
  void runOnOperation() override {
    SmallVector<scf::ForallOp> loops;
    WalkResult walk = getOperation().walk([&](gpu::BarrierOp barrier) {
      auto loop = barrier->getParentOfType<scf::ForallOp>();
      if (!loop || !weft::isThreadLoop(loop)) {
        barrier.emitOpError("is not inside a loop over #gpu.thread ids");
        return WalkResult::interrupt();
      }
      if (loops.empty() || loops.back() != loop)
        loops.push_back(loop);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    for (scf::ForallOp loop :
         llvm::SetVector<scf::ForallOp>(loops.begin(), loops.end())) {
      FailureOr<int64_t> numThreads = weft::getStaticThreadCount(loop);
      if (failed(numThreads) ||
          failed(ThreadLoopSplitter(loop, *numThreads).run()))
        return signalPassFailure();
    }
  }
};
} // namespace
