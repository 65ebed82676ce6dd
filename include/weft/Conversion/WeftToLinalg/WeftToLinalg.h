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

/// rms_norm, layer_norm, softmax, reduce, argmax.
void populateNormalizationToLinalgPatterns(RewritePatternSet &patterns);
/// embedding, reshape, transpose, concat, slice, cast.
void populateShapeToLinalgPatterns(RewritePatternSet &patterns);
/// The forms ops are lowered to; the fields are the options of
/// convert-weft-to-linalg with the same names (include/weft/Conversion/
/// Passes.td). The defaults are the CPU's forms.
struct WeftToLinalgForms {
  /// > 0: scalar-A ssm_scan in chunked (SSD) form with chunks of this many
  /// steps; 0 keeps the sequential scan.
  int64_t ssmChunkSize = 0;
  /// weft.attention as whole-tensor products (a GPU form) instead of
  /// parallel tasks over query blocks.
  bool attentionProducts = false;
  /// weft.attention as loops over GPU blocks and threads (the fused GPU
  /// form), falling back to products where its tiles do not fit.
  bool attentionBlocks = false;
  /// weft.attention with its state in registers where it applies (SIMT
  /// thread loops: decoding streams K/V with split keys, f16 prefill is
  /// FlashAttention-2 style), else as attentionBlocks.
  bool attentionRegisters = false;
  /// ssm_scan with one task per (batch, head, channel), a GPU form.
  bool ssmPerChannel = false;
  /// ssm_scan as loops over GPU blocks and threads, one thread per state
  /// element, falling back to per-channel where P or N is dynamic.
  bool ssmBlocks = false;
  /// The Mamba-2 ssm_scan in chunks of 64 steps on the tensor cores (SSD,
  /// SIMT thread loops) where it applies, else as ssmBlocks.
  bool ssmChunked = false;
  /// weft.linear and weft.qlinear as loops over GPU blocks and threads: a
  /// warp per output channel for up to 8 rows of x (decoding), tensor-core
  /// tiles for more rows of f16 x.
  bool linearBlocks = false;
  /// Shared memory (KiB) a block of the thread-block forms may take; more
  /// than 48 lets attention's tensor-core tiles grow.
  int64_t blockSharedMemoryKiB = 46;
};

/// matmul, linear, qlinear, lora, gated_linear.
void populateContractionToLinalgPatterns(RewritePatternSet &patterns,
                                         const WeftToLinalgForms &forms = {});

/// attention, rope.
void populateAttentionToLinalgPatterns(RewritePatternSet &patterns,
                                       const WeftToLinalgForms &forms = {});
/// ssm_scan, causal_conv1d.
void populateSequenceToLinalgPatterns(RewritePatternSet &patterns,
                                      const WeftToLinalgForms &forms = {});

/// All of the above.
void populateWeftToLinalgPatterns(RewritePatternSet &patterns,
                                  const WeftToLinalgForms &forms = {});

} // namespace mlir::weft

#endif // WEFT_CONVERSION_WEFTTOLINALG_WEFTTOLINALG_H
