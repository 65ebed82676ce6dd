//===- AttentionRegisters.cpp - weft.attention with state in registers ----===//
//
// The FlashAttention-2 form for tensor cores, written SIMT-style: one thread
// loop per block (docs/GPU.md#simt-kernels-barriers-and-shuffles-inside-a-
// thread-loop). Each of a block's four warps owns 16 query rows. Its lanes
// hold, in registers and in the m16n8k16 fragment layout of nvgpu.mma.sync,
// the rows' Q fragments, a key tile's scores, the running maxima and sums
// and the output rows; only the K and V tiles (64 keys) go through shared
// memory, loaded by all threads, with a barrier once a tile has landed and
// one before it is overwritten. Scores (in base 2, for exp2) become
// probabilities in place, and the score fragments of two 8-key pieces are
// exactly the A fragment of the product with V (rounded to the operands'
// type, f16 or bf16), as in
// FlashAttention-2.
//
// Lane l = 4 g + t of a warp holds rows g and g + 8 of its 16 and, of each
// 8-column piece, columns 2t and 2t + 1 (accumulator registers [i][j]: row
// g + 8 i, column 2t + j).
//
//===----------------------------------------------------------------------===//

#include "AttentionKeys.h"
#include "AttentionLowering.h"
#include "BlockLoops.h"
#include "LoweringUtils.h"
#include "WarpFragments.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr int64_t kWarps = 4;
constexpr int64_t kThreads = kWarps * 32;
/// Query rows of a block (16 per warp) and keys of a tile.
constexpr int64_t kRows = kWarps * 16;
constexpr int64_t kKeys = 64;
/// Elements after each row of the K and V tiles: rows 16 bytes apart in
/// the banks, and 16-byte aligned for the tile copies.
constexpr int64_t kPad = 8;
/// Head dims up to which a lane's fragments stay in registers.
constexpr int64_t kMaxHeadDim = 128;
/// Blocks (one per H100 multiprocessor) below which, over at least
/// kSplitTiles key tiles, the keys are split across blocks (flash
/// decoding), for about two blocks per multiprocessor.
constexpr int64_t kMinBlocks = 132;
constexpr int64_t kSplitTiles = 4;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

class RegisterAttention {
public:
  /// `splits` blocks share the keys of a query block, `splitKeys` each
  /// (a multiple of the tile; 0 without splits).
  RegisterAttention(AttentionOp op, ConversionPatternRewriter &rewriter,
                    bool doubleBuffered, int64_t splits, int64_t splitKeys)
      : op(op), b(rewriter), loc(op.getLoc()), scoring(op),
        doubleBuffered(doubleBuffered), splits(splits), splitKeys(splitKeys),
        f32(rewriter.getF32Type()),
        element(getElementTypeOrSelf(op.getQ().getType())) {}

  SmallVector<Value> build(Value q, Value k, Value v, Value mask, Value kvLen,
                           OpFoldResult batch, OpFoldResult seqQ,
                           OpFoldResult seqK);

private:
  Value c(OpBuilder &nb, int64_t value) {
    return arith::ConstantIndexOp::create(nb, loc, value);
  }
  Value add(OpBuilder &nb, Value x, int64_t value) {
    return value ? arith::AddIOp::create(nb, loc, x, c(nb, value)).getResult()
                 : x;
  }
  /// The warp's row sums or maxima across the four lanes of each row.
  Value quadReduce(OpBuilder &nb, Value value, bool max);
  /// The 16x8 score piece `n` of the key tile: Q.K^T over the head dim.
  /// `kShared` is the K tile seen as shared memory.
  Value scorePiece(OpBuilder &nb, ArrayRef<Value> qFragments, Value kShared,
                   int64_t n, Value lane);
  /// The B fragments of V for keys [16 kk, 16 kk + 16) and the channels of
  /// pieces n and n + 1 (8 each).
  std::pair<Value, Value> valueFragments(OpBuilder &nb, Value vShared,
                                         int64_t kk, int64_t n, Value lane);
  Value mma(OpBuilder &nb, Value a, Value bFragment, Value acc) {
    return mmaSync(nb, loc, a, bFragment, acc);
  }

  AttentionOp op;
  ConversionPatternRewriter &b;
  Location loc;
  AttentionScoring scoring;
  bool doubleBuffered;
  int64_t splits, splitKeys;
  /// f32, and the 16-bit type of Q, K, V and P (f16 or bf16).
  Type f32, element;
  int64_t headDim = 0, valueDim = 0;
};

Value RegisterAttention::quadReduce(OpBuilder &nb, Value value, bool max) {
  Value width = arith::ConstantIntOp::create(nb, loc, 32, 32);
  for (int64_t offset : {1, 2}) {
    Value other =
        gpu::ShuffleOp::create(
            nb, loc, value, arith::ConstantIntOp::create(nb, loc, offset, 32),
            width, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    value = max ? arith::MaximumFOp::create(nb, loc, value, other).getResult()
                : arith::AddFOp::create(nb, loc, value, other).getResult();
  }
  return value;
}

Value RegisterAttention::scorePiece(OpBuilder &nb, ArrayRef<Value> qFragments,
                                    Value kShared, int64_t n, Value lane) {
  Value acc = zeroAccumulatorFragment(nb, loc);
  // B = K^T for keys 8n..8n+7: matrix (step, half) is rows 8n.. of K at
  // channels 16 step + 8 half; two steps per ldmatrix.
  int64_t steps = qFragments.size();
  for (int64_t step = 0; step < steps; step += 2) {
    int64_t count = std::min<int64_t>(2, steps - step);
    Value matrices = loadMatrices(
        nb, loc, kShared, lane, 2 * count, /*transpose=*/false, c(nb, 0),
        c(nb, 0), [&](int64_t) { return 8 * n; },
        [&](int64_t m) { return 16 * step + 8 * m; });
    for (int64_t i = 0; i < count; ++i)
      acc =
          mma(nb, qFragments[step + i], bFragmentOf(nb, loc, matrices, i), acc);
  }
  return acc;
}

std::pair<Value, Value> RegisterAttention::valueFragments(OpBuilder &nb,
                                                          Value vShared,
                                                          int64_t kk, int64_t n,
                                                          Value lane) {
  // B = V, transposed as it loads: matrix (piece, half) is keys
  // 16 kk + 8 half.. at channels 8 (n + piece).
  Value matrices = loadMatrices(
      nb, loc, vShared, lane, 4, /*transpose=*/true, c(nb, 0), c(nb, 0),
      [&](int64_t m) { return 16 * kk + 8 * (m % 2); },
      [&](int64_t m) { return 8 * (n + m / 2); });
  return {bFragmentOf(nb, loc, matrices, 0), bFragmentOf(nb, loc, matrices, 1)};
}

SmallVector<Value> RegisterAttention::build(Value q, Value k, Value v,
                                            Value mask, Value kvLen,
                                            OpFoldResult batch,
                                            OpFoldResult seqQ,
                                            OpFoldResult seqK) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  Type outElement = getElementTypeOrSelf(op.getOutput().getType());
  int64_t numKvHeads = kType.getDimSize(2), numHeads = qType.getDimSize(2);
  headDim = qType.getDimSize(3);
  valueDim = vType.getDimSize(3);
  int64_t group = scoring.group;
  int64_t queries = kRows / group;
  bool withLse = static_cast<bool>(op.getLse());

  AttentionIO io =
      prepareAttentionIO(b, op, q, k, v, mask, kvLen, batch, seqQ, seqK);
  Value qBuf = io.q, kBuf = io.k, vBuf = io.v, maskBuf = io.mask;
  Value kvLenBuf = io.kvLen, batchValue = io.batch, seqQValue = io.seqQ;
  Value seqKValue = io.seqK, out = io.out, lse = io.lse;

  Value zero = f32Const(b, loc, 0.0);
  Value negInf = f32Const(b, loc, -std::numeric_limits<float>::infinity());
  Value queryBlocks =
      arith::CeilDivUIOp::create(b, loc, seqQValue, c(b, queries));
  Value batchHeads =
      arith::MulIOp::create(b, loc, batchValue, c(b, numKvHeads));
  // With splits, each split's unnormalised rows, maxima (base 2) and sums,
  // merged by a second grid.
  KeySplitParts parts;
  if (splits > 1)
    parts = allocateKeySplitParts(b, loc, b.getIndexAttr(splits), batch, seqQ,
                                  numHeads, valueDim);
  OpBuilder::InsertionGuard guard(b);
  SmallVector<OpFoldResult> gridSizes = {batchHeads, queryBlocks};
  if (splits > 1)
    gridSizes.push_back(b.getIndexAttr(splits));
  scf::ForallOp grid = createGridLoop(b, loc, gridSizes);
  Value batchIndex =
      arith::DivUIOp::create(b, loc, grid.getInductionVar(0), c(b, numKvHeads));
  Value kvHead =
      arith::RemUIOp::create(b, loc, grid.getInductionVar(0), c(b, numKvHeads));
  // The last query blocks first: with causal masking they walk the most
  // key tiles, and blocks start in the order of their ids, so the short
  // ones fill in at the end.
  Value queryBlock = arith::SubIOp::create(
      b, loc, arith::SubIOp::create(b, loc, queryBlocks, c(b, 1)),
      grid.getInductionVar(1));
  Value firstQuery = arith::MulIOp::create(b, loc, queryBlock, c(b, queries));

  // The block's K and V tiles (shared memory on the GPU), two of each where
  // the next tile loads while the block works on the current one.
  Value kTiles[2], vTiles[2];
  int64_t sets = doubleBuffered ? 2 : 1;
  for (int64_t i = 0; i < sets; ++i) {
    kTiles[i] = memref::AllocOp::create(
        b, loc, MemRefType::get({kKeys, headDim + kPad}, element));
    vTiles[i] = memref::AllocOp::create(
        b, loc, MemRefType::get({kKeys, valueDim + kPad}, element));
  }
  BlockKeys keys = computeBlockKeys(b, loc, scoring, firstQuery, queries,
                                    seqQValue, seqKValue, kvLenBuf, batchIndex);
  Value split;
  if (splits > 1) {
    // The split's part of the block's keys.
    split = grid.getInductionVar(2);
    Value splitStart = arith::MulIOp::create(b, loc, split, c(b, splitKeys));
    keys.start = arith::MaxSIOp::create(b, loc, keys.start, splitStart);
    keys.end =
        arith::MinSIOp::create(b, loc, keys.end, add(b, splitStart, splitKeys));
  }
  ScoreMasking masking{scoring, keys,       seqQValue,
                       maskBuf, batchIndex, static_cast<bool>(kvLen)};

  // Whether every key of the tile from `tileStart` is visible from every
  // query of the block (all of which exist); null with a mask, whose
  // values every score adds.
  auto isInteriorTile = [&](OpBuilder &nb, Value tileStart) -> Value {
    if (mask)
      return {};
    auto le = [&](Value x, Value y) -> Value {
      return arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::sle, x, y);
    };
    auto both = [&](Value x, Value y) -> Value {
      return arith::AndIOp::create(nb, loc, x, y);
    };
    Value tileEnd = add(nb, tileStart, kKeys);
    Value lastQuery = add(nb, firstQuery, queries - 1);
    Value interior =
        both(le(add(nb, firstQuery, queries), seqQValue),
             both(le(keys.start, tileStart), le(tileEnd, keys.end)));
    // Causal: key j + Sq <= i + L, the tile's last key from the first query.
    Value length = keys.validLength;
    if (scoring.causal)
      interior = both(interior,
                      le(arith::AddIOp::create(
                             nb, loc, add(nb, tileStart, kKeys - 1), seqQValue),
                         arith::AddIOp::create(nb, loc, firstQuery, length)));
    // Window: i + L - Sq - j < W, the tile's first key from the last query.
    if (scoring.window)
      interior = both(
          interior,
          le(arith::AddIOp::create(nb, loc, lastQuery, length),
             arith::AddIOp::create(nb, loc, seqQValue,
                                   add(nb, tileStart, *scoring.window - 1))));
    return interior;
  };

  createThreadLoop(b, loc, kThreads, [&](OpBuilder &nb, Value t) {
    Value lane = arith::RemUIOp::create(nb, loc, t, c(nb, 32));
    Value warp = arith::DivUIOp::create(nb, loc, t, c(nb, 32));
    Value laneGroup = arith::DivUIOp::create(nb, loc, lane, c(nb, 4));
    Value pairColumn = arith::MulIOp::create(
        nb, loc, arith::RemUIOp::create(nb, loc, lane, c(nb, 4)), c(nb, 2));
    // This lane's two rows (i = 0, 1): row 16 w + g + 8 i of the block is
    // query firstQuery + row / G of head kvHead * G + row % G.
    Value rows[2], rowQueries[2], rowHeads[2], rowValid[2];
    for (int64_t i = 0; i < 2; ++i) {
      rows[i] = arith::AddIOp::create(
          nb, loc, arith::MulIOp::create(nb, loc, warp, c(nb, 16)),
          add(nb, laneGroup, 8 * i));
      rowQueries[i] = arith::AddIOp::create(
          nb, loc, firstQuery,
          arith::DivUIOp::create(nb, loc, rows[i], c(nb, group)));
      rowHeads[i] = arith::AddIOp::create(
          nb, loc, arith::MulIOp::create(nb, loc, kvHead, c(nb, group)),
          arith::RemUIOp::create(nb, loc, rows[i], c(nb, group)));
      rowValid[i] = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::slt,
                                          rowQueries[i], seqQValue);
    }

    // Q's A fragments, one per 16 head channels (zeros past Sq): register
    // r holds rows g + 8 (r mod 2), channels 16 s + 2t + 8 (r / 2) + (0, 1),
    // read as pairs from a valid query (the last one past Sq) and then
    // replaced by zeros, without branches.
    auto pairType = VectorType::get({2}, element);
    Value zeroPair = arith::ConstantOp::create(
        nb, loc,
        DenseElementsAttr::get(pairType, nb.getFloatAttr(element, 0.0)));
    Value lastQuery = arith::SubIOp::create(nb, loc, seqQValue, c(nb, 1));
    SmallVector<Value> qFragments;
    for (int64_t step = 0; step < headDim / 16; ++step) {
      Value fragment = arith::ConstantOp::create(
          nb, loc,
          DenseElementsAttr::get(VectorType::get({4, 2}, element),
                                 nb.getFloatAttr(element, 0.0)));
      for (int64_t r = 0; r < 4; ++r) {
        int64_t i = r % 2;
        Value query = arith::MinSIOp::create(nb, loc, rowQueries[i], lastQuery);
        Value pair = vector::TransferReadOp::create(
            nb, loc, pairType, qBuf,
            ValueRange{batchIndex, query, rowHeads[i],
                       add(nb, pairColumn, 16 * step + 8 * (r / 2))},
            /*padding=*/std::nullopt, ArrayRef<bool>{true});
        pair = arith::SelectOp::create(nb, loc, rowValid[i], pair, zeroPair);
        fragment = vector::InsertOp::create(nb, loc, pair, fragment,
                                            ArrayRef<int64_t>{r});
      }
      qFragments.push_back(fragment);
    }

    // This thread's share of the key tile from `tileStart` (zeros past the
    // block's keys), copies that may be asynchronous.
    auto loadKeyTile = [&](OpBuilder &lb, Value tileStart, Value kTile,
                           Value vTile, int64_t pending) {
      loadKeyValueTiles(lb, loc, t, kThreads, kBuf, vBuf, kTile, vTile, kKeys,
                        batchIndex, kvHead, tileStart, keys.end, pending);
    };
    if (doubleBuffered)
      loadKeyTile(nb, keys.start, kTiles[0], vTiles[0], /*pending=*/1);

    // The loop over key tiles carries the output fragments, the rows'
    // maxima and this lane's part of their sums (and, double-buffered,
    // which set of tiles is current).
    int64_t pieces = valueDim / 8;
    Value zeroFragment = zeroAccumulatorFragment(nb, loc);
    SmallVector<Value> inits(pieces, zeroFragment);
    inits.append({negInf, negInf, zero, zero});
    if (doubleBuffered)
      inits.push_back(firstIsCurrentInit(nb, loc));
    auto tileLoop =
        scf::ForOp::create(nb, loc, keys.start, keys.end, c(nb, kKeys), inits);
    {
      OpBuilder lb = OpBuilder::atBlockBegin(tileLoop.getBody());
      Value tileStart = tileLoop.getInductionVar();
      ValueRange carried = tileLoop.getRegionIterArgs();
      SmallVector<Value> outFragments(carried.take_front(pieces));
      Value maxima[2] = {carried[pieces], carried[pieces + 1]};
      Value sums[2] = {carried[pieces + 2], carried[pieces + 3]};
      Value kTile = kTiles[0], vTile = vTiles[0];
      if (doubleBuffered) {
        Value first = carried[pieces + 4];
        auto pick = [&](Value *tiles, bool current) -> Value {
          return pickBuffer(lb, loc, first, tiles[0], tiles[1], current);
        };
        kTile = pick(kTiles, true);
        vTile = pick(vTiles, true);
        loadKeyTile(lb, add(lb, tileStart, kKeys), pick(kTiles, false),
                    pick(vTiles, false), /*pending=*/1);
      } else {
        loadKeyTile(lb, tileStart, kTile, vTile, /*pending=*/0);
      }
      gpu::BarrierOp::create(lb, loc);
      // The tiles as the shared memory they are on the GPU, for ldmatrix.
      Value kShared = viewAsShared(lb, loc, kTile);
      Value vShared = viewAsShared(lb, loc, vTile);

      // Scores of the tile's 64 keys: 8 pieces of 4 values per lane.
      SmallVector<Value> dots; // [piece][i][j]
      for (int64_t n = 0; n < kKeys / 8; ++n) {
        Value piece = scorePiece(lb, qFragments, kShared, n, lane);
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 2; ++j)
            dots.push_back(vector::ExtractOp::create(lb, loc, piece,
                                                     ArrayRef<int64_t>{i, j}));
      }
      // Scores in base 2 (times log2 e): the softmax then takes exp2,
      // one instruction on the GPU (exp is a range reduction around it),
      // and without a softcap the scale folds into the same product.
      auto finishScores = [&](OpBuilder &fb, bool masked) {
        Value log2e = f32Const(fb, loc, M_LOG2E);
        Value scaleLog2e = f32Const(fb, loc, scoring.scale * M_LOG2E);
        SmallVector<Value> finished;
        for (int64_t n = 0; n < kKeys / 8; ++n)
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 2; ++j) {
              Value dot = dots[(n * 2 + i) * 2 + j];
              Value score;
              if (!masked && !scoring.softcap) {
                finished.push_back(
                    arith::MulFOp::create(fb, loc, dot, scaleLog2e));
                continue;
              }
              if (masked) {
                Value key = arith::AddIOp::create(
                    fb, loc, tileStart, add(fb, pairColumn, 8 * n + j));
                score = masking.finish(fb, loc, rowQueries[i], rowHeads[i], key,
                                       dot);
              } else {
                score = buildScaledScore(fb, loc, dot, scoring);
              }
              finished.push_back(arith::MulFOp::create(fb, loc, score, log2e));
            }
        return finished;
      };
      // Without a mask, a tile whose every key every query of the block
      // sees (most tiles of a long causal prefill) only scales its scores;
      // the others also mask them. The condition is the block's.
      SmallVector<Value> scores;
      if (Value interior = isInteriorTile(lb, tileStart)) {
        auto branch = scf::IfOp::create(
            lb, loc, SmallVector<Type>(dots.size(), f32), interior,
            /*withElseRegion=*/true);
        for (auto [region, masked] :
             {std::pair(&branch.getThenRegion(), false),
              std::pair(&branch.getElseRegion(), true)}) {
          auto fb = OpBuilder::atBlockEnd(&region->front());
          scf::YieldOp::create(fb, loc, finishScores(fb, masked));
        }
        scores.assign(branch.getResults().begin(), branch.getResults().end());
      } else {
        scores = finishScores(lb, /*masked=*/true);
      }
      // The online softmax per row: the new maximum from the lanes' tile
      // maxima, the rescaling of what came before, the probabilities.
      Value alphas[2], bases[2];
      for (int64_t i = 0; i < 2; ++i) {
        Value tileMax = negInf;
        for (int64_t n = 0; n < kKeys / 8; ++n)
          for (int64_t j = 0; j < 2; ++j)
            tileMax = arith::MaximumFOp::create(lb, loc, tileMax,
                                                scores[(n * 2 + i) * 2 + j]);
        Value newMax = arith::MaximumFOp::create(
            lb, loc, maxima[i], quadReduce(lb, tileMax, /*max=*/true));
        bases[i] = finiteMax(lb, loc, newMax);
        alphas[i] = math::Exp2Op::create(
            lb, loc, arith::SubFOp::create(lb, loc, maxima[i], bases[i]));
        maxima[i] = newMax;
      }
      SmallVector<Value> probs(scores.size());
      Value laneSums[2] = {zero, zero};
      for (int64_t n = 0; n < kKeys / 8; ++n)
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 2; ++j) {
            int64_t at = (n * 2 + i) * 2 + j;
            probs[at] = math::Exp2Op::create(
                lb, loc, arith::SubFOp::create(lb, loc, scores[at], bases[i]));
            laneSums[i] =
                arith::AddFOp::create(lb, loc, laneSums[i], probs[at]);
          }
      for (int64_t i = 0; i < 2; ++i)
        sums[i] = arith::AddFOp::create(
            lb, loc, arith::MulFOp::create(lb, loc, sums[i], alphas[i]),
            laneSums[i]);
      // O = O * alpha + P V, P as A fragments of 16 keys each (rounded to
      // the operands' 16-bit type).
      Value alphaFragment = vector::FromElementsOp::create(
          lb, loc, VectorType::get({2, 2}, f32),
          ValueRange{alphas[0], alphas[0], alphas[1], alphas[1]});
      for (Value &fragment : outFragments)
        fragment = arith::MulFOp::create(lb, loc, fragment, alphaFragment);
      for (int64_t kk = 0; kk < kKeys / 16; ++kk) {
        SmallVector<Value> elements;
        for (int64_t half = 0; half < 2; ++half)
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 2; ++j)
              elements.push_back(arith::TruncFOp::create(
                  lb, loc, element, probs[((2 * kk + half) * 2 + i) * 2 + j]));
        Value pFragment = vector::FromElementsOp::create(
            lb, loc, VectorType::get({4, 2}, element), elements);
        for (int64_t n = 0; n < pieces; n += 2) {
          auto [first, second] = valueFragments(lb, vShared, kk, n, lane);
          outFragments[n] = mma(lb, pFragment, first, outFragments[n]);
          outFragments[n + 1] = mma(lb, pFragment, second, outFragments[n + 1]);
        }
      }
      // Nobody overwrites the tiles before every warp is done with them.
      gpu::BarrierOp::create(lb, loc);
      SmallVector<Value> next(outFragments);
      next.append({maxima[0], maxima[1], sums[0], sums[1]});
      if (doubleBuffered)
        next.push_back(swapBuffers(lb, loc, carried[pieces + 4]));
      scf::YieldOp::create(lb, loc, next);
    }

    // The rows of the result (O / sum, 0 for a row without visible keys)
    // and lse, or with splits the split's unnormalised rows, maxima and
    // sums; the lanes of a row hold 2 of each 8 channels.
    ValueRange results = tileLoop.getResults();
    for (int64_t i = 0; i < 2; ++i) {
      Value sum = quadReduce(nb, results[pieces + 2 + i], /*max=*/false);
      Value m = results[pieces + i];
      Value isEmpty =
          arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ, sum, zero);
      // One division per row; the channels multiply by its reciprocal.
      Value inverse =
          splits > 1
              ? Value()
              : arith::DivFOp::create(nb, loc, f32Const(nb, loc, 1.0), sum)
                    .getResult();
      scf::IfOp::create(nb, loc, rowValid[i], [&](OpBuilder &tb, Location) {
        // Pairs of channels 8 n + 2t, 8 n + 2t + 1: one store.
        for (int64_t n = 0; n < pieces; ++n) {
          SmallVector<Value> pair;
          for (int64_t j = 0; j < 2; ++j) {
            Value o = vector::ExtractOp::create(tb, loc, results[n],
                                                ArrayRef<int64_t>{i, j});
            if (splits > 1) {
              pair.push_back(o);
              continue;
            }
            Value value = arith::SelectOp::create(
                tb, loc, isEmpty, zero,
                arith::MulFOp::create(tb, loc, o, inverse));
            pair.push_back(truncateFromF32(tb, loc, value, outElement));
          }
          Value channel = add(tb, pairColumn, 8 * n);
          if (splits > 1) {
            vector::StoreOp::create(
                tb, loc,
                vector::FromElementsOp::create(tb, loc,
                                               VectorType::get({2}, f32), pair),
                parts.out,
                ValueRange{split, batchIndex, rowQueries[i], rowHeads[i],
                           channel});
            continue;
          }
          vector::StoreOp::create(
              tb, loc,
              vector::FromElementsOp::create(
                  tb, loc, VectorType::get({2}, outElement), pair),
              out, ValueRange{batchIndex, rowQueries[i], rowHeads[i], channel});
        }
        if (!withLse && splits == 1) {
          scf::YieldOp::create(tb, loc);
          return;
        }
        Value firstLane = arith::CmpIOp::create(
            tb, loc, arith::CmpIPredicate::eq, pairColumn, c(tb, 0));
        scf::IfOp::create(tb, loc, firstLane, [&](OpBuilder &fb, Location) {
          if (splits > 1) {
            ValueRange at{split, batchIndex, rowHeads[i], rowQueries[i]};
            memref::StoreOp::create(fb, loc, m, parts.max, at);
            memref::StoreOp::create(fb, loc, sum, parts.sum, at);
            scf::YieldOp::create(fb, loc);
            return;
          }
          Value noKeys = arith::CmpFOp::create(
              fb, loc, arith::CmpFPredicate::OEQ, m, negInf);
          // The maxima are in base 2: lse = m ln 2 + ln(sum).
          Value value = arith::SelectOp::create(
              fb, loc, noKeys, m,
              math::FmaOp::create(fb, loc, m, f32Const(fb, loc, M_LN2),
                                  math::LogOp::create(fb, loc, sum)));
          memref::StoreOp::create(
              fb, loc, value, lse,
              ValueRange{batchIndex, rowHeads[i], rowQueries[i]});
          scf::YieldOp::create(fb, loc);
        });
        scf::YieldOp::create(tb, loc);
      });
    }
  });

  b.setInsertionPointAfter(grid);
  if (splits > 1)
    mergeKeySplits(b, loc, io, parts, b.getIndexAttr(splits), numHeads,
                   valueDim, /*maximaInBase2=*/true);
  return getAttentionResults(b, op, io);
}

} // namespace

std::optional<SmallVector<Value>> weft::lowerAttentionInRegisters(
    AttentionOp op, Value q, Value k, Value v, Value mask, Value kvLen,
    OpFoldResult batch, OpFoldResult seqQ, OpFoldResult seqK,
    int64_t sharedBytes, ConversionPatternRewriter &rewriter) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  int64_t headDim = qType.getDimSize(3), valueDim = vType.getDimSize(3);
  int64_t group = op.getGroupSize();
  // f16 or bf16 operands, all of one type (the products' fragments).
  Type element = qType.getElementType();
  bool sixteenBit = (element.isF16() || element.isBF16()) &&
                    kType.getElementType() == element &&
                    vType.getElementType() == element;
  if (!sixteenBit || headDim % 16 || valueDim % 16 || headDim > kMaxHeadDim ||
      valueDim > kMaxHeadDim || kRows % group)
    return std::nullopt;
  int64_t tileBytes = kKeys * (headDim + kPad + valueDim + kPad) * 2;
  if (tileBytes > sharedBytes)
    return std::nullopt;
  // Few blocks over many key tiles: the keys split across blocks, at least
  // two tiles each (static sizes only).
  int64_t splits = 1, splitKeys = 0;
  std::optional<int64_t> seqQSize = getConstantIntValue(seqQ);
  std::optional<int64_t> seqKSize = getConstantIntValue(seqK);
  if (seqQSize && seqKSize) {
    int64_t blocks = getConstantIntValue(batch).value_or(1) *
                     kType.getDimSize(2) * ceilDiv(*seqQSize, kRows / group);
    int64_t tiles = ceilDiv(*seqKSize, kKeys);
    if (blocks < kMinBlocks && tiles >= kSplitTiles) {
      int64_t wanted = std::min(ceilDiv(2 * kMinBlocks, blocks), tiles / 2);
      int64_t tilesPerSplit = ceilDiv(tiles, wanted);
      splits = ceilDiv(tiles, tilesPerSplit);
      splitKeys = tilesPerSplit * kKeys;
    }
  }
  return RegisterAttention(op, rewriter,
                           /*doubleBuffered=*/2 * tileBytes <= sharedBytes,
                           splits, splitKeys)
      .build(q, k, v, mask, kvLen, batch, seqQ, seqK);
}
