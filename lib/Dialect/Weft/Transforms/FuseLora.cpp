//===- FuseLora.cpp - LoRA deltas into the base linear layer --------------===//
//
// add(linear|qlinear(x), lora(x)) -> linear|qlinear(x) lora A, B: the
// lowering accumulates the delta into the base product's f32 sum, so the
// delta tensor and the add disappear.
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTFUSELORAPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

/// The lora_scale attribute for `lora`'s scale: absent when it is 1.
FloatAttr getLoraScaleAttr(LoraOp lora) {
  return lora.getScale().isExactlyValue(1.0) ? FloatAttr()
                                             : lora.getScaleAttr();
}

/// `op` with the LoRA delta of `lora` and residual `residual`, built at the
/// rewriter's insertion point.
Value withLora(PatternRewriter &rewriter, LinearOp op, LoraOp lora,
               Value residual) {
  return LinearOp::create(rewriter, op.getLoc(), op.getType(), op.getX(),
                          op.getWeight(), op.getBias(), residual,
                          lora.getLoraA(), lora.getLoraB(), lora.getIds(),
                          op.getActivationAttr(), getLoraScaleAttr(lora));
}

Value withLora(PatternRewriter &rewriter, QLinearOp op, LoraOp lora,
               Value residual) {
  return QLinearOp::create(
      rewriter, op.getLoc(), op.getType(), op.getX(), op.getQweight(),
      op.getScales(), op.getZeros(), op.getBias(), residual, lora.getLoraA(),
      lora.getLoraB(), lora.getIds(), op.getGroupSizeAttr(),
      op.getActivationAttr(), getLoraScaleAttr(lora));
}

/// The weft.lora defining `value` when it has no other use and reads the
/// same `x` as the base layer, with the base layer's result type.
LoraOp getFusableLora(Value value, Value x, Type type) {
  auto lora = value.getDefiningOp<LoraOp>();
  if (!lora || !value.hasOneUse() || lora.getX() != x || lora.getType() != type)
    return {};
  return lora;
}

/// True when a delta added after `base` can move into its sum: no
/// activation (act(s) + d != act(s + d)) and no delta yet.
template <typename OpTy> bool canTakeDelta(OpTy base) {
  return base && base.getActivation() == Activation::none && !base.hasLora();
}

/// add(base(x), lora(x)), either operand order, with the base layer used
/// only by the add.
template <typename OpTy> struct FuseLoraAdd : OpRewritePattern<AddOp> {
  using OpRewritePattern<AddOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    for (auto [baseValue, deltaValue] : {std::pair{add.getLhs(), add.getRhs()},
                                         {add.getRhs(), add.getLhs()}}) {
      auto base = baseValue.template getDefiningOp<OpTy>();
      if (!canTakeDelta(base) || !baseValue.hasOneUse() ||
          add.getType() != base.getType())
        continue;
      LoraOp lora = getFusableLora(deltaValue, base.getX(), base.getType());
      if (!lora)
        continue;
      rewriter.replaceOp(add,
                         withLora(rewriter, base, lora, base.getResidual()));
      return success();
    }
    return rewriter.notifyMatchFailure(add, "not base(x) + lora(x)");
  }
};

/// base(x) residual lora(x), the form weft-fuse-epilogues makes of the add:
/// the residual becomes the fused delta.
template <typename OpTy> struct FuseLoraResidual : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy base,
                                PatternRewriter &rewriter) const override {
    Value residual = base.getResidual();
    if (!residual || !canTakeDelta(base))
      return rewriter.notifyMatchFailure(base, "no residual to fuse");
    LoraOp lora = getFusableLora(residual, base.getX(), base.getType());
    if (!lora)
      return rewriter.notifyMatchFailure(base, "residual is not lora(x)");
    rewriter.replaceOp(base, withLora(rewriter, base, lora, Value()));
    return success();
  }
};

struct WeftFuseLoraPass : weft::impl::WeftFuseLoraPassBase<WeftFuseLoraPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseLoraPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void weft::populateFuseLoraPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<FuseLoraAdd<LinearOp>, FuseLoraAdd<QLinearOp>,
               FuseLoraResidual<LinearOp>, FuseLoraResidual<QLinearOp>>(
      context);
}
