//===- ElementwiseOps.cpp - elementwise weft ops to linalg ----------------===//

#include "LoweringUtils.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

/// Builds the scalar computation of a binary op on two values of its element
/// type.
template <typename OpTy>
Value buildBinary(OpBuilder &b, Location loc, Value lhs, Value rhs);

template <>
Value buildBinary<AddOp>(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::AddFOp::create(b, loc, lhs, rhs);
  return arith::AddIOp::create(b, loc, lhs, rhs);
}
template <>
Value buildBinary<SubOp>(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::SubFOp::create(b, loc, lhs, rhs);
  return arith::SubIOp::create(b, loc, lhs, rhs);
}
template <>
Value buildBinary<MulOp>(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::MulFOp::create(b, loc, lhs, rhs);
  return arith::MulIOp::create(b, loc, lhs, rhs);
}
template <>
Value buildBinary<DivOp>(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::DivFOp::create(b, loc, lhs, rhs);
  return arith::DivSIOp::create(b, loc, lhs, rhs);
}

/// weft.add/sub/mul/div -> linalg.generic with broadcasting indexing maps.
template <typename OpTy> struct BinaryOpLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    MLIRContext *context = op.getContext();
    SmallVector<AffineMap> maps = {
        getBroadcastMap(lhsType, resultType.getShape(), context),
        getBroadcastMap(rhsType, resultType.getShape(), context),
        rewriter.getMultiDimIdentityMap(resultType.getRank())};
    Value init = createEmptyTensor(rewriter, loc, resultType, {lhs, rhs});
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, ValueRange{lhs, rhs}, init, maps,
        parallelIterators(resultType.getRank()),
        [](OpBuilder &b, Location loc, ValueRange args) {
          linalg::YieldOp::create(b, loc,
                                  buildBinary<OpTy>(b, loc, args[0], args[1]));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// Builds f32 scalar code for a unary op.
Value buildUnary(OpBuilder &b, Location loc, Operation *op, Value x) {
  return TypeSwitch<Operation *, Value>(op)
      .Case(
          [&](SiluOp) { return buildActivation(b, loc, Activation::silu, x); })
      .Case([&](SigmoidOp) { return buildSigmoid(b, loc, x); })
      .Case(
          [&](ReluOp) { return buildActivation(b, loc, Activation::relu, x); })
      .Case([&](TanhOp) { return math::TanhOp::create(b, loc, x); })
      .Case([&](ExpOp) { return math::ExpOp::create(b, loc, x); })
      .Case([&](NegOp) { return arith::NegFOp::create(b, loc, x); })
      .Case([&](RsqrtOp) { return math::RsqrtOp::create(b, loc, x); })
      .Case([&](SoftplusOp) -> Value {
        // log1p(exp(x)) overflows for large x, where softplus(x) == x in f32.
        Value soft =
            math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, x));
        Value threshold =
            arith::ConstantOp::create(b, loc, b.getF32FloatAttr(20.0));
        Value large = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                            x, threshold);
        return arith::SelectOp::create(b, loc, large, x, soft);
      })
      .Case([&](GeluOp gelu) {
        return buildActivation(b, loc,
                               gelu.getTanhApproximation()
                                   ? Activation::gelu_tanh
                                   : Activation::gelu,
                               x);
      });
}

/// Unary activation/math ops -> linalg.generic computing in f32.
template <typename OpTy> struct UnaryOpLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value input = adaptor.getInput();
    Value init = createEmptyTensor(rewriter, loc, type, input);
    SmallVector<AffineMap> maps(
        2, rewriter.getMultiDimIdentityMap(type.getRank()));
    Operation *source = op;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, input, init, maps,
        parallelIterators(type.getRank()),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value x = extendToF32(b, loc, args[0]);
          Value y = buildUnary(b, loc, source, x);
          linalg::YieldOp::create(
              b, loc, truncateFromF32(b, loc, y, type.getElementType()));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

void weft::populateElementwiseToLinalgPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<BinaryOpLowering<AddOp>, BinaryOpLowering<SubOp>,
               BinaryOpLowering<MulOp>, BinaryOpLowering<DivOp>>(context);
  patterns.add<UnaryOpLowering<SiluOp>, UnaryOpLowering<ReluOp>,
               UnaryOpLowering<SigmoidOp>, UnaryOpLowering<TanhOp>,
               UnaryOpLowering<ExpOp>, UnaryOpLowering<SoftplusOp>,
               UnaryOpLowering<RsqrtOp>, UnaryOpLowering<NegOp>,
               UnaryOpLowering<GeluOp>>(context);
}
