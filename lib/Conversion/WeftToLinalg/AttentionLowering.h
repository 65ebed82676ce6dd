//===- AttentionLowering.h - forms of weft.attention ------------*- C++ -*-===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONLOWERING_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONLOWERING_H

#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::weft {

/// weft.attention as whole-tensor products (scores, softmax, product with V),
/// the form for GPUs; returns the output and, with return_lse, the lse.
/// `batch`, `seqQ` and `seqK` are the shared sizes (seqQ is not zero).
SmallVector<Value>
lowerAttentionAsProducts(AttentionOp op, Value q, Value k, Value v, Value mask,
                         Value kvLen, OpFoldResult batch, OpFoldResult seqQ,
                         OpFoldResult seqK,
                         ConversionPatternRewriter &rewriter);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_ATTENTIONLOWERING_H
