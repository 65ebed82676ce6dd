//===- FuseEpilogues.cpp - bias/activation/residual into linear layers ----===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTFUSEEPILOGUESPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

/// The epilogue of a linear-like op: act(x W^T + bias) + residual.
struct Epilogue {
  Value bias;
  Activation activation = Activation::none;
  Value residual;
};

template <typename OpTy> Epilogue getEpilogue(OpTy op) {
  return {op.getBias(), op.getActivation(), op.getResidual()};
}

/// `op` with its epilogue replaced, built at the rewriter's insertion point.
/// A fused LoRA delta is added before the activation, so it stays on the
/// rebuilt op whatever the epilogue becomes.
Value rebuild(PatternRewriter &rewriter, LinearOp op, const Epilogue &e) {
  return LinearOp::create(rewriter, op.getLoc(), op.getType(), op.getX(),
                          op.getWeight(), e.bias, e.residual, op.getLoraA(),
                          op.getLoraB(), op.getLoraIds(),
                          ActivationAttr::get(op.getContext(), e.activation),
                          op.getLoraScaleAttr());
}

Value rebuild(PatternRewriter &rewriter, QLinearOp op, const Epilogue &e) {
  return QLinearOp::create(rewriter, op.getLoc(), op.getType(), op.getX(),
                           op.getQweight(), op.getScales(), op.getZeros(),
                           e.bias, e.residual, op.getLoraA(), op.getLoraB(),
                           op.getLoraIds(), op.getGroupSizeAttr(),
                           ActivationAttr::get(op.getContext(), e.activation),
                           op.getLoraScaleAttr());
}

/// The linear-like op of type OpTy defining `value` when `value` is its only
/// use, so that fusing into it changes no other user.
template <typename OpTy> OpTy getSoleUseProducer(Value value) {
  auto op = value.getDefiningOp<OpTy>();
  return op && op->hasOneUse() ? op : OpTy();
}

/// add(linear(x, W), b) with b : [N] -> linear(x, W) bias b, when the linear
/// layer has no bias, activation or residual yet.
template <typename OpTy> struct FuseBias : OpRewritePattern<AddOp> {
  using OpRewritePattern<AddOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    for (auto [linearValue, bias] : {std::pair{add.getLhs(), add.getRhs()},
                                     {add.getRhs(), add.getLhs()}}) {
      OpTy linear = getSoleUseProducer<OpTy>(linearValue);
      if (!linear || add.getType() != linear.getType())
        continue;
      Epilogue epilogue = getEpilogue(linear);
      if (epilogue.bias || epilogue.residual ||
          epilogue.activation != Activation::none)
        continue;
      auto biasType = cast<RankedTensorType>(bias.getType());
      int64_t n = linear.getType().getShape().back();
      if (biasType.getRank() != 1 || ShapedType::isDynamic(n) ||
          biasType.getDimSize(0) != n)
        continue;
      epilogue.bias = bias;
      rewriter.replaceOp(add, rebuild(rewriter, linear, epilogue));
      rewriter.eraseOp(linear);
      return success();
    }
    return rewriter.notifyMatchFailure(add, "not a bias over a linear layer");
  }
};

/// The epilogue activation that `op` computes, if it is one.
std::optional<Activation> getActivation(Operation *op) {
  if (isa<SiluOp>(op))
    return Activation::silu;
  if (isa<ReluOp>(op))
    return Activation::relu;
  if (auto gelu = dyn_cast<GeluOp>(op))
    return gelu.getTanhApproximation() ? Activation::gelu_tanh
                                       : Activation::gelu;
  return std::nullopt;
}

/// silu|relu|gelu(linear(...)) -> linear(...) {activation}, when the linear
/// layer has no activation or residual yet.
template <typename OpTy, typename ActivationOpTy>
struct FuseActivation : OpRewritePattern<ActivationOpTy> {
  using OpRewritePattern<ActivationOpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(ActivationOpTy op,
                                PatternRewriter &rewriter) const override {
    OpTy linear = getSoleUseProducer<OpTy>(op.getInput());
    if (!linear)
      return rewriter.notifyMatchFailure(op, "input is not a linear layer");
    Epilogue epilogue = getEpilogue(linear);
    if (epilogue.residual || epilogue.activation != Activation::none)
      return rewriter.notifyMatchFailure(op, "activation stage is taken");
    epilogue.activation = *getActivation(op);
    rewriter.replaceOp(op, rebuild(rewriter, linear, epilogue));
    rewriter.eraseOp(linear);
    return success();
  }
};

/// add(linear(...), r) with r of the result's type -> linear(...) residual r,
/// when the linear layer has no residual yet.
template <typename OpTy> struct FuseResidual : OpRewritePattern<AddOp> {
  using OpRewritePattern<AddOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    for (auto [linearValue, residual] : {std::pair{add.getLhs(), add.getRhs()},
                                         {add.getRhs(), add.getLhs()}}) {
      OpTy linear = getSoleUseProducer<OpTy>(linearValue);
      if (!linear || add.getType() != linear.getType() ||
          residual.getType() != linear.getType())
        continue;
      Epilogue epilogue = getEpilogue(linear);
      if (epilogue.residual)
        continue;
      epilogue.residual = residual;
      rewriter.replaceOp(add, rebuild(rewriter, linear, epilogue));
      rewriter.eraseOp(linear);
      return success();
    }
    return rewriter.notifyMatchFailure(add,
                                       "not a residual over a linear layer");
  }
};

template <typename OpTy> void addEpiloguePatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  // A bias is tried before a residual: both may match add(linear, [N]) when
  // the result is rank 1, and the bias keeps the residual stage free.
  patterns.add<FuseBias<OpTy>>(context, /*benefit=*/2);
  patterns.add<FuseResidual<OpTy>>(context, /*benefit=*/1);
  patterns.add<FuseActivation<OpTy, SiluOp>, FuseActivation<OpTy, ReluOp>,
               FuseActivation<OpTy, GeluOp>>(context);
}

struct WeftFuseEpiloguesPass
    : weft::impl::WeftFuseEpiloguesPassBase<WeftFuseEpiloguesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseEpiloguePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void weft::populateFuseEpiloguePatterns(RewritePatternSet &patterns) {
  addEpiloguePatterns<LinearOp>(patterns);
  addEpiloguePatterns<QLinearOp>(patterns);
}
