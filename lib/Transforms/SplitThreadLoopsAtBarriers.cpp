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

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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
  /// New per-thread buffers for values of `types`.
  SmallVector<Value> allocateArrays(TypeRange types);
  Value allocateArray(Type type);
  /// Stores `values` at the thread's slot of `arrays` at the end of `piece`.
  void storeAtEnd(ValueRange values, ValueRange arrays, scf::ForallOp piece);
  /// Loads each buffer's slot, a value of `types`, at the start of `piece`.
  SmallVector<Value> loadPerThread(ValueRange arrays, TypeRange types,
                                   scf::ForallOp piece);
  /// A new piece at `b`'s point with the ops of `block` but its terminator,
  /// which stores the yielded values in `arrays`.
  scf::ForallOp moveIntoPiece(OpBuilder &b, Block &block, ValueRange arrays);
  /// Where the values a piece recomputes or loads go: after the earlier
  /// ones, at its start.
  void setInsertionPointToStart(OpBuilder &b, scf::ForallOp piece);
  Value threadId(scf::ForallOp piece);
  /// The piece that `op` or `value` belongs to, or null.
  scf::ForallOp pieceOf(Operation *op);
  scf::ForallOp pieceOf(Value value) {
    Operation *def = value.getDefiningOp();
    return pieceOf(def ? def : value.getParentBlock()->getParentOp());
  }

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
  DenseMap<Operation *, Value> perThreadLoads;
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

/// The element type of a per-thread buffer for values of `type`: integers
/// narrower than a byte (i4 zero points) are kept in bytes, since packed i4
/// buffers exist only for parameters.
static Type getStorageType(Type type) {
  auto integer = dyn_cast<IntegerType>(type);
  if (integer && integer.getWidth() > 1 && integer.getWidth() < 8)
    return IntegerType::get(type.getContext(), 8);
  return type;
}

/// Stores `value` at `array[id]`, widened to the buffer's element type.
static void storeToArray(OpBuilder &b, Location loc, Value value, Value array,
                         Value id) {
  Type element = cast<MemRefType>(array.getType()).getElementType();
  if (value.getType() != element)
    value = arith::ExtUIOp::create(b, loc, element, value);
  memref::StoreOp::create(b, loc, value, array, id);
}

Value ThreadLoopSplitter::allocateArray(Type type) {
  return allocatePerThreadArray(original, numThreads, getStorageType(type));
}

SmallVector<Value> ThreadLoopSplitter::allocateArrays(TypeRange types) {
  SmallVector<Value> arrays;
  for (Type type : types)
    arrays.push_back(allocateArray(type));
  return arrays;
}

void ThreadLoopSplitter::storeAtEnd(ValueRange values, ValueRange arrays,
                                    scf::ForallOp piece) {
  Value id = threadId(piece);
  auto b = OpBuilder(piece.getBody()->getTerminator());
  for (auto [value, array] : llvm::zip_equal(values, arrays))
    storeToArray(b, piece.getLoc(), value, array, id);
}

void ThreadLoopSplitter::setInsertionPointToStart(OpBuilder &b,
                                                  scf::ForallOp piece) {
  if (Operation *last = lastMaterialized.lookup(piece))
    b.setInsertionPointAfter(last);
  else
    b.setInsertionPointToStart(piece.getBody());
}

SmallVector<Value> ThreadLoopSplitter::loadPerThread(ValueRange arrays,
                                                     TypeRange types,
                                                     scf::ForallOp piece) {
  SmallVector<Value> values;
  Value id = threadId(piece);
  OpBuilder b(piece.getContext());
  for (auto [array, type] : llvm::zip_equal(arrays, types)) {
    setInsertionPointToStart(b, piece);
    Value value = memref::LoadOp::create(b, piece.getLoc(), array, id);
    if (value.getType() != type)
      value = arith::TruncIOp::create(b, piece.getLoc(), type, value);
    lastMaterialized[piece] = value.getDefiningOp();
    perThreadLoads[value.getDefiningOp()] = array;
    values.push_back(value);
  }
  return values;
}

scf::ForallOp ThreadLoopSplitter::moveIntoPiece(OpBuilder &b, Block &block,
                                                ValueRange arrays) {
  scf::ForallOp piece = createPiece(b);
  Block *body = piece.getBody();
  Operation *yield = block.getTerminator();
  body->getOperations().splice(body->getTerminator()->getIterator(),
                               block.getOperations(), block.begin(),
                               yield->getIterator());
  storeAtEnd(yield->getOperands(), arrays, piece);
  return piece;
}

FailureOr<Value> ThreadLoopSplitter::hoistUniform(Value value,
                                                  scf::ForallOp piece,
                                                  Operation *user) {
  if (!pieceOf(value))
    return value;
  Operation *def = value.getDefiningOp();
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
    SmallVector<Value> carried = allocateArrays(loop.getResultTypes());
    storeAtEnd(loop.getInitArgs(), carried, piece);
    auto outer =
        scf::ForOp::create(b, loop.getLoc(), bounds[0], bounds[1], bounds[2]);
    b.setInsertionPointToStart(outer.getBody());
    scf::ForallOp inner = moveIntoPiece(b, *loop.getBody(), carried);
    loop.getInductionVar().replaceAllUsesWith(outer.getInductionVar());
    for (auto [arg, value] :
         llvm::zip_equal(loop.getRegionIterArgs(),
                         loadPerThread(carried, loop.getResultTypes(), inner)))
      arg.replaceAllUsesWith(value);
    for (auto [result, value] :
         llvm::zip_equal(loop.getResults(),
                         loadPerThread(carried, loop.getResultTypes(), after)))
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
    SmallVector<Value> results = allocateArrays(branch.getResultTypes());
    auto outer =
        scf::IfOp::create(b, branch.getLoc(), *condition,
                          /*withElseRegion=*/!branch.getElseRegion().empty());
    for (auto [from, to] :
         llvm::zip(branch->getRegions(), outer->getRegions())) {
      if (from.empty())
        continue;
      b.setInsertionPointToStart(&to.front());
      worklist.push_back(moveIntoPiece(b, from.front(), results));
    }
    for (auto [result, value] : llvm::zip_equal(
             branch.getResults(),
             loadPerThread(results, branch.getResultTypes(), after)))
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
  OpBuilder b(into->getContext());
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    // A thread id: the same thread's id in this piece.
    result = into.getInductionVars()[arg.getArgNumber()];
    materialized[{value, into}] = result;
    return result;
  }
  Operation *def = value.getDefiningOp();
  if (Value array = perThreadLoads.lookup(def)) {
    result = loadPerThread(array, value.getType(), into).front();
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
      scf::ForallOp owner = pieceOf(operand);
      if (!owner || owner == into)
        continue;
      FailureOr<Value> operandHere = materialize(operand, owner, into);
      if (failed(operandHere))
        return failure();
      mapping.map(operand, *operandHere);
    }
    setInsertionPointToStart(b, into);
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
    array = allocateArray(type);
    spillArrays[value] = array;
    Value id = threadId(from);
    b.setInsertionPointAfter(def);
    storeToArray(b, def->getLoc(), value, array, id);
  }
  result = loadPerThread(array, type, into).front();
  materialized[{value, into}] = result;
  return result;
}

LogicalResult ThreadLoopSplitter::reconnectValues() {
  for (Operation *op : pieces) {
    auto piece = cast<scf::ForallOp>(op);
    WalkResult walk = piece.getBody()->walk([&](Operation *user) {
      for (OpOperand &use : user->getOpOperands()) {
        Value value = use.get();
        scf::ForallOp owner = pieceOf(value);
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
