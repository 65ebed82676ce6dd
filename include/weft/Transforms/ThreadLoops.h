//===- ThreadLoops.h - loops over the threads of a GPU block ----*- C++ -*-===//
//
// Helpers for the CPU passes that run SIMT code (barriers, warp collectives)
// written as scf.forall loops over #gpu.thread ids.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_TRANSFORMS_THREADLOOPS_H
#define WEFT_TRANSFORMS_THREADLOOPS_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"

namespace mlir::weft {

/// True for an scf.forall whose ids are all #gpu.thread ids.
bool isThreadLoop(scf::ForallOp loop);

/// True for a gpu.barrier and for an op with one inside.
bool holdsBarrier(Operation *op);

/// The number of threads of `loop`, which must start at 0 with step 1 and
/// have static bounds (otherwise an error is emitted on it).
FailureOr<int64_t> getStaticThreadCount(scf::ForallOp loop);

/// The thread's linear id in `loop` (x fastest), built at `b`'s point.
Value buildLinearThreadId(OpBuilder &b, scf::ForallOp loop);

/// A buffer of `type` for `loop`'s block, allocated once per block where
/// every piece of the kernel can reach it: in the enclosing #gpu.block loop
/// (freed at its end), else on the function's stack.
Value allocateBlockBuffer(scf::ForallOp loop, MemRefType type);

/// A block buffer of one `type` value per thread of `loop`.
Value allocatePerThreadArray(scf::ForallOp loop, int64_t numThreads, Type type);

/// Gives every scf.for and scf.if in `loop` that holds a barrier the points
/// of synchronization that weft-split-thread-loops-at-barriers gives it on
/// the CPU: a barrier before it, at the end of each of its blocks (each
/// iteration) and after it, unless one is there already (with only ops
/// between that touch no memory). The GPU then runs
/// what the CPU checks.
void addStructuredBarriers(scf::ForallOp loop);

/// Declares that gpu.barrier reads and writes memory (upstream declares no
/// effects, which bufferization's deallocation refuses as unknown).
void registerBarrierMemoryEffects(DialectRegistry &registry);

} // namespace mlir::weft

#endif // WEFT_TRANSFORMS_THREADLOOPS_H
