//===- Transforms.h - weft rewrite pattern sets -----------------*- C++ -*-===//
//
// The pattern sets behind weft's passes, for reuse in other passes and
// pipelines.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_DIALECT_WEFT_TRANSFORMS_TRANSFORMS_H
#define WEFT_DIALECT_WEFT_TRANSFORMS_TRANSFORMS_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace func {
class FuncOp;
} // namespace func

namespace weft {

/// The argument attribute naming the parameter a function argument is
/// bound to.
inline constexpr llvm::StringLiteral kParamAttrName = "weft.param";

/// Replaces the weft.param ops of `func` by trailing arguments marked with
/// kParamAttrName, one per distinct name (weft-bind-params).
LogicalResult bindParamsToArguments(func::FuncOp func);

/// Bias, activation and residual ops into weft.linear / weft.qlinear.
void populateFuseEpiloguePatterns(RewritePatternSet &patterns);

/// Decomposed softmax(scale * Q K^T + mask) V into weft.attention; with
/// `detectCausal`, constant causal masks become the causal attribute.
void populateFuseAttentionPatterns(RewritePatternSet &patterns,
                                   bool detectCausal = true);

/// mul(act(linear(x, Wg)), linear(x, Wu)) into weft.gated_linear.
void populateFuseGatedLinearPatterns(RewritePatternSet &patterns);

/// add(linear|qlinear(x), lora(x)) into the base layer's LoRA operands.
void populateFuseLoraPatterns(RewritePatternSet &patterns);
/// TilingInterface and ReifyRankedShapedTypeOpInterface for weft.linear,
/// weft.qlinear, weft.rms_norm, weft.layer_norm, weft.ssm_scan and
/// weft.attention (their parallel dims), attached when the weft dialect
/// loads.
void registerTilingInterfaceExternalModels(DialectRegistry &registry);

} // namespace weft
} // namespace mlir

#endif // WEFT_DIALECT_WEFT_TRANSFORMS_TRANSFORMS_H
