//===- WeftToLinalg.h - weft to linalg patterns -----------------*- C++ -*-===//
//
// Pattern sets of convert-weft-to-linalg, one per op family, so that other
// passes and pipelines can reuse them.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_CONVERSION_WEFTTOLINALG_WEFTTOLINALG_H
#define WEFT_CONVERSION_WEFTTOLINALG_WEFTTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::weft {

/// Elementwise binary (with broadcasting) and unary ops.
void populateElementwiseToLinalgPatterns(RewritePatternSet &patterns);
/// linear, qlinear, lora, matmul.
void populateContractionToLinalgPatterns(RewritePatternSet &patterns);
/// rms_norm, layer_norm, softmax, reduce, argmax.
void populateNormalizationToLinalgPatterns(RewritePatternSet &patterns);
/// embedding, reshape, transpose, concat, slice, cast.
void populateShapeToLinalgPatterns(RewritePatternSet &patterns);
/// attention, rope.
/// `attentionProducts` lowers weft.attention as whole-tensor products (a GPU
/// form) instead of parallel tasks over query blocks; `attentionBlocks` as
/// loops mapped to GPU blocks and threads (the fused GPU form, falling back
/// to products where its tiles do not fit).
void populateAttentionToLinalgPatterns(RewritePatternSet &patterns,
                                       bool attentionProducts = false,
                                       bool attentionBlocks = false);
/// ssm_scan, causal_conv1d.
/// `ssmChunkSize` > 0 lowers scalar-A ssm_scan in chunked (SSD) form with
/// chunks of that many steps; 0 keeps the sequential scan.
/// `ssmPerChannel` lowers it with one task per (batch, head, channel), the
/// GPU form.
void populateSequenceToLinalgPatterns(RewritePatternSet &patterns,
                                      int64_t ssmChunkSize = 0,
                                      bool ssmPerChannel = false);

/// All of the above.
void populateWeftToLinalgPatterns(RewritePatternSet &patterns,
                                  int64_t ssmChunkSize = 0,
                                  bool attentionProducts = false,
                                  bool ssmPerChannel = false,
                                  bool attentionBlocks = false);

} // namespace mlir::weft

#endif // WEFT_CONVERSION_WEFTTOLINALG_WEFTTOLINALG_H
