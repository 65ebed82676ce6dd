//===- AttentionOps.cpp - attention and rope to linalg --------------------===//
//
// weft.attention lowers to a parallel loop over (batch, head, query block),
// each task a flash-attention (online softmax) loop over the key blocks it can
// see, so that no [Sq, Sk] score matrix is ever materialised; weft.rope to a
// single elementwise linalg.generic.
//
//===----------------------------------------------------------------------===//

#include "AttentionLowering.h"
#include "LoweringUtils.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

using namespace mlir;
using namespace mlir::weft;

AttentionScoring::AttentionScoring(AttentionOp op)
    : scale(static_cast<float>(op.getEffectiveScale())), causal(op.getCausal()),
      window(op.getWindow()), group(op.getGroupSize()) {
  if (std::optional<APFloat> cap = op.getSoftcap())
    softcap = cap->convertToFloat();
}

Value weft::buildScaledScore(OpBuilder &b, Location loc, Value s,
                             const AttentionScoring &scoring) {
  s = arith::MulFOp::create(b, loc, s, f32Const(b, loc, scoring.scale));
  if (!scoring.softcap)
    return s;
  Value cap = f32Const(b, loc, *scoring.softcap);
  Value capped =
      math::TanhOp::create(b, loc, arith::DivFOp::create(b, loc, s, cap));
  return arith::MulFOp::create(b, loc, capped, cap);
}

Value weft::buildKeyVisible(OpBuilder &b, Location loc, Value i, Value j,
                            Value validLength, Value seqQ, bool checkLength,
                            const AttentionScoring &scoring) {
  Value visible;
  auto conjoin = [&](Value cond) {
    visible = visible ? arith::AndIOp::create(b, loc, visible, cond) : cond;
  };
  if (checkLength)
    conjoin(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, j,
                                  validLength));
  if (scoring.causal) {
    Value iPlusLen = arith::AddIOp::create(b, loc, i, validLength);
    Value jPlusSq = arith::AddIOp::create(b, loc, j, seqQ);
    conjoin(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, jPlusSq,
                                  iPlusLen));
    if (scoring.window) {
      Value limit = arith::AddIOp::create(
          b, loc, jPlusSq,
          arith::ConstantIndexOp::create(b, loc, *scoring.window));
      conjoin(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, iPlusLen,
                                    limit));
    }
  }
  return visible;
}

Value weft::finiteMax(OpBuilder &b, Location loc, Value m) {
  Value isNegInf = arith::CmpFOp::create(
      b, loc, arith::CmpFPredicate::OEQ, m,
      f32Const(b, loc, -std::numeric_limits<float>::infinity()));
  return arith::SelectOp::create(b, loc, isNegInf, f32Const(b, loc, 0.0), m);
}

namespace {

/// Queries per task of the parallel loop: each (batch, head, query block)
/// runs the online softmax over the key blocks it can see.
constexpr int64_t kAttentionQueryBlockSize = 64;

/// Keys processed per iteration of the online-softmax loop.
constexpr int64_t kAttentionKeyBlockSize = 64;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

Value indexConst(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// exp(x) for x <= 0 (softmax numerators and rescaling factors) in f32 ops
/// that vectorize: math.exp becomes a scalar libm call per element, which
/// cost a fifth of the attention time. Cephes' expf: x = n ln2 + r with
/// |r| <= ln2 / 2, e^r by a degree-7 polynomial (about 1 ulp), scaled by 2^n
/// built in the exponent bits. Below -87 (e^x < 2^-125) the result is 0, so
/// exp(-inf) = 0 exactly: invisible keys contribute nothing.
Value buildNonPositiveExp(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type();
  Value isTiny = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x,
                                       f32Const(b, loc, -87.0));
  Value clamped = arith::MaximumFOp::create(b, loc, x, f32Const(b, loc, -87.0));
  Value n = math::FloorOp::create(
      b, loc,
      math::FmaOp::create(b, loc, clamped,
                          f32Const(b, loc, 1.44269504088896341),
                          f32Const(b, loc, 0.5)));
  Value r =
      math::FmaOp::create(b, loc, n, f32Const(b, loc, -0.693359375), clamped);
  r = math::FmaOp::create(b, loc, n, f32Const(b, loc, 2.12194440e-4), r);
  Value poly = f32Const(b, loc, 1.9875691500e-4);
  for (double c : {1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                   1.6666665459e-1, 5.0000001201e-1})
    poly = math::FmaOp::create(b, loc, poly, r, f32Const(b, loc, c));
  Value r2 = arith::MulFOp::create(b, loc, r, r);
  Value er = arith::AddFOp::create(
      b, loc, math::FmaOp::create(b, loc, poly, r2, r), f32Const(b, loc, 1.0));
  Value biased = arith::AddIOp::create(
      b, loc, arith::FPToSIOp::create(b, loc, i32, n),
      arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(127)));
  Value scale = arith::BitcastOp::create(
      b, loc, b.getF32Type(),
      arith::ShLIOp::create(
          b, loc, biased,
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(23))));
  Value result = arith::MulFOp::create(b, loc, er, scale);
  return arith::SelectOp::create(b, loc, isTiny, f32Const(b, loc, 0.0), result);
}

/// `size` rows starting at `start` of a dim of length `total`, clipped:
/// static when every block is full (`total` a multiple of `size`, or at most
/// `size`, with `start` a multiple of `size`).
OpFoldResult blockExtent(OpBuilder &b, Location loc, OpFoldResult total,
                         Value start, int64_t size) {
  if (std::optional<int64_t> n = getConstantIntValue(total)) {
    if (*n <= size)
      return b.getIndexAttr(*n);
    if (*n % size == 0)
      return b.getIndexAttr(size);
  }
  Value remaining =
      arith::SubIOp::create(b, loc, getIndexValue(b, loc, total), start);
  return arith::MinSIOp::create(b, loc, remaining, indexConst(b, loc, size))
      .getResult();
}

/// Query rows per step of the score and P.V kernels: 4 rows x 64 keys (or 4
/// rows x 64 value channels) of f32 accumulators fill 16 of the 32 AVX-512
/// registers, and every loaded vector feeds 4 FMAs.
constexpr int64_t kKernelRows = 4;

/// `value` rounded up to a multiple of `multiple`.
OpFoldResult roundUp(OpBuilder &b, Location loc, OpFoldResult value,
                     int64_t multiple) {
  if (std::optional<int64_t> n = getConstantIntValue(value))
    return b.getIndexAttr(llvm::divideCeil(*n, multiple) * multiple);
  Value blocks = arith::CeilDivUIOp::create(
      b, loc, getIndexValue(b, loc, value), indexConst(b, loc, multiple));
  return arith::MulIOp::create(b, loc, blocks, indexConst(b, loc, multiple))
      .getResult();
}

Value vectorRead(OpBuilder &b, Location loc, VectorType type, Value source,
                 ValueRange indices) {
  Value padding = arith::ConstantOp::create(
      b, loc,
      b.getZeroAttr(cast<ShapedType>(source.getType()).getElementType()));
  return vector::TransferReadOp::create(b, loc, type, source, indices, padding,
                                        ArrayRef<bool>{true});
}

Value vectorWrite(OpBuilder &b, Location loc, Value vector, Value dest,
                  ValueRange indices) {
  return vector::TransferWriteOp::create(b, loc, vector, dest, indices,
                                         ArrayRef<bool>{true})
      .getResult();
}

/// An scf.for over rows [0, numRows) in steps of `rowsPerStep` around a
/// register-blocked inner loop: for each step, `init(r0, tile)` gives the
/// accumulators, an scf.for over [0, innerEnd) updates them with
/// `update(r0, k, accs)`, and `finish(r0, accs, tile)` writes them into the
/// carried tile.
Value buildRowKernel(
    OpBuilder &b, Location loc, Value numRows, int64_t rowsPerStep,
    Value innerEnd, Value tile,
    function_ref<SmallVector<Value>(OpBuilder &, Value, Value)> init,
    function_ref<SmallVector<Value>(OpBuilder &, Value, Value, ValueRange)>
        update,
    function_ref<Value(OpBuilder &, Value, ValueRange, Value)> finish) {
  auto rowLoop =
      scf::ForOp::create(b, loc, indexConst(b, loc, 0), numRows,
                         indexConst(b, loc, rowsPerStep), ValueRange{tile});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rowLoop.getBody());
  Value r0 = rowLoop.getInductionVar();
  Value carried = rowLoop.getRegionIterArg(0);
  SmallVector<Value> accs0 = init(b, r0, carried);
  auto innerLoop = scf::ForOp::create(b, loc, indexConst(b, loc, 0), innerEnd,
                                      indexConst(b, loc, 1), accs0);
  b.setInsertionPointToStart(innerLoop.getBody());
  SmallVector<Value> accs =
      update(b, r0, innerLoop.getInductionVar(), innerLoop.getRegionIterArgs());
  scf::YieldOp::create(b, loc, accs);
  b.setInsertionPointAfter(innerLoop);
  scf::YieldOp::create(b, loc, finish(b, r0, innerLoop.getResults(), carried));
  return rowLoop.getResult(0);
}

/// weft.attention -> scf.forall over (batch, head, query block). Each task
/// runs an scf.for over the key blocks it can see (causal, window and kv_len
/// limits are loop bounds) carrying the running row max m[Qb], row sum l[Qb]
/// and accumulator acc[Qb, Dv] (f32), and writes its rows of the output (and
/// lse) in place. Q.K^T and P.V are register-blocked vector kernels (4 query
/// rows at a time) over K^T, transposed once into f32 [B, Hkv, D, Sk padded
/// to whole key blocks], and over the rows of V; the online-softmax update
/// between them is linalg.generic ops over the [Qb, 64] score tile.
/// Decoding (a static Sq below 4) has one task per (batch, kv head) whose
/// rows are the group's query heads, and dot products with the rows of K.
struct AttentionOpLowering : OpConversionPattern<AttentionOp> {
  AttentionOpLowering(MLIRContext *context, bool products, bool blocks,
                      bool registers, int64_t sharedBytes)
      : OpConversionPattern(context), products(products),
        blocks(blocks || registers), registers(registers),
        sharedBytes(sharedBytes) {}

  /// Lower as whole-tensor products (AttentionProducts.cpp) instead of
  /// parallel tasks over query blocks.
  bool products;
  /// Lower as GPU thread blocks (AttentionBlocks.cpp), falling back to
  /// products where its tiles do not fit.
  bool blocks;
  /// FlashAttention-2 style (AttentionRegisters.cpp) where it applies, else
  /// as blocks.
  bool registers;
  /// Shared memory a block may take (blocks, registers).
  int64_t sharedBytes;

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
    AttentionScoring scoring(op);
    int64_t group = scoring.group;
    std::optional<int64_t> window = scoring.window;
    bool causal = scoring.causal;
    Type f32 = rewriter.getF32Type();
    Type elementType = outType.getElementType();
    Type vElementType = vType.getElementType();
    constexpr int64_t kb = kAttentionKeyBlockSize;

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
    // No query rows: empty results (the tasks below would slice empty
    // tensors at static offsets).
    if (getConstantIntValue(seqQ) == 0) {
      SmallVector<Value> empties = {castToType(
          rewriter, loc,
          tensor::EmptyOp::create(
              rewriter, loc, {batch, seqQ, hq, rewriter.getIndexAttr(valueDim)},
              elementType),
          outType)};
      if (lseType)
        empties.push_back(castToType(
            rewriter, loc,
            tensor::EmptyOp::create(rewriter, loc, {batch, hq, seqQ}, f32),
            lseType));
      rewriter.replaceOp(op, empties);
      return success();
    }
    if (registers) {
      if (std::optional<SmallVector<Value>> results = lowerAttentionForDecoding(
              op, q, k, v, mask, kvLen, batch, seqQ, seqK, rewriter)) {
        rewriter.replaceOp(op, *results);
        return success();
      }
      if (std::optional<SmallVector<Value>> results =
              lowerAttentionInRegisters(op, q, k, v, mask, kvLen, batch, seqQ,
                                        seqK, sharedBytes, rewriter)) {
        rewriter.replaceOp(op, *results);
        return success();
      }
    }
    if (blocks) {
      if (std::optional<SmallVector<Value>> results =
              lowerAttentionAsBlocks(op, q, k, v, mask, kvLen, batch, seqQ,
                                     seqK, sharedBytes, rewriter)) {
        rewriter.replaceOp(op, *results);
        return success();
      }
    }
    if (products || blocks) {
      rewriter.replaceOp(op,
                         lowerAttentionAsProducts(op, q, k, v, mask, kvLen,
                                                  batch, seqQ, seqK, rewriter));
      return success();
    }
    Value seqQValue = getIndexValue(rewriter, loc, seqQ);
    Value seqKValue = getIndexValue(rewriter, loc, seqK);
    OpFoldResult zeroAttr = rewriter.getIndexAttr(0);
    OpFoldResult oneAttr = rewriter.getIndexAttr(1);
    OpFoldResult headDimAttr = rewriter.getIndexAttr(headDim);
    OpFoldResult valueDimAttr = rewriter.getIndexAttr(valueDim);
    OpFoldResult keyBlockAttr = rewriter.getIndexAttr(kb);
    AffineExpr d0, d1, d2, d3;
    bindDims(context, d0, d1, d2, d3);

    // K^T in f32, [B, Hkv, D, Sk rounded up to whole key blocks] with zeros
    // in the padding: every key block is then a full [D, 64] tile whose rows
    // are contiguous vectors. Decoding (a static Sq below kKernelRows) reads
    // K directly instead: a pass over the whole cache per call would cost
    // more than the few query rows gain from it.
    std::optional<int64_t> staticSeqQ = getConstantIntValue(seqQ);
    bool transposeK = !staticSeqQ || *staticSeqQ >= kKernelRows;
    Value kT;
    if (transposeK) {
      OpFoldResult paddedSeqK = roundUp(rewriter, loc, seqK, kb);
      kT = tensor::EmptyOp::create(rewriter, loc,
                                   {batch, hkv, headDimAttr, paddedSeqK}, f32);
      bool padsKeys =
          !getConstantIntValue(seqK) || *getConstantIntValue(seqK) % kb != 0;
      if (padsKeys)
        kT = linalg::FillOp::create(rewriter, loc, f32Const(rewriter, loc, 0.0),
                                    kT)
                 .getResult(0);
      // Transposed one key block at a time (the block's rows of k stay in
      // L1), in parallel over (b, kv head, key block).
      OpFoldResult numKeyBlocks;
      if (std::optional<int64_t> sk = getConstantIntValue(seqK))
        numKeyBlocks = rewriter.getIndexAttr(llvm::divideCeil(*sk, kb));
      else
        numKeyBlocks = arith::CeilDivUIOp::create(rewriter, loc, seqKValue,
                                                  indexConst(rewriter, loc, kb))
                           .getResult();
      auto transpose = scf::ForallOp::create(
          rewriter, loc, ArrayRef<OpFoldResult>{batch, hkv, numKeyBlocks},
          ValueRange{kT}, std::nullopt);
      rewriter.setInsertionPoint(transpose.getTerminator());
      Value tb = transpose.getInductionVar(0);
      Value th = transpose.getInductionVar(1);
      Value tj0 =
          arith::MulIOp::create(rewriter, loc, transpose.getInductionVar(2),
                                indexConst(rewriter, loc, kb));
      OpFoldResult tBlock = blockExtent(rewriter, loc, seqK, tj0, kb);
      SmallVector<OpFoldResult> offsets = {tb, th, zeroAttr, tj0};
      SmallVector<OpFoldResult> sizes = {oneAttr, oneAttr, headDimAttr, tBlock};
      Value transposed = buildGenericOp(
          rewriter, loc,
          {extractBlock(rewriter, loc, k, {tb, tj0, th, zeroAttr},
                        {oneAttr, tBlock, oneAttr, headDimAttr}, {1, 3})},
          extractBlock(rewriter, loc, transpose.getRegionIterArgs()[0], offsets,
                       sizes, {2, 3}),
          {AffineMap::get(2, 0, {d1, d0}, context),
           rewriter.getMultiDimIdentityMap(2)},
          parallelIterators(2),
          [](OpBuilder &b, Location loc, ValueRange args) {
            return extendToF32(b, loc, args[0]);
          });
      rewriter.setInsertionPointToStart(transpose.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(
          rewriter, loc, transposed, transpose.getRegionIterArgs()[0], offsets,
          sizes, SmallVector<OpFoldResult>(4, oneAttr));
      rewriter.setInsertionPointAfter(transpose);
      kT = transpose.getResult(0);
    }

    // One task per (b, h, query block). Decoding, one task per (b, kv head)
    // instead: the G query heads sharing the kv head are the rows of the
    // task (row r is query r % Sq of head kvh * G + r / Sq), so that K and V
    // are read once for them and the kernels have G * Sq rows to work on.
    bool headsAsRows = !transposeK;
    OpFoldResult numQueryBlocks;
    if (std::optional<int64_t> sq = getConstantIntValue(seqQ)) {
      numQueryBlocks = rewriter.getIndexAttr(
          llvm::divideCeil(*sq, kAttentionQueryBlockSize));
    } else {
      numQueryBlocks = arith::CeilDivUIOp::create(
                           rewriter, loc, seqQValue,
                           indexConst(rewriter, loc, kAttentionQueryBlockSize))
                           .getResult();
    }
    SmallVector<Value> sharedOuts = {tensor::EmptyOp::create(
        rewriter, loc, {batch, seqQ, hq, valueDimAttr}, elementType)};
    if (lseType)
      sharedOuts.push_back(
          tensor::EmptyOp::create(rewriter, loc, {batch, hq, seqQ}, f32));
    auto forall = scf::ForallOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{batch, headsAsRows ? hkv : hq, numQueryBlocks},
        sharedOuts, std::nullopt);
    rewriter.setInsertionPoint(forall.getTerminator());
    Value bIdx = forall.getInductionVar(0), hIdx = forall.getInductionVar(1);
    Value blockIdx = forall.getInductionVar(2);
    Value seqQStatic =
        headsAsRows
            ? indexConst(rewriter, loc, std::max<int64_t>(*staticSeqQ, 1))
            : Value();

    // With causal masking later query blocks see more keys. OpenMP's static
    // schedule gives each thread a contiguous range of tasks, so visit the
    // blocks as 0, n-1, 1, n-2, ... to even out the work per thread.
    if (causal) {
      Value n = getIndexValue(rewriter, loc, numQueryBlocks);
      Value two = indexConst(rewriter, loc, 2);
      Value half = arith::DivUIOp::create(rewriter, loc, blockIdx, two);
      Value isOdd = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ne,
          arith::RemUIOp::create(rewriter, loc, blockIdx, two),
          indexConst(rewriter, loc, 0));
      Value fromEnd = arith::SubIOp::create(
          rewriter, loc,
          arith::SubIOp::create(rewriter, loc, n, indexConst(rewriter, loc, 1)),
          half);
      blockIdx = arith::SelectOp::create(rewriter, loc, isOdd, fromEnd, half);
    }
    Value q0 = arith::MulIOp::create(
        rewriter, loc, blockIdx,
        indexConst(rewriter, loc, kAttentionQueryBlockSize));
    OpFoldResult rows = headsAsRows ? rewriter.getIndexAttr(group * *staticSeqQ)
                                    : blockExtent(rewriter, loc, seqQ, q0,
                                                  kAttentionQueryBlockSize);
    // The query rows of the block (without the head rows of decoding).
    Value queryRowsValue =
        headsAsRows ? seqQValue : getIndexValue(rewriter, loc, rows);
    // The kernels run over whole steps of kernelRows rows (all of a decoding
    // step's rows): the tiles have paddedRows rows, the padding rows of q
    // being zeros.
    int64_t kernelRows =
        headsAsRows ? std::clamp<int64_t>(group * *staticSeqQ, 1, kKernelRows)
                    : kKernelRows;
    OpFoldResult paddedRows = roundUp(rewriter, loc, rows, kernelRows);
    Value paddedRowsValue = getIndexValue(rewriter, loc, paddedRows);
    bool padsRows = !getConstantIntValue(rows) ||
                    *getConstantIntValue(rows) % kernelRows != 0;
    Value kvHead =
        group == 1 || headsAsRows
            ? hIdx
            : arith::DivUIOp::create(rewriter, loc, hIdx,
                                     indexConst(rewriter, loc, group))
                  .getResult();
    // Decoding: the query position and the head of a row r.
    auto rowQuery = [&](OpBuilder &b, Value r) -> Value {
      return arith::RemUIOp::create(b, loc, r, seqQStatic);
    };
    auto rowHead = [&](OpBuilder &b, Value r) -> Value {
      Value firstHead =
          arith::MulIOp::create(b, loc, kvHead, indexConst(b, loc, group));
      Value headInGroup = arith::DivUIOp::create(b, loc, r, seqQStatic);
      return arith::AddIOp::create(b, loc, firstHead, headInGroup);
    };

    // q rows of this block in f32, [paddedRows, D].
    Value qTile =
        tensor::EmptyOp::create(rewriter, loc, {paddedRows, headDimAttr}, f32);
    if (padsRows)
      qTile = linalg::FillOp::create(rewriter, loc,
                                     f32Const(rewriter, loc, 0.0), qTile)
                  .getResult(0);
    {
      AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
      Value qRowsInit = extractBlock(rewriter, loc, qTile, {zeroAttr, zeroAttr},
                                     {rows, headDimAttr}, {0, 1});
      Value qRows =
          headsAsRows
              ? buildGenericOp(
                    rewriter, loc, {}, qRowsInit, {id2}, parallelIterators(2),
                    [&](OpBuilder &b, Location loc, ValueRange) {
                      Value r = linalg::IndexOp::create(b, loc, 0);
                      Value value = tensor::ExtractOp::create(
                          b, loc, q,
                          ValueRange{bIdx, rowQuery(b, r), rowHead(b, r),
                                     linalg::IndexOp::create(b, loc, 1)});
                      return extendToF32(b, loc, value);
                    })
              : buildGenericOp(
                    rewriter, loc,
                    {extractBlock(rewriter, loc, q, {bIdx, q0, hIdx, zeroAttr},
                                  {oneAttr, rows, oneAttr, headDimAttr},
                                  {1, 3})},
                    qRowsInit, {id2, id2}, parallelIterators(2),
                    [](OpBuilder &b, Location loc, ValueRange args) {
                      return extendToF32(b, loc, args[0]);
                    });
      qTile = tensor::InsertSliceOp::create(
          rewriter, loc, qRows, qTile, {zeroAttr, zeroAttr},
          {rows, headDimAttr}, {oneAttr, oneAttr});
    }

    // L valid keys (kv_len[b] or Sk) and off = L - Sq: key j is visible from
    // query i iff j < L, and with causal j <= i + off, and with a window
    // i + off - j < W.
    Value validLen = seqKValue;
    if (kvLen) {
      Value len = tensor::ExtractOp::create(rewriter, loc, kvLen, bIdx);
      validLen = arith::IndexCastOp::create(rewriter, loc,
                                            rewriter.getIndexType(), len);
    }
    // Keys [keyBegin, keyEnd) cover every visible key of this block.
    Value keyEnd =
        kvLen ? arith::MinSIOp::create(rewriter, loc, seqKValue, validLen)
                    .getResult()
              : seqKValue;
    Value keyBegin = indexConst(rewriter, loc, 0);
    if (causal) {
      Value offset = arith::SubIOp::create(rewriter, loc, validLen, seqQValue);
      Value lastRowEnd = arith::AddIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, q0, queryRowsValue), offset);
      keyEnd = arith::MinSIOp::create(rewriter, loc, keyEnd, lastRowEnd);
      if (window) {
        // The first row sees keys from q0 + off - W + 1; start at the key
        // block holding it so that blocks stay aligned.
        Value first = arith::AddIOp::create(
            rewriter, loc, arith::AddIOp::create(rewriter, loc, q0, offset),
            indexConst(rewriter, loc, 1 - *window));
        first = arith::MaxSIOp::create(rewriter, loc, first, keyBegin);
        Value blockSize = indexConst(rewriter, loc, kb);
        keyBegin = arith::MulIOp::create(
            rewriter, loc,
            arith::DivUIOp::create(rewriter, loc, first, blockSize), blockSize);
      }
    }

    SmallVector<OpFoldResult> rowSizes = {paddedRows};
    Value m0 = createFilledF32Tensor(rewriter, loc, rowSizes, kNegInf);
    Value l0 = createFilledF32Tensor(rewriter, loc, rowSizes, 0.0);
    Value acc0 =
        createFilledF32Tensor(rewriter, loc, {paddedRows, valueDimAttr}, 0.0);
    auto loop = scf::ForOp::create(rewriter, loc, keyBegin, keyEnd,
                                   indexConst(rewriter, loc, kb),
                                   ValueRange{m0, l0, acc0});
    rewriter.setInsertionPointToStart(loop.getBody());
    Value j0 = loop.getInductionVar();
    Value m = loop.getRegionIterArg(0), l = loop.getRegionIterArg(1),
          acc = loop.getRegionIterArg(2);
    OpFoldResult block = blockExtent(rewriter, loc, seqK, j0, kb);
    Value vBlock =
        extractBlock(rewriter, loc, v, {bIdx, j0, kvHead, zeroAttr},
                     {oneAttr, block, oneAttr, valueDimAttr}, {1, 3});

    // s[i, j] = sum_d q[q0 + i, d] * k[j0 + j, d]: per step, 4 rows x 64 keys
    // accumulate over d from broadcast q elements times rows of K^T.
    auto keyVector = VectorType::get({kb}, f32);
    Value kTBlock;
    if (transposeK)
      kTBlock =
          extractBlock(rewriter, loc, kT, {bIdx, kvHead, zeroAttr, j0},
                       {oneAttr, oneAttr, headDimAttr, keyBlockAttr}, {2, 3});
    Value scores;
    if (!transposeK) {
      // Decoding: dot products over d (vectorized by LLVM) with the rows of
      // K, into the [paddedRows, block] part of the tile.
      Value kBlock =
          extractBlock(rewriter, loc, k, {bIdx, j0, kvHead, zeroAttr},
                       {oneAttr, block, oneAttr, headDimAttr}, {1, 3});
      SmallVector<OpFoldResult> offsets = {zeroAttr, zeroAttr};
      SmallVector<OpFoldResult> sizes = {paddedRows, block};
      Value tile = tensor::EmptyOp::create(rewriter, loc,
                                           {paddedRows, keyBlockAttr}, f32);
      Value dots =
          linalg::FillOp::create(
              rewriter, loc, f32Const(rewriter, loc, 0.0),
              extractBlock(rewriter, loc, tile, offsets, sizes, {0, 1}))
              .getResult(0);
      dots = buildGenericOp(
          rewriter, loc, {qTile, kBlock}, dots,
          {AffineMap::get(3, 0, {d0, d2}, context),
           AffineMap::get(3, 0, {d1, d2}, context),
           AffineMap::get(3, 0, {d0, d1}, context)},
          {utils::IteratorType::parallel, utils::IteratorType::parallel,
           utils::IteratorType::reduction},
          [](OpBuilder &b, Location loc, ValueRange args) {
            Value prod = arith::MulFOp::create(b, loc, args[0],
                                               extendToF32(b, loc, args[1]));
            return arith::AddFOp::create(b, loc, args[2], prod);
          });
      scores = tensor::InsertSliceOp::create(rewriter, loc, dots, tile, offsets,
                                             sizes, {oneAttr, oneAttr});
    } else {
      scores = buildRowKernel(
          rewriter, loc, paddedRowsValue, kKernelRows,
          indexConst(rewriter, loc, headDim),
          tensor::EmptyOp::create(rewriter, loc, {paddedRows, keyBlockAttr},
                                  f32),
          [&](OpBuilder &b, Value, Value) {
            Value zeros = arith::ConstantOp::create(
                b, loc,
                DenseElementsAttr::get(keyVector, b.getF32FloatAttr(0)));
            return SmallVector<Value>(kKernelRows, zeros);
          },
          [&](OpBuilder &b, Value r0, Value d, ValueRange accs) {
            Value keys = vectorRead(b, loc, keyVector, kTBlock,
                                    {d, indexConst(b, loc, 0)});
            SmallVector<Value> next;
            for (int64_t r = 0; r < kKernelRows; ++r) {
              Value row =
                  arith::AddIOp::create(b, loc, r0, indexConst(b, loc, r));
              Value qValue =
                  tensor::ExtractOp::create(b, loc, qTile, ValueRange{row, d});
              Value broadcast =
                  vector::BroadcastOp::create(b, loc, keyVector, qValue);
              next.push_back(
                  vector::FMAOp::create(b, loc, broadcast, keys, accs[r]));
            }
            return next;
          },
          [&](OpBuilder &b, Value r0, ValueRange accs, Value tile) {
            for (int64_t r = 0; r < kKernelRows; ++r) {
              Value row =
                  arith::AddIOp::create(b, loc, r0, indexConst(b, loc, r));
              tile = vectorWrite(b, loc, accs[r], tile,
                                 {row, indexConst(b, loc, 0)});
            }
            return tile;
          });
    }

    // Scale, softcap, additive mask, then -inf where the key is not visible,
    // over the [rows, block] part of the tile; padding keys get -inf.
    std::optional<int64_t> staticBlock = getConstantIntValue(block);
    if (!staticBlock || *staticBlock < kb) {
      Value blockValue = getIndexValue(rewriter, loc, block);
      OpFoldResult paddingKeys =
          arith::SubIOp::create(rewriter, loc, indexConst(rewriter, loc, kb),
                                blockValue)
              .getResult();
      SmallVector<OpFoldResult> offsets = {zeroAttr, block};
      SmallVector<OpFoldResult> sizes = {paddedRows, paddingKeys};
      Value padding =
          linalg::FillOp::create(
              rewriter, loc, f32Const(rewriter, loc, kNegInf),
              extractBlock(rewriter, loc, scores, offsets, sizes, {0, 1}))
              .getResult(0);
      scores = tensor::InsertSliceOp::create(
          rewriter, loc, padding, scores, offsets, sizes, {oneAttr, oneAttr});
    }
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    AffineMap blockMap = rewriter.getMultiDimIdentityMap(2);
    // A static size-1 batch or head dim of the mask broadcasts.
    auto maskType = mask ? cast<RankedTensorType>(mask.getType()) : nullptr;
    bool maskBroadcastsHeads = mask && maskType.getDimSize(1) == 1;
    Value maskBatch = mask && maskType.getDimSize(0) == 1
                          ? indexConst(rewriter, loc, 0)
                          : bIdx;
    if (mask && !headsAsRows) {
      OpFoldResult maskHead =
          maskBroadcastsHeads ? zeroAttr : OpFoldResult(hIdx);
      inputs.push_back(extractBlock(
          rewriter, loc, mask, {getAsOpFoldResult(maskBatch), maskHead, q0, j0},
          {oneAttr, oneAttr, rows, block}, {2, 3}));
      maps.push_back(blockMap);
    }
    maps.push_back(blockMap);
    bool hasMask = static_cast<bool>(mask), hasKvLen = static_cast<bool>(kvLen);
    SmallVector<OpFoldResult> visibleOffsets = {zeroAttr, zeroAttr};
    SmallVector<OpFoldResult> visibleSizes = {rows, block};
    Value visibleScores = buildGenericOp(
        rewriter, loc, inputs,
        extractBlock(rewriter, loc, scores, visibleOffsets, visibleSizes,
                     {0, 1}),
        maps, parallelIterators(2),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value s = buildScaledScore(b, loc, args.back(), scoring);
          if (hasMask && !headsAsRows)
            s = arith::AddFOp::create(b, loc, s, extendToF32(b, loc, args[0]));
          if (!(hasMask && headsAsRows) && !hasKvLen && !causal)
            return s;
          Value r = linalg::IndexOp::create(b, loc, 0);
          Value i = headsAsRows ? rowQuery(b, r)
                                : arith::AddIOp::create(b, loc, r, q0);
          Value j = arith::AddIOp::create(
              b, loc, linalg::IndexOp::create(b, loc, 1), j0);
          if (hasMask && headsAsRows) {
            Value maskHead =
                maskBroadcastsHeads ? indexConst(b, loc, 0) : rowHead(b, r);
            Value maskValue = tensor::ExtractOp::create(
                b, loc, mask, ValueRange{maskBatch, maskHead, i, j});
            s = arith::AddFOp::create(b, loc, s,
                                      extendToF32(b, loc, maskValue));
          }
          if (!hasKvLen && !causal)
            return s;
          Value visible = buildKeyVisible(b, loc, i, j, validLen, seqQValue,
                                          hasKvLen, scoring);
          return arith::SelectOp::create(b, loc, visible, s,
                                         f32Const(b, loc, kNegInf));
        });
    scores = tensor::InsertSliceOp::create(rewriter, loc, visibleScores, scores,
                                           visibleOffsets, visibleSizes,
                                           {oneAttr, oneAttr});

    // The updates below write m, l, acc and s in place after their last read,
    // so that bufferization keeps the loop-carried buffers.
    // m_new = max(m, rowmax(s)); alpha = exp(m - m_new) rescales what was
    // accumulated so far.
    using utils::IteratorType;
    AffineMap rowMap = AffineMap::get(2, 0, {d0}, context);
    AffineMap statsMap = rewriter.getMultiDimIdentityMap(1);
    SmallVector<IteratorType> rowReduction = {IteratorType::parallel,
                                              IteratorType::reduction};
    Value rowMax = buildGenericOp(
        rewriter, loc, {scores},
        createFilledF32Tensor(rewriter, loc, rowSizes, kNegInf),
        {blockMap, rowMap}, rowReduction,
        [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::MaximumFOp::create(b, loc, args[1], args[0]);
        });
    Value alpha = buildGenericOp(
        rewriter, loc, {m, rowMax},
        tensor::EmptyOp::create(rewriter, loc, rowSizes, f32),
        {statsMap, statsMap, statsMap}, parallelIterators(1),
        [](OpBuilder &b, Location loc, ValueRange args) {
          Value mNew = arith::MaximumFOp::create(b, loc, args[0], args[1]);
          Value diff =
              arith::SubFOp::create(b, loc, args[0], finiteMax(b, loc, mNew));
          return buildNonPositiveExp(b, loc, diff);
        });
    Value mNew = buildGenericOp(
        rewriter, loc, {rowMax}, m, {statsMap, statsMap}, parallelIterators(1),
        [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::MaximumFOp::create(b, loc, args[1], args[0]);
        });

    // p = exp(s - m_new); invisible keys give exp(-inf) = 0.
    Value probs = buildGenericOp(
        rewriter, loc, {mNew}, scores, {rowMap, blockMap}, parallelIterators(2),
        [](OpBuilder &b, Location loc, ValueRange args) {
          Value shifted = arith::SubFOp::create(b, loc, args[1],
                                                finiteMax(b, loc, args[0]));
          return buildNonPositiveExp(b, loc, shifted);
        });

    // l_new = l * alpha + rowsum(p).
    Value lScaled = buildGenericOp(
        rewriter, loc, {alpha}, l, {statsMap, statsMap}, parallelIterators(1),
        [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::MulFOp::create(b, loc, args[1], args[0]);
        });
    Value lNew = buildGenericOp(
        rewriter, loc, {probs}, lScaled, {blockMap, rowMap}, rowReduction,
        [](OpBuilder &b, Location loc, ValueRange args) {
          return arith::AddFOp::create(b, loc, args[1], args[0]);
        });

    // acc_new = acc * alpha + sum_j p[i, j] * v[j0 + j, :]. Only keys below
    // kv_len[b] are read: the padding of a KV cache may hold NaN or inf,
    // which p = 0 would not cancel (0 * NaN = NaN).
    OpFoldResult keyCount = block;
    if (kvLen) {
      Value remaining = arith::SubIOp::create(rewriter, loc, validLen, j0);
      Value count = arith::MinSIOp::create(
          rewriter, loc, getIndexValue(rewriter, loc, block), remaining);
      keyCount = arith::MaxSIOp::create(rewriter, loc, count,
                                        indexConst(rewriter, loc, 0))
                     .getResult();
    }
    Value accNew;
    int64_t valueWidth = valueDim % 64 == 0   ? 64
                         : valueDim % 32 == 0 ? 32
                         : valueDim % 16 == 0 ? 16
                                              : 0;
    if (valueWidth) {
      // Per step, 4 rows x valueWidth channels accumulate over the keys from
      // broadcast probabilities times rows of V.
      auto accVector = VectorType::get({valueWidth}, f32);
      auto vVector = VectorType::get({valueWidth}, vElementType);
      auto chunkLoop = scf::ForOp::create(
          rewriter, loc, indexConst(rewriter, loc, 0),
          indexConst(rewriter, loc, valueDim),
          indexConst(rewriter, loc, valueWidth), ValueRange{acc});
      rewriter.setInsertionPointToStart(chunkLoop.getBody());
      Value e0 = chunkLoop.getInductionVar();
      Value chunkAcc = buildRowKernel(
          rewriter, loc, paddedRowsValue, kernelRows,
          getIndexValue(rewriter, loc, keyCount), chunkLoop.getRegionIterArg(0),
          [&](OpBuilder &b, Value r0, Value tile) {
            SmallVector<Value> accs;
            for (int64_t r = 0; r < kernelRows; ++r) {
              Value row =
                  arith::AddIOp::create(b, loc, r0, indexConst(b, loc, r));
              Value scaleRow = vector::BroadcastOp::create(
                  b, loc, accVector,
                  tensor::ExtractOp::create(b, loc, alpha, row));
              accs.push_back(arith::MulFOp::create(
                  b, loc, vectorRead(b, loc, accVector, tile, {row, e0}),
                  scaleRow));
            }
            return accs;
          },
          [&](OpBuilder &b, Value r0, Value j, ValueRange accs) {
            Value values = vectorRead(b, loc, vVector, vBlock, {j, e0});
            if (vElementType != f32)
              values = arith::ExtFOp::create(b, loc, accVector, values);
            SmallVector<Value> next;
            for (int64_t r = 0; r < kernelRows; ++r) {
              Value row =
                  arith::AddIOp::create(b, loc, r0, indexConst(b, loc, r));
              Value p =
                  tensor::ExtractOp::create(b, loc, probs, ValueRange{row, j});
              Value broadcast =
                  vector::BroadcastOp::create(b, loc, accVector, p);
              next.push_back(
                  vector::FMAOp::create(b, loc, broadcast, values, accs[r]));
            }
            return next;
          },
          [&](OpBuilder &b, Value r0, ValueRange accs, Value tile) {
            for (int64_t r = 0; r < kernelRows; ++r) {
              Value row =
                  arith::AddIOp::create(b, loc, r0, indexConst(b, loc, r));
              tile = vectorWrite(b, loc, accs[r], tile, {row, e0});
            }
            return tile;
          });
      scf::YieldOp::create(rewriter, loc, chunkAcc);
      rewriter.setInsertionPointAfter(chunkLoop);
      accNew = chunkLoop.getResult(0);
    } else {
      // Value dims that are not a multiple of 16: generic loops (i, j, e),
      // the value dim e innermost so each step is an axpy over a row of v.
      Value accScaled = buildGenericOp(
          rewriter, loc, {alpha}, acc, {rowMap, blockMap}, parallelIterators(2),
          [](OpBuilder &b, Location loc, ValueRange args) {
            return arith::MulFOp::create(b, loc, args[1], args[0]);
          });
      Value probsUsed = extractBlock(rewriter, loc, probs, {zeroAttr, zeroAttr},
                                     {paddedRows, keyCount}, {0, 1});
      Value vUsed = extractBlock(rewriter, loc, vBlock, {zeroAttr, zeroAttr},
                                 {keyCount, valueDimAttr}, {0, 1});
      accNew =
          buildGenericOp(rewriter, loc, {probsUsed, vUsed}, accScaled,
                         {AffineMap::get(3, 0, {d0, d1}, context),
                          AffineMap::get(3, 0, {d1, d2}, context),
                          AffineMap::get(3, 0, {d0, d2}, context)},
                         {IteratorType::parallel, IteratorType::reduction,
                          IteratorType::parallel},
                         [](OpBuilder &b, Location loc, ValueRange args) {
                           Value prod = arith::MulFOp::create(
                               b, loc, args[0], extendToF32(b, loc, args[1]));
                           return arith::AddFOp::create(b, loc, args[2], prod);
                         });
    }
    scf::YieldOp::create(rewriter, loc, ValueRange{mNew, lNew, accNew});
    rewriter.setInsertionPointAfter(loop);

    // output rows = acc / l, written into their place in the shared output;
    // rows without a visible key (l == 0) give 0.
    Value mFinal = loop.getResult(0), lFinal = loop.getResult(1);
    // The tile's rows go to (first row, row count, head, first query) of the
    // output: one range, or one per head when decoding.
    struct RowRange {
      int64_t firstRow;
      OpFoldResult count;
      Value head;
      OpFoldResult firstQuery;
    };
    SmallVector<RowRange> ranges;
    if (headsAsRows) {
      for (int64_t g = 0; g < group; ++g)
        ranges.push_back(
            {g * *staticSeqQ, rewriter.getIndexAttr(*staticSeqQ),
             arith::AddIOp::create(
                 rewriter, loc,
                 arith::MulIOp::create(rewriter, loc, kvHead,
                                       indexConst(rewriter, loc, group)),
                 indexConst(rewriter, loc, g)),
             zeroAttr});
    } else {
      ranges.push_back({0, rows, hIdx, q0});
    }
    // Decoding writes the G heads of its kv head through one
    // parallel_insert_slice per result: the rows are first inserted into the
    // task's [Sq, G, Dv] (and [G, Sq]) block. Several parallel_insert_slices
    // into one shared output lose all but the first when a single-iteration
    // scf.forall is folded by the canonicalizer (MQA decoding of one batch
    // row, or a tile of one kv head from weft-tile).
    Value groupHead;
    Value outGroup, lseGroup;
    SmallVector<OpFoldResult> outGroupOffsets, outGroupSizes, lseGroupOffsets,
        lseGroupSizes;
    if (headsAsRows) {
      groupHead = arith::MulIOp::create(rewriter, loc, kvHead,
                                        indexConst(rewriter, loc, group));
      OpFoldResult seq = rewriter.getIndexAttr(*staticSeqQ);
      OpFoldResult groupAttr = rewriter.getIndexAttr(group);
      outGroupOffsets = {bIdx, zeroAttr, groupHead, zeroAttr};
      outGroupSizes = {oneAttr, seq, groupAttr, valueDimAttr};
      outGroup = extractBlock(rewriter, loc, forall.getRegionIterArgs()[0],
                              outGroupOffsets, outGroupSizes, {1, 2, 3});
      if (lseType) {
        lseGroupOffsets = {bIdx, groupHead, zeroAttr};
        lseGroupSizes = {oneAttr, groupAttr, seq};
        lseGroup = extractBlock(rewriter, loc, forall.getRegionIterArgs()[1],
                                lseGroupOffsets, lseGroupSizes, {1, 2});
      }
    }
    SmallVector<std::function<void()>> inserts;
    for (auto [index, range] : llvm::enumerate(ranges)) {
      OpFoldResult first = rewriter.getIndexAttr(range.firstRow);
      OpFoldResult g = rewriter.getIndexAttr(index);
      SmallVector<OpFoldResult> outOffsets = {bIdx, range.firstQuery,
                                              range.head, zeroAttr};
      SmallVector<OpFoldResult> outSizes = {oneAttr, range.count, oneAttr,
                                            valueDimAttr};
      Value accRows =
          extractBlock(rewriter, loc, loop.getResult(2), {first, zeroAttr},
                       {range.count, valueDimAttr}, {0, 1});
      Value lRows =
          extractBlock(rewriter, loc, lFinal, {first}, {range.count}, {0});
      Value outInit =
          headsAsRows
              ? extractBlock(rewriter, loc, outGroup, {zeroAttr, g, zeroAttr},
                             {range.count, oneAttr, valueDimAttr}, {0, 2})
              : extractBlock(rewriter, loc, forall.getRegionIterArgs()[0],
                             outOffsets, outSizes, {1, 3});
      Value outBlock = buildGenericOp(
          rewriter, loc, {accRows, lRows}, outInit,
          {blockMap, rowMap, blockMap}, parallelIterators(2),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value empty =
                arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                      args[1], f32Const(b, loc, 0));
            Value div = arith::DivFOp::create(b, loc, args[0], args[1]);
            Value result = arith::SelectOp::create(b, loc, empty,
                                                   f32Const(b, loc, 0), div);
            return truncateFromF32(b, loc, result, elementType);
          });
      if (headsAsRows) {
        outGroup = tensor::InsertSliceOp::create(
            rewriter, loc, outBlock, outGroup, {zeroAttr, g, zeroAttr},
            {range.count, oneAttr, valueDimAttr},
            SmallVector<OpFoldResult>(3, oneAttr));
      } else {
        inserts.push_back([&, outBlock, outOffsets, outSizes] {
          tensor::ParallelInsertSliceOp::create(
              rewriter, loc, outBlock, forall.getRegionIterArgs()[0],
              outOffsets, outSizes, SmallVector<OpFoldResult>(4, oneAttr));
        });
      }

      // lse = m + log(l), -inf for rows without a visible key.
      if (!lseType)
        continue;
      SmallVector<OpFoldResult> lseOffsets = {bIdx, range.head,
                                              range.firstQuery};
      SmallVector<OpFoldResult> lseSizes = {oneAttr, oneAttr, range.count};
      Value lseInit =
          headsAsRows
              ? extractBlock(rewriter, loc, lseGroup, {g, zeroAttr},
                             {oneAttr, range.count}, {1})
              : extractBlock(rewriter, loc, forall.getRegionIterArgs()[1],
                             lseOffsets, lseSizes, {2});
      Value lseBlock = buildGenericOp(
          rewriter, loc,
          {extractBlock(rewriter, loc, mFinal, {first}, {range.count}, {0}),
           lRows},
          lseInit, {statsMap, statsMap, statsMap}, parallelIterators(1),
          [](OpBuilder &b, Location loc, ValueRange args) {
            Value empty =
                arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                      args[1], f32Const(b, loc, 0));
            Value lse = arith::AddFOp::create(
                b, loc, args[0], math::LogOp::create(b, loc, args[1]));
            return arith::SelectOp::create(b, loc, empty,
                                           f32Const(b, loc, kNegInf), lse);
          });
      if (headsAsRows) {
        lseGroup = tensor::InsertSliceOp::create(
            rewriter, loc, lseBlock, lseGroup, {g, zeroAttr},
            {oneAttr, range.count}, SmallVector<OpFoldResult>(2, oneAttr));
      } else {
        inserts.push_back([&, lseBlock, lseOffsets, lseSizes] {
          tensor::ParallelInsertSliceOp::create(
              rewriter, loc, lseBlock, forall.getRegionIterArgs()[1],
              lseOffsets, lseSizes, SmallVector<OpFoldResult>(3, oneAttr));
        });
      }
    }
    if (headsAsRows) {
      inserts.push_back([&] {
        tensor::ParallelInsertSliceOp::create(
            rewriter, loc, outGroup, forall.getRegionIterArgs()[0],
            outGroupOffsets, outGroupSizes,
            SmallVector<OpFoldResult>(4, oneAttr));
      });
      if (lseType)
        inserts.push_back([&] {
          tensor::ParallelInsertSliceOp::create(
              rewriter, loc, lseGroup, forall.getRegionIterArgs()[1],
              lseGroupOffsets, lseGroupSizes,
              SmallVector<OpFoldResult>(3, oneAttr));
        });
    }

    rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
    for (const std::function<void()> &insert : inserts)
      insert();
    rewriter.setInsertionPointAfter(forall);

    SmallVector<Value> results = {
        castToType(rewriter, loc, forall.getResult(0), outType)};
    if (lseType)
      results.push_back(
          castToType(rewriter, loc, forall.getResult(1), lseType));
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

void weft::populateAttentionToLinalgPatterns(RewritePatternSet &patterns,
                                             const WeftToLinalgForms &forms) {
  patterns.add<AttentionOpLowering>(
      patterns.getContext(), forms.attentionProducts, forms.attentionBlocks,
      forms.attentionRegisters, forms.blockSharedMemoryKiB * 1024);
  patterns.add<RopeOpLowering>(patterns.getContext());
}
