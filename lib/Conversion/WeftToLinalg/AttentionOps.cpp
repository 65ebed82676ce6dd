//===- AttentionOps.cpp - attention and rope to linalg --------------------===//
//
// weft.attention lowers to a flash-attention (online softmax) loop over key
// blocks so that no [Sq, Sk] score matrix is ever materialised; weft.rope to a
// single elementwise linalg.generic.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::weft;

namespace {

/// Number of keys processed per iteration of the online-softmax loop. A tiling
/// pass option (TilingInterface) will own this once attention is tiled.
constexpr int64_t kAttentionKeyBlockSize = 64;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

Value f32Const(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value indexConst(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// `m` where it is finite, 0 where it is -inf: the running max of a row that
/// has seen no visible key yet. Rescaling with it keeps exp(-inf - -inf) = NaN
/// out of the online softmax (the row's sum and accumulator are 0 anyway).
Value finiteMax(OpBuilder &b, Location loc, Value m) {
  Value isNegInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m,
                                         f32Const(b, loc, kNegInf));
  return arith::SelectOp::create(b, loc, isNegInf, f32Const(b, loc, 0.0), m);
}

/// weft.attention -> scf.for over key blocks carrying the running row max
/// m[B,Hq,Sq], row sum l[B,Hq,Sq] and accumulator acc[B,Sq,Hq,Dv] (f32), with
/// linalg.generic ops for the block scores and the online-softmax update.
struct AttentionOpLowering : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    Value q = adaptor.getQ(), k = adaptor.getK(), v = adaptor.getV();
    Value mask = adaptor.getMask(), kvLen = adaptor.getKvLen();
    auto qType = cast<RankedTensorType>(q.getType());
    auto kType = cast<RankedTensorType>(k.getType());
    auto vType = cast<RankedTensorType>(v.getType());
    auto outType = cast<RankedTensorType>(op.getOutput().getType());
    RankedTensorType lseType =
        op.getLse() ? cast<RankedTensorType>(op.getLse().getType()) : nullptr;
    int64_t numHeads = qType.getDimSize(2);
    int64_t headDim = qType.getDimSize(3);
    int64_t numKvHeads = kType.getDimSize(2);
    int64_t valueDim = vType.getDimSize(3);
    int64_t group = op.getGroupSize();
    auto scale = static_cast<float>(op.getEffectiveScale());
    std::optional<float> softcap;
    if (std::optional<APFloat> cap = op.getSoftcap())
      softcap = cap->convertToFloat();
    std::optional<int64_t> window = op.getWindow();
    bool causal = op.getCausal();

    // Sizes shared by several operands; the result types may know more.
    OpFoldResult batch =
        getSharedSize(rewriter, loc, {{q, 0}, {k, 0}, {v, 0}},
                      {outType.getDimSize(0),
                       lseType ? lseType.getDimSize(0) : ShapedType::kDynamic});
    OpFoldResult seqQ =
        getSharedSize(rewriter, loc, {{q, 1}},
                      {outType.getDimSize(1),
                       lseType ? lseType.getDimSize(2) : ShapedType::kDynamic});
    SmallVector<std::pair<Value, int64_t>> keySources = {{k, 1}, {v, 1}};
    if (mask)
      keySources.push_back({mask, 3});
    OpFoldResult seqK = getSharedSize(rewriter, loc, keySources);
    OpFoldResult hq = rewriter.getIndexAttr(numHeads);
    OpFoldResult hkv = rewriter.getIndexAttr(numKvHeads);
    Value seqQValue = getIndexValue(rewriter, loc, seqQ);
    Value seqKValue = getIndexValue(rewriter, loc, seqK);
    Type f32 = rewriter.getF32Type();

    SmallVector<OpFoldResult> statsSizes = {batch, hq, seqQ};
    SmallVector<OpFoldResult> accSizes = {batch, seqQ, hq,
                                          rewriter.getIndexAttr(valueDim)};
    Value m0 = createFilledF32Tensor(rewriter, loc, statsSizes, kNegInf);
    Value l0 = createFilledF32Tensor(rewriter, loc, statsSizes, 0.0);
    Value acc0 = createFilledF32Tensor(rewriter, loc, accSizes, 0.0);

    // A static block size where the key length allows it, so that the block
    // tensors stay static.
    std::optional<int64_t> staticBlock;
    if (std::optional<int64_t> sk = getConstantIntValue(seqK)) {
      if (*sk <= kAttentionKeyBlockSize)
        staticBlock = *sk;
      else if (*sk % kAttentionKeyBlockSize == 0)
        staticBlock = kAttentionKeyBlockSize;
    }

    Value zero = indexConst(rewriter, loc, 0);
    Value step = indexConst(rewriter, loc, kAttentionKeyBlockSize);
    auto loop = scf::ForOp::create(rewriter, loc, zero, seqKValue, step,
                                   ValueRange{m0, l0, acc0});
    rewriter.setInsertionPointToStart(loop.getBody());
    Value j0 = loop.getInductionVar();
    Value m = loop.getRegionIterArg(0), l = loop.getRegionIterArg(1),
          acc = loop.getRegionIterArg(2);

    OpFoldResult block;
    if (staticBlock) {
      block = rewriter.getIndexAttr(*staticBlock);
    } else {
      Value remaining = arith::SubIOp::create(rewriter, loc, seqKValue, j0);
      block =
          arith::MinSIOp::create(rewriter, loc, remaining, step).getResult();
    }
    OpFoldResult zeroAttr = rewriter.getIndexAttr(0);
    OpFoldResult oneAttr = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> unitStrides(4, oneAttr);
    Value kBlock = tensor::ExtractSliceOp::create(
        rewriter, loc, k, {zeroAttr, j0, zeroAttr, zeroAttr},
        {batch, block, hkv, rewriter.getIndexAttr(headDim)}, unitStrides);
    Value vBlock = tensor::ExtractSliceOp::create(
        rewriter, loc, v, {zeroAttr, j0, zeroAttr, zeroAttr},
        {batch, block, hkv, rewriter.getIndexAttr(valueDim)}, unitStrides);

    AffineExpr d0, d1, d2, d3, d4;
    bindDims(context, d0, d1, d2, d3, d4);
    // Query head h reads kv head h / G.
    AffineExpr kvHead = d1.floorDiv(group);
    SmallVector<OpFoldResult> blockSizes = {batch, hq, seqQ, block};
    using utils::IteratorType;
    SmallVector<IteratorType> rowReduction = {
        IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
        IteratorType::reduction};

    // s[b, h, i, j] = sum_d q[b, i, h, d] * k[b, j0 + j, h / G, d].
    Value scores = buildGenericOp(
        rewriter, loc, {q, kBlock},
        createFilledF32Tensor(rewriter, loc, blockSizes, 0.0),
        {AffineMap::get(5, 0, {d0, d2, d1, d4}, context),
         AffineMap::get(5, 0, {d0, d3, kvHead, d4}, context),
         AffineMap::get(5, 0, {d0, d1, d2, d3}, context)},
        {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
         IteratorType::parallel, IteratorType::reduction},
        [](OpBuilder &b, Location loc, ValueRange args) {
          Value prod =
              arith::MulFOp::create(b, loc, extendToF32(b, loc, args[0]),
                                    extendToF32(b, loc, args[1]));
          return arith::AddFOp::create(b, loc, args[2], prod);
        });

    // Scale, softcap, additive mask, then -inf where the key is not visible.
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    if (mask) {
      auto maskType = cast<RankedTensorType>(mask.getType());
      Value maskBlock = tensor::ExtractSliceOp::create(
          rewriter, loc, mask, {zeroAttr, zeroAttr, zeroAttr, j0},
          {tensor::getMixedSize(rewriter, loc, mask, 0),
           tensor::getMixedSize(rewriter, loc, mask, 1),
           tensor::getMixedSize(rewriter, loc, mask, 2), block},
          unitStrides);
      // A static size-1 batch or head dim of the mask broadcasts.
      AffineExpr c0 = getAffineConstantExpr(0, context);
      inputs.push_back(maskBlock);
      maps.push_back(
          AffineMap::get(4, 0,
                         {maskType.getDimSize(0) == 1 ? c0 : d0,
                          maskType.getDimSize(1) == 1 ? c0 : d1, d2, d3},
                         context));
    }
    if (kvLen) {
      inputs.push_back(kvLen);
      maps.push_back(AffineMap::get(4, 0, {d0}, context));
    }
    maps.push_back(rewriter.getMultiDimIdentityMap(4));
    bool hasMask = static_cast<bool>(mask), hasKvLen = static_cast<bool>(kvLen);
    scores = buildGenericOp(
        rewriter, loc, inputs, scores, maps, parallelIterators(4),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value s = arith::MulFOp::create(b, loc, args.back(),
                                          f32Const(b, loc, scale));
          if (softcap) {
            Value capped = math::TanhOp::create(
                b, loc,
                arith::DivFOp::create(b, loc, s, f32Const(b, loc, *softcap)));
            s = arith::MulFOp::create(b, loc, capped,
                                      f32Const(b, loc, *softcap));
          }
          if (hasMask)
            s = arith::AddFOp::create(b, loc, s, extendToF32(b, loc, args[0]));
          if (!hasKvLen && !causal)
            return s;
          // With L valid keys and off = L - Sq: visible iff j < L, and with
          // causal j <= i + off, and with a window i + off - j < W; both
          // compared with Sq moved to the other side.
          Value i = linalg::IndexOp::create(b, loc, 2);
          Value j = arith::AddIOp::create(
              b, loc, linalg::IndexOp::create(b, loc, 3), j0);
          Value validLen = seqKValue;
          Value visible;
          auto conjoin = [&](Value cond) {
            visible =
                visible ? arith::AndIOp::create(b, loc, visible, cond) : cond;
          };
          if (hasKvLen) {
            validLen = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                  args[hasMask ? 1 : 0]);
            conjoin(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, j,
                                          validLen));
          }
          if (causal) {
            Value iPlusLen = arith::AddIOp::create(b, loc, i, validLen);
            Value jPlusSq = arith::AddIOp::create(b, loc, j, seqQValue);
            conjoin(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle,
                                          jPlusSq, iPlusLen));
            if (window) {
              Value limit = arith::AddIOp::create(b, loc, jPlusSq,
                                                  indexConst(b, loc, *window));
              conjoin(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                            iPlusLen, limit));
            }
          }
          return arith::SelectOp::create(b, loc, visible, s,
                                         f32Const(b, loc, kNegInf));
        });

    AffineMap rowMap = AffineMap::get(4, 0, {d0, d1, d2}, context);
    AffineMap blockMap = rewriter.getMultiDimIdentityMap(4);
    AffineMap statsMap = rewriter.getMultiDimIdentityMap(3);

    // The updates below write m, l, acc and s in place after their last read,
    // so that bufferization keeps the loop-carried buffers.
    // m_new = max(m, rowmax(s)); alpha = exp(m - m_new) rescales what was
    // accumulated so far.
    Value rowMax = buildGenericOp(
        rewriter, loc, {scores},
        createFilledF32Tensor(rewriter, loc, statsSizes, kNegInf),
        {blockMap, rowMap}, rowReduction,
        [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::MaximumFOp::create(b, loc, args[1], args[0]);
        });
    Value alpha = buildGenericOp(
        rewriter, loc, {m, rowMax},
        tensor::EmptyOp::create(rewriter, loc, statsSizes, f32),
        {statsMap, statsMap, statsMap}, parallelIterators(3),
        [](OpBuilder &b, Location loc, ValueRange args) {
          Value mNew = arith::MaximumFOp::create(b, loc, args[0], args[1]);
          Value diff =
              arith::SubFOp::create(b, loc, args[0], finiteMax(b, loc, mNew));
          return math::ExpOp::create(b, loc, diff);
        });
    Value mNew = buildGenericOp(
        rewriter, loc, {rowMax}, m, {statsMap, statsMap}, parallelIterators(3),
        [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::MaximumFOp::create(b, loc, args[1], args[0]);
        });

    // p = exp(s - m_new); invisible keys give exp(-inf) = 0.
    Value probs = buildGenericOp(
        rewriter, loc, {mNew}, scores, {rowMap, blockMap}, parallelIterators(4),
        [](OpBuilder &b, Location loc, ValueRange args) {
          Value shifted = arith::SubFOp::create(b, loc, args[1],
                                                finiteMax(b, loc, args[0]));
          return math::ExpOp::create(b, loc, shifted);
        });

    // l_new = l * alpha + rowsum(p).
    Value lScaled = buildGenericOp(
        rewriter, loc, {alpha}, l, {statsMap, statsMap}, parallelIterators(3),
        [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::MulFOp::create(b, loc, args[1], args[0]);
        });
    Value lNew = buildGenericOp(
        rewriter, loc, {probs}, lScaled, {blockMap, rowMap}, rowReduction,
        [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::AddFOp::create(b, loc, args[1], args[0]);
        });

    // The padding of a KV cache past kv_len[b] may hold anything (NaN or inf
    // in uninitialised memory) and p = 0 does not cancel it (0 * NaN = NaN):
    // read zeros there instead.
    if (kvLen) {
      Type vElementType = vType.getElementType();
      vBlock = buildGenericOp(
          rewriter, loc, {kvLen, vBlock},
          tensor::EmptyOp::create(
              rewriter, loc,
              {batch, block, hkv, rewriter.getIndexAttr(valueDim)},
              vElementType),
          {AffineMap::get(4, 0, {d0}, context), blockMap, blockMap},
          parallelIterators(4),
          [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
            Value j = arith::AddIOp::create(
                b, loc, linalg::IndexOp::create(b, loc, 1), j0);
            Value validLen =
                arith::IndexCastOp::create(b, loc, b.getIndexType(), args[0]);
            Value valid = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::slt, j, validLen);
            Value zeroValue =
                arith::ConstantOp::create(b, loc, b.getZeroAttr(vElementType));
            return arith::SelectOp::create(b, loc, valid, args[1], zeroValue);
          });
    }

    // acc_new = acc * alpha + sum_j p[b, h, i, j] * v[b, j0 + j, h / G, :].
    AffineMap accMap = rewriter.getMultiDimIdentityMap(4);
    Value accScaled = buildGenericOp(
        rewriter, loc, {alpha}, acc,
        {AffineMap::get(4, 0, {d0, d2, d1}, context), accMap},
        parallelIterators(4), [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::MulFOp::create(b, loc, args[1], args[0]);
        });
    // Loops (b, i, h, j, e): the key j is the reduction, and the value dim e
    // is innermost so each step is an axpy over a contiguous row of v and acc
    // (vectorizes) instead of a strided dot product down a column of v.
    Value accNew = buildGenericOp(
        rewriter, loc, {probs, vBlock}, accScaled,
        {AffineMap::get(5, 0, {d0, d2, d1, d3}, context),
         AffineMap::get(5, 0, {d0, d3, d2.floorDiv(group), d4}, context),
         AffineMap::get(5, 0, {d0, d1, d2, d4}, context)},
        {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
         IteratorType::reduction, IteratorType::parallel},
        [](OpBuilder &b, Location loc, ValueRange args) {
          Value prod = arith::MulFOp::create(b, loc, args[0],
                                             extendToF32(b, loc, args[1]));
          return arith::AddFOp::create(b, loc, args[2], prod);
        });
    scf::YieldOp::create(rewriter, loc, ValueRange{mNew, lNew, accNew});
    rewriter.setInsertionPointAfter(loop);

    // output = acc / l; rows without a visible key (l == 0) give 0.
    Value mFinal = loop.getResult(0), lFinal = loop.getResult(1);
    Type elementType = outType.getElementType();
    Value output = buildGenericOp(
        rewriter, loc, {loop.getResult(2), lFinal},
        tensor::EmptyOp::create(rewriter, loc, accSizes, elementType),
        {accMap, AffineMap::get(4, 0, {d0, d2, d1}, context), accMap},
        parallelIterators(4), [&](OpBuilder &b, Location loc, ValueRange args) {
          Value empty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                              args[1], f32Const(b, loc, 0));
          Value div = arith::DivFOp::create(b, loc, args[0], args[1]);
          Value result =
              arith::SelectOp::create(b, loc, empty, f32Const(b, loc, 0), div);
          return truncateFromF32(b, loc, result, elementType);
        });
    SmallVector<Value> results = {castToType(rewriter, loc, output, outType)};

    // lse = m + log(l), -inf for rows without a visible key.
    if (lseType) {
      Value lse = buildGenericOp(
          rewriter, loc, {mFinal, lFinal},
          tensor::EmptyOp::create(rewriter, loc, statsSizes, f32),
          {statsMap, statsMap, statsMap}, parallelIterators(3),
          [](OpBuilder &b, Location loc, ValueRange args) {
            Value empty =
                arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                      args[1], f32Const(b, loc, 0));
            Value lse = arith::AddFOp::create(
                b, loc, args[0], math::LogOp::create(b, loc, args[1]));
            return arith::SelectOp::create(b, loc, empty,
                                           f32Const(b, loc, kNegInf), lse);
          });
      results.push_back(castToType(rewriter, loc, lse, lseType));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// weft.rope -> one linalg.generic over x; the paired channel and the
/// frequency are read with tensor.extract at indices computed from
/// linalg.index (keeps the indexing maps projected permutations, so the op
/// tiles and vectorizes like any elementwise op).
struct RopeOpLowering : OpConversionPattern<RopeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RopeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    Value x = adaptor.getX(), positions = adaptor.getPositions();
    auto resultType = cast<RankedTensorType>(op.getType());
    Type elementType = resultType.getElementType();
    int64_t headDim = cast<RankedTensorType>(x.getType()).getDimSize(3);
    int64_t rotaryDim = op.getEffectiveRotaryDim();
    int64_t half = rotaryDim / 2;
    bool interleaved = op.getInterleaved();

    // The default frequency table is a compile-time constant, computed in
    // double and rounded once to f32.
    Value invFreq = adaptor.getInvFreq();
    if (!invFreq) {
      double theta = op.getTheta().convertToDouble();
      SmallVector<float> table;
      for (int64_t i = 0; i < half; ++i)
        table.push_back(static_cast<float>(
            std::pow(theta, -2.0 * static_cast<double>(i) / rotaryDim)));
      auto tableType = RankedTensorType::get({half}, rewriter.getF32Type());
      invFreq = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(tableType, ArrayRef(table)));
    }

    Value init = createEmptyTensorWithSizes(
        rewriter, loc, resultType, [&](int64_t d) -> Value {
          return tensor::DimOp::create(rewriter, loc, x, d);
        });
    AffineExpr d0, d1;
    bindDims(context, d0, d1);
    AffineMap identity = rewriter.getMultiDimIdentityMap(4);
    Value result = buildGenericOp(
        rewriter, loc, {x, positions}, init,
        {identity, AffineMap::get(4, 0, {d0, d1}, context), identity},
        parallelIterators(4),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value self = extendToF32(b, loc, args[0]);
          Value d = linalg::IndexOp::create(b, loc, 3);
          // Frequency index i, paired channel, and whether d is the first
          // element of its pair (which subtracts the paired term).
          Value freqIndex, partner, isFirst;
          if (interleaved) {
            Value one = indexConst(b, loc, 1);
            freqIndex =
                arith::DivUIOp::create(b, loc, d, indexConst(b, loc, 2));
            partner = arith::XOrIOp::create(b, loc, d, one);
            isFirst = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::eq,
                arith::AndIOp::create(b, loc, d, one), indexConst(b, loc, 0));
          } else {
            Value halfValue = indexConst(b, loc, half);
            isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                            d, halfValue);
            freqIndex = arith::RemUIOp::create(b, loc, d, halfValue);
            partner = arith::SelectOp::create(
                b, loc, isFirst, arith::AddIOp::create(b, loc, d, halfValue),
                arith::SubIOp::create(b, loc, d, halfValue));
          }
          // Channels >= rotary_dim pass through; clamp their (unused)
          // indices into bounds.
          Value isRotated;
          if (rotaryDim < headDim) {
            isRotated = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                              d, indexConst(b, loc, rotaryDim));
            freqIndex = arith::SelectOp::create(b, loc, isRotated, freqIndex,
                                                indexConst(b, loc, 0));
            partner = arith::SelectOp::create(b, loc, isRotated, partner, d);
          }
          Value other = extendToF32(
              b, loc,
              tensor::ExtractOp::create(
                  b, loc, x,
                  ValueRange{linalg::IndexOp::create(b, loc, 0),
                             linalg::IndexOp::create(b, loc, 1),
                             linalg::IndexOp::create(b, loc, 2), partner}));
          Value freq = tensor::ExtractOp::create(b, loc, invFreq, freqIndex);
          Value pos = arith::SIToFPOp::create(b, loc, b.getF32Type(), args[1]);
          Value angle = arith::MulFOp::create(b, loc, pos, freq);
          Value cos = math::CosOp::create(b, loc, angle);
          Value sin = math::SinOp::create(b, loc, angle);
          Value selfCos = arith::MulFOp::create(b, loc, self, cos);
          Value otherSin = arith::MulFOp::create(b, loc, other, sin);
          Value rotated = arith::SelectOp::create(
              b, loc, isFirst, arith::SubFOp::create(b, loc, selfCos, otherSin),
              arith::AddFOp::create(b, loc, selfCos, otherSin));
          if (isRotated)
            rotated = arith::SelectOp::create(b, loc, isRotated, rotated, self);
          return truncateFromF32(b, loc, rotated, elementType);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void weft::populateAttentionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<AttentionOpLowering, RopeOpLowering>(patterns.getContext());
}
