//===- ContractionLowering.h - GPU forms of the contractions ----*- C++ -*-===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_CONTRACTIONLOWERING_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_CONTRACTIONLOWERING_H

#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::weft {

/// The operands of the thread-block form of weft.linear (`weight` [N, K]
/// float) and weft.qlinear (`weight` integers with `scales`, optional
/// `zeros`, and `groupSize`).
struct LinearBlocksOperands {
  Value x, weight, scales, zeros;
  int64_t groupSize = 0;
  /// With `epilogue`, the kernel also applies the bias, the activation and
  /// the residual and rounds to the result type; otherwise it yields the f32
  /// sum for a LoRA delta to be added first.
  bool epilogue = false;
  Value bias, residual;
  Activation activation = Activation::none;
  /// A LoRA delta the few-rows kernel adds itself: t = scale * x A^T
  /// ([..., r] f32, static r), B ([N, r] or [adapters, N, r]) and the ids
  /// of the multi-adapter form.
  Value loraT, loraB, loraIds;
};

/// Whether lowerLinearAsBlocks applies to `op` with these operands.
bool canLowerLinearAsBlocks(Operation *op, Value x, Value weight, Value scales,
                            int64_t groupSize);

/// Rows of x up to which the few-rows kernel (lowerLinearAsBlocks) applies.
constexpr int64_t kMaxBlocksRows = 8;

/// Whether some leading dim of x ([..., K]) is dynamic.
bool hasDynamicRows(Value x);

/// The rows of x ([..., K]) at run time: the product of its leading dims.
Value getRowCountValue(OpBuilder &b, Location loc, Value x);

/// weft.linear or weft.qlinear `op` as GPU thread blocks for few rows of x
/// (LinearBlocks.cpp): the result, or its f32 sum x * W^T without
/// `epilogue`; std::nullopt where the form does not apply: more than 8
/// rows, a weight that is not a function argument, or rows or groups that
/// are not whole 16-byte chunks of weights. A dynamic number of rows takes
/// a block row per row of x; the caller makes sure they are at most 8.
std::optional<Value> lowerLinearAsBlocks(Operation *op,
                                         const LinearBlocksOperands &operands,
                                         OpBuilder &b);

/// weft.linear `op` with f16 x and weight, or weft.qlinear with f16 x, as
/// GPU thread blocks of square output tiles (64 or 128) whose products are
/// warp-level matrix operations (LinearTiles.cpp, tensor cores on the GPU),
/// the largest tiles and K steps that fit `sharedBytes` of shared memory:
/// the result, or its f32 sum without `epilogue`; std::nullopt for other
/// element types, a weight of dynamic shape, or groups of scales that are
/// not a multiple of 32.
std::optional<Value>
lowerLinearAsMatrixTiles(Operation *op, const LinearBlocksOperands &operands,
                         int64_t sharedBytes, OpBuilder &b);

/// Whether lowerLinearAsMatrixTiles applies to these operands.
bool canLowerLinearAsMatrixTiles(const LinearBlocksOperands &operands,
                                 int64_t sharedBytes);

/// The epilogue of a linear layer on one f32 sum, for the kernels above:
/// round(act(sum + bias[channel]) + residual[row, channel]) to `type`
/// (`bias` and `residual` buffers, either may be null).
Value applyLinearEpilogue(OpBuilder &b, Location loc, Value sum,
                          Activation activation, Value bias, Value residual,
                          Value row, Value channel, Type type);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_CONTRACTIONLOWERING_H
