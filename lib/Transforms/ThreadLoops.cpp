//===- ThreadLoops.cpp - loops over the threads of a GPU block ------------===//

#include "weft/Transforms/ThreadLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

bool weft::isThreadLoop(scf::ForallOp loop) {
  std::optional<ArrayAttr> mapping = loop.getMapping();
  return mapping && !mapping->empty() &&
         llvm::all_of(*mapping, llvm::IsaPred<gpu::GPUThreadMappingAttr>);
}

FailureOr<int64_t> weft::getStaticThreadCount(scf::ForallOp loop) {
  int64_t count = 1;
  for (auto [lb, ub, step] :
       llvm::zip_equal(loop.getMixedLowerBound(), loop.getMixedUpperBound(),
                       loop.getMixedStep())) {
    std::optional<int64_t> upper = getConstantIntValue(ub);
    if (!isConstantIntValue(lb, 0) || !isConstantIntValue(step, 1) || !upper)
      return loop.emitOpError(
          "a thread loop with barriers or warp collectives needs static "
          "bounds from 0 with step 1");
    count *= *upper;
  }
  return count;
}

Value weft::buildLinearThreadId(OpBuilder &b, scf::ForallOp loop) {
  Location loc = loop.getLoc();
  SmallVector<Value> ivs(loop.getInductionVars());
  SmallVector<OpFoldResult> ubs = loop.getMixedUpperBound();
  Value id = ivs.front();
  Value stride;
  for (size_t dim = 1; dim < ivs.size(); ++dim) {
    Value extent = getValueOrCreateConstantIndexOp(b, loc, ubs[dim - 1]);
    stride = stride ? arith::MulIOp::create(b, loc, stride, extent) : extent;
    id = arith::AddIOp::create(b, loc, id,
                               arith::MulIOp::create(b, loc, ivs[dim], stride));
  }
  return id;
}

Value weft::allocateBlockBuffer(scf::ForallOp loop, MemRefType type) {
  Location loc = loop.getLoc();
  for (Operation *op = loop->getParentOp(); op; op = op->getParentOp()) {
    auto forall = dyn_cast<scf::ForallOp>(op);
    if (forall && forall.getMapping() &&
        llvm::any_of(*forall.getMapping(),
                     llvm::IsaPred<gpu::GPUBlockMappingAttr>)) {
      // On the heap: the CPU runs blocks as parallel tasks, whose bodies
      // must not allocate on the stack (they become OpenMP regions).
      auto b = OpBuilder::atBlockBegin(forall.getBody());
      Value buffer = memref::AllocOp::create(b, loc, type);
      b.setInsertionPoint(forall.getBody()->getTerminator());
      memref::DeallocOp::create(b, loc, buffer);
      return buffer;
    }
    if (auto func = dyn_cast<FunctionOpInterface>(op)) {
      auto b = OpBuilder::atBlockBegin(&func.getFunctionBody().front());
      return memref::AllocaOp::create(b, loc, type);
    }
  }
  llvm_unreachable("a thread loop outside a function");
}

Value weft::allocatePerThreadArray(scf::ForallOp loop, int64_t numThreads,
                                   Type type) {
  return allocateBlockBuffer(loop, MemRefType::get({numThreads}, type));
}

bool weft::holdsBarrier(Operation *op) {
  return op->walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Whether a barrier is next to `point` (before it or at or after it) with
/// only ops between that touch no memory.
static bool isSynchronized(Operation *point) {
  auto touchesNoMemory = [](Operation *op) {
    return op->getNumRegions() == 0 && isMemoryEffectFree(op);
  };
  for (Operation *op = point; op; op = op->getNextNode()) {
    if (isa<gpu::BarrierOp>(op))
      return true;
    if (!touchesNoMemory(op))
      break;
  }
  for (Operation *op = point->getPrevNode(); op; op = op->getPrevNode()) {
    if (isa<gpu::BarrierOp>(op))
      return true;
    if (!touchesNoMemory(op))
      break;
  }
  return false;
}

/// A barrier before `point`, unless one is next to it already.
static void synchronizeBefore(Operation *point) {
  if (isSynchronized(point))
    return;
  OpBuilder b(point);
  gpu::BarrierOp::create(b, point->getLoc());
}

void weft::addStructuredBarriers(scf::ForallOp loop) {
  SmallVector<Operation *> structured;
  loop.getBody()->walk([&](Operation *op) {
    if (isa<scf::ForOp, scf::IfOp>(op) && holdsBarrier(op))
      structured.push_back(op);
  });
  for (Operation *op : structured) {
    synchronizeBefore(op);
    synchronizeBefore(op->getNextNode());
    for (Region &region : op->getRegions())
      for (Block &block : region)
        synchronizeBefore(block.getTerminator());
  }
}

namespace {
/// A barrier orders the block's memory accesses around it.
struct BarrierMemoryEffectsModel
    : MemoryEffectOpInterface::ExternalModel<BarrierMemoryEffectsModel,
                                             gpu::BarrierOp> {
  void
  getEffects(Operation *op,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};
} // namespace

void weft::registerBarrierMemoryEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, gpu::GPUDialect *) {
    gpu::BarrierOp::attachInterface<BarrierMemoryEffectsModel>(*context);
  });
}
