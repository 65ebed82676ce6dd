//===- NormalizationOps.cpp - norms and reductions to linalg --------------===//
//
// rms_norm, layer_norm, softmax, reduce and argmax. Each reduction is a
// linalg.generic with reduction iterators over an f32 accumulator (initialised
// by linalg.fill); the per-element work that follows is one elementwise
// linalg.generic that reads the reduced values through a projected map and
// rounds once to the result type (docs/Spec.md, numerics).
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::weft;

namespace {

/// The dims of a rank-`rank` tensor that are not in `axes`, in order.
SmallVector<int64_t> getKeptDims(int64_t rank, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      kept.push_back(d);
  return kept;
}

/// The map from a rank-`rank` iteration space to its dims outside `axes`.
AffineMap getKeptDimsMap(int64_t rank, ArrayRef<int64_t> axes,
                         MLIRContext *context) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d : getKeptDims(rank, axes))
    exprs.push_back(getAffineDimExpr(d, context));
  return AffineMap::get(rank, 0, exprs, context);
}

/// An f32 tensor of `input`'s shape without `axes`, filled with `value`.
Value createReducedAccumulator(OpBuilder &b, Location loc, Value input,
                               ArrayRef<int64_t> axes, double value) {
  auto inputType = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> kept = getKeptDims(inputType.getRank(), axes);
  SmallVector<int64_t> shape;
  for (int64_t d : kept)
    shape.push_back(inputType.getDimSize(d));
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return createF32AccumulatorWithSizes(b, loc, type, value, [&](int64_t d) {
    return tensor::DimOp::create(b, loc, input, kept[d]).getResult();
  });
}

/// A linalg.generic reducing `input` over `axes` into `init`. `combine`
/// receives the input element widened to f32, the elements of `keptInputs`
/// (tensors indexed by the kept dims) and the accumulator, and returns the new
/// accumulator.
Value buildReduction(
    OpBuilder &b, Location loc, Value input, ValueRange keptInputs,
    ArrayRef<int64_t> axes, Value init,
    function_ref<Value(OpBuilder &, Location, ValueRange)> combine) {
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  MLIRContext *context = b.getContext();
  AffineMap keptMap = getKeptDimsMap(rank, axes, context);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  maps.append(keptInputs.size() + 1, keptMap);
  SmallVector<utils::IteratorType> iterators = parallelIterators(rank);
  for (int64_t axis : axes)
    iterators[axis] = utils::IteratorType::reduction;
  SmallVector<Value> inputs = {input};
  llvm::append_range(inputs, keptInputs);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        SmallVector<Value> values = {extendToF32(nb, nloc, args[0])};
        llvm::append_range(values, args.drop_front());
        linalg::YieldOp::create(nb, nloc, combine(nb, nloc, values));
      });
  return generic.getResult(0);
}

/// An elementwise linalg.generic producing `resultType` from `input` (identity
/// map), `keptInputs` (indexed by the dims outside `axes`) and `lastDimInputs`
/// (rank-1, indexed by the last dim). `compute` gets every element widened to
/// f32 and returns the f32 result, which is rounded to the result type.
Value buildNormalize(
    OpBuilder &b, Location loc, RankedTensorType resultType, Value input,
    ValueRange keptInputs, ArrayRef<int64_t> axes, ValueRange lastDimInputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> compute) {
  int64_t rank = resultType.getRank();
  MLIRContext *context = b.getContext();
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  maps.append(keptInputs.size(), getKeptDimsMap(rank, axes, context));
  maps.append(lastDimInputs.size(),
              AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, context)));
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<Value> inputs = {input};
  llvm::append_range(inputs, keptInputs);
  llvm::append_range(inputs, lastDimInputs);
  Value init = createEmptyTensor(b, loc, resultType, input);
  Type elementType = resultType.getElementType();
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, maps, parallelIterators(rank),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        SmallVector<Value> values;
        for (Value arg : args.drop_back())
          values.push_back(extendToF32(nb, nloc, arg));
        Value result = compute(nb, nloc, values);
        linalg::YieldOp::create(nb, nloc,
                                truncateFromF32(nb, nloc, result, elementType));
      });
  return generic.getResult(0);
}

/// Reinserts the reduced `axes` as size-1 dims: `reduced` (the result shape
/// without `axes`) -> `resultType`. Dynamic sizes come from `input`.
Value expandReducedDims(OpBuilder &b, Location loc, Value reduced,
                        RankedTensorType resultType, ArrayRef<int64_t> axes,
                        Value input) {
  int64_t rank = resultType.getRank();
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  SmallVector<OpFoldResult> outputShape;
  for (int64_t d = 0; d < rank; ++d) {
    pending.push_back(d);
    if (llvm::is_contained(axes, d)) {
      outputShape.push_back(b.getIndexAttr(1));
      continue;
    }
    groups.push_back(std::move(pending));
    pending.clear();
    if (resultType.isDynamicDim(d))
      outputShape.push_back(
          tensor::DimOp::create(b, loc, input, d).getResult());
    else
      outputShape.push_back(b.getIndexAttr(resultType.getDimSize(d)));
  }
  // Trailing reduced dims join the last group; with no kept dim at all the
  // reduced tensor is rank 0 and the group list stays empty.
  if (!groups.empty())
    llvm::append_range(groups.back(), pending);
  return tensor::ExpandShapeOp::create(b, loc, resultType, reduced, groups,
                                       outputShape);
}

/// `type`'s shape without `axes` when `keepDims` is set (the reduced dims are
/// then 1s), else `type` itself.
RankedTensorType dropKeptDims(RankedTensorType type, ArrayRef<int64_t> axes,
                              bool keepDims) {
  if (!keepDims)
    return type;
  SmallVector<int64_t> shape;
  for (int64_t d : getKeptDims(type.getRank(), axes))
    shape.push_back(type.getDimSize(d));
  return type.clone(shape);
}

/// Maps dim `d` of a reduced result (axes removed) to the input dim it
/// comes from.
Value reducedDimSize(OpBuilder &b, Location loc, Value input,
                     ArrayRef<int64_t> axes, int64_t d) {
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  return tensor::DimOp::create(b, loc, input, getKeptDims(rank, axes)[d]);
}

Value f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// weft.rms_norm -> sum of squares over the last dim (reduction generic, f32),
/// then one elementwise generic `x * rsqrt(ss / D + eps) * weight`.
struct RmsNormOpLowering : OpConversionPattern<RmsNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RmsNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t last = resultType.getRank() - 1;
    Value init = createReducedAccumulator(rewriter, loc, x, last, 0.0);
    Value sumSq =
        buildReduction(rewriter, loc, x, {}, last, init,
                       [](OpBuilder &b, Location loc, ValueRange v) {
                         Value sq = arith::MulFOp::create(b, loc, v[0], v[0]);
                         return arith::AddFOp::create(b, loc, sq, v[1]);
                       });
    Value size = createDimAsF32(rewriter, loc, x, last);
    Value eps = f32Constant(rewriter, loc, op.getEps().convertToDouble());
    Value result = buildNormalize(
        rewriter, loc, resultType, x, sumSq, last, adaptor.getWeight(),
        [&](OpBuilder &b, Location loc, ValueRange v) {
          Value ms = arith::DivFOp::create(b, loc, v[1], size);
          Value inv = math::RsqrtOp::create(
              b, loc, arith::AddFOp::create(b, loc, ms, eps));
          Value normed = arith::MulFOp::create(b, loc, v[0], inv);
          return arith::MulFOp::create(b, loc, normed, v[2]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// weft.layer_norm -> sum over the last dim, then the sum of squared
/// deviations from the mean (two passes, for accuracy), then one elementwise
/// generic applying the optional weight and bias.
struct LayerNormOpLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t last = resultType.getRank() - 1;
    Value size = createDimAsF32(rewriter, loc, x, last);
    Value sum =
        buildReduction(rewriter, loc, x, {}, last,
                       createReducedAccumulator(rewriter, loc, x, last, 0.0),
                       [](OpBuilder &b, Location loc, ValueRange v) {
                         return arith::AddFOp::create(b, loc, v[0], v[1]);
                       });
    Value sumSqDev =
        buildReduction(rewriter, loc, x, sum, last,
                       createReducedAccumulator(rewriter, loc, x, last, 0.0),
                       [&](OpBuilder &b, Location loc, ValueRange v) {
                         Value mean = arith::DivFOp::create(b, loc, v[1], size);
                         Value dev = arith::SubFOp::create(b, loc, v[0], mean);
                         Value sq = arith::MulFOp::create(b, loc, dev, dev);
                         return arith::AddFOp::create(b, loc, sq, v[2]);
                       });
    Value eps = f32Constant(rewriter, loc, op.getEps().convertToDouble());
    SmallVector<Value> params;
    if (Value weight = adaptor.getWeight())
      params.push_back(weight);
    if (Value bias = adaptor.getBias())
      params.push_back(bias);
    bool hasWeight = static_cast<bool>(adaptor.getWeight());
    bool hasBias = static_cast<bool>(adaptor.getBias());
    Value result = buildNormalize(
        rewriter, loc, resultType, x, ValueRange{sum, sumSqDev}, last, params,
        [&](OpBuilder &b, Location loc, ValueRange v) {
          Value mean = arith::DivFOp::create(b, loc, v[1], size);
          Value var = arith::DivFOp::create(b, loc, v[2], size);
          Value inv = math::RsqrtOp::create(
              b, loc, arith::AddFOp::create(b, loc, var, eps));
          Value y = arith::MulFOp::create(
              b, loc, arith::SubFOp::create(b, loc, v[0], mean), inv);
          if (hasWeight)
            y = arith::MulFOp::create(b, loc, y, v[3]);
          if (hasBias)
            y = arith::AddFOp::create(b, loc, y, v[hasWeight ? 4 : 3]);
          return y;
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// weft.softmax -> max-reduce and exp-sum along `axis` (f32 reduction
/// generics), then an elementwise generic `exp(x - max) / sum`.
struct SoftmaxOpLowering : OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t axis = op.getAxis();
    Value max = buildReduction(
        rewriter, loc, x, {}, axis,
        createReducedAccumulator(rewriter, loc, x, axis,
                                 -std::numeric_limits<double>::infinity()),
        [](OpBuilder &b, Location loc, ValueRange v) {
          return arith::MaximumFOp::create(b, loc, v[0], v[1]);
        });
    Value sum =
        buildReduction(rewriter, loc, x, max, axis,
                       createReducedAccumulator(rewriter, loc, x, axis, 0.0),
                       [](OpBuilder &b, Location loc, ValueRange v) {
                         Value e = math::ExpOp::create(
                             b, loc, arith::SubFOp::create(b, loc, v[0], v[1]));
                         return arith::AddFOp::create(b, loc, e, v[2]);
                       });
    Value result =
        buildNormalize(rewriter, loc, resultType, x, ValueRange{max, sum}, axis,
                       {}, [](OpBuilder &b, Location loc, ValueRange v) {
                         Value e = math::ExpOp::create(
                             b, loc, arith::SubFOp::create(b, loc, v[0], v[1]));
                         return arith::DivFOp::create(b, loc, e, v[2]);
                       });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// weft.reduce -> one reduction generic over `axes` into an f32 accumulator,
/// an elementwise generic for the mean division and the rounding (skipped for
/// f32 sum/max), and tensor.expand_shape for keep_dims.
struct ReduceOpLowering : OpConversionPattern<ReduceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto resultType = cast<RankedTensorType>(op.getType());
    ArrayRef<int64_t> axes = op.getAxes();
    ReduceKind kind = op.getKind();
    bool isMax = kind == ReduceKind::max;
    RankedTensorType reducedType =
        dropKeptDims(resultType, axes, op.getKeepDims());
    auto dimSize = [&](int64_t d) {
      return reducedDimSize(rewriter, loc, x, axes, d);
    };
    Value init = createF32AccumulatorWithSizes(
        rewriter, loc, reducedType,
        isMax ? -std::numeric_limits<double>::infinity() : 0.0, dimSize);
    Value reduced =
        buildReduction(rewriter, loc, x, {}, axes, init,
                       [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
                         if (isMax)
                           return arith::MaximumFOp::create(b, loc, v[0], v[1]);
                         return arith::AddFOp::create(b, loc, v[0], v[1]);
                       });

    Type elementType = resultType.getElementType();
    if (kind == ReduceKind::mean || !elementType.isF32()) {
      Value count;
      if (kind == ReduceKind::mean) {
        for (int64_t axis : axes) {
          Value size = createDimAsF32(rewriter, loc, x, axis);
          count =
              count ? arith::MulFOp::create(rewriter, loc, count, size) : size;
        }
      }
      int64_t rank = reducedType.getRank();
      SmallVector<AffineMap> maps(2, rewriter.getMultiDimIdentityMap(rank));
      Value out =
          createEmptyTensorWithSizes(rewriter, loc, reducedType, dimSize);
      reduced = linalg::GenericOp::create(
                    rewriter, loc, reducedType, reduced, out, maps,
                    parallelIterators(rank),
                    [&](OpBuilder &b, Location loc, ValueRange args) {
                      Value v = args[0];
                      if (count)
                        v = arith::DivFOp::create(b, loc, v, count);
                      linalg::YieldOp::create(
                          b, loc, truncateFromF32(b, loc, v, elementType));
                    })
                    .getResult(0);
    }
    if (op.getKeepDims())
      reduced = expandReducedDims(rewriter, loc, reduced, resultType, axes, x);
    rewriter.replaceOp(op, reduced);
    return success();
  }
};

/// weft.argmax -> one reduction generic with two outputs (running maximum and
/// its i64 index) that keeps the smallest index on ties, then
/// tensor.expand_shape for keep_dims.
struct ArgmaxOpLowering : OpConversionPattern<ArgmaxOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ArgmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto inputType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t axis = op.getAxis();
    int64_t rank = inputType.getRank();
    RankedTensorType indexType =
        dropKeptDims(resultType, axis, op.getKeepDims());
    auto dimSize = [&](int64_t d) {
      return reducedDimSize(rewriter, loc, x, axis, d);
    };

    // Floats compare in f32; integers in their own type.
    Type valueElement = inputType.getElementType();
    TypedAttr lowest;
    if (isa<FloatType>(valueElement)) {
      valueElement = rewriter.getF32Type();
      lowest =
          rewriter.getF32FloatAttr(-std::numeric_limits<float>::infinity());
    } else {
      unsigned width = valueElement.getIntOrFloatBitWidth();
      lowest = rewriter.getIntegerAttr(valueElement,
                                       APInt::getSignedMinValue(width));
    }
    RankedTensorType valueType = indexType.clone(valueElement);
    Value lowestValue = arith::ConstantOp::create(rewriter, loc, lowest);
    Value valueInit =
        linalg::FillOp::create(
            rewriter, loc, lowestValue,
            createEmptyTensorWithSizes(rewriter, loc, valueType, dimSize))
            .getResult(0);
    Value zeroIndex =
        arith::ConstantOp::create(rewriter, loc, rewriter.getI64IntegerAttr(0));
    Value indexInit =
        linalg::FillOp::create(
            rewriter, loc, zeroIndex,
            createEmptyTensorWithSizes(rewriter, loc, indexType, dimSize))
            .getResult(0);

    MLIRContext *context = op.getContext();
    AffineMap keptMap = getKeptDimsMap(rank, axis, context);
    SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(rank),
                                   keptMap, keptMap};
    SmallVector<utils::IteratorType> iterators = parallelIterators(rank);
    iterators[axis] = utils::IteratorType::reduction;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{valueType, indexType}, x,
        ValueRange{valueInit, indexInit}, maps, iterators,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value value = extendToF32(b, loc, args[0]);
          Value best = args[1], bestIndex = args[2];
          Value index = arith::IndexCastOp::create(
              b, loc, b.getI64Type(), linalg::IndexOp::create(b, loc, axis));
          Value earlier = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::slt, index, bestIndex);
          Value greater, tie;
          if (isa<FloatType>(value.getType())) {
            // NaN counts as the largest value (as in numpy): the first NaN
            // wins.
            using P = arith::CmpFPredicate;
            Value isNaN = arith::CmpFOp::create(b, loc, P::UNO, value, value);
            Value bestIsNaN = arith::CmpFOp::create(b, loc, P::UNO, best, best);
            Value bestIsNumber =
                arith::CmpFOp::create(b, loc, P::ORD, best, best);
            Value above = arith::CmpFOp::create(b, loc, P::OGT, value, best);
            Value firstNaN = arith::AndIOp::create(b, loc, isNaN, bestIsNumber);
            greater = arith::OrIOp::create(b, loc, above, firstNaN);
            Value equal = arith::CmpFOp::create(b, loc, P::OEQ, value, best);
            Value bothNaN = arith::AndIOp::create(b, loc, isNaN, bestIsNaN);
            tie = arith::OrIOp::create(b, loc, equal, bothNaN);
          } else {
            greater = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                                            value, best);
            tie = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, value,
                                        best);
          }
          // Ties keep the smallest index whatever order the loop runs in.
          Value take = arith::OrIOp::create(
              b, loc, greater, arith::AndIOp::create(b, loc, tie, earlier));
          linalg::YieldOp::create(
              b, loc,
              ValueRange{
                  arith::SelectOp::create(b, loc, take, value, best),
                  arith::SelectOp::create(b, loc, take, index, bestIndex)});
        });
    Value result = generic.getResult(1);
    if (op.getKeepDims())
      result = expandReducedDims(rewriter, loc, result, resultType, axis, x);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void weft::populateNormalizationToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RmsNormOpLowering, LayerNormOpLowering, SoftmaxOpLowering,
               ReduceOpLowering, ArgmaxOpLowering>(patterns.getContext());
}
