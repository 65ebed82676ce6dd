//===- AttentionKeys.h - keys a block of queries sees -----------*- C++ -*-===//
//
// Shared by the GPU forms of weft.attention that walk the keys of a block of
// queries tile by tile (AttentionBlocks.cpp, AttentionRegisters.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONKEYS_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONKEYS_H

#include "AttentionLowering.h"

namespace mlir::weft {

/// A weft.attention's operands as read-only buffers (mask and kv_len null
/// when absent), its shared sizes as index values and its result buffers
/// (lse null without return_lse).
struct AttentionIO {
  Value q, k, v, mask, kvLen;
  Value batch, seqQ, seqK;
  Value out, lse;
};

AttentionIO prepareAttentionIO(OpBuilder &b, AttentionOp op, Value q, Value k,
                               Value v, Value mask, Value kvLen,
                               OpFoldResult batch, OpFoldResult seqQ,
                               OpFoldResult seqK);

/// The op's results from the filled result buffers of `io`.
SmallVector<Value> getAttentionResults(OpBuilder &b, AttentionOp op,
                                       const AttentionIO &io);

/// The keys of a block of queries [firstQuery, firstQuery + queries).
struct BlockKeys {
  /// L: kv_len of the batch row (the key count without kv_len).
  Value validLength;
  /// [start, end): the keys some query of the block can see (at most L;
  /// with causal masking and a window, the diagonal band of the block).
  /// Each score still checks its own visibility.
  Value start, end;
};

/// `kvLen` is the kv_len buffer (null without one), read at `batchIndex`.
BlockKeys computeBlockKeys(OpBuilder &b, Location loc,
                           const AttentionScoring &scoring, Value firstQuery,
                           int64_t queries, Value seqQ, Value seqK, Value kvLen,
                           Value batchIndex);

/// Turns dot products of a query and a key into scores: scale (and softcap),
/// plus the additive mask, -inf where the key is not visible or lies outside
/// [keys.start, keys.end) or the query outside [0, Sq).
struct ScoreMasking {
  const AttentionScoring &scoring;
  BlockKeys keys;
  Value seqQ;
  /// The mask buffer ([B or 1, H or 1, Sq, Sk]) or null.
  Value mask;
  Value batchIndex;
  bool checkLength; // with kv_len

  Value finish(OpBuilder &b, Location loc, Value query, Value head, Value key,
               Value dot) const;
};

/// In a thread loop of `threads` threads (`thread` the id): this thread's
/// share of copying the key tile [tileStart, tileStart + rows) of kv head
/// `kvHead` of batch row `batchIndex` from `k` and `v` ([B, Sk, Hkv, D])
/// into `kTile` and `vTile`, zeros from `keyEnd` on; copies that may be
/// asynchronous, with `pending` groups left pending at the phase's end.
void loadKeyValueTiles(OpBuilder &b, Location loc, Value thread,
                       int64_t threads, Value k, Value v, Value kTile,
                       Value vTile, int64_t rows, Value batchIndex,
                       Value kvHead, Value tileStart, Value keyEnd,
                       int64_t pending);

/// Attention over splits of the keys (flash decoding): each split's rows
/// unnormalised ([splits, B, Sq, H, Dv], relative to the split's row
/// maxima), its row maxima and its row sums ([splits, B, H, Sq]).
struct KeySplitParts {
  Value out, max, sum;
};

KeySplitParts allocateKeySplitParts(OpBuilder &b, Location loc,
                                    OpFoldResult splits, OpFoldResult batch,
                                    OpFoldResult seqQ, int64_t heads,
                                    int64_t valueDim);

/// A grid that merges the splits into the results of `io` (the rows and
/// lse): each split's rows weighted by exp(m_split - m), m the maximum over
/// the splits. `maximaInBase2` when the maxima are log2 of the row scale
/// (exp2 instead of exp).
void mergeKeySplits(OpBuilder &b, Location loc, const AttentionIO &io,
                    const KeySplitParts &parts, OpFoldResult splits,
                    int64_t heads, int64_t valueDim, bool maximaInBase2);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONKEYS_H
