//===- SequenceOps.cpp - ssm_scan and causal_conv1d to linalg -------------===//
//
// weft.ssm_scan lowers to a sequential scan (scf.for over the sequence
// carrying the f32 state); weft.causal_conv1d to a convolution-shaped
// linalg.generic over the input padded with the carried state.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

Value f32Const(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// The static sizes of `sizes` (dynamic where a size is a value).
SmallVector<int64_t> staticShape(ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  return shape;
}

/// The slice of `source` at position `t` of its sequence dim (dim 1), with
/// that dim dropped: `sizes` are the sizes of the other dims.
Value extractStep(OpBuilder &b, Location loc, Value source, Value t,
                  ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> offsets(sizes.size() + 1, b.getIndexAttr(0));
  offsets[1] = t;
  SmallVector<OpFoldResult> fullSizes(sizes);
  fullSizes.insert(fullSizes.begin() + 1, b.getIndexAttr(1));
  SmallVector<OpFoldResult> strides(fullSizes.size(), b.getIndexAttr(1));
  auto sourceType = cast<RankedTensorType>(source.getType());
  auto type =
      RankedTensorType::get(staticShape(sizes), sourceType.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, type, source, offsets,
                                        fullSizes, strides);
}

/// softplus(x) = log(1 + exp(x)), evaluated as x where exp overflows.
Value buildSoftplus(OpBuilder &b, Location loc, Value x) {
  Value soft = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, x));
  Value large = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                                      f32Const(b, loc, 20.0));
  return arith::SelectOp::create(b, loc, large, x, soft);
}

/// weft.ssm_scan -> the processed step dt' for all (b, t, h) in one
/// linalg.generic, then an scf.for over the sequence carrying the f32 state
/// [B,H,P,N] and y; each step updates the state, reduces it against C_t and
/// inserts y_t. Nothing of size [B,L,H,P,N] is materialised.
struct SsmScanOpLowering : OpConversionPattern<SsmScanOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SsmScanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    Value x = adaptor.getX(), dt = adaptor.getDt(), a = adaptor.getA();
    Value bm = adaptor.getB(), cm = adaptor.getC();
    Value dParam = adaptor.getD(), z = adaptor.getZ();
    Value dtBias = adaptor.getDtBias(), initState = adaptor.getInitialState();
    auto yType = cast<RankedTensorType>(op.getY().getType());
    auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
    auto aType = cast<RankedTensorType>(a.getType());
    auto dType =
        dParam ? cast<RankedTensorType>(dParam.getType()) : RankedTensorType();
    bool scalarA = aType.getRank() == 1;
    bool softplus = op.getDtSoftplus();
    std::optional<ArrayRef<double>> dtLimit = op.getDtLimit();
    Type f32 = rewriter.getF32Type();

    // Sizes shared by several operands, static where any of them knows them.
    auto shared = [&](ArrayRef<std::pair<Value, int64_t>> sources,
                      ArrayRef<int64_t> hints = {}) {
      SmallVector<std::pair<Value, int64_t>> present;
      for (auto source : sources)
        if (source.first)
          present.push_back(source);
      return getSharedSize(rewriter, loc, present, hints);
    };
    OpFoldResult batch =
        shared({{x, 0}, {dt, 0}, {bm, 0}, {cm, 0}, {z, 0}, {initState, 0}},
               {yType.getDimSize(0), stateType.getDimSize(0)});
    OpFoldResult length = shared({{x, 1}, {dt, 1}, {bm, 1}, {cm, 1}, {z, 1}},
                                 {yType.getDimSize(1)});
    OpFoldResult heads =
        shared({{x, 2}, {dt, 2}, {a, 0}, {z, 2}, {dtBias, 0}, {initState, 1}},
               {yType.getDimSize(2), stateType.getDimSize(1),
                dType ? dType.getDimSize(0) : ShapedType::kDynamic});
    OpFoldResult headDim =
        shared({{x, 3}, {z, 3}, {initState, 2}},
               {yType.getDimSize(3), stateType.getDimSize(2),
                dType && dType.getRank() == 2 ? dType.getDimSize(1)
                                              : ShapedType::kDynamic});
    OpFoldResult groups = shared({{bm, 2}, {cm, 2}});
    OpFoldResult stateDim =
        shared({{bm, 3}, {cm, 3}, {initState, 3}},
               {stateType.getDimSize(3),
                scalarA ? ShapedType::kDynamic : aType.getDimSize(1)});

    AffineExpr d0, d1, d2, d3;
    bindDims(context, d0, d1, d2, d3);
    using utils::IteratorType;

    // dt' = clamp(softplus(dt + dt_bias)) once per (b, t, h), in f32.
    Value dtProcessed = dt;
    if (dtBias || softplus || dtLimit ||
        !cast<RankedTensorType>(dt.getType()).getElementType().isF32()) {
      SmallVector<Value> inputs = {dt};
      SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(3)};
      if (dtBias) {
        inputs.push_back(dtBias);
        maps.push_back(AffineMap::get(3, 0, {d2}, context));
      }
      maps.push_back(rewriter.getMultiDimIdentityMap(3));
      bool hasBias = static_cast<bool>(dtBias);
      dtProcessed = buildGenericOp(
          rewriter, loc, inputs,
          tensor::EmptyOp::create(rewriter, loc, {batch, length, heads}, f32),
          maps, parallelIterators(3),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value d = extendToF32(b, loc, args[0]);
            if (hasBias)
              d = arith::AddFOp::create(b, loc, d,
                                        extendToF32(b, loc, args[1]));
            if (softplus)
              d = buildSoftplus(b, loc, d);
            if (dtLimit) {
              d = arith::MaximumFOp::create(b, loc, d,
                                            f32Const(b, loc, (*dtLimit)[0]));
              d = arith::MinimumFOp::create(b, loc, d,
                                            f32Const(b, loc, (*dtLimit)[1]));
            }
            return d;
          });
    }

    SmallVector<OpFoldResult> stateSizes = {batch, heads, headDim, stateDim};
    Value state0 =
        initState
            ? castToType(rewriter, loc, initState,
                         RankedTensorType::get(staticShape(stateSizes), f32))
            : createFilledF32Tensor(rewriter, loc, stateSizes, 0.0);
    Value y0 = tensor::EmptyOp::create(
        rewriter, loc, {batch, length, heads, headDim}, yType.getElementType());

    // Head h reads group h / (H / G): an indexing map when H and G are
    // static, else a tensor.extract at a computed index.
    std::optional<int64_t> numHeads = getConstantIntValue(heads);
    std::optional<int64_t> numGroups = getConstantIntValue(groups);
    std::optional<int64_t> headsPerGroup;
    if (numHeads && numGroups)
      headsPerGroup = *numHeads / *numGroups;
    Value headsPerGroupValue;
    if (!headsPerGroup)
      headsPerGroupValue = arith::DivUIOp::create(
          rewriter, loc, getIndexValue(rewriter, loc, heads),
          getIndexValue(rewriter, loc, groups));

    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop = scf::ForOp::create(rewriter, loc, zero,
                                   getIndexValue(rewriter, loc, length), one,
                                   ValueRange{state0, y0});
    rewriter.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value state = loop.getRegionIterArg(0), y = loop.getRegionIterArg(1);

    Value dtStep = extractStep(rewriter, loc, dtProcessed, t, {batch, heads});
    Value xStep = extractStep(rewriter, loc, x, t, {batch, heads, headDim});
    Value bStep = extractStep(rewriter, loc, bm, t, {batch, groups, stateDim});
    Value cStep = extractStep(rewriter, loc, cm, t, {batch, groups, stateDim});

    // Reads group tensor `source` [B,G,N] at (b, group(h), n) in a generic
    // over (b, h, p, n): either through `maps`/`inputs` or by extraction.
    AffineMap groupMap;
    if (headsPerGroup) {
      AffineExpr group = *numGroups == 1 ? getAffineConstantExpr(0, context)
                                         : d1.floorDiv(*headsPerGroup);
      groupMap = AffineMap::get(4, 0, {d0, group, d3}, context);
    }
    auto readGroup = [&](OpBuilder &b, Location loc, Value source,
                         ValueRange args, int64_t argIndex) -> Value {
      if (headsPerGroup)
        return args[argIndex];
      Value h = linalg::IndexOp::create(b, loc, 1);
      Value g = arith::DivUIOp::create(b, loc, h, headsPerGroupValue);
      return tensor::ExtractOp::create(
          b, loc, source,
          ValueRange{linalg::IndexOp::create(b, loc, 0), g,
                     linalg::IndexOp::create(b, loc, 3)});
    };

    // exp(dt' * A), once per (b, h) for A[H] or per (b, h, n) for A[H, N].
    SmallVector<OpFoldResult> decaySizes = {batch, heads};
    SmallVector<AffineMap> decayMaps;
    if (scalarA) {
      decayMaps = {rewriter.getMultiDimIdentityMap(2),
                   AffineMap::get(2, 0, {d1}, context),
                   rewriter.getMultiDimIdentityMap(2)};
    } else {
      decaySizes.push_back(stateDim);
      decayMaps = {AffineMap::get(3, 0, {d0, d1}, context),
                   AffineMap::get(3, 0, {d1, d2}, context),
                   rewriter.getMultiDimIdentityMap(3)};
    }
    Value decay =
        buildGenericOp(rewriter, loc, {dtStep, a},
                       tensor::EmptyOp::create(rewriter, loc, decaySizes, f32),
                       decayMaps, parallelIterators(decaySizes.size()),
                       [](OpBuilder &b, Location loc, ValueRange args) {
                         Value prod = arith::MulFOp::create(
                             b, loc, extendToF32(b, loc, args[0]),
                             extendToF32(b, loc, args[1]));
                         return math::ExpOp::create(b, loc, prod);
                       });

    // state = exp(dt' A) * state + dt' * x_t * B_t, in place over (b,h,p,n).
    AffineMap stateMap = rewriter.getMultiDimIdentityMap(4);
    SmallVector<Value> updateInputs = {decay, dtStep, xStep};
    SmallVector<AffineMap> updateMaps = {
        scalarA ? AffineMap::get(4, 0, {d0, d1}, context)
                : AffineMap::get(4, 0, {d0, d1, d3}, context),
        AffineMap::get(4, 0, {d0, d1}, context),
        AffineMap::get(4, 0, {d0, d1, d2}, context)};
    if (headsPerGroup) {
      updateInputs.push_back(bStep);
      updateMaps.push_back(groupMap);
    }
    updateMaps.push_back(stateMap);
    Value stateNew = buildGenericOp(
        rewriter, loc, updateInputs, state, updateMaps, parallelIterators(4),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value bValue = extendToF32(b, loc, readGroup(b, loc, bStep, args, 3));
          Value dtX =
              arith::MulFOp::create(b, loc, extendToF32(b, loc, args[1]),
                                    extendToF32(b, loc, args[2]));
          Value input = arith::MulFOp::create(b, loc, dtX, bValue);
          Value decayed = arith::MulFOp::create(b, loc, args[0], args.back());
          return arith::AddFOp::create(b, loc, decayed, input);
        });

    // sum_n state * C_t over (b, h, p, n).
    SmallVector<Value> readoutInputs = {stateNew};
    SmallVector<AffineMap> readoutMaps = {stateMap};
    if (headsPerGroup) {
      readoutInputs.push_back(cStep);
      readoutMaps.push_back(groupMap);
    }
    readoutMaps.push_back(AffineMap::get(4, 0, {d0, d1, d2}, context));
    // y_t is computed directly into its slice of y, so that bufferization
    // writes y in place. Without an epilogue (no D, no z, f32) the readout
    // itself is y_t.
    Type elementType = yType.getElementType();
    bool hasEpilogue = dParam || z || !elementType.isF32();
    SmallVector<OpFoldResult> stepSizes = {batch, heads, headDim};
    Value ySlice = extractStep(rewriter, loc, y, t, stepSizes);
    Value readoutInit =
        hasEpilogue ? tensor::EmptyOp::create(rewriter, loc, stepSizes, f32)
                    : ySlice;
    readoutInit = linalg::FillOp::create(
                      rewriter, loc, f32Const(rewriter, loc, 0.0), readoutInit)
                      .getResult(0);
    Value readout = buildGenericOp(
        rewriter, loc, readoutInputs, readoutInit, readoutMaps,
        {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
         IteratorType::reduction},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value cValue = extendToF32(b, loc, readGroup(b, loc, cStep, args, 1));
          Value prod = arith::MulFOp::create(b, loc, args[0], cValue);
          return arith::AddFOp::create(b, loc, args.back(), prod);
        });

    // y_t = (readout + D * x_t) * silu(z_t), rounded to x's element type.
    SmallVector<Value> outInputs = {readout};
    SmallVector<AffineMap> outMaps = {rewriter.getMultiDimIdentityMap(3)};
    if (dParam) {
      outInputs.push_back(xStep);
      outMaps.push_back(rewriter.getMultiDimIdentityMap(3));
      outInputs.push_back(dParam);
      outMaps.push_back(dType.getRank() == 1
                            ? AffineMap::get(3, 0, {d1}, context)
                            : AffineMap::get(3, 0, {d1, d2}, context));
    }
    Value zStep;
    if (z) {
      zStep = extractStep(rewriter, loc, z, t, stepSizes);
      outInputs.push_back(zStep);
      outMaps.push_back(rewriter.getMultiDimIdentityMap(3));
    }
    outMaps.push_back(rewriter.getMultiDimIdentityMap(3));
    bool hasD = static_cast<bool>(dParam), hasZ = static_cast<bool>(z);
    Value yStep = readout;
    if (hasEpilogue)
      yStep = buildGenericOp(
          rewriter, loc, outInputs, ySlice, outMaps, parallelIterators(3),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value out = args[0];
            if (hasD) {
              Value skip =
                  arith::MulFOp::create(b, loc, extendToF32(b, loc, args[2]),
                                        extendToF32(b, loc, args[1]));
              out = arith::AddFOp::create(b, loc, out, skip);
            }
            if (hasZ) {
              Value zValue = extendToF32(b, loc, args[hasD ? 3 : 1]);
              Value gate = arith::MulFOp::create(b, loc, zValue,
                                                 buildSigmoid(b, loc, zValue));
              out = arith::MulFOp::create(b, loc, out, gate);
            }
            return truncateFromF32(b, loc, out, elementType);
          });
    OpFoldResult unit = rewriter.getIndexAttr(1);
    OpFoldResult zeroAttr = rewriter.getIndexAttr(0);
    Value yNew = tensor::InsertSliceOp::create(
        rewriter, loc, yStep, y, {zeroAttr, t, zeroAttr, zeroAttr},
        {batch, unit, heads, headDim}, {unit, unit, unit, unit});
    scf::YieldOp::create(rewriter, loc, ValueRange{stateNew, yNew});
    rewriter.setInsertionPointAfter(loop);

    rewriter.replaceOp(
        op, {castToType(rewriter, loc, loop.getResult(1), yType),
             castToType(rewriter, loc, loop.getResult(0), stateType)});
    return success();
  }
};

/// weft.causal_conv1d -> xp = [state or zeros; x] along the sequence, a
/// linalg.generic over (b, t, c) reducing over the kernel tap k that reads
/// xp[b, t + k, c], an epilogue adding the bias and applying the activation,
/// and new_state = the last K-1 rows of xp.
struct CausalConv1dOpLowering : OpConversionPattern<CausalConv1dOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CausalConv1dOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    Value x = adaptor.getX(), weight = adaptor.getWeight();
    Value bias = adaptor.getBias(), state = adaptor.getState();
    auto yType = cast<RankedTensorType>(op.getY().getType());
    auto newStateType = cast<RankedTensorType>(op.getNewState().getType());
    Type elementType = yType.getElementType();
    int64_t kernel = cast<RankedTensorType>(weight.getType()).getDimSize(1);

    SmallVector<std::pair<Value, int64_t>> batchSources = {{x, 0}};
    SmallVector<std::pair<Value, int64_t>> channelSources = {{x, 2},
                                                             {weight, 0}};
    if (state) {
      batchSources.push_back({state, 0});
      channelSources.push_back({state, 2});
    }
    if (bias)
      channelSources.push_back({bias, 0});
    OpFoldResult batch =
        getSharedSize(rewriter, loc, batchSources,
                      {yType.getDimSize(0), newStateType.getDimSize(0)});
    OpFoldResult channels =
        getSharedSize(rewriter, loc, channelSources,
                      {yType.getDimSize(2), newStateType.getDimSize(2)});
    OpFoldResult length =
        getSharedSize(rewriter, loc, {{x, 1}}, {yType.getDimSize(1)});

    // xp[B, K-1+L, C]: the carried state (or zeros), then x. With K = 1 there
    // is no history and xp is x itself.
    OpFoldResult history = rewriter.getIndexAttr(kernel - 1);
    OpFoldResult zero = rewriter.getIndexAttr(0),
                 one = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> unitStrides(3, one);
    Value padded = x;
    if (kernel > 1) {
      OpFoldResult paddedLength;
      if (std::optional<int64_t> l = getConstantIntValue(length))
        paddedLength = rewriter.getIndexAttr(kernel - 1 + *l);
      else
        paddedLength =
            arith::AddIOp::create(
                rewriter, loc, getIndexValue(rewriter, loc, length),
                arith::ConstantIndexOp::create(rewriter, loc, kernel - 1))
                .getResult();
      padded = tensor::EmptyOp::create(
          rewriter, loc, {batch, paddedLength, channels}, elementType);
      SmallVector<OpFoldResult> prefixSizes = {batch, history, channels};
      Value prefix = state;
      if (state) {
        prefixSizes = tensor::getMixedSizes(rewriter, loc, state);
      } else {
        Value empty =
            tensor::EmptyOp::create(rewriter, loc, prefixSizes, elementType);
        Value zeroValue = arith::ConstantOp::create(
            rewriter, loc, rewriter.getZeroAttr(elementType));
        prefix = linalg::FillOp::create(rewriter, loc, zeroValue, empty)
                     .getResult(0);
      }
      padded = tensor::InsertSliceOp::create(rewriter, loc, prefix, padded,
                                             {zero, zero, zero}, prefixSizes,
                                             unitStrides);
      padded = tensor::InsertSliceOp::create(
          rewriter, loc, x, padded, {zero, history, zero},
          tensor::getMixedSizes(rewriter, loc, x), unitStrides);
    }

    // acc[b, t, c] = sum_k weight[c, k] * xp[b, t + k, c], in f32.
    AffineExpr d0, d1, d2, d3;
    bindDims(context, d0, d1, d2, d3);
    SmallVector<OpFoldResult> outSizes = {batch, length, channels};
    Value acc = buildGenericOp(
        rewriter, loc, {padded, weight},
        createFilledF32Tensor(rewriter, loc, outSizes, 0.0),
        {AffineMap::get(4, 0, {d0, d1 + d3, d2}, context),
         AffineMap::get(4, 0, {d2, d3}, context),
         AffineMap::get(4, 0, {d0, d1, d2}, context)},
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::parallel, utils::IteratorType::reduction},
        [](OpBuilder &b, Location loc, ValueRange args) {
          Value prod =
              arith::MulFOp::create(b, loc, extendToF32(b, loc, args[0]),
                                    extendToF32(b, loc, args[1]));
          return arith::AddFOp::create(b, loc, args[2], prod);
        });

    // y = act(acc + bias), rounded once.
    SmallVector<Value> inputs = {acc};
    SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(3)};
    if (bias) {
      inputs.push_back(bias);
      maps.push_back(AffineMap::get(3, 0, {d2}, context));
    }
    maps.push_back(rewriter.getMultiDimIdentityMap(3));
    Activation activation = op.getActivation();
    bool hasBias = static_cast<bool>(bias);
    Value y = acc;
    if (bias || activation != Activation::none || !elementType.isF32())
      y = buildGenericOp(
          rewriter, loc, inputs,
          tensor::EmptyOp::create(rewriter, loc, outSizes, elementType), maps,
          parallelIterators(3),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value value = args[0];
            if (hasBias)
              value = arith::AddFOp::create(b, loc, value,
                                            extendToF32(b, loc, args[1]));
            value = buildActivation(b, loc, activation, value);
            return truncateFromF32(b, loc, value, elementType);
          });

    // new_state = xp[:, L : L + K - 1, :] (empty for K = 1, where a slice at
    // offset L would be out of bounds).
    Value newState =
        kernel > 1 ? tensor::ExtractSliceOp::create(
                         rewriter, loc, padded, {zero, length, zero},
                         {batch, history, channels}, unitStrides)
                         .getResult()
                   : tensor::EmptyOp::create(
                         rewriter, loc, {batch, history, channels}, elementType)
                         .getResult();
    rewriter.replaceOp(op, {castToType(rewriter, loc, y, yType),
                            castToType(rewriter, loc, newState, newStateType)});
    return success();
  }
};

} // namespace

void weft::populateSequenceToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<SsmScanOpLowering, CausalConv1dOpLowering>(
      patterns.getContext());
}
