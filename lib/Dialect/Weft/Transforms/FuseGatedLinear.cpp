//===- FuseGatedLinear.cpp - act(x Wg^T) * (x Wu^T) into weft.gated_linear ===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTFUSEGATEDLINEARPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

/// The weft.linear defining `value` when it has no other use and computes
/// the plain product x W^T (no bias, residual or LoRA delta) followed by
/// `activation`.
LinearOp getPlainLinear(Value value, Activation activation) {
  auto linear = value.getDefiningOp<LinearOp>();
  if (!linear || !value.hasOneUse() || linear.getBias() ||
      linear.getResidual() || linear.hasLora() ||
      linear.getActivation() != activation)
    return {};
  return linear;
}

/// The activation and plain linear of a gate branch: act(linear(x, Wg)) with
/// a separate activation op, or linear(x, Wg) {activation} once
/// weft-fuse-epilogues has folded it.
std::optional<std::pair<Activation, LinearOp>> matchGate(Value value) {
  Operation *op = value.getDefiningOp();
  if (!op || !value.hasOneUse())
    return std::nullopt;
  std::optional<Activation> activation;
  if (isa<SiluOp>(op))
    activation = Activation::silu;
  else if (isa<ReluOp>(op))
    activation = Activation::relu;
  else if (auto gelu = dyn_cast<GeluOp>(op))
    activation =
        gelu.getTanhApproximation() ? Activation::gelu_tanh : Activation::gelu;
  if (activation) {
    if (LinearOp linear = getPlainLinear(op->getOperand(0), Activation::none))
      return std::pair{*activation, linear};
    return std::nullopt;
  }
  if (auto linear = dyn_cast<LinearOp>(op))
    if (linear.getActivation() != Activation::none &&
        getPlainLinear(value, linear.getActivation()))
      return std::pair{linear.getActivation(), linear};
  return std::nullopt;
}

/// mul(act(linear(x, Wg)), linear(x, Wu)), either operand order, into
/// weft.gated_linear x, Wg, Wu {activation}.
struct FuseGatedLinear : OpRewritePattern<MulOp> {
  using OpRewritePattern<MulOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp mul,
                                PatternRewriter &rewriter) const override {
    for (auto [gateValue, upValue] : {std::pair{mul.getLhs(), mul.getRhs()},
                                      {mul.getRhs(), mul.getLhs()}}) {
      std::optional<std::pair<Activation, LinearOp>> gate =
          matchGate(gateValue);
      LinearOp up = getPlainLinear(upValue, Activation::none);
      if (!gate || !up)
        continue;
      LinearOp gateLinear = gate->second;
      // Same x, and no broadcasting: both products and the result have one
      // type (which also makes the weights the same shape).
      if (gateLinear.getX() != up.getX() ||
          gateLinear.getType() != up.getType() ||
          mul.getType() != up.getType() || gateValue.getType() != up.getType())
        continue;
      rewriter.replaceOpWithNewOp<GatedLinearOp>(mul, mul.getType(), up.getX(),
                                                 gateLinear.getWeight(),
                                                 up.getWeight(), gate->first);
      return success();
    }
    return rewriter.notifyMatchFailure(mul, "not act(x Wg^T) * (x Wu^T)");
  }
};

struct WeftFuseGatedLinearPass
    : weft::impl::WeftFuseGatedLinearPassBase<WeftFuseGatedLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseGatedLinearPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void weft::populateFuseGatedLinearPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseGatedLinear>(patterns.getContext());
}
