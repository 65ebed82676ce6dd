//===- AttentionDecode.cpp - weft.attention for a few query rows ----------===//
//
// Decoding reads a long K/V cache for a handful of query rows per kv head
// (the queries of a step times the query heads of a kv group), so it is
// bound by the cache's bytes, not by arithmetic. This form streams K and V
// straight from global memory into registers, SIMT-style (one thread loop
// per block, docs/GPU.md#simt-kernels-barriers-and-shuffles-inside-a-thread-
// loop):
//
// * Lane groups of L = D / E lanes each take one key at a time, every lane
//   E consecutive channels (16 bytes: E = 8 for f16/bf16, 4 for f32). A
//   lane holds its E channels of every query row and of the rows' output.
//   The dot products reduce across the group by xor shuffles.
// * Each lane loads its chunks of U keys (K and V) before it computes with
//   any, so that 2 U 16-byte loads per lane are in flight; the online
//   softmax then rescales once per U keys.
// * The keys are split across blocks so that the grid fills the GPU (flash
//   decoding); the block's warps and lane groups each hold a partial
//   softmax, combined by shuffles within a warp, through shared memory
//   across warps, and across blocks by the merging grid of AttentionKeys.
//
// Scores are in base 2 (exp2, as in AttentionRegisters.cpp).
//
//===----------------------------------------------------------------------===//

#include "AttentionKeys.h"
#include "AttentionLowering.h"
#include "BlockLoops.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarps = 4;
constexpr int64_t kThreads = kWarps * kWarpSize;
/// Query rows per kv head (queries x group) up to which this form applies:
/// a lane keeps 2 E f32 values per row in registers.
constexpr int64_t kMaxRows = 8;
/// Blocks that keep an H100 busy (two per multiprocessor); fewer (batch x
/// kv heads) make the keys split.
constexpr int64_t kBlocksToFill = 264;
/// Bytes a lane loads at once.
constexpr int64_t kChunkBytes = 16;

struct DecodeShape {
  int64_t rows;        // R = Sq x G
  int64_t chunk;       // E: channels per lane
  int64_t laneGroup;   // L = D / E lanes per key
  int64_t keysPerLoad; // U: keys a lane group loads before computing
  /// Keys of one iteration of the block: warps x U x (32 / L).
  int64_t blockKeys() const {
    return kWarps * keysPerLoad * (kWarpSize / laneGroup);
  }
};

class DecodeAttention {
public:
  DecodeAttention(AttentionOp op, ConversionPatternRewriter &rewriter,
                  DecodeShape shape)
      : op(op), b(rewriter), loc(op.getLoc()), scoring(op), shape(shape),
        f32(rewriter.getF32Type()) {}

  SmallVector<Value> build(Value q, Value k, Value v, Value mask, Value kvLen,
                           OpFoldResult batch, OpFoldResult seqQ,
                           OpFoldResult seqK);

private:
  Value c(OpBuilder &nb, int64_t value) {
    return arith::ConstantIndexOp::create(nb, loc, value);
  }
  /// The number of splits of the keys and the keys of each (a multiple of
  /// the block's keys per iteration), static where B and Sk are.
  std::pair<OpFoldResult, Value> chooseSplits(Value batch, Value seqK,
                                              int64_t numKvHeads);
  /// `value` of the lane whose id differs in bit `offset`.
  Value exchange(OpBuilder &nb, Value value, int64_t offset) {
    return shuffleXor(nb, loc, value, offset);
  }

  AttentionOp op;
  ConversionPatternRewriter &b;
  Location loc;
  AttentionScoring scoring;
  DecodeShape shape;
  Type f32;
};

std::pair<OpFoldResult, Value>
DecodeAttention::chooseSplits(Value batch, Value seqK, int64_t numKvHeads) {
  int64_t blockKeys = shape.blockKeys();
  std::optional<int64_t> batchSize = getConstantIntValue(batch);
  std::optional<int64_t> keyCount = getConstantIntValue(seqK);
  if (batchSize && keyCount) {
    int64_t heads = std::max<int64_t>(*batchSize * numKvHeads, 1);
    int64_t iterations = llvm::divideCeil(*keyCount, blockKeys);
    int64_t splits = std::clamp<int64_t>(llvm::divideCeil(kBlocksToFill, heads),
                                         1, std::max<int64_t>(iterations, 1));
    int64_t splitKeys = llvm::divideCeil(iterations, splits) * blockKeys;
    splits = std::max<int64_t>(llvm::divideCeil(*keyCount, splitKeys), 1);
    return {b.getIndexAttr(splits), c(b, splitKeys)};
  }
  // The same at run time.
  auto ceilDiv = [&](Value x, Value y) -> Value {
    return arith::CeilDivUIOp::create(b, loc, x, y);
  };
  Value one = c(b, 1);
  Value heads = arith::MaxUIOp::create(
      b, loc, arith::MulIOp::create(b, loc, batch, c(b, numKvHeads)), one);
  Value iterations = ceilDiv(seqK, c(b, blockKeys));
  Value splits = arith::MaxUIOp::create(
      b, loc,
      arith::MinUIOp::create(b, loc, ceilDiv(c(b, kBlocksToFill), heads),
                             iterations),
      one);
  Value splitKeys = arith::MulIOp::create(b, loc, ceilDiv(iterations, splits),
                                          c(b, blockKeys));
  splits = arith::MaxUIOp::create(b, loc, ceilDiv(seqK, splitKeys), one);
  return {splits, splitKeys};
}

SmallVector<Value> DecodeAttention::build(Value q, Value k, Value v, Value mask,
                                          Value kvLen, OpFoldResult batch,
                                          OpFoldResult seqQ,
                                          OpFoldResult seqK) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  Type element = kType.getElementType();
  Type outElement = getElementTypeOrSelf(op.getOutput().getType());
  int64_t numHeads = qType.getDimSize(2), numKvHeads = kType.getDimSize(2);
  int64_t headDim = qType.getDimSize(3);
  int64_t group = scoring.group, rows = shape.rows, chunk = shape.chunk;
  int64_t laneGroup = shape.laneGroup, keysPerLoad = shape.keysPerLoad;
  int64_t groupsPerWarp = kWarpSize / laneGroup;

  AttentionIO io =
      prepareAttentionIO(b, op, q, k, v, mask, kvLen, batch, seqQ, seqK);
  auto [splits, splitKeys] = chooseSplits(io.batch, io.seqK, numKvHeads);
  bool split = getConstantIntValue(splits) != 1;
  KeySplitParts parts;
  if (split)
    parts =
        allocateKeySplitParts(b, loc, splits, batch, seqQ, numHeads, headDim);

  Value zero = f32Const(b, loc, 0.0);
  Value negInf = f32Const(b, loc, -std::numeric_limits<float>::infinity());
  auto chunkType = VectorType::get({chunk}, f32);
  Value zeroChunk = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(chunkType, b.getF32FloatAttr(0.0)));
  Value batchHeads = arith::MulIOp::create(b, loc, io.batch, c(b, numKvHeads));
  OpBuilder::InsertionGuard guard(b);
  scf::ForallOp grid =
      createGridLoop(b, loc, {getAsOpFoldResult(batchHeads), splits});
  Value batchIndex =
      arith::DivUIOp::create(b, loc, grid.getInductionVar(0), c(b, numKvHeads));
  Value kvHead =
      arith::RemUIOp::create(b, loc, grid.getInductionVar(0), c(b, numKvHeads));
  Value splitIndex = grid.getInductionVar(1);

  // The keys of all of the block's queries, within this split.
  BlockKeys keys = computeBlockKeys(b, loc, scoring, c(b, 0), rows / group,
                                    io.seqQ, io.seqK, io.kvLen, batchIndex);
  Value splitStart = arith::MulIOp::create(b, loc, splitIndex, splitKeys);
  keys.start = arith::MaxSIOp::create(b, loc, keys.start, splitStart);
  keys.end = arith::MinSIOp::create(
      b, loc, keys.end, arith::AddIOp::create(b, loc, splitStart, splitKeys));
  ScoreMasking masking{scoring, keys,       io.seqQ,
                       io.mask, batchIndex, static_cast<bool>(kvLen)};

  // The warps' partial softmax (shared memory on the GPU).
  Value warpMax =
      memref::AllocOp::create(b, loc, MemRefType::get({kWarps, rows}, f32));
  Value warpSum =
      memref::AllocOp::create(b, loc, MemRefType::get({kWarps, rows}, f32));
  Value warpOut = memref::AllocOp::create(
      b, loc, MemRefType::get({kWarps, rows, headDim}, f32));

  // Row r is query r / G of head kvHead G + r % G.
  auto rowHead = [&](OpBuilder &nb, Value r) -> Value {
    return arith::AddIOp::create(
        nb, loc, arith::MulIOp::create(nb, loc, kvHead, c(nb, group)),
        arith::RemUIOp::create(nb, loc, r, c(nb, group)));
  };
  auto rowQuery = [&](OpBuilder &nb, Value r) -> Value {
    return arith::DivUIOp::create(nb, loc, r, c(nb, group));
  };

  createThreadLoop(b, loc, kThreads, [&](OpBuilder &nb, Value t) {
    Value lane = arith::RemUIOp::create(nb, loc, t, c(nb, kWarpSize));
    Value warp = arith::DivUIOp::create(nb, loc, t, c(nb, kWarpSize));
    Value keyGroup = arith::DivUIOp::create(nb, loc, lane, c(nb, laneGroup));
    Value channel = arith::MulIOp::create(
        nb, loc, arith::RemUIOp::create(nb, loc, lane, c(nb, laneGroup)),
        c(nb, chunk));
    auto loadChunk = [&](OpBuilder &lb, Value buffer,
                         ArrayRef<Value> indices) -> Value {
      Value raw = vector::TransferReadOp::create(
          lb, loc, VectorType::get({chunk}, element), buffer, indices,
          /*padding=*/std::nullopt, ArrayRef<bool>{true});
      return element.isF32()
                 ? raw
                 : arith::ExtFOp::create(lb, loc, chunkType, raw).getResult();
    };
    SmallVector<Value> rowQueries, rowHeads, qChunks;
    for (int64_t r = 0; r < rows; ++r) {
      rowQueries.push_back(rowQuery(nb, c(nb, r)));
      rowHeads.push_back(rowHead(nb, c(nb, r)));
      qChunks.push_back(loadChunk(
          nb, io.q, {batchIndex, rowQueries[r], rowHeads[r], channel}));
    }

    // The loop over the split's keys carries, per row, the lane group's
    // maximum (base 2), sum and this lane's output channels.
    SmallVector<Value> inits;
    for (int64_t r = 0; r < rows; ++r)
      inits.append({negInf, zero, zeroChunk});
    Value firstKey = arith::AddIOp::create(
        nb, loc,
        arith::MulIOp::create(nb, loc, warp,
                              c(nb, keysPerLoad * groupsPerWarp)),
        keyGroup);
    Value lastKey = arith::SubIOp::create(nb, loc, keys.end, c(nb, 1));
    auto keyLoop = scf::ForOp::create(nb, loc, keys.start, keys.end,
                                      c(nb, shape.blockKeys()), inits);
    {
      OpBuilder lb = OpBuilder::atBlockBegin(keyLoop.getBody());
      ValueRange carried = keyLoop.getRegionIterArgs();
      Value base =
          arith::AddIOp::create(lb, loc, keyLoop.getInductionVar(), firstKey);
      // All loads first: key u of the group is base + u (32 / L). Past the
      // split's last key a lane reads that key again (never the padding
      // past kv_len, which may hold NaN); the score is -inf, so it adds
      // 0 x a valid V.
      SmallVector<Value> keyIds, kChunks, vChunks;
      for (int64_t u = 0; u < keysPerLoad; ++u) {
        Value key =
            arith::AddIOp::create(lb, loc, base, c(lb, u * groupsPerWarp));
        Value read = arith::MinSIOp::create(lb, loc, key, lastKey);
        keyIds.push_back(key);
        kChunks.push_back(
            loadChunk(lb, io.k, {batchIndex, read, kvHead, channel}));
        vChunks.push_back(
            loadChunk(lb, io.v, {batchIndex, read, kvHead, channel}));
      }
      auto add = [&](OpBuilder &fb, Value x, Value y) -> Value {
        return arith::AddFOp::create(fb, loc, x, y);
      };
      Value log2e = f32Const(lb, loc, M_LOG2E);
      SmallVector<Value> next;
      for (int64_t r = 0; r < rows; ++r) {
        Value rowMax = carried[3 * r], rowSum = carried[3 * r + 1];
        Value rowOut = carried[3 * r + 2];
        SmallVector<Value> scores;
        Value newMax = rowMax;
        for (int64_t u = 0; u < keysPerLoad; ++u) {
          Value partial = vector::ReductionOp::create(
              lb, loc, vector::CombiningKind::ADD,
              arith::MulFOp::create(lb, loc, qChunks[r], kChunks[u]));
          Value dot = butterflyReduce(lb, loc, partial, 1, laneGroup, add);
          Value score = masking.finish(lb, loc, rowQueries[r], rowHeads[r],
                                       keyIds[u], dot);
          scores.push_back(arith::MulFOp::create(lb, loc, score, log2e));
          newMax = arith::MaximumFOp::create(lb, loc, newMax, scores.back());
        }
        Value offset = finiteMax(lb, loc, newMax);
        Value alpha = math::Exp2Op::create(
            lb, loc, arith::SubFOp::create(lb, loc, rowMax, offset));
        Value sum = arith::MulFOp::create(lb, loc, rowSum, alpha);
        Value outChunk = arith::MulFOp::create(
            lb, loc, rowOut,
            vector::BroadcastOp::create(lb, loc, chunkType, alpha));
        for (int64_t u = 0; u < keysPerLoad; ++u) {
          Value p = math::Exp2Op::create(
              lb, loc, arith::SubFOp::create(lb, loc, scores[u], offset));
          sum = arith::AddFOp::create(lb, loc, sum, p);
          outChunk = vector::FMAOp::create(
              lb, loc, vector::BroadcastOp::create(lb, loc, chunkType, p),
              vChunks[u], outChunk);
        }
        next.append({newMax, sum, outChunk});
      }
      scf::YieldOp::create(lb, loc, next);
    }

    // The warp's lane groups combine: each pair of groups rescales to the
    // larger maximum. Then the first group's lanes publish the warp's part.
    ValueRange results = keyLoop.getResults();
    Value firstGroup = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::eq,
                                             keyGroup, c(nb, 0));
    Value firstLane = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::eq,
                                            lane, c(nb, 0));
    for (int64_t r = 0; r < rows; ++r) {
      Value rowMax = results[3 * r], rowSum = results[3 * r + 1];
      Value rowOut = results[3 * r + 2];
      for (int64_t offset = laneGroup; offset < kWarpSize; offset *= 2) {
        Value otherMax = exchange(nb, rowMax, offset);
        Value otherSum = exchange(nb, rowSum, offset);
        SmallVector<Value> otherOut;
        for (int64_t e = 0; e < chunk; ++e)
          otherOut.push_back(exchange(
              nb, vector::ExtractOp::create(nb, loc, rowOut, e), offset));
        Value newMax = arith::MaximumFOp::create(nb, loc, rowMax, otherMax);
        Value offsetMax = finiteMax(nb, loc, newMax);
        auto weight = [&](Value m) -> Value {
          return math::Exp2Op::create(
              nb, loc, arith::SubFOp::create(nb, loc, m, offsetMax));
        };
        Value mine = weight(rowMax), theirs = weight(otherMax);
        rowSum = arith::AddFOp::create(
            nb, loc, arith::MulFOp::create(nb, loc, rowSum, mine),
            arith::MulFOp::create(nb, loc, otherSum, theirs));
        rowOut = vector::FMAOp::create(
            nb, loc, vector::BroadcastOp::create(nb, loc, chunkType, theirs),
            vector::FromElementsOp::create(nb, loc, chunkType, otherOut),
            arith::MulFOp::create(
                nb, loc, rowOut,
                vector::BroadcastOp::create(nb, loc, chunkType, mine)));
        rowMax = newMax;
      }
      Value row = c(nb, r);
      scf::IfOp::create(nb, loc, firstGroup, [&](OpBuilder &tb, Location) {
        vector::TransferWriteOp::create(tb, loc, rowOut, warpOut,
                                        ValueRange{warp, row, channel},
                                        ArrayRef<bool>{true});
        scf::IfOp::create(tb, loc, firstLane, [&](OpBuilder &fb, Location) {
          memref::StoreOp::create(fb, loc, rowMax, warpMax,
                                  ValueRange{warp, row});
          memref::StoreOp::create(fb, loc, rowSum, warpSum,
                                  ValueRange{warp, row});
          scf::YieldOp::create(fb, loc);
        });
        scf::YieldOp::create(tb, loc);
      });
    }
    gpu::BarrierOp::create(nb, loc);

    // The block's rows: the warps' parts rescaled to their largest maximum,
    // normalised (or, split, left for the merging grid with that maximum).
    forEachItem(
        nb, loc, t, rows * headDim, kThreads, [&](OpBuilder &fb, Value i) {
          Value r = arith::DivUIOp::create(fb, loc, i, c(fb, headDim));
          Value e = arith::RemUIOp::create(fb, loc, i, c(fb, headDim));
          SmallVector<Value> maxima;
          Value blockMax = negInf;
          for (int64_t w = 0; w < kWarps; ++w) {
            maxima.push_back(memref::LoadOp::create(fb, loc, warpMax,
                                                    ValueRange{c(fb, w), r}));
            blockMax = arith::MaximumFOp::create(fb, loc, blockMax, maxima[w]);
          }
          Value offset = finiteMax(fb, loc, blockMax);
          Value sum = zero, value = zero;
          for (int64_t w = 0; w < kWarps; ++w) {
            Value weight = math::Exp2Op::create(
                fb, loc, arith::SubFOp::create(fb, loc, maxima[w], offset));
            Value s = memref::LoadOp::create(fb, loc, warpSum,
                                             ValueRange{c(fb, w), r});
            Value o = memref::LoadOp::create(fb, loc, warpOut,
                                             ValueRange{c(fb, w), r, e});
            sum = math::FmaOp::create(fb, loc, weight, s, sum);
            value = math::FmaOp::create(fb, loc, weight, o, value);
          }
          Value query = rowQuery(fb, r), head = rowHead(fb, r);
          Value firstChannel = arith::CmpIOp::create(
              fb, loc, arith::CmpIPredicate::eq, e, c(fb, 0));
          if (split) {
            memref::StoreOp::create(
                fb, loc, value, parts.out,
                ValueRange{splitIndex, batchIndex, query, head, e});
            scf::IfOp::create(
                fb, loc, firstChannel, [&](OpBuilder &tb, Location) {
                  ValueRange at{splitIndex, batchIndex, head, query};
                  memref::StoreOp::create(tb, loc, blockMax, parts.max, at);
                  memref::StoreOp::create(tb, loc, sum, parts.sum, at);
                  scf::YieldOp::create(tb, loc);
                });
            return;
          }
          Value isEmpty = arith::CmpFOp::create(
              fb, loc, arith::CmpFPredicate::OEQ, sum, zero);
          Value normalized = arith::SelectOp::create(
              fb, loc, isEmpty, zero,
              arith::DivFOp::create(fb, loc, value, sum));
          memref::StoreOp::create(
              fb, loc, truncateFromF32(fb, loc, normalized, outElement), io.out,
              ValueRange{batchIndex, query, head, e});
          if (!io.lse)
            return;
          scf::IfOp::create(
              fb, loc, firstChannel, [&](OpBuilder &tb, Location) {
                // In base 2: lse = (m + log2(sum)) ln 2.
                Value noKeys = arith::CmpFOp::create(
                    tb, loc, arith::CmpFPredicate::OEQ, blockMax, negInf);
                Value lse = arith::MulFOp::create(
                    tb, loc,
                    arith::AddFOp::create(tb, loc, blockMax,
                                          math::Log2Op::create(tb, loc, sum)),
                    f32Const(tb, loc, M_LN2));
                memref::StoreOp::create(
                    tb, loc,
                    arith::SelectOp::create(tb, loc, noKeys, blockMax, lse),
                    io.lse, ValueRange{batchIndex, head, query});
                scf::YieldOp::create(tb, loc);
              });
        });
  });

  b.setInsertionPointAfter(grid);
  if (split)
    mergeKeySplits(b, loc, io, parts, splits, numHeads, headDim,
                   /*maximaInBase2=*/true);
  return getAttentionResults(b, op, io);
}

} // namespace

std::optional<SmallVector<Value>>
weft::lowerAttentionForDecoding(AttentionOp op, Value q, Value k, Value v,
                                Value mask, Value kvLen, OpFoldResult batch,
                                OpFoldResult seqQ, OpFoldResult seqK,
                                ConversionPatternRewriter &rewriter) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  Type element = kType.getElementType();
  if (qType.getElementType() != element || vType.getElementType() != element ||
      !(element.isF16() || element.isBF16() || element.isF32()))
    return std::nullopt;
  int64_t headDim = qType.getDimSize(3);
  std::optional<int64_t> queries = getConstantIntValue(seqQ);
  if (vType.getDimSize(3) != headDim || !queries)
    return std::nullopt;
  DecodeShape shape;
  shape.rows = *queries * op.getGroupSize();
  shape.chunk = kChunkBytes * 8 / element.getIntOrFloatBitWidth();
  if (shape.rows > kMaxRows || headDim % shape.chunk)
    return std::nullopt;
  shape.laneGroup = headDim / shape.chunk;
  if (!llvm::isPowerOf2_64(shape.laneGroup) || shape.laneGroup > kWarpSize)
    return std::nullopt;
  shape.keysPerLoad = shape.rows <= 4 ? 4 : 2;
  return DecodeAttention(op, rewriter, shape)
      .build(q, k, v, mask, kvLen, batch, seqQ, seqK);
}
