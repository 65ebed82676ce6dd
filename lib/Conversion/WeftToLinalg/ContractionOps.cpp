//===- ContractionOps.cpp - matmul, linear, qlinear, lora to linalg -------===//
//
// Every contraction is one linalg.generic whose last loop is the reduction,
// accumulating products widened to f32 into an f32 tensor initialised by
// linalg.fill 0 (docs/Spec.md, numerics). What follows the sum (bias,
// activation, residual, LoRA scale, rounding) is one elementwise epilogue
// generic, omitted when there is nothing to do.
//
//===----------------------------------------------------------------------===//

#include "ContractionLowering.h"
#include "LoweringUtils.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

#include <functional>
#include <optional>

using namespace mlir;
using namespace mlir::weft;

namespace {

/// A linalg.generic over `init`'s loops plus one trailing reduction loop that
/// adds `term(inputElements)` (an f32 value) to the f32 accumulator `init`.
Value buildContraction(
    OpBuilder &b, Location loc, ValueRange inputs, ArrayRef<AffineMap> maps,
    Value init, function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
  // Loops the accumulator (last map) does not index are reductions.
  AffineMap outputMap = maps.back();
  SmallVector<utils::IteratorType> iterators =
      parallelIterators(outputMap.getNumDims());
  for (auto [d, iterator] : llvm::enumerate(iterators))
    if (!outputMap.isFunctionOfDim(d))
      iterator = utils::IteratorType::reduction;
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value t = term(nb, nloc, args.drop_back());
        Value sum = arith::AddFOp::create(nb, nloc, args.back(), t);
        linalg::YieldOp::create(nb, nloc, sum);
      });
  return generic.getResult(0);
}

/// `lhs * rhs` widened to f32.
Value buildF32Product(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  // Separate statements keep the emitted op order independent of the
  // compiler's argument evaluation order.
  Value lhsF32 = extendToF32(b, loc, lhs);
  Value rhsF32 = extendToF32(b, loc, rhs);
  return arith::MulFOp::create(b, loc, lhsF32, rhsF32);
}

/// The map `(d0, ..., d{numLoops-1}) -> (dims...)`.
AffineMap getDimsMap(int64_t numLoops, ArrayRef<int64_t> dims,
                     MLIRContext *context) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d : dims)
    exprs.push_back(getAffineDimExpr(d, context));
  return AffineMap::get(numLoops, 0, exprs, context);
}

/// The leading dims `[0, count)` followed by `extra`.
SmallVector<int64_t> leadingDimsAnd(int64_t count, ArrayRef<int64_t> extra) {
  SmallVector<int64_t> dims = llvm::to_vector(llvm::seq<int64_t>(0, count));
  llvm::append_range(dims, extra);
  return dims;
}

/// Views x[..., K] as x[..., parts...] where the product of `parts` is K
/// (static: it is qweight's K, even when x's type leaves it dynamic).
Value expandLastDim(OpBuilder &b, Location loc, Value x,
                    ArrayRef<int64_t> parts) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> staticShape(type.getShape());
  staticShape.back() = ShapedType::getNumElements(parts);
  if (type.isDynamicDim(rank - 1))
    x = tensor::CastOp::create(b, loc, type.clone(staticShape), x);
  SmallVector<int64_t> shape(staticShape.begin(), staticShape.end() - 1);
  llvm::append_range(shape, parts);
  SmallVector<ReassociationIndices> reassociation;
  for (int64_t d = 0; d < rank - 1; ++d)
    reassociation.push_back({d});
  reassociation.push_back(
      llvm::to_vector(llvm::seq<int64_t>(rank - 1, rank - 1 + parts.size())));
  return tensor::ExpandShapeOp::create(b, loc, type.clone(shape), x,
                                       reassociation);
}

/// What follows the f32 sum of a linear-like op, in the order of docs/Spec.md.
struct Epilogue {
  std::optional<double> scale;
  Value bias;
  Activation activation = Activation::none;
  Value residual;
};

/// One elementwise generic `round(act(scale * acc + bias[n]) + residual)` on
/// the f32 accumulator `acc` ([..., N]); returns `acc` itself when the result
/// is f32 and there is nothing to apply.
Value buildEpilogue(OpBuilder &b, Location loc, RankedTensorType resultType,
                    Value acc, const Epilogue &epilogue,
                    function_ref<Value(int64_t)> dynamicSize) {
  Type elementType = resultType.getElementType();
  if (elementType.isF32() && !epilogue.scale && !epilogue.bias &&
      epilogue.activation == Activation::none && !epilogue.residual)
    return acc;
  int64_t rank = resultType.getRank();
  MLIRContext *context = b.getContext();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  SmallVector<Value> inputs = {acc};
  SmallVector<AffineMap> maps = {identity};
  if (epilogue.bias) {
    inputs.push_back(epilogue.bias);
    maps.push_back(getDimsMap(rank, rank - 1, context));
  }
  if (epilogue.residual) {
    inputs.push_back(epilogue.residual);
    maps.push_back(identity);
  }
  maps.push_back(identity);
  Value init = createEmptyTensorWithSizes(b, loc, resultType, dynamicSize);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, maps, parallelIterators(rank),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value t = args[0];
        unsigned next = 1;
        if (epilogue.scale) {
          Value scale = arith::ConstantOp::create(
              nb, nloc, nb.getF32FloatAttr(*epilogue.scale));
          t = arith::MulFOp::create(nb, nloc, scale, t);
        }
        if (epilogue.bias)
          t = arith::AddFOp::create(nb, nloc, t,
                                    extendToF32(nb, nloc, args[next++]));
        t = buildActivation(nb, nloc, epilogue.activation, t);
        if (epilogue.residual)
          t = arith::AddFOp::create(nb, nloc, t,
                                    extendToF32(nb, nloc, args[next++]));
        linalg::YieldOp::create(nb, nloc,
                                truncateFromF32(nb, nloc, t, elementType));
      });
  return generic.getResult(0);
}

/// Sizes of a `[..., N]` result: the leading dims of `x`, then dim `nDim` of
/// `weight`.
std::function<Value(int64_t)> linearResultSizes(OpBuilder &b, Location loc,
                                                Value x, Value weight,
                                                int64_t nDim) {
  int64_t last = cast<RankedTensorType>(x.getType()).getRank() - 1;
  return [&b, loc, x, weight, nDim, last](int64_t d) -> Value {
    if (d == last)
      return tensor::DimOp::create(b, loc, weight, nDim);
    return tensor::DimOp::create(b, loc, x, d);
  };
}

/// Broadcasts the dynamic batch dims of a matmul operand that may be 1 at run
/// time (docs/Spec.md, numpy broadcasting): for each, an scf.if keeps the
/// operand when its size matches the result's and otherwise materialises its
/// broadcast along that dim, so that the contraction can use plain dim maps.
/// `batchSizes` holds the result batch sizes (null where static).
Value broadcastDynamicBatchDims(OpBuilder &b, Location loc, Value operand,
                                int64_t numBatch, ArrayRef<int64_t> resultShape,
                                ArrayRef<Value> batchSizes) {
  auto type = cast<RankedTensorType>(operand.getType());
  int64_t rank = type.getRank();
  int64_t offset = static_cast<int64_t>(batchSizes.size()) - numBatch;
  for (int64_t i = 0; i < numBatch; ++i) {
    int64_t j = offset + i;
    if (!type.isDynamicDim(i) || resultShape[j] == 1)
      continue;
    Value target = batchSizes[j];
    if (!target)
      target = arith::ConstantIndexOp::create(b, loc, resultShape[j]);
    Value size = tensor::DimOp::create(b, loc, operand, i);
    Value same =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, target);
    Value current = operand;
    auto ifOp = scf::IfOp::create(
        b, loc, same,
        [&](OpBuilder &tb, Location tloc) {
          scf::YieldOp::create(tb, tloc, current);
        },
        [&](OpBuilder &eb, Location eloc) {
          // Precondition: the size is 1, so index 0 is read for every
          // result index.
          Value init = createEmptyTensorWithSizes(
              eb, eloc, type, [&](int64_t d) -> Value {
                if (d == i)
                  return target;
                return tensor::DimOp::create(eb, eloc, current, d);
              });
          SmallVector<AffineExpr> exprs;
          for (int64_t d = 0; d < rank; ++d)
            exprs.push_back(d == i ? eb.getAffineConstantExpr(0)
                                   : eb.getAffineDimExpr(d));
          SmallVector<AffineMap> maps = {
              AffineMap::get(rank, 0, exprs, eb.getContext()),
              eb.getMultiDimIdentityMap(rank)};
          auto copy = linalg::GenericOp::create(
              eb, eloc, type, current, init, maps, parallelIterators(rank),
              [](OpBuilder &gb, Location gloc, ValueRange args) {
                linalg::YieldOp::create(gb, gloc, args[0]);
              });
          scf::YieldOp::create(eb, eloc, copy.getResult(0));
        });
    operand = ifOp.getResult(0);
  }
  return operand;
}

/// weft.matmul -> one contraction generic over (batch..., m, n, k) whose
/// operand maps broadcast the batch dims and apply the transposes, into an
/// f32 accumulator, then a rounding generic for f16/bf16.
struct MatmulOpLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    ArrayRef<int64_t> resultShape = resultType.getShape();
    int64_t rank = resultType.getRank(), numBatch = rank - 2;
    int64_t lhsBatch = lhsType.getRank() - 2, rhsBatch = rhsType.getRank() - 2;

    // Run-time size of every dynamic result batch dim: the larger of the
    // operand dims that are not a static 1 (they are equal or 1 by
    // precondition). Null for static dims.
    SmallVector<Value> batchSizes;
    for (int64_t j = 0; j < numBatch; ++j) {
      Value size;
      if (!resultType.isDynamicDim(j)) {
        batchSizes.push_back(size);
        continue;
      }
      for (auto [operand, count] :
           {std::pair(lhs, lhsBatch), std::pair(rhs, rhsBatch)}) {
        int64_t i = j - (numBatch - count);
        if (i < 0 ||
            cast<RankedTensorType>(operand.getType()).getDimSize(i) == 1)
          continue;
        Value dim = tensor::DimOp::create(rewriter, loc, operand, i);
        size = size ? arith::MaxUIOp::create(rewriter, loc, size, dim) : dim;
      }
      // Only static 1s (the written result type may be less static than the
      // inferred one).
      if (!size)
        size = arith::ConstantIndexOp::create(rewriter, loc, 1);
      batchSizes.push_back(size);
    }
    lhs = broadcastDynamicBatchDims(rewriter, loc, lhs, lhsBatch, resultShape,
                                    batchSizes);
    rhs = broadcastDynamicBatchDims(rewriter, loc, rhs, rhsBatch, resultShape,
                                    batchSizes);

    // Loops (batch..., m, n, k).
    MLIRContext *context = op.getContext();
    int64_t numLoops = rank + 1;
    AffineExpr m = getAffineDimExpr(rank - 2, context);
    AffineExpr n = getAffineDimExpr(rank - 1, context);
    AffineExpr k = getAffineDimExpr(rank, context);
    auto operandMap = [&](RankedTensorType type, int64_t count, AffineExpr row,
                          AffineExpr col) {
      SmallVector<AffineExpr> exprs;
      for (int64_t i = 0; i < count; ++i) {
        int64_t j = numBatch - count + i;
        // A static 1 against a larger result dim reads index 0; dynamic dims
        // were made to match above.
        if (type.getDimSize(i) == 1 && resultShape[j] != 1)
          exprs.push_back(getAffineConstantExpr(0, context));
        else
          exprs.push_back(getAffineDimExpr(j, context));
      }
      exprs.push_back(row);
      exprs.push_back(col);
      return AffineMap::get(numLoops, 0, exprs, context);
    };
    bool transposeLhs = op.getTransposeLhs(),
         transposeRhs = op.getTransposeRhs();
    SmallVector<AffineMap> maps = {
        transposeLhs ? operandMap(lhsType, lhsBatch, k, m)
                     : operandMap(lhsType, lhsBatch, m, k),
        transposeRhs ? operandMap(rhsType, rhsBatch, n, k)
                     : operandMap(rhsType, rhsBatch, k, n),
        getDimsMap(numLoops, leadingDimsAnd(rank, {}), context)};

    auto resultSize = [&](int64_t d) -> Value {
      if (d < numBatch)
        return batchSizes[d];
      if (d == rank - 2)
        return tensor::DimOp::create(
            rewriter, loc, lhs, lhsType.getRank() - (transposeLhs ? 1 : 2));
      return tensor::DimOp::create(rewriter, loc, rhs,
                                   rhsType.getRank() - (transposeRhs ? 2 : 1));
    };
    Value acc = createF32AccumulatorWithSizes(rewriter, loc, resultType, 0.0,
                                              resultSize);
    acc = buildContraction(rewriter, loc, ValueRange{lhs, rhs}, maps, acc,
                           [](OpBuilder &b, Location loc, ValueRange args) {
                             return buildF32Product(b, loc, args[0], args[1]);
                           });
    rewriter.replaceOp(
        op, buildEpilogue(rewriter, loc, resultType, acc, {}, resultSize));
    return success();
  }
};

/// In a multi-adapter LoRA contraction body: `x * table[id, row, col]` widened
/// to f32 when `0 <= id < dim(table, 0)`, else 0. Ids outside the table are
/// never read (docs/Spec.md, weft.lora).
Value buildAdapterTerm(OpBuilder &b, Location loc, Value table, Value count,
                       Value x, Value id, int64_t rowLoop, int64_t colLoop) {
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), id);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value nonNegative =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, index, zero);
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, count);
  Value valid = arith::AndIOp::create(b, loc, nonNegative, inRange);
  // linalg.index must sit directly in the generic body, not in the scf.if.
  Value row = linalg::IndexOp::create(b, loc, rowLoop);
  Value col = linalg::IndexOp::create(b, loc, colLoop);
  auto ifOp = scf::IfOp::create(
      b, loc, valid,
      [&](OpBuilder &tb, Location tloc) {
        Value a = tensor::ExtractOp::create(tb, tloc, table,
                                            ValueRange{index, row, col});
        scf::YieldOp::create(tb, tloc, buildF32Product(tb, tloc, x, a));
      },
      [&](OpBuilder &eb, Location eloc) {
        scf::YieldOp::create(
            eb, eloc,
            arith::ConstantOp::create(eb, eloc, eb.getF32FloatAttr(0.0))
                .getResult());
      });
  return ifOp.getResult(0);
}

/// Adds the LoRA delta `(x A^T) B^T` to the f32 accumulator `acc`
/// ([..., N]) with two contraction generics: t = x A^T into f32 [..., r],
/// optionally scaled by `tScale`, then acc[..., n] += t[..., j] B[n, j].
/// Multi-adapter: the ids tensor is an input of both contractions and
/// A[id] / B[id] are read with tensor.extract in the body. Fails for per-row
/// ids on a rank-1 x (the verifier rejects it). With `onlyT` it returns t
/// (scaled) instead, for kernels that add t B^T themselves (`acc` then only
/// gives the shape).
FailureOr<Value> accumulateLoraDelta(OpBuilder &rewriter, Location loc, Value x,
                                     Value a, Value b, Value ids,
                                     std::optional<double> tScale, Value acc,
                                     bool onlyT = false) {
  auto accType = cast<RankedTensorType>(acc.getType());
  int64_t rank = accType.getRank();
  bool multi = cast<RankedTensorType>(a.getType()).getRank() == 3;
  // Per-token ids have x's leading dims; otherwise ids[B] index dim 0.
  int64_t idsRank = ids ? cast<RankedTensorType>(ids.getType()).getRank() : 0;
  if (multi && idsRank != rank - 1 && rank < 2)
    return failure();
  MLIRContext *context = rewriter.getContext();
  // Loops (leading..., out, in): out = j and in = k for t, out = n and
  // in = j for the delta.
  int64_t numLoops = rank + 1, out = rank - 1, in = rank;
  AffineMap idsMap = getDimsMap(
      numLoops, leadingDimsAnd(idsRank == rank - 1 ? rank - 1 : 1, {}),
      context);
  AffineMap lhsMap =
      getDimsMap(numLoops, leadingDimsAnd(rank - 1, in), context);
  AffineMap weightMap = getDimsMap(numLoops, {out, in}, context);
  AffineMap accMap = getDimsMap(numLoops, leadingDimsAnd(rank, {}), context);

  // One contraction `acc[..., out] += lhs[..., in] * weight[out, in]`,
  // reading weight[id, out, in] for the multi-adapter form.
  auto contract = [&](Value lhs, Value weight, Value init) {
    if (!multi)
      return buildContraction(
          rewriter, loc, ValueRange{lhs, weight}, {lhsMap, weightMap, accMap},
          init, [](OpBuilder &nb, Location nloc, ValueRange args) {
            return buildF32Product(nb, nloc, args[0], args[1]);
          });
    Value count = tensor::DimOp::create(rewriter, loc, weight, 0);
    return buildContraction(
        rewriter, loc, ValueRange{lhs, ids}, {lhsMap, idsMap, accMap}, init,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          return buildAdapterTerm(nb, nloc, weight, count, args[0], args[1],
                                  out, in);
        });
  };

  int64_t offset = multi ? 1 : 0;
  auto tSize = linearResultSizes(rewriter, loc, x, a, offset);
  SmallVector<int64_t> tShape(accType.getShape());
  tShape.back() = cast<RankedTensorType>(a.getType()).getDimSize(offset);
  auto tType = RankedTensorType::get(tShape, rewriter.getF32Type());
  Value t = contract(
      x, a, createF32AccumulatorWithSizes(rewriter, loc, tType, 0.0, tSize));
  if (tScale) {
    // t' = scale * t as its own generic: r is small, so this costs little
    // next to the contractions and keeps the scale out of their inner loop.
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    double scale = *tScale;
    Value init = createEmptyTensorWithSizes(rewriter, loc, tType, tSize);
    t = buildGenericOp(
        rewriter, loc, t, init, {identity, identity}, parallelIterators(rank),
        [scale](OpBuilder &nb, Location nloc, ValueRange args) {
          Value c =
              arith::ConstantOp::create(nb, nloc, nb.getF32FloatAttr(scale));
          return arith::MulFOp::create(nb, nloc, c, args[0]).getResult();
        });
  }
  if (onlyT)
    return t;
  return contract(t, b, acc);
}

/// Adds the fused LoRA delta of a linear-like op, scaled by its lora_scale,
/// to the base product's f32 accumulator `acc`.
template <typename OpTy, typename AdaptorTy>
FailureOr<Value> accumulateFusedLora(OpBuilder &b, Location loc, OpTy op,
                                     AdaptorTy adaptor, Value acc) {
  if (!op.hasLora())
    return acc;
  double scale = op.getEffectiveLoraScale();
  return accumulateLoraDelta(
      b, loc, adaptor.getX(), adaptor.getLoraA(), adaptor.getLoraB(),
      adaptor.getLoraIds(),
      scale == 1.0 ? std::nullopt : std::optional<double>(scale), acc);
}

/// The end of a linear-like lowering: the fused LoRA delta joins the f32
/// accumulator `acc`, then the epilogue (bias, activation, residual,
/// rounding); the layer's result.
template <typename OpTy, typename AdaptorTy>
FailureOr<Value> buildFinishedLinear(OpBuilder &b, Location loc, OpTy op,
                                     AdaptorTy adaptor, Value acc,
                                     RankedTensorType resultType,
                                     function_ref<Value(int64_t)> resultSize) {
  FailureOr<Value> sum = accumulateFusedLora(b, loc, op, adaptor, acc);
  if (failed(sum))
    return failure();
  Epilogue epilogue;
  epilogue.bias = adaptor.getBias();
  epilogue.activation = op.getActivation();
  epilogue.residual = adaptor.getResidual();
  return buildEpilogue(b, loc, resultType, *sum, epilogue, resultSize);
}

/// buildFinishedLinear's result replaces `op`.
template <typename OpTy, typename AdaptorTy>
LogicalResult finishLinearLayer(ConversionPatternRewriter &rewriter,
                                Location loc, OpTy op, AdaptorTy adaptor,
                                Value acc, RankedTensorType resultType,
                                function_ref<Value(int64_t)> resultSize) {
  FailureOr<Value> y = buildFinishedLinear(rewriter, loc, op, adaptor, acc,
                                           resultType, resultSize);
  if (failed(y))
    return rewriter.notifyMatchFailure(op, "per-row ids need a rank >= 2 x");
  rewriter.replaceOp(op, *y);
  return success();
}

/// The thread-block forms of a linear layer with the weight operands in
/// `operands`: the few-rows kernel (LinearBlocks.cpp), which adds a LoRA
/// delta (from t = scale * x A^T) and applies the epilogue itself, or the
/// tensor-core tiles (LinearTiles.cpp), which leave a LoRA delta and the
/// epilogue to buildFinishedLinear. Where the rows are known only at run
/// time, up to 8 (decoding) take the few-rows kernel and more (prefill) the
/// tiles, when both apply. Fails where neither form does.
template <typename OpTy, typename AdaptorTy>
LogicalResult
lowerThreadBlocks(ConversionPatternRewriter &rewriter, OpTy op,
                  AdaptorTy adaptor, LinearBlocksOperands operands,
                  int64_t sharedBytes, RankedTensorType resultType,
                  function_ref<Value(int64_t)> resultSize) {
  Location loc = op.getLoc();
  operands.x = adaptor.getX();
  operands.bias = adaptor.getBias();
  operands.residual = adaptor.getResidual();
  operands.activation = op.getActivation();
  auto loraAType = op.hasLora()
                       ? cast<RankedTensorType>(adaptor.getLoraA().getType())
                       : RankedTensorType();
  bool staticRank =
      !loraAType || !loraAType.isDynamicDim(loraAType.getRank() - 2);
  bool blocks =
      staticRank && canLowerLinearAsBlocks(op, operands.x, operands.weight,
                                           operands.scales, operands.groupSize);
  bool tiles = canLowerLinearAsMatrixTiles(operands, sharedBytes);
  bool dynamicRows = hasDynamicRows(operands.x);
  // Without tiles to take many rows, the few-rows kernel needs them static.
  if (dynamicRows && !tiles)
    blocks = false;
  if (!blocks && !tiles)
    return failure();

  auto buildBlocks = [&](OpBuilder &b) -> FailureOr<Value> {
    LinearBlocksOperands in = operands;
    in.epilogue = true;
    if (op.hasLora()) {
      double scale = op.getEffectiveLoraScale();
      Value shape =
          createF32AccumulatorWithSizes(b, loc, resultType, 0.0, resultSize);
      FailureOr<Value> t = accumulateLoraDelta(
          b, loc, adaptor.getX(), adaptor.getLoraA(), adaptor.getLoraB(),
          adaptor.getLoraIds(),
          scale == 1.0 ? std::nullopt : std::optional<double>(scale), shape,
          /*onlyT=*/true);
      if (failed(t))
        return failure();
      in.loraT = *t;
      in.loraB = adaptor.getLoraB();
      in.loraIds = adaptor.getLoraIds();
    }
    std::optional<Value> y = lowerLinearAsBlocks(op, in, b);
    if (!y)
      return failure();
    return *y;
  };
  auto buildTiles = [&](OpBuilder &b) -> FailureOr<Value> {
    LinearBlocksOperands in = operands;
    in.epilogue = !op.hasLora();
    std::optional<Value> y = lowerLinearAsMatrixTiles(op, in, sharedBytes, b);
    if (!y)
      return failure();
    if (in.epilogue)
      return *y;
    return buildFinishedLinear(b, loc, op, adaptor, *y, resultType, resultSize);
  };

  FailureOr<Value> y = failure();
  if (!blocks)
    y = buildTiles(rewriter);
  else if (!dynamicRows)
    y = buildBlocks(rewriter);
  else {
    Value few = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ule,
        getRowCountValue(rewriter, loc, operands.x),
        arith::ConstantIndexOp::create(rewriter, loc, kMaxBlocksRows));
    auto choice = scf::IfOp::create(rewriter, loc, TypeRange{resultType}, few,
                                    /*withElseRegion=*/true);
    auto fill = [&](Block *block,
                    function_ref<FailureOr<Value>(OpBuilder &)> build) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(block);
      FailureOr<Value> branch = build(rewriter);
      if (failed(branch))
        return false;
      Value result = *branch;
      if (result.getType() != resultType)
        result = tensor::CastOp::create(rewriter, loc, resultType, result);
      scf::YieldOp::create(rewriter, loc, result);
      return true;
    };
    if (!fill(choice.thenBlock(), buildBlocks) ||
        !fill(choice.elseBlock(), buildTiles)) {
      rewriter.eraseOp(choice);
      return failure();
    }
    y = choice.getResult(0);
  }
  if (failed(y))
    return failure();
  rewriter.replaceOp(op, *y);
  return success();
}

/// weft.linear -> one contraction generic over (leading..., n, k) into an f32
/// accumulator, then one epilogue generic (bias, activation, residual,
/// rounding); or the thread-block form for few rows.
struct LinearOpLowering : OpConversionPattern<LinearOp> {
  LinearOpLowering(MLIRContext *context, bool blocks, int64_t sharedBytes)
      : OpConversionPattern(context), blocks(blocks), sharedBytes(sharedBytes) {
  }

  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), weight = adaptor.getWeight();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = resultType.getRank();
    MLIRContext *context = op.getContext();
    auto resultSize = linearResultSizes(rewriter, loc, x, weight, 0);
    if (blocks) {
      LinearBlocksOperands operands;
      operands.weight = weight;
      if (succeeded(lowerThreadBlocks(rewriter, op, adaptor, operands,
                                      sharedBytes, resultType, resultSize)))
        return success();
    }
    // Loops (leading..., n, k).
    int64_t numLoops = rank + 1, n = rank - 1, k = rank;
    SmallVector<AffineMap> maps = {
        getDimsMap(numLoops, leadingDimsAnd(rank - 1, k), context),
        getDimsMap(numLoops, {n, k}, context),
        getDimsMap(numLoops, leadingDimsAnd(rank, {}), context)};
    Value acc = createF32AccumulatorWithSizes(rewriter, loc, resultType, 0.0,
                                              resultSize);
    acc = buildContraction(rewriter, loc, ValueRange{x, weight}, maps, acc,
                           [](OpBuilder &b, Location loc, ValueRange args) {
                             return buildF32Product(b, loc, args[0], args[1]);
                           });
    return finishLinearLayer(rewriter, loc, op, adaptor, acc, resultType,
                             resultSize);
  }

private:
  /// The GPU thread-block form for few rows of x (LinearBlocks.cpp).
  bool blocks;
  /// Shared memory a block of the thread-block forms may take.
  int64_t sharedBytes;
};

/// weft.qlinear -> like weft.linear, with the weight dequantised inside the
/// contraction body from qweight[n, k] and scales/zeros[n, k floordiv g]; the
/// float weight is never materialised.
struct QLinearOpLowering : OpConversionPattern<QLinearOp> {
  QLinearOpLowering(MLIRContext *context, bool blocks, int64_t sharedBytes)
      : OpConversionPattern(context), blocks(blocks), sharedBytes(sharedBytes) {
  }

  LogicalResult
  matchAndRewrite(QLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), qweight = adaptor.getQweight();
    Value zeros = adaptor.getZeros();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = resultType.getRank();
    MLIRContext *context = op.getContext();
    auto resultSize = linearResultSizes(rewriter, loc, x, qweight, 0);
    if (blocks) {
      LinearBlocksOperands operands;
      operands.weight = qweight;
      operands.scales = adaptor.getScales();
      operands.zeros = zeros;
      operands.groupSize =
          op.getQweight().getType().getDimSize(1) / op.getNumGroups();
      if (succeeded(lowerThreadBlocks(rewriter, op, adaptor, operands,
                                      sharedBytes, resultType, resultSize)))
        return success();
    }
    // Loops (leading..., n, g, kb): group g and k = g * gs + kb within it,
    // with x viewed as x[..., G, gs] and qweight as qweight[N, G, gs], so
    // that every map is a projection of the loops (what linalg vectorization
    // in weft-tile-contractions takes) and the scale is invariant in the
    // innermost loop. Per-channel weights are one group. int4 weights are
    // read as vectors of nibbles (packed bytes, weft-pack-int4-buffers).
    int64_t groups = op.getNumGroups();
    int64_t groupSize = op.getQweight().getType().getDimSize(1) / groups;
    int64_t numLoops = rank + 2, n = rank - 1, g = rank, kb = rank + 1;
    AffineExpr nExpr = getAffineDimExpr(n, context);
    AffineExpr gExpr = getAffineDimExpr(g, context);
    AffineExpr kbExpr = getAffineDimExpr(kb, context);
    AffineMap groupMap = AffineMap::get(numLoops, 0, {nExpr, gExpr}, context);
    SmallVector<AffineExpr> xExprs;
    for (int64_t d = 0; d < rank - 1; ++d)
      xExprs.push_back(getAffineDimExpr(d, context));
    xExprs.append({gExpr, kbExpr});
    Value xView = expandLastDim(rewriter, loc, x, {groups, groupSize});
    auto qType = cast<RankedTensorType>(qweight.getType());
    Value qView = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({qType.getDimSize(0), groups, groupSize},
                              qType.getElementType()),
        qweight, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    SmallVector<Value> inputs = {xView, qView};
    SmallVector<AffineMap> maps = {
        AffineMap::get(numLoops, 0, xExprs, context),
        AffineMap::get(numLoops, 0, {nExpr, gExpr, kbExpr}, context)};
    inputs.push_back(adaptor.getScales());
    maps.push_back(groupMap);
    if (zeros) {
      inputs.push_back(zeros);
      maps.push_back(groupMap);
    }
    maps.push_back(getDimsMap(numLoops, leadingDimsAnd(rank, {}), context));

    Value acc = createF32AccumulatorWithSizes(rewriter, loc, resultType, 0.0,
                                              resultSize);
    bool symmetric = !zeros;
    bool int4 = qType.getElementType().isInteger(4);
    acc = buildContraction(
        rewriter, loc, inputs, maps, acc,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Type i32 = b.getI32Type();
          Value scale = extendToF32(b, loc, args[2]);
          Value q;
          if (symmetric && int4) {
            // The nibble in the top bits of an i32 is the signed value times
            // 2^28 (exact in f32), with the 2^-28 folded into the group's
            // scale: one shift instead of a shift pair for the sign
            // extension in the inner loop, and the same rounding.
            Value bits = arith::ExtUIOp::create(b, loc, i32, args[1]);
            q = arith::ShLIOp::create(
                b, loc, bits, arith::ConstantIntOp::create(b, loc, i32, 28));
            scale =
                arith::MulFOp::create(b, loc, scale, f32Const(b, loc, 0x1p-28));
          } else if (symmetric) {
            // Signed two's complement values.
            q = arith::ExtSIOp::create(b, loc, i32, args[1]);
          } else {
            // Unsigned values and zero points; the difference is exact in
            // i32.
            Value qu = arith::ExtUIOp::create(b, loc, i32, args[1]);
            Value zu = arith::ExtUIOp::create(b, loc, i32, args[3]);
            q = arith::SubIOp::create(b, loc, qu, zu);
          }
          Value qf = arith::SIToFPOp::create(b, loc, b.getF32Type(), q);
          Value sum =
              arith::MulFOp::create(b, loc, extendToF32(b, loc, args[0]), qf);
          return arith::MulFOp::create(b, loc, sum, scale);
        });
    return finishLinearLayer(rewriter, loc, op, adaptor, acc, resultType,
                             resultSize);
  }

private:
  /// The GPU thread-block form for few rows of x (LinearBlocks.cpp).
  bool blocks;
  /// Shared memory a block of the thread-block forms may take.
  int64_t sharedBytes;
};

/// weft.lora -> the LoRA contractions into a zero f32 accumulator, then the
/// epilogue generic (scale, rounding).
struct LoraOpLowering : OpConversionPattern<LoraOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LoraOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), b = adaptor.getLoraB();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto resultSize =
        linearResultSizes(rewriter, loc, x, b, op.isMultiAdapter() ? 1 : 0);
    Value zero = createF32AccumulatorWithSizes(rewriter, loc, resultType, 0.0,
                                               resultSize);
    FailureOr<Value> delta =
        accumulateLoraDelta(rewriter, loc, x, adaptor.getLoraA(), b,
                            adaptor.getIds(), std::nullopt, zero);
    if (failed(delta))
      return rewriter.notifyMatchFailure(op, "per-row ids need a rank >= 2 x");
    Epilogue epilogue;
    double scale = op.getScale().convertToDouble();
    if (scale != 1.0)
      epilogue.scale = scale;
    rewriter.replaceOp(op, buildEpilogue(rewriter, loc, resultType, *delta,
                                         epilogue, resultSize));
    return success();
  }
};

/// weft.gated_linear -> the two contraction generics of weft.linear (g =
/// x Wg^T, u = x Wu^T, f32 accumulators) and one epilogue generic
/// round(act(g) * u). With the loop-level code generation of the CPU
/// pipeline (no tiling or explicit vectorization), both products in one loop
/// nest were measured slower (M=128, K=512, N=1408, f32): a reduction
/// generic with two outputs updates two buffers per k, which LLVM does not
/// vectorize (~9x slower than two contractions), and an scf.for carrying
/// both sums inside a parallel generic was slower still.
struct GatedLinearOpLowering : OpConversionPattern<GatedLinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(GatedLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), gate = adaptor.getGateWeight(),
          up = adaptor.getUpWeight();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = resultType.getRank();
    MLIRContext *context = op.getContext();
    // Loops (leading..., n, k).
    int64_t numLoops = rank + 1, n = rank - 1, k = rank;
    SmallVector<AffineMap> maps = {
        getDimsMap(numLoops, leadingDimsAnd(rank - 1, k), context),
        getDimsMap(numLoops, {n, k}, context),
        getDimsMap(numLoops, leadingDimsAnd(rank, {}), context)};
    auto resultSize = linearResultSizes(rewriter, loc, x, gate, 0);
    auto product = [&](Value weight) {
      Value acc = createF32AccumulatorWithSizes(rewriter, loc, resultType, 0.0,
                                                resultSize);
      return buildContraction(rewriter, loc, ValueRange{x, weight}, maps, acc,
                              [](OpBuilder &b, Location loc, ValueRange args) {
                                return buildF32Product(b, loc, args[0],
                                                       args[1]);
                              });
    };
    Value g = product(gate);
    Value u = product(up);
    Activation activation = op.getActivation();
    Type elementType = resultType.getElementType();
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    Value init =
        createEmptyTensorWithSizes(rewriter, loc, resultType, resultSize);
    Value result = buildGenericOp(
        rewriter, loc, ValueRange{g, u}, init, {identity, identity, identity},
        parallelIterators(rank),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value gated = buildActivation(b, loc, activation, args[0]);
          Value y = arith::MulFOp::create(b, loc, gated, args[1]);
          return truncateFromF32(b, loc, y, elementType);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void weft::populateContractionToLinalgPatterns(RewritePatternSet &patterns,
                                               const WeftToLinalgForms &forms) {
  patterns.add<MatmulOpLowering, LoraOpLowering, GatedLinearOpLowering>(
      patterns.getContext());
  patterns.add<LinearOpLowering, QLinearOpLowering>(
      patterns.getContext(), forms.linearBlocks,
      forms.blockSharedMemoryKiB * 1024);
}
