//===- SequenceOps.cpp - ssm_scan and causal_conv1d to linalg -------------===//
//
// weft.ssm_scan lowers to a sequential scan (scf.for over the sequence
// carrying the f32 state); weft.causal_conv1d to a convolution-shaped
// linalg.generic over the input padded with the carried state.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "SsmScanLowering.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

/// softplus(x) = log(1 + exp(x)), evaluated as x where exp overflows.
Value buildSoftplus(OpBuilder &b, Location loc, Value x) {
  Value soft = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, x));
  Value large = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                                      f32Const(b, loc, 20.0));
  return arith::SelectOp::create(b, loc, large, x, soft);
}

/// weft.ssm_scan -> the processed step dt' for all (b, t, h) in one
/// linalg.generic, then an scf.forall over (b, h) whose tasks each run an
/// scf.for over the sequence carrying their f32 state [P,N] and rows of y;
/// each step updates the state, reduces it against C_t and inserts y_t.
/// Nothing of size [B,L,H,P,N] is materialised.
struct SsmScanOpLowering : OpConversionPattern<SsmScanOp> {
  SsmScanOpLowering(MLIRContext *context, int64_t chunkSize, bool perChannel,
                    bool blocks, bool chunked, int64_t blockSharedBytes)
      : OpConversionPattern(context), chunkSize(chunkSize),
        perChannel(perChannel), blocks(blocks || chunked), chunked(chunked),
        blockSharedBytes(blockSharedBytes) {}

  /// Steps per chunk of the chunked (SSD) form of scalar-A scans; 0 selects
  /// the sequential scan.
  int64_t chunkSize;
  /// One task per (batch, head, channel) (SsmScanPerChannel.cpp), the GPU
  /// form, instead of per (batch, head) with a [P, N] tile.
  bool perChannel;
  /// GPU thread blocks over state elements (SsmScanBlocks.cpp), falling back
  /// to perChannel where P or N is dynamic.
  bool blocks;
  /// The Mamba-2 scan in chunks on the tensor cores (SsmScanChunks.cpp),
  /// falling back to blocks.
  bool chunked;
  /// Shared memory a block of the thread-block form may take.
  int64_t blockSharedBytes;

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

    // An empty sequence: y is empty and the state passes through (the tasks
    // below would slice the empty sequence dim at static offsets).
    if (getConstantIntValue(length) == 0) {
      // A copy: results never alias the inputs.
      SmallVector<OpFoldResult> stateSizes = {batch, heads, headDim, stateDim};
      Value finalState =
          initState ? linalg::CopyOp::create(rewriter, loc, initState,
                                             tensor::EmptyOp::create(
                                                 rewriter, loc, stateSizes, f32)
                                                 .getResult())
                          .getResult(0)
                    : createFilledF32Tensor(rewriter, loc, stateSizes, 0.0);
      rewriter.replaceOp(
          op, {castToType(rewriter, loc,
                          tensor::EmptyOp::create(
                              rewriter, loc, {batch, length, heads, headDim},
                              yType.getElementType()),
                          yType),
               castToType(rewriter, loc, finalState, stateType)});
      return success();
    }

    // Head h reads group h / (H / G).
    Value headsPerGroup = arith::DivUIOp::create(
        rewriter, loc, getIndexValue(rewriter, loc, heads),
        getIndexValue(rewriter, loc, groups));
    if (perChannel || blocks) {
      SsmScanOperands operands{
          x,         dtProcessed,   a,     bm,     cm,    dParam,  z,
          initState, headsPerGroup, batch, length, heads, headDim, stateDim};
      if (chunked) {
        if (std::optional<SmallVector<Value>> results = lowerSsmScanAsChunks(
                op, operands, blockSharedBytes, rewriter)) {
          rewriter.replaceOp(op, *results);
          return success();
        }
      }
      if (blocks) {
        if (std::optional<SmallVector<Value>> results = lowerSsmScanAsBlocks(
                op, operands, blockSharedBytes, rewriter)) {
          rewriter.replaceOp(op, *results);
          return success();
        }
      }
      rewriter.replaceOp(op, lowerSsmScanPerChannel(op, operands, rewriter));
      return success();
    }

    // One task per (b, h), carrying its f32 state tile (16 KB for
    // P = N = 64: it stays in L1) through the sequential steps. With P >= 16
    // the tile is [N, P]: the update and the readout (an axpy into y_t per n)
    // are then vector loops over p without horizontal sums; with a small P
    // (Mamba-1, P = 1) it is [P, N], vectorized over n.
    std::optional<int64_t> staticP = getConstantIntValue(headDim);
    bool ssd = chunkSize > 0 && scalarA;
    bool pInner = ssd || (staticP && *staticP >= 16);
    // Whole vector<P> rows: the fused vector step below.
    bool vectorRows =
        staticP && *staticP >= 16 && *staticP % 16 == 0 && *staticP <= 256;
    Type elementType = yType.getElementType();
    // Without D, z or rounding, y_t is the readout itself and goes straight
    // into the task's rows of y.
    bool hasEpilogue = dParam || z || !elementType.isF32();
    bool directY = vectorRows && !hasEpilogue;
    SmallVector<OpFoldResult> stateSizes = {batch, heads, headDim, stateDim};
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{batch, heads},
        ValueRange{tensor::EmptyOp::create(rewriter, loc,
                                           {batch, length, heads, headDim},
                                           elementType),
                   tensor::EmptyOp::create(rewriter, loc, stateSizes, f32)},
        std::nullopt);
    rewriter.setInsertionPoint(forall.getTerminator());
    Value bIdx = forall.getInductionVar(0), hIdx = forall.getInductionVar(1);
    Value yShared = forall.getRegionIterArgs()[0];
    Value stateShared = forall.getRegionIterArgs()[1];
    Value gIdx = arith::DivUIOp::create(rewriter, loc, hIdx, headsPerGroup);
    OpFoldResult zeroAttr = rewriter.getIndexAttr(0);
    OpFoldResult oneAttr = rewriter.getIndexAttr(1);
    AffineExpr e0, e1;
    bindDims(context, e0, e1);
    AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
    AffineMap transposed2 = AffineMap::get(2, 0, {e1, e0}, context);

    // The task's rows of x (and later y, z) are H * P elements apart, too far
    // for the prefetcher to follow one step at a time: with whole vector rows
    // x is copied once into a contiguous f32 [L, P] (independent loads), and
    // the epilogue runs over all steps after the scan. Otherwise xRows is x
    // in f32 (the identity generic folds away for f32 x).
    SmallVector<OpFoldResult> seqOffsets = {bIdx, zeroAttr, hIdx, zeroAttr};
    SmallVector<OpFoldResult> seqSizes = {oneAttr, length, oneAttr, headDim};
    Value xSeq = extractBlock(rewriter, loc, x, seqOffsets, seqSizes, {1, 3});
    Value xRows =
        tensor::EmptyOp::create(rewriter, loc, {length, headDim}, f32);
    if (vectorRows) {
      // Row by row as vectors (a scalar copy loop would not overlap its
      // cache misses as well).
      auto rowType = VectorType::get({*staticP}, f32);
      Type xElementType =
          cast<RankedTensorType>(xSeq.getType()).getElementType();
      Value zeroIndex = arith::ConstantIndexOp::create(rewriter, loc, 0);
      auto copyLoop = scf::ForOp::create(
          rewriter, loc, zeroIndex, getIndexValue(rewriter, loc, length),
          arith::ConstantIndexOp::create(rewriter, loc, 1), ValueRange{xRows});
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(copyLoop.getBody());
      Value t = copyLoop.getInductionVar();
      Value row = vector::TransferReadOp::create(
          rewriter, loc, VectorType::get({*staticP}, xElementType), xSeq,
          ValueRange{t, zeroIndex},
          arith::ConstantOp::create(rewriter, loc,
                                    rewriter.getZeroAttr(xElementType))
              .getResult(),
          ArrayRef<bool>{true});
      if (!xElementType.isF32())
        row = arith::ExtFOp::create(rewriter, loc, rowType, row);
      scf::YieldOp::create(rewriter, loc,
                           vector::TransferWriteOp::create(
                               rewriter, loc, row, copyLoop.getRegionIterArg(0),
                               ValueRange{t, zeroIndex}, ArrayRef<bool>{true})
                               .getResult());
      rewriter.setInsertionPointAfter(copyLoop);
      xRows = copyLoop.getResult(0);
    } else {
      xRows = buildGenericOp(rewriter, loc, {xSeq}, xRows, {id2, id2},
                             parallelIterators(2),
                             [](OpBuilder &b, Location loc, ValueRange args) {
                               return extendToF32(b, loc, args[0]);
                             });
    }

    SmallVector<OpFoldResult> stateOffsets = {bIdx, hIdx, zeroAttr, zeroAttr};
    SmallVector<OpFoldResult> stateBlockSizes = {oneAttr, oneAttr, headDim,
                                                 stateDim};
    Value stateSlice = extractBlock(rewriter, loc, stateShared, stateOffsets,
                                    stateBlockSizes, {2, 3});
    Value state0 = pInner ? tensor::EmptyOp::create(rewriter, loc,
                                                    {stateDim, headDim}, f32)
                                .getResult()
                          : stateSlice;
    if (initState)
      state0 = buildGenericOp(
          rewriter, loc,
          {extractBlock(rewriter, loc, initState, stateOffsets, stateBlockSizes,
                        {2, 3})},
          state0, {pInner ? transposed2 : id2, id2}, parallelIterators(2),
          [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    else
      state0 = linalg::FillOp::create(rewriter, loc,
                                      f32Const(rewriter, loc, 0.0), state0)
                   .getResult(0);

    // Per-head parameters.
    Value aScalar, aRow;
    if (scalarA)
      aScalar = extendToF32(rewriter, loc,
                            tensor::ExtractOp::create(rewriter, loc, a, hIdx));
    else
      aRow = extractBlock(rewriter, loc, a, {hIdx, zeroAttr},
                          {oneAttr, stateDim}, {1});

    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value ySeq =
        extractBlock(rewriter, loc, yShared, seqOffsets, seqSizes, {1, 3});
    Value readouts0 =
        directY ? ySeq
                : tensor::EmptyOp::create(rewriter, loc, {length, headDim}, f32)
                      .getResult();
    // The tile's loops are (n, p) or (p, n), the innermost contiguous.
    AffineMap pMap = AffineMap::get(2, 0, {pInner ? e1 : e0}, context);
    AffineMap nMap = AffineMap::get(2, 0, {pInner ? e0 : e1}, context);

    // Emits steps t0 .. t0 + count - 1 (count > 1 only with vectorRows) and
    // returns the new state tile and readouts.
    auto buildSteps = [&](Value t0, int64_t count, Value state,
                          Value readouts) -> std::pair<Value, Value> {
      SmallVector<Value> ts, dtValues, decayScalars, decayRows, bRows, cRows;
      for (int64_t s = 0; s < count; ++s) {
        Value t = s == 0 ? t0
                         : arith::AddIOp::create(
                               rewriter, loc, t0,
                               arith::ConstantIndexOp::create(rewriter, loc, s))
                               .getResult();
        Value dtValue =
            extendToF32(rewriter, loc,
                        tensor::ExtractOp::create(rewriter, loc, dtProcessed,
                                                  ValueRange{bIdx, t, hIdx}));
        auto groupRow = [&](Value source) {
          return extractBlock(rewriter, loc, source, {bIdx, t, gIdx, zeroAttr},
                              {oneAttr, oneAttr, oneAttr, stateDim}, {3});
        };
        // exp(dt' * A): a scalar for A[H], a row over n for A[H, N].
        Value decayScalar, decayRow;
        if (scalarA) {
          decayScalar = math::ExpOp::create(
              rewriter, loc,
              arith::MulFOp::create(rewriter, loc, dtValue, aScalar));
        } else {
          decayRow = buildGenericOp(
              rewriter, loc, {aRow},
              tensor::EmptyOp::create(rewriter, loc, {stateDim}, f32),
              {rewriter.getMultiDimIdentityMap(1),
               rewriter.getMultiDimIdentityMap(1)},
              parallelIterators(1),
              [&](OpBuilder &b, Location loc, ValueRange args) {
                Value prod = arith::MulFOp::create(
                    b, loc, dtValue, extendToF32(b, loc, args[0]));
                return math::ExpOp::create(b, loc, prod);
              });
        }
        ts.push_back(t);
        dtValues.push_back(dtValue);
        decayScalars.push_back(decayScalar);
        decayRows.push_back(decayRow);
        bRows.push_back(groupRow(bm));
        cRows.push_back(groupRow(cm));
      }

      if (vectorRows) {
        // One pass over the tile for `count` steps, vector<P> rows: for each
        // n and each step s,
        //   row = decay_s * row + B_s[n] * (dt'_s * x_s);  y_s += C_s[n] * row
        // with y_s and dt'_s * x_s in registers; two steps per pass halve
        // the loads and stores of the tile, which bound the step.
        auto rowType = VectorType::get({*staticP}, f32);
        Value padding = f32Const(rewriter, loc, 0.0);
        auto read = [&](Value source, ValueRange indices) {
          return vector::TransferReadOp::create(rewriter, loc, rowType, source,
                                                indices, padding,
                                                ArrayRef<bool>{true})
              .getResult();
        };
        auto splat = [&](Value scalar) {
          return vector::BroadcastOp::create(rewriter, loc, rowType, scalar)
              .getResult();
        };
        SmallVector<Value> dtXs, decayVectors;
        for (int64_t s = 0; s < count; ++s) {
          dtXs.push_back(arith::MulFOp::create(
              rewriter, loc, splat(dtValues[s]), read(xRows, {ts[s], zero})));
          decayVectors.push_back(decayScalars[s] ? splat(decayScalars[s])
                                                 : Value());
        }
        Value yZero = arith::ConstantOp::create(
            rewriter, loc,
            DenseElementsAttr::get(rowType, rewriter.getF32FloatAttr(0)));
        SmallVector<Value> inits = {state};
        inits.append(count, yZero);
        auto nLoop = scf::ForOp::create(rewriter, loc, zero,
                                        getIndexValue(rewriter, loc, stateDim),
                                        one, inits);
        {
          OpBuilder::InsertionGuard guard(rewriter);
          rewriter.setInsertionPointToStart(nLoop.getBody());
          Value n = nLoop.getInductionVar();
          Value tile = nLoop.getRegionIterArg(0);
          Value row = read(tile, {n, zero});
          SmallVector<Value> yields = {Value()};
          for (int64_t s = 0; s < count; ++s) {
            Value rowDecay = decayVectors[s]
                                 ? decayVectors[s]
                                 : splat(tensor::ExtractOp::create(
                                       rewriter, loc, decayRows[s], n));
            Value bValue = extendToF32(
                rewriter, loc,
                tensor::ExtractOp::create(rewriter, loc, bRows[s], n));
            Value cValue = extendToF32(
                rewriter, loc,
                tensor::ExtractOp::create(rewriter, loc, cRows[s], n));
            row = arith::MulFOp::create(rewriter, loc, rowDecay, row);
            row = vector::FMAOp::create(rewriter, loc, splat(bValue), dtXs[s],
                                        row);
            yields.push_back(
                vector::FMAOp::create(rewriter, loc, splat(cValue), row,
                                      nLoop.getRegionIterArg(1 + s)));
          }
          yields[0] = vector::TransferWriteOp::create(rewriter, loc, row, tile,
                                                      ValueRange{n, zero},
                                                      ArrayRef<bool>{true})
                          .getResult();
          scf::YieldOp::create(rewriter, loc, yields);
        }
        for (int64_t s = 0; s < count; ++s)
          readouts = vector::TransferWriteOp::create(
                         rewriter, loc, nLoop.getResult(1 + s), readouts,
                         ValueRange{ts[s], zero}, ArrayRef<bool>{true})
                         .getResult();
        return {nLoop.getResult(0), readouts};
      }

      // state[p, n] = decay * state[p, n] + (dt' * x_t[p]) * B_t[n], in place.
      Value t = ts[0], dtValue = dtValues[0];
      Value decayScalar = decayScalars[0], decayRow = decayRows[0];
      Value xRow = extractBlock(rewriter, loc, xRows, {t, zeroAttr},
                                {oneAttr, headDim}, {1});
      SmallVector<Value> updateInputs = {xRow, bRows[0]};
      SmallVector<AffineMap> updateMaps = {pMap, nMap};
      if (decayRow) {
        updateInputs.push_back(decayRow);
        updateMaps.push_back(nMap);
      }
      updateMaps.push_back(id2);
      Value stateNew = buildGenericOp(
          rewriter, loc, updateInputs, state, updateMaps, parallelIterators(2),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value dtX = arith::MulFOp::create(b, loc, dtValue, args[0]);
            Value input = arith::MulFOp::create(b, loc, dtX,
                                                extendToF32(b, loc, args[1]));
            Value decay = decayRow ? args[2] : decayScalar;
            Value decayed = arith::MulFOp::create(b, loc, decay, args.back());
            return arith::AddFOp::create(b, loc, decayed, input);
          });

      // readout_t[p] = sum_n state[p, n] * C_t[n], into row t of the f32
      // readouts (written in place).
      Value readoutRow =
          linalg::FillOp::create(rewriter, loc, f32Const(rewriter, loc, 0.0),
                                 extractBlock(rewriter, loc, readouts,
                                              {t, zeroAttr}, {oneAttr, headDim},
                                              {1}))
              .getResult(0);
      SmallVector<IteratorType> readoutIterators =
          pInner ? SmallVector<IteratorType>{IteratorType::reduction,
                                             IteratorType::parallel}
                 : SmallVector<IteratorType>{IteratorType::parallel,
                                             IteratorType::reduction};
      Value readout = buildGenericOp(
          rewriter, loc, {stateNew, cRows[0]}, readoutRow, {id2, nMap, pMap},
          readoutIterators, [&](OpBuilder &b, Location loc, ValueRange args) {
            Value prod = arith::MulFOp::create(b, loc, args[0],
                                               extendToF32(b, loc, args[1]));
            return arith::AddFOp::create(b, loc, args.back(), prod);
          });
      Value readoutsNew = tensor::InsertSliceOp::create(
          rewriter, loc, readout, readouts, {t, zeroAttr}, {oneAttr, headDim},
          {oneAttr, oneAttr});
      return {stateNew, readoutsNew};
    };

    // The scan: with vectorRows pairs of steps, then the last odd step.
    auto buildLoop = [&](Value begin, Value end, int64_t count, Value state,
                         Value readouts) {
      auto loop = scf::ForOp::create(
          rewriter, loc, begin, end,
          arith::ConstantIndexOp::create(rewriter, loc, count),
          ValueRange{state, readouts});
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(loop.getBody());
      auto [stateNew, readoutsNew] =
          buildSteps(loop.getInductionVar(), count, loop.getRegionIterArg(0),
                     loop.getRegionIterArg(1));
      scf::YieldOp::create(rewriter, loc, ValueRange{stateNew, readoutsNew});
      return loop;
    };
    Value lengthValue = getIndexValue(rewriter, loc, length);

    // Chunked (SSD) form for a scalar A: for a chunk of q steps from t0, with
    // a_i = dt'_i A and cum_i = a_0 + ... + a_i,
    //   y_i = exp(cum_i) C_i S + sum_{j<=i} (C_i . B_j) exp(cum_i - cum_j)
    //         dt'_j x_j
    //   S' = exp(cum_last) S + sum_j exp(cum_last - cum_j) dt'_j B_j^T x_j
    // (S is the [N, P] tile): matrix products within the chunk, a short
    // sequential loop over chunks.
    auto buildChunk = [&](Value t0, Value state,
                          Value readouts) -> std::pair<Value, Value> {
      using utils::IteratorType;
      Value remaining = arith::SubIOp::create(rewriter, loc, lengthValue, t0);
      OpFoldResult count =
          arith::MinSIOp::create(
              rewriter, loc, remaining,
              arith::ConstantIndexOp::create(rewriter, loc, chunkSize))
              .getResult();
      AffineExpr c0, c1, c2;
      bindDims(context, c0, c1, c2);
      auto map2 = [&](ArrayRef<AffineExpr> exprs) {
        return AffineMap::get(2, 0, exprs, context);
      };
      auto map3 = [&](ArrayRef<AffineExpr> exprs) {
        return AffineMap::get(3, 0, exprs, context);
      };
      auto zeros = [&](ArrayRef<OpFoldResult> sizes) {
        return createFilledF32Tensor(rewriter, loc, sizes, 0.0);
      };
      Value dtChunk = extractBlock(rewriter, loc, dtProcessed, {bIdx, t0, hIdx},
                                   {oneAttr, count, oneAttr}, {1});
      Value bChunk = extractBlock(rewriter, loc, bm, {bIdx, t0, gIdx, zeroAttr},
                                  {oneAttr, count, oneAttr, stateDim}, {1, 3});
      Value cChunk = extractBlock(rewriter, loc, cm, {bIdx, t0, gIdx, zeroAttr},
                                  {oneAttr, count, oneAttr, stateDim}, {1, 3});
      Value xChunk = extractBlock(rewriter, loc, xRows, {t0, zeroAttr},
                                  {count, headDim}, {0, 1});
      // cum_i = sum_{k <= i} dt'_k A.
      Value cum = buildGenericOp(
          rewriter, loc, {dtChunk}, zeros({count}), {map2({c1}), map2({c0})},
          {IteratorType::parallel, IteratorType::reduction},
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value term = arith::MulFOp::create(
                b, loc, extendToF32(b, loc, args[0]), aScalar);
            Value inside =
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                      linalg::IndexOp::create(b, loc, 1),
                                      linalg::IndexOp::create(b, loc, 0));
            return arith::SelectOp::create(
                b, loc, inside, arith::AddFOp::create(b, loc, args[1], term),
                args[1]);
          });
      // M_ij = (C_i . B_j) exp(cum_i - cum_j) dt'_j for j <= i, else 0.
      Value scores =
          buildGenericOp(rewriter, loc, {cChunk, bChunk}, zeros({count, count}),
                         {map3({c0, c2}), map3({c1, c2}), map3({c0, c1})},
                         {IteratorType::parallel, IteratorType::parallel,
                          IteratorType::reduction},
                         [](OpBuilder &b, Location loc, ValueRange args) {
                           Value prod = arith::MulFOp::create(
                               b, loc, extendToF32(b, loc, args[0]),
                               extendToF32(b, loc, args[1]));
                           return arith::AddFOp::create(b, loc, args[2], prod);
                         });
      Value weights = buildGenericOp(
          rewriter, loc, {cum, cum, dtChunk, scores},
          tensor::EmptyOp::create(rewriter, loc, {count, count}, f32),
          {map2({c0}), map2({c1}), map2({c1}), map2({c0, c1}), map2({c0, c1})},
          parallelIterators(2),
          [](OpBuilder &b, Location loc, ValueRange args) {
            Value decay = math::ExpOp::create(
                b, loc, arith::SubFOp::create(b, loc, args[0], args[1]));
            Value weight = arith::MulFOp::create(
                b, loc, args[3],
                arith::MulFOp::create(b, loc, decay,
                                      extendToF32(b, loc, args[2])));
            Value inside =
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                      linalg::IndexOp::create(b, loc, 1),
                                      linalg::IndexOp::create(b, loc, 0));
            return arith::SelectOp::create(b, loc, inside, weight,
                                           f32Const(b, loc, 0.0));
          });
      // y = exp(cum_i) (C S)_i + (M X)_i, into rows t0.. of the readouts.
      Value fromState = buildGenericOp(
          rewriter, loc, {cChunk, state}, zeros({count, headDim}),
          {map3({c0, c1}), map3({c1, c2}), map3({c0, c2})},
          {IteratorType::parallel, IteratorType::reduction,
           IteratorType::parallel},
          [](OpBuilder &b, Location loc, ValueRange args) {
            Value prod = arith::MulFOp::create(
                b, loc, extendToF32(b, loc, args[0]), args[1]);
            return arith::AddFOp::create(b, loc, args[2], prod);
          });
      fromState = buildGenericOp(
          rewriter, loc, {cum}, fromState, {map2({c0}), map2({c0, c1})},
          parallelIterators(2),
          [](OpBuilder &b, Location loc, ValueRange args) {
            return arith::MulFOp::create(
                b, loc, math::ExpOp::create(b, loc, args[0]), args[1]);
          });
      Value yChunk =
          buildGenericOp(rewriter, loc, {weights, xChunk}, fromState,
                         {map3({c0, c1}), map3({c1, c2}), map3({c0, c2})},
                         {IteratorType::parallel, IteratorType::reduction,
                          IteratorType::parallel},
                         [](OpBuilder &b, Location loc, ValueRange args) {
                           Value prod =
                               arith::MulFOp::create(b, loc, args[0], args[1]);
                           return arith::AddFOp::create(b, loc, args[2], prod);
                         });
      Value readoutsNew = tensor::InsertSliceOp::create(
          rewriter, loc, yChunk, readouts, {t0, zeroAttr}, {count, headDim},
          {oneAttr, oneAttr});
      // S' = exp(cum_last) S + sum_j B_j^T (exp(cum_last - cum_j) dt'_j) x_j.
      Value last = arith::SubIOp::create(
          rewriter, loc, getIndexValue(rewriter, loc, count),
          arith::ConstantIndexOp::create(rewriter, loc, 1));
      Value cumLast = tensor::ExtractOp::create(rewriter, loc, cum, last);
      Value inputWeights = buildGenericOp(
          rewriter, loc, {cum, dtChunk},
          tensor::EmptyOp::create(rewriter, loc, {count}, f32),
          {rewriter.getMultiDimIdentityMap(1),
           rewriter.getMultiDimIdentityMap(1),
           rewriter.getMultiDimIdentityMap(1)},
          parallelIterators(1),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value decay = math::ExpOp::create(
                b, loc, arith::SubFOp::create(b, loc, cumLast, args[0]));
            return arith::MulFOp::create(b, loc, decay,
                                         extendToF32(b, loc, args[1]));
          });
      Value chunkDecay = math::ExpOp::create(rewriter, loc, cumLast);
      Value decayed = buildGenericOp(
          rewriter, loc, {}, state, {id2}, parallelIterators(2),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            return arith::MulFOp::create(b, loc, args[0], chunkDecay);
          });
      Value stateNew = buildGenericOp(
          rewriter, loc, {bChunk, inputWeights, xChunk}, decayed,
          {map3({c1, c0}), map3({c1}), map3({c1, c2}), map3({c0, c2})},
          {IteratorType::parallel, IteratorType::reduction,
           IteratorType::parallel},
          [](OpBuilder &b, Location loc, ValueRange args) {
            Value weighted = arith::MulFOp::create(
                b, loc, extendToF32(b, loc, args[0]), args[1]);
            Value prod = arith::MulFOp::create(b, loc, weighted, args[2]);
            return arith::AddFOp::create(b, loc, args[3], prod);
          });
      return {stateNew, readoutsNew};
    };
    scf::ForOp loop;
    if (ssd) {
      loop = scf::ForOp::create(
          rewriter, loc, zero, lengthValue,
          arith::ConstantIndexOp::create(rewriter, loc, chunkSize),
          ValueRange{state0, readouts0});
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(loop.getBody());
      auto [stateNew, readoutsNew] =
          buildChunk(loop.getInductionVar(), loop.getRegionIterArg(0),
                     loop.getRegionIterArg(1));
      scf::YieldOp::create(rewriter, loc, ValueRange{stateNew, readoutsNew});
    } else if (vectorRows) {
      Value two = arith::ConstantIndexOp::create(rewriter, loc, 2);
      Value pairsEnd = arith::MulIOp::create(
          rewriter, loc,
          arith::DivUIOp::create(rewriter, loc, lengthValue, two), two);
      scf::ForOp pairs = buildLoop(zero, pairsEnd, 2, state0, readouts0);
      loop = buildLoop(pairsEnd, lengthValue, 1, pairs.getResult(0),
                       pairs.getResult(1));
    } else {
      loop = buildLoop(zero, lengthValue, 1, state0, readouts0);
    }

    // y = (readout + D * x) * silu(z), rounded to x's element type, over all
    // steps at once, written into the task's rows of y.
    SmallVector<Value> outInputs = {loop.getResult(1)};
    SmallVector<AffineMap> outMaps = {id2};
    Value dScalar;
    if (dParam && dType.getRank() == 1) {
      dScalar =
          extendToF32(rewriter, loc,
                      tensor::ExtractOp::create(rewriter, loc, dParam, hIdx));
      outInputs.push_back(xRows);
      outMaps.push_back(id2);
    } else if (dParam) {
      outInputs.push_back(xRows);
      outMaps.push_back(id2);
      outInputs.push_back(extractBlock(rewriter, loc, dParam, {hIdx, zeroAttr},
                                       {oneAttr, headDim}, {1}));
      outMaps.push_back(AffineMap::get(2, 0, {e1}, context));
    }
    if (z) {
      outInputs.push_back(
          extractBlock(rewriter, loc, z, seqOffsets, seqSizes, {1, 3}));
      outMaps.push_back(id2);
    }
    outMaps.push_back(id2);
    bool hasZ = static_cast<bool>(z), hasD = static_cast<bool>(dParam);
    Value yBlock =
        directY
            ? loop.getResult(1)
            : buildGenericOp(
                  rewriter, loc, outInputs, ySeq, outMaps, parallelIterators(2),
                  [&](OpBuilder &b, Location loc, ValueRange args) {
                    Value out = args[0];
                    if (hasD) {
                      Value dValue =
                          dScalar ? dScalar : extendToF32(b, loc, args[2]);
                      Value skip =
                          arith::MulFOp::create(b, loc, dValue, args[1]);
                      out = arith::AddFOp::create(b, loc, out, skip);
                    }
                    if (hasZ) {
                      Value zValue = extendToF32(b, loc, args[args.size() - 2]);
                      Value gate = arith::MulFOp::create(
                          b, loc, zValue, buildSigmoid(b, loc, zValue));
                      out = arith::MulFOp::create(b, loc, out, gate);
                    }
                    return truncateFromF32(b, loc, out, elementType);
                  });

    // The final state tile, back in the [P, N] layout of final_state.
    Value stateBlock = loop.getResult(0);
    if (pInner)
      stateBlock = buildGenericOp(
          rewriter, loc, {stateBlock}, stateSlice, {transposed2, id2},
          parallelIterators(2),
          [](OpBuilder &, Location, ValueRange args) { return args[0]; });

    rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        rewriter, loc, yBlock, yShared, seqOffsets, seqSizes,
        SmallVector<OpFoldResult>(4, oneAttr));
    tensor::ParallelInsertSliceOp::create(
        rewriter, loc, stateBlock, stateShared, stateOffsets, stateBlockSizes,
        SmallVector<OpFoldResult>(4, oneAttr));
    rewriter.setInsertionPointAfter(forall);

    rewriter.replaceOp(
        op, {castToType(rewriter, loc, forall.getResult(0), yType),
             castToType(rewriter, loc, forall.getResult(1), stateType)});
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

void weft::populateSequenceToLinalgPatterns(RewritePatternSet &patterns,
                                            const WeftToLinalgForms &forms) {
  patterns.add<SsmScanOpLowering>(
      patterns.getContext(), forms.ssmChunkSize, forms.ssmPerChannel,
      forms.ssmBlocks, forms.ssmChunked, forms.blockSharedMemoryKiB * 1024);
  patterns.add<CausalConv1dOpLowering>(patterns.getContext());
}
