//===- AttentionProducts.cpp - weft.attention as whole-tensor products ----===//
//
// The GPU form of weft.attention: the scores of every (batch, head, query,
// key) as one contraction, the softmax as elementwise ops and reductions over
// the keys, and the product with V as a second contraction. It materialises
// the [B, Hq, Sq, Sk] scores (the CPU form's tasks never do), but each step
// is a plain linalg.generic that the GPU pipeline maps across the whole chip
// (the sums and maxima over K and the keys run a warp per output element).
//
//===----------------------------------------------------------------------===//

#include "AttentionLowering.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

SmallVector<utils::IteratorType> iterators(int64_t parallel,
                                           int64_t reductions) {
  SmallVector<utils::IteratorType> types(parallel,
                                         utils::IteratorType::parallel);
  types.append(reductions, utils::IteratorType::reduction);
  return types;
}

AffineMap dimsMap(MLIRContext *context, unsigned numDims,
                  ArrayRef<AffineExpr> exprs) {
  return AffineMap::get(numDims, 0, exprs, context);
}

Value index(OpBuilder &b, Location loc, int64_t dim) {
  return linalg::IndexOp::create(b, loc, dim);
}

} // namespace

SmallVector<Value>
weft::lowerAttentionAsProducts(AttentionOp op, Value q, Value k, Value v,
                               Value mask, Value kvLen, OpFoldResult batch,
                               OpFoldResult seqQ, OpFoldResult seqK,
                               ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  MLIRContext *context = op.getContext();
  auto qType = cast<RankedTensorType>(q.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  auto outType = cast<RankedTensorType>(op.getOutput().getType());
  int64_t numHeads = qType.getDimSize(2);
  int64_t valueDim = vType.getDimSize(3);
  AttentionScoring scoring(op);
  int64_t group = scoring.group;
  OpFoldResult hq = rewriter.getIndexAttr(numHeads);
  OpFoldResult dv = rewriter.getIndexAttr(valueDim);
  Value seqQValue = getIndexValue(rewriter, loc, seqQ);
  Value seqKValue = getIndexValue(rewriter, loc, seqK);

  AffineExpr b, h, i, j, x;
  bindDims(context, b, h, i, j, x);
  AffineExpr kvHead = h.floorDiv(group);

  // s[b, h, i, j] = sum_d q[b, i, h, d] * k[b, j, h / G, d]   (x = d)
  Value scores = buildGenericOp(
      rewriter, loc, {q, k},
      createFilledF32Tensor(rewriter, loc, {batch, hq, seqQ, seqK}, 0.0),
      {dimsMap(context, 5, {b, i, h, x}),
       dimsMap(context, 5, {b, j, kvHead, x}),
       dimsMap(context, 5, {b, h, i, j})},
      iterators(4, 1), [](OpBuilder &nb, Location l, ValueRange args) {
        Value product = arith::MulFOp::create(
            nb, l, extendToF32(nb, l, args[0]), extendToF32(nb, l, args[1]));
        return arith::AddFOp::create(nb, l, args[2], product).getResult();
      });

  // Scale, softcap, mask; -inf where the key is not visible (docs/Spec.md).
  AffineMap id4 = rewriter.getMultiDimIdentityMap(4);
  SmallVector<Value> inputs = {scores};
  SmallVector<AffineMap> maps = {id4};
  if (mask) {
    auto maskType = cast<RankedTensorType>(mask.getType());
    AffineExpr zero = getAffineConstantExpr(0, context);
    inputs.push_back(mask);
    maps.push_back(dimsMap(context, 4,
                           {maskType.getDimSize(0) == 1 ? zero : b,
                            maskType.getDimSize(1) == 1 ? zero : h, i, j}));
  }
  maps.push_back(id4);
  Value visibleScores = buildGenericOp(
      rewriter, loc, inputs,
      tensor::EmptyOp::create(rewriter, loc,
                              ArrayRef<OpFoldResult>{batch, hq, seqQ, seqK},
                              rewriter.getF32Type()),
      maps, iterators(4, 0), [&](OpBuilder &nb, Location l, ValueRange args) {
        Value s = buildScaledScore(nb, l, args[0], scoring);
        if (mask)
          s = arith::AddFOp::create(nb, l, s, extendToF32(nb, l, args[1]));
        Value length = seqKValue;
        if (kvLen) {
          Value stored =
              tensor::ExtractOp::create(nb, l, kvLen, index(nb, l, 0));
          length = arith::IndexCastOp::create(nb, l, nb.getIndexType(), stored);
        }
        Value visible =
            buildKeyVisible(nb, l, index(nb, l, 2), index(nb, l, 3), length,
                            seqQValue, static_cast<bool>(kvLen), scoring);
        if (!visible)
          return s;
        return arith::SelectOp::create(nb, l, visible, s,
                                       f32Const(nb, l, kNegInf))
            .getResult();
      });

  // Row maxima, then exp(s - m) (m = 0 for a row without visible keys, whose
  // scores are all -inf: their exp is 0) and the row sums.
  AffineMap rowMap = dimsMap(context, 4, {b, h, i});
  Value rowMax = buildGenericOp(
      rewriter, loc, {visibleScores},
      createFilledF32Tensor(rewriter, loc, {batch, hq, seqQ}, kNegInf),
      {id4, rowMap}, iterators(3, 1),
      [](OpBuilder &nb, Location l, ValueRange args) {
        return arith::MaximumFOp::create(nb, l, args[1], args[0]).getResult();
      });
  Value probabilities = buildGenericOp(
      rewriter, loc, {visibleScores, rowMax},
      tensor::EmptyOp::create(rewriter, loc,
                              ArrayRef<OpFoldResult>{batch, hq, seqQ, seqK},
                              rewriter.getF32Type()),
      {id4, rowMap, id4}, iterators(4, 0),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value shifted =
            arith::SubFOp::create(nb, l, args[0], finiteMax(nb, l, args[1]));
        return math::ExpOp::create(nb, l, shifted).getResult();
      });
  Value rowSum = buildGenericOp(
      rewriter, loc, {probabilities},
      createFilledF32Tensor(rewriter, loc, {batch, hq, seqQ}, 0.0),
      {id4, rowMap}, iterators(3, 1),
      [](OpBuilder &nb, Location l, ValueRange args) {
        return arith::AddFOp::create(nb, l, args[1], args[0]).getResult();
      });

  // o[b, i, h, e] = sum_j p[b, h, i, j] * v[b, j, h / G, e], divided by the
  // row sum (0 for a row without visible keys). Loops (b, i, h, e, j).
  AffineExpr ob, oi, oh, oe, oj;
  bindDims(context, ob, oi, oh, oe, oj);
  Value weighted = buildGenericOp(
      rewriter, loc, {probabilities, v},
      createFilledF32Tensor(rewriter, loc, {batch, seqQ, hq, dv}, 0.0),
      {dimsMap(context, 5, {ob, oh, oi, oj}),
       dimsMap(context, 5, {ob, oj, oh.floorDiv(group), oe}),
       dimsMap(context, 5, {ob, oi, oh, oe})},
      iterators(4, 1), [](OpBuilder &nb, Location l, ValueRange args) {
        // Keys that are not visible (p = 0) add nothing, also where their
        // values are not finite (the padding of a cache).
        Value product =
            arith::MulFOp::create(nb, l, args[0], extendToF32(nb, l, args[1]));
        Value isZero = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                             args[0], f32Const(nb, l, 0.0));
        Value term = arith::SelectOp::create(nb, l, isZero,
                                             f32Const(nb, l, 0.0), product);
        return arith::AddFOp::create(nb, l, args[2], term).getResult();
      });
  AffineExpr nb0, ni, nh, ne;
  bindDims(context, nb0, ni, nh, ne);
  Value output = buildGenericOp(
      rewriter, loc, {weighted, rowSum},
      tensor::EmptyOp::create(rewriter, loc,
                              ArrayRef<OpFoldResult>{batch, seqQ, hq, dv},
                              outType.getElementType()),
      {rewriter.getMultiDimIdentityMap(4), dimsMap(context, 4, {nb0, nh, ni}),
       rewriter.getMultiDimIdentityMap(4)},
      iterators(4, 0), [&](OpBuilder &nb, Location l, ValueRange args) {
        Value isEmpty = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                              args[1], f32Const(nb, l, 0.0));
        Value quotient = arith::DivFOp::create(nb, l, args[0], args[1]);
        Value value = arith::SelectOp::create(nb, l, isEmpty,
                                              f32Const(nb, l, 0.0), quotient);
        return truncateFromF32(nb, l, value, outType.getElementType());
      });
  SmallVector<Value> results = {castToType(rewriter, loc, output, outType)};

  if (op.getLse()) {
    auto lseType = cast<RankedTensorType>(op.getLse().getType());
    AffineMap id3 = rewriter.getMultiDimIdentityMap(3);
    Value lse = buildGenericOp(
        rewriter, loc, {rowMax, rowSum},
        tensor::EmptyOp::create(rewriter, loc,
                                ArrayRef<OpFoldResult>{batch, hq, seqQ},
                                rewriter.getF32Type()),
        {id3, id3, id3}, iterators(3, 0),
        [](OpBuilder &nb, Location l, ValueRange args) {
          Value isEmpty =
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, args[0],
                                    f32Const(nb, l, kNegInf));
          Value value = arith::AddFOp::create(
              nb, l, args[0], math::LogOp::create(nb, l, args[1]));
          return arith::SelectOp::create(nb, l, isEmpty, args[0], value)
              .getResult();
        });
    results.push_back(castToType(rewriter, loc, lse, lseType));
  }
  return results;
}
