//===- AttentionLowering.h - forms of weft.attention ------------*- C++ -*-===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONLOWERING_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONLOWERING_H

#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::weft {

/// The attributes of a weft.attention that shape its scores.
struct AttentionScoring {
  explicit AttentionScoring(AttentionOp op);

  float scale;
  std::optional<float> softcap;
  bool causal;
  std::optional<int64_t> window;
  /// Query heads per kv head.
  int64_t group;
};

/// scale * s, then softcap * tanh(s / softcap) when set (docs/Spec.md).
Value buildScaledScore(OpBuilder &b, Location loc, Value s,
                       const AttentionScoring &scoring);

/// Whether key j is visible from query i (index values) with L valid keys
/// and Sq queries: j < L when `checkLength`, and with causal masking
/// j <= i + L - Sq, and with a window i + L - Sq - j < W; written with Sq
/// moved to the other side so that nothing goes negative. Null when nothing
/// is to be checked.
Value buildKeyVisible(OpBuilder &b, Location loc, Value i, Value j,
                      Value validLength, Value seqQ, bool checkLength,
                      const AttentionScoring &scoring);

/// `m` where it is finite, 0 where it is -inf: the max of a row that has
/// seen no visible key. Subtracting it keeps exp(-inf - -inf) = NaN out of
/// the softmax (the row's sum is 0 anyway).
Value finiteMax(OpBuilder &b, Location loc, Value m);

/// weft.attention as whole-tensor products (scores, softmax, product with V),
/// the form for GPUs; returns the output and, with return_lse, the lse.
/// `batch`, `seqQ` and `seqK` are the shared sizes (seqQ is not zero).
SmallVector<Value>
lowerAttentionAsProducts(AttentionOp op, Value q, Value k, Value v, Value mask,
                         Value kvLen, OpFoldResult batch, OpFoldResult seqQ,
                         OpFoldResult seqK,
                         ConversionPatternRewriter &rewriter);

/// weft.attention as GPU thread blocks (AttentionBlocks.cpp): scf.forall
/// loops mapped to blocks and threads, block-local tiles, an online softmax
/// and, for few blocks, split keys merged by a second grid. Reads the
/// operands through bufferization.to_buffer. std::nullopt when the tiles
/// would not fit `sharedBytes` of shared memory (very large heads or
/// groups).
std::optional<SmallVector<Value>>
lowerAttentionAsBlocks(AttentionOp op, Value q, Value k, Value v, Value mask,
                       Value kvLen, OpFoldResult batch, OpFoldResult seqQ,
                       OpFoldResult seqK, int64_t sharedBytes,
                       ConversionPatternRewriter &rewriter);

/// weft.attention FlashAttention-2 style (AttentionRegisters.cpp): one SIMT
/// thread loop per block of 64 query rows whose warps keep Q, the scores,
/// the softmax state and the output rows in registers as tensor-core
/// fragments (nvgpu.mma.sync); K and V tiles in shared memory. With few
/// blocks over many key tiles (static sizes) the keys split across blocks,
/// merged by a second grid. std::nullopt where it does not apply: operands
/// not all f16 or all bf16, head dims not multiples of 16 or above 128, a
/// kv group that does not divide 64, or tiles beyond `sharedBytes`.
std::optional<SmallVector<Value>>
lowerAttentionInRegisters(AttentionOp op, Value q, Value k, Value v, Value mask,
                          Value kvLen, OpFoldResult batch, OpFoldResult seqQ,
                          OpFoldResult seqK, int64_t sharedBytes,
                          ConversionPatternRewriter &rewriter);

/// weft.attention for decoding (AttentionDecode.cpp): a few query rows per
/// kv head (queries x group <= 8, static Sq) read K and V from global memory
/// straight into registers, 16 bytes per lane, in SIMT thread loops whose
/// lane groups reduce dot products by shuffles; the keys split across
/// blocks, merged by a second grid. std::nullopt where it does not apply:
/// more rows, dynamic Sq, Q/K/V of different or non-float element types,
/// Dv != D, or a head dim whose 16-byte chunks are not a power of two up to
/// 32.
std::optional<SmallVector<Value>>
lowerAttentionForDecoding(AttentionOp op, Value q, Value k, Value v, Value mask,
                          Value kvLen, OpFoldResult batch, OpFoldResult seqQ,
                          OpFoldResult seqK,
                          ConversionPatternRewriter &rewriter);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONLOWERING_H
