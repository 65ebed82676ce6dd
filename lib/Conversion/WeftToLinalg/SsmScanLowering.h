//===- SsmScanLowering.h - forms of weft.ssm_scan ---------------*- C++ -*-===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_SSMSCANLOWERING_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_SSMSCANLOWERING_H

#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::weft {

/// The operands of a weft.ssm_scan being lowered, with the processed step
/// dt' ([B, L, H], clamp(softplus(dt + dt_bias)), f32 or x's type when there
/// is nothing to process) and the shared sizes; absent operands are null.
struct SsmScanOperands {
  Value x, dtProcessed, a, bm, cm, d, z, initialState;
  /// H / G: head h reads group h / headsPerGroup.
  Value headsPerGroup;
  OpFoldResult batch, length, heads, headDim, stateDim;
};

/// The buffers of a thread-block form of weft.ssm_scan: its operands, read
/// only (absent ones null), and the y ([B, L, H, P] of `yElement`) and final
/// state ([B, H, P, N], f32) it fills.
struct SsmScanBuffers {
  Value x, dt, a, bm, cm, d, z, initialState, y, finalState;
};
SsmScanBuffers createSsmScanBuffers(OpBuilder &b, Location loc,
                                    const SsmScanOperands &operands,
                                    Type yElement);

/// The batch index, head and group of the grid index `batchHead` (over
/// batch x heads) of a thread-block form.
struct SsmScanHead {
  Value batch, head, group;
};
SsmScanHead getSsmScanHead(OpBuilder &b, Location loc, Value batchHead,
                           Value heads, Value headsPerGroup);

/// weft.ssm_scan with one task per (batch, head, channel), the GPU form;
/// returns y and the final state.
SmallVector<Value> lowerSsmScanPerChannel(SsmScanOp op,
                                          const SsmScanOperands &operands,
                                          ConversionPatternRewriter &rewriter);

/// weft.ssm_scan as GPU thread blocks (SsmScanBlocks.cpp): a block per
/// (batch x head, block of channels) whose threads own the elements of its
/// [channels, N] state tile; returns y and the final state, or std::nullopt
/// when P or N is not static. Within `sharedBytes` of block-local memory
/// it stages each chunk's B, C, x and dt (double-buffered where it fits).
std::optional<SmallVector<Value>>
lowerSsmScanAsBlocks(SsmScanOp op, const SsmScanOperands &operands,
                     int64_t sharedBytes, ConversionPatternRewriter &rewriter);

/// The Mamba-2 weft.ssm_scan in chunks of 64 steps on the tensor cores
/// (SsmScanChunks.cpp, SIMT thread loops, one block per (batch, head));
/// std::nullopt where it does not apply: A per state (Mamba-1), x, B or C
/// not all f16 or all bf16, P other than 64, N not a multiple of 16 up to
/// 128, or tiles beyond `sharedBytes`.
std::optional<SmallVector<Value>>
lowerSsmScanAsChunks(SsmScanOp op, const SsmScanOperands &operands,
                     int64_t sharedBytes, ConversionPatternRewriter &rewriter);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_SSMSCANLOWERING_H
