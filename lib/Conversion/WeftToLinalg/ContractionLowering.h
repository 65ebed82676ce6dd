//===- ContractionLowering.h - GPU forms of the contractions ----*- C++ -*-===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_CONTRACTIONLOWERING_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_CONTRACTIONLOWERING_H

#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::weft {

/// weft.qlinear's f32 sum x * W^T (result shape, before the epilogue) as GPU
/// thread blocks for few rows of x (QLinearBlocks.cpp), or std::nullopt
/// where the form does not apply: more than 8 or a dynamic number of rows,
/// a weight that is not a function argument, groups that are not a multiple
/// of 16 bytes of weights.
std::optional<Value> lowerQLinearAsBlocks(QLinearOp op, Value x, Value qweight,
                                          Value scales, Value zeros,
                                          OpBuilder &b);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_CONTRACTIONLOWERING_H
