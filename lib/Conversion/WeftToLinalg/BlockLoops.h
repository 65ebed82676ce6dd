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

/// `value` ([..., last]) as [rows, last], rows the product of the leading
/// dims (1 for a rank-1 value; static where they all are).
Value collapseToRows(OpBuilder &b, Location loc, Value value);

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

/// Lanes of a warp (gpu.shuffle's width in the SIMT kernels).
constexpr int64_t kWarpLanes = 32;

/// In a thread loop of the whole block: `value` of the lane whose id differs
/// from this lane's in the bits of `offset` (gpu.shuffle xor).
Value shuffleXor(OpBuilder &b, Location loc, Value value, int64_t offset);

/// In a thread loop of the whole block: `value` combined over the lanes
/// whose ids differ in the bits from `first` up to (not including) `last`,
/// both powers of two (an xor butterfly: every lane gets the result).
Value butterflyReduce(OpBuilder &b, Location loc, Value value, int64_t first,
                      int64_t last,
                      function_ref<Value(OpBuilder &, Value, Value)> combine);

/// Side of the warp-level matrix tiles: a warp computes 16x16 f32 tiles of
/// a product in K steps of 16 f16 values (tensor cores on the GPU).
constexpr int64_t kMatrixTile = 16;

/// Columns of one piece of a warp's accumulator tile: the 16x8 result of
/// one m16n8k16 tensor-core product (mma.sync).
constexpr int64_t kMatrixPieceColumns = 8;

/// A warp's 16x16 f32 accumulator tile, as its two vector<16x8xf32> pieces
/// (columns 0-7 and 8-15). On the GPU each piece lives in registers, two
/// pairs of f32 per lane (nvgpu.mma.sync's accumulator layout).
using AccumulatorTile = SmallVector<Value, 2>;

/// In a block of `threads` threads: its warps stride through the
/// [tilesM, tilesN] 16x16 tiles of a product; `body` gets the builder and
/// the tile's first row and column.
void forEachWarpTile(OpBuilder &b, Location loc, int64_t threads,
                     int64_t tilesM, int64_t tilesN,
                     function_ref<void(OpBuilder &, Value, Value)> body);

/// A zero accumulator tile.
AccumulatorTile zeroAccumulatorTile(OpBuilder &b, Location loc);

/// The accumulator tile at [m0, n0] of the f32 block-local `buffer`.
AccumulatorTile readAccumulatorTile(OpBuilder &b, Location loc, Value buffer,
                                    Value m0, Value n0);

/// Writes `tile` to [m0, n0] of the f32 block-local `buffer`.
void writeAccumulatorTile(OpBuilder &b, Location loc,
                          const AccumulatorTile &tile, Value buffer, Value m0,
                          Value n0);

/// In a warp loop: `init` plus the product of the f16 block-local tiles
/// A[m0 .. m0 + 16, 0 .. extent) and B[0 .. extent, n0 .. n0 + 16), with B
/// read from rows [n0 .., k] when `transposeB` (B^T stored row by row), else
/// from rows [k .., n0 ..]. Each K step of 16 is one 16x8x16 contraction per
/// piece, B taken as [n, k] (the shapes and layouts of mma.sync, to which
/// the GPU pipeline maps them: ldmatrix, transposing for row-major B). The
/// f16 values are extended to f32 for the contraction; the GPU pipeline
/// folds the extensions into the matrix operation.
AccumulatorTile multiplyMatrixTiles(OpBuilder &b, Location loc,
                                    const AccumulatorTile &init, Value a,
                                    Value m0, Value bTile, Value n0,
                                    int64_t extent, bool transposeB);

/// In a thread loop of `threads` threads (`thread` the id): fills the
/// block-local [rows, width] `tile` from `source` in pieces of up to 16
/// bytes of a row, each read and written as a vector (16-byte loads and
/// shared-memory stores where weft-align-buffer-accesses proves the
/// alignment). `sourceIndices(b, row,
/// column)` are the source indices of a piece and `inside(b, row, column)`
/// whether it exists (zeros otherwise); `columns` (when > 0) must also be
/// a multiple of the piece (the valid columns of the source). `convert`,
/// when given, turns a piece of the source's element type into one of the
/// tile's (`convert(b, piece, row, column)`, for pieces that exist).
/// `asyncPending`, when given (and nothing is converted), marks the stores
/// as copies that may be asynchronous on the GPU, with that many of the
/// thread's copy groups left pending at the end of the phase
/// (weft/Transforms/AsyncCopies.h).
void loadTileRows(
    OpBuilder &b, Location loc, Value thread, int64_t threads, Value source,
    Value tile, int64_t rows, int64_t width, int64_t columns,
    function_ref<SmallVector<Value>(OpBuilder &, Value, Value)> sourceIndices,
    function_ref<Value(OpBuilder &, Value, Value)> inside,
    function_ref<Value(OpBuilder &, Value, Value, Value)> convert = nullptr,
    std::optional<int64_t> asyncPending = std::nullopt);

/// `memref[indices]` widened to f32 when `condition` holds, else `otherwise`
/// (the load only happens when it holds).
Value loadF32If(OpBuilder &b, Location loc, Value condition, Value memref,
                ValueRange indices, Value otherwise);

/// A sum, maximum, ... over [0, count): `step(builder, i, accumulator)`
/// returns the next accumulator.
Value accumulate(OpBuilder &b, Location loc, Value count, Value init,
                 function_ref<Value(OpBuilder &, Value, Value)> step);

/// Double buffering: a loop's iterations use two sets of buffers in turn and
/// carry an i1 that says whether set 0 (`first`) is the current one. The
/// value to start the loop with.
Value firstIsCurrentInit(OpBuilder &b, Location loc);

/// The current buffer of the pair (`current`) or the other one.
Value pickBuffer(OpBuilder &b, Location loc, Value firstIsCurrent, Value first,
                 Value second, bool current);

/// The i1 for the next iteration: the sets swap.
Value swapBuffers(OpBuilder &b, Location loc, Value firstIsCurrent);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_BLOCKLOOPS_H
