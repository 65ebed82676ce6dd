//===- BlockLoops.h - kernels as loops over GPU blocks and threads -*- C++
//-*-===//
//
// The GPU thread-block forms (AttentionBlocks.cpp, SsmScanBlocks.cpp) write a
// kernel as an scf.forall over #gpu.block ids whose body holds phases, each
// an scf.forall over #gpu.thread ids (weft-map-forall-to-gpu adds a barrier
// after each). Buffers allocated in the block body are its shared memory.
// They work on buffers: operands come in through bufferization.to_buffer and
// results leave through bufferization.to_tensor.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_BLOCKLOOPS_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_BLOCKLOOPS_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace mlir::weft {

/// A read-only buffer of `tensor` (any strides).
Value toReadOnlyBuffer(OpBuilder &b, Location loc, Value tensor);

/// A new buffer of `sizes` (static where constant) and element `type`.
Value allocateBuffer(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                     Type type);

/// The tensor of a buffer this lowering allocated and filled, cast to `type`.
Value toResultTensor(OpBuilder &b, Location loc, Value buffer, Type type);

/// An scf.forall over up to 3 sizes mapped to block ids x, y, z; the
/// insertion point is left inside it.
scf::ForallOp createGridLoop(OpBuilder &b, Location loc,
                             ArrayRef<OpFoldResult> sizes);

/// An scf.forall over `threads` thread ids (#gpu.thread<x>); `body` gets the
/// builder and the thread id.
void createThreadLoop(OpBuilder &b, Location loc, int64_t threads,
                      function_ref<void(OpBuilder &, Value)> body);

/// An scf.forall over `warps` warp ids (#gpu.warp<x>): on the GPU all 32
/// threads of a warp run `body` together (warp-level matrix operations), on
/// the CPU it runs once per warp id.
void createWarpLoop(OpBuilder &b, Location loc, int64_t warps,
                    function_ref<void(OpBuilder &, Value)> body);

/// In a thread loop of `stride` threads: thread `thread` visits items
/// thread, thread + stride, ... below `count`.
void forEachItem(OpBuilder &b, Location loc, Value thread, int64_t count,
                 int64_t stride, function_ref<void(OpBuilder &, Value)> body);

/// `memref[indices]` widened to f32 when `condition` holds, else `otherwise`
/// (the load only happens when it holds).
Value loadF32If(OpBuilder &b, Location loc, Value condition, Value memref,
                ValueRange indices, Value otherwise);

/// A sum, maximum, ... over [0, count): `step(builder, i, accumulator)`
/// returns the next accumulator.
Value accumulate(OpBuilder &b, Location loc, Value count, Value init,
                 function_ref<Value(OpBuilder &, Value, Value)> step);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_BLOCKLOOPS_H
