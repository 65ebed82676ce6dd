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

namespace mlir::weft {

/// Bias, activation and residual ops into weft.linear / weft.qlinear.
void populateFuseEpiloguePatterns(RewritePatternSet &patterns);

/// TilingInterface and ReifyRankedShapedTypeOpInterface for weft.linear,
/// weft.qlinear and weft.rms_norm, attached when the weft dialect loads.
void registerTilingInterfaceExternalModels(DialectRegistry &registry);

} // namespace mlir::weft

#endif // WEFT_DIALECT_WEFT_TRANSFORMS_TRANSFORMS_H
