//===- AttentionBlocks.cpp - weft.attention as GPU thread blocks ----------===//
//
// The flash-attention form for GPUs, written as two levels of scf.forall:
// the outer loop is the grid (#gpu.block: one block per batch and kv head,
// block of queries and split of the keys), the inner loops are the phases of
// a block (#gpu.thread, a barrier after each). A block keeps its query rows
// (every head of the kv group, so K and V are read once per group), a tile
// of keys and of values, the tile's scores and the f32 accumulator in
// block-local buffers (shared memory on the GPU) and walks the keys it can
// see tile by tile with an online softmax. With few blocks (decoding) the
// keys are split across blocks and a second grid merges the splits through
// their row maxima and sums, as flash decoding does.
//
// The same loops run on the CPU (the mapping attributes are only read by the
// GPU pipeline), which is how the arithmetic is tested without a GPU.
//
//===----------------------------------------------------------------------===//

#include "AttentionKeys.h"
#include "AttentionLowering.h"
#include "BlockLoops.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
/// Threads of a block of the main grid and of the merging grid.
constexpr int64_t kThreads = 256;
constexpr int64_t kWarpSize = 32;
/// Scores per run in the softmax steps (key tiles have at least 8 keys).
constexpr int64_t kKeysPerRun = 8;
/// Shared memory a CUDA kernel gets without opting in to more: with a
/// larger budget the tensor-core tiles start at kLargeTile rows and keys.
constexpr int64_t kStaticSharedBytes = 48 * 1024;
constexpr int64_t kLargeTile = 64;
/// Blocks that keep an H100 (132 SMs) busy; fewer make the keys split.
constexpr int64_t kBlocksToFill = 264;
/// With tensor cores a row's reference maximum only moves up when the
/// tile's maximum exceeds it by more than this (ln 256): probabilities stay
/// within 256 (exact enough in f16, far from overflow in f32), and most key
/// tiles leave the accumulator as it is instead of rescaling it.
constexpr float kRescaleThreshold = 5.545177444479562f;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// A thread's register tile of an [extent0, extent1] phase: the largest
/// (m0, m1) with m0 | extent0, m1 | extent1 and m0, m1 <= 4 that still gives
/// every thread of the block an item. Each item loads m0 + m1 values per
/// step of its inner loop for m0 x m1 products (1 x 1 loads two per product).
std::pair<int64_t, int64_t> registerTile(int64_t extent0, int64_t extent1,
                                         int64_t threads) {
  std::pair<int64_t, int64_t> best = {1, 1};
  for (int64_t m0 : {1, 2, 4})
    for (int64_t m1 : {1, 2, 4}) {
      if (extent0 % m0 || extent1 % m1 ||
          extent0 / m0 * (extent1 / m1) < threads)
        continue;
      // More products per load; of equal tiles, the squarer loads less.
      int64_t size = m0 * m1, bestSize = best.first * best.second;
      if (size > bestSize ||
          (size == bestSize && m0 + m1 < best.first + best.second))
        best = {m0, m1};
    }
  return best;
}

/// How a block's work is cut.
struct BlockShape {
  int64_t queries; // query positions per block
  int64_t rows;    // query rows: queries x heads of the kv group
  int64_t keys;    // keys per tile
  int64_t pad;     // elements after each row of the K/V (and f16 Q/P) tiles
  /// Scalar products: elements of a K row each thread reads at once (16
  /// bytes where the head dim allows, 1 otherwise).
  int64_t keyVector = 1;
  int64_t splits; // blocks that share the keys of one query block
  int64_t tilesPerSplit;
  /// Q.K^T and P.V as warp-level 16x16x16 f16 products with f32
  /// accumulation (tensor cores on the GPU); Q and P are then f16 tiles.
  bool tensorCores;
  /// Two K and two V tiles: the next key tile loads (asynchronously on the
  /// GPU) while the block works on the current one.
  bool doubleBuffered = false;
};

/// Side of the warp-level matrix tiles.
constexpr int64_t kMmaTile = kMatrixTile;

/// Block-local bytes of a shape.
int64_t sharedBytes(const BlockShape &s, int64_t headDim, int64_t valueDim,
                    int64_t elementBytes) {
  int64_t keyTiles = s.doubleBuffered ? 2 : 1;
  int64_t bytes = s.rows * valueDim * 4 + s.rows * s.keys * 4 +
                  keyTiles * s.keys * (headDim + s.pad) * elementBytes +
                  keyTiles * s.keys * (valueDim + s.pad) * elementBytes +
                  4 * s.rows * 4 + 2 * s.rows * (s.keys / kKeysPerRun) * 4 + 4;
  if (s.tensorCores)
    return bytes + s.rows * (headDim + s.pad) * 2 +
           s.rows * (s.keys + s.pad) * 2;
  return bytes + s.rows * headDim * 4;
}

class BlockedAttention {
public:
  BlockedAttention(AttentionOp op, ConversionPatternRewriter &rewriter,
                   const BlockShape &shape)
      : op(op), b(rewriter), loc(op.getLoc()), scoring(op), shape(shape),
        f32(rewriter.getF32Type()) {}

  SmallVector<Value> build(Value q, Value k, Value v, Value mask, Value kvLen,
                           OpFoldResult batch, OpFoldResult seqQ,
                           OpFoldResult seqK);

private:
  Value c(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  /// A block-local buffer (shared memory on the GPU).
  Value blockLocal(ArrayRef<int64_t> sizes, Type type) {
    return memref::AllocOp::create(b, loc, MemRefType::get(sizes, type));
  }
  void threads(int64_t count, function_ref<void(OpBuilder &, Value)> body) {
    createThreadLoop(b, loc, count, body);
  }

  AttentionOp op;
  ConversionPatternRewriter &b;
  Location loc;
  AttentionScoring scoring;
  BlockShape shape;
  Type f32;
};

SmallVector<Value> BlockedAttention::build(Value q, Value k, Value v,
                                           Value mask, Value kvLen,
                                           OpFoldResult batch,
                                           OpFoldResult seqQ,
                                           OpFoldResult seqK) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  auto outType = cast<RankedTensorType>(op.getOutput().getType());
  Type outElement = outType.getElementType();
  int64_t numHeads = qType.getDimSize(2), headDim = qType.getDimSize(3);
  int64_t numKvHeads = kType.getDimSize(2), valueDim = vType.getDimSize(3);
  int64_t group = scoring.group;
  int64_t rows = shape.rows, keys = shape.keys, splits = shape.splits;
  bool withLse = static_cast<bool>(op.getLse());

  AttentionIO io =
      prepareAttentionIO(b, op, q, k, v, mask, kvLen, batch, seqQ, seqK);
  Value qBuf = io.q, kBuf = io.k, vBuf = io.v, maskBuf = io.mask;
  Value kvLenBuf = io.kvLen, batchValue = io.batch, seqQValue = io.seqQ;
  Value seqKValue = io.seqK, out = io.out, lse = io.lse;

  // With several splits, each split's partial rows.
  OpFoldResult splitSize = b.getIndexAttr(splits);
  KeySplitParts parts;
  if (splits > 1)
    parts = allocateKeySplitParts(b, loc, splitSize, batch, seqQ, numHeads,
                                  valueDim);
  Value partOut = parts.out, partMax = parts.max, partSum = parts.sum;

  Value zero = f32Const(b, loc, 0.0), negInf = f32Const(b, loc, kNegInf);
  Value queryBlocks =
      arith::CeilDivUIOp::create(b, loc, seqQValue, c(shape.queries));
  Value batchHeads = arith::MulIOp::create(b, loc, batchValue, c(numKvHeads));
  OpBuilder::InsertionGuard guard(b);
  scf::ForallOp grid =
      createGridLoop(b, loc, {batchHeads, queryBlocks, splitSize});
  Value batchIndex =
      arith::DivUIOp::create(b, loc, grid.getInductionVar(0), c(numKvHeads));
  Value kvHead =
      arith::RemUIOp::create(b, loc, grid.getInductionVar(0), c(numKvHeads));
  Value firstQuery =
      arith::MulIOp::create(b, loc, grid.getInductionVar(1), c(shape.queries));
  Value split = grid.getInductionVar(2);

  // Block-local buffers: heap buffers of each block on the CPU (freed by
  // the deallocation pass), shared memory on the GPU
  // (weft-map-forall-to-gpu).
  Type kElement = kType.getElementType(), vElement = vType.getElementType();
  bool mma = shape.tensorCores;
  Type f16 = b.getF16Type();
  // Matrix operands stay f16 (padded rows); the scalar form keeps Q in f32.
  Value qTile = mma ? blockLocal({rows, headDim + shape.pad}, f16)
                    : blockLocal({rows, headDim}, f32);
  Value probs = mma ? blockLocal({rows, keys + shape.pad}, f16) : Value();
  bool twoTiles = shape.doubleBuffered;
  Value kTiles[2], vTiles[2];
  for (int i = 0; i < (twoTiles ? 2 : 1); ++i) {
    kTiles[i] = blockLocal({keys, headDim + shape.pad}, kElement);
    vTiles[i] = blockLocal({keys, valueDim + shape.pad}, vElement);
  }
  Value scores = blockLocal({rows, keys}, f32);
  Value acc = blockLocal({rows, valueDim}, f32);
  Value rowMax = blockLocal({rows}, f32);
  Value rowSum = blockLocal({rows}, f32);
  Value rescale = blockLocal({rows}, f32);
  // Tensor cores: whether some row's reference maximum moved in this tile
  // (then the accumulator is rescaled).
  Value anyRescale = mma ? blockLocal({1}, b.getI32Type()) : Value();
  // Maxima and sums of runs of kKeysPerRun scores of each row, and the
  // rows' reference maxima after the tile (rowMax until the row sums are
  // updated).
  Value runMaxima = blockLocal({rows, keys / kKeysPerRun}, f32);
  Value runSums = blockLocal({rows, keys / kKeysPerRun}, f32);
  Value nextMax = blockLocal({rows}, f32);

  // Row r is query firstQuery + r / G of head kvHead * G + r % G.
  auto rowQuery = [&](OpBuilder &nb, Value r) -> Value {
    Value offset = arith::DivUIOp::create(nb, loc, r, c(group));
    return arith::AddIOp::create(nb, loc, firstQuery, offset);
  };
  auto rowHead = [&](OpBuilder &nb, Value r) -> Value {
    Value g = arith::RemUIOp::create(nb, loc, r, c(group));
    return arith::AddIOp::create(
        nb, loc, arith::MulIOp::create(nb, loc, kvHead, c(group)), g);
  };
  auto lessThan = [&](OpBuilder &nb, Value x, Value y) -> Value {
    return arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::slt, x, y);
  };
  auto split2 = [&](OpBuilder &nb, Value item, int64_t inner) {
    return std::make_pair(
        Value(arith::DivUIOp::create(nb, loc, item, c(inner))),
        Value(arith::RemUIOp::create(nb, loc, item, c(inner))));
  };

  // base, base + stride, ..., count of them: the rows or columns of a
  // thread's register tile.
  auto offsets = [&](OpBuilder &nb, Value base, int64_t count, int64_t stride) {
    SmallVector<Value> values;
    for (int64_t i = 0; i < count; ++i)
      values.push_back(arith::AddIOp::create(nb, loc, base, c(i * stride)));
    return values;
  };

  // A thread's register tile of a product over `extent` steps i: with
  // x_a = lhs[rows[a], i] and y_b = rhs[cols[b], i] (rhsByColumn) or
  // rhs[i, cols[b]], sums[a][b] += x_a * y_b. skipZeroLhs leaves out the
  // terms whose x_a is 0 (a key that is not visible adds nothing, also
  // where its value is not finite).
  auto registerTileProduct =
      [&](OpBuilder &nb, ValueRange inits, int64_t extent, Value lhs,
          ArrayRef<Value> rows, Value rhs, ArrayRef<Value> cols,
          bool rhsByColumn, bool skipZeroLhs) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(
        nb, loc, c(0), c(extent), c(1), inits,
        [&](OpBuilder &lb, Location, Value i, ValueRange sums) {
          SmallVector<Value> xs, ys, next;
          for (Value r : rows)
            xs.push_back(extendToF32(
                lb, loc,
                memref::LoadOp::create(lb, loc, lhs, ValueRange{r, i})));
          for (Value col : cols) {
            SmallVector<Value, 2> at = {col, i};
            if (!rhsByColumn)
              std::swap(at[0], at[1]);
            ys.push_back(
                extendToF32(lb, loc, memref::LoadOp::create(lb, loc, rhs, at)));
          }
          for (size_t a = 0; a < xs.size(); ++a) {
            Value isZero =
                skipZeroLhs
                    ? arith::CmpFOp::create(lb, loc, arith::CmpFPredicate::OEQ,
                                            xs[a], zero)
                    : Value();
            for (size_t q = 0; q < ys.size(); ++q) {
              Value term = arith::MulFOp::create(lb, loc, xs[a], ys[q]);
              if (isZero)
                term = arith::SelectOp::create(lb, loc, isZero, zero, term);
              next.push_back(arith::AddFOp::create(
                  lb, loc, sums[a * ys.size() + q], term));
            }
          }
          scf::YieldOp::create(lb, loc, next);
        });
    return SmallVector<Value>(loop.getResults());
  };

  auto warpTiles = [&](int64_t tilesM, int64_t tilesN,
                       function_ref<void(OpBuilder &, Value, Value)> fn) {
    forEachWarpTile(b, loc, kThreads, tilesM, tilesN, fn);
  };

  // The keys this block reads: those some query of the block can see (at
  // most the valid length, kv_len), and of those, its split's.
  BlockKeys blockKeys =
      computeBlockKeys(b, loc, scoring, firstQuery, shape.queries, seqQValue,
                       seqKValue, kvLenBuf, batchIndex);
  Value keyStart = blockKeys.start, keyEnd = blockKeys.end;
  if (splits > 1) {
    Value splitKeys = c(shape.tilesPerSplit * keys);
    Value splitStart = arith::MulIOp::create(b, loc, split, splitKeys);
    keyStart = arith::MaxSIOp::create(b, loc, keyStart, splitStart);
    keyEnd = arith::MinSIOp::create(
        b, loc, keyEnd, arith::AddIOp::create(b, loc, splitStart, splitKeys));
  }
  blockKeys.start = keyStart;
  blockKeys.end = keyEnd;
  ScoreMasking masking{scoring, blockKeys,  seqQValue,
                       maskBuf, batchIndex, static_cast<bool>(kvLen)};

  // In a thread loop: the key tile from `tileStart` into the K and V tiles
  // (zeros past the block's keys), copies that may be asynchronous.
  auto loadKeyTile = [&](OpBuilder &nb, Value t, Value tileStart, Value kTile,
                         Value vTile, int64_t pending) {
    loadKeyValueTiles(nb, loc, t, kThreads, kBuf, vBuf, kTile, vTile, keys,
                      batchIndex, kvHead, tileStart, keyEnd, pending);
  };

  // Phase 0: the block's query rows (zeros past Sq), empty accumulators.
  threads(kThreads, [&](OpBuilder &nb, Value t) {
    forEachItem(
        nb, loc, t, rows * headDim, kThreads, [&](OpBuilder &fb, Value i) {
          auto [r, d] = split2(fb, i, headDim);
          Value query = rowQuery(fb, r);
          Value value = loadF32If(fb, loc, lessThan(fb, query, seqQValue), qBuf,
                                  {batchIndex, query, rowHead(fb, r), d}, zero);
          if (mma) // exact: the value came from f16
            value = arith::TruncFOp::create(fb, loc, f16, value);
          memref::StoreOp::create(fb, loc, value, qTile, ValueRange{r, d});
        });
    forEachItem(nb, loc, t, rows * valueDim, kThreads,
                [&](OpBuilder &fb, Value i) {
                  auto [r, e] = split2(fb, i, valueDim);
                  memref::StoreOp::create(fb, loc, zero, acc, ValueRange{r, e});
                });
    forEachItem(nb, loc, t, rows, kThreads, [&](OpBuilder &fb, Value r) {
      memref::StoreOp::create(fb, loc, negInf, rowMax, r);
      memref::StoreOp::create(fb, loc, zero, rowSum, r);
    });
    // Double-buffered: the first key tile, to land while the loop's first
    // phase loads the second.
    if (twoTiles)
      loadKeyTile(nb, t, keyStart, kTiles[0], vTiles[0], /*pending=*/1);
  });

  // Thread 0 clears the flag that the rows' maxima set.
  auto clearRescaleFlag = [&](OpBuilder &nb, Value t) {
    if (!anyRescale)
      return;
    Value first =
        arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::eq, t, c(0));
    scf::IfOp::create(nb, loc, first, [&](OpBuilder &tb, Location) {
      memref::StoreOp::create(tb, loc,
                              arith::ConstantIntOp::create(tb, loc, 0, 32),
                              anyRescale, ValueRange{c(0)});
      scf::YieldOp::create(tb, loc);
    });
  };

  // Double-buffered, the loop carries which of the two tiles is current.
  Value firstIsCurrent = firstIsCurrentInit(b, loc);
  auto tileLoop =
      scf::ForOp::create(b, loc, keyStart, keyEnd, c(keys),
                         twoTiles ? ValueRange{firstIsCurrent} : ValueRange{});
  {
    OpBuilder::InsertionGuard loopGuard(b);
    b.setInsertionPointToStart(tileLoop.getBody());
    Value tileStart = tileLoop.getInductionVar();
    Value kTile = kTiles[0], vTile = vTiles[0];
    if (twoTiles) {
      Value first = tileLoop.getRegionIterArg(0);
      auto pick = [&](Value *tiles, bool current) -> Value {
        return pickBuffer(b, loc, first, tiles[0], tiles[1], current);
      };
      kTile = pick(kTiles, true);
      vTile = pick(vTiles, true);
      Value kNext = pick(kTiles, false), vNext = pick(vTiles, false);
      // Phase 1: the next key tile into the other buffers; this thread's
      // copies of the current one have landed at the end of the phase.
      threads(kThreads, [&](OpBuilder &nb, Value t) {
        loadKeyTile(nb, t, arith::AddIOp::create(nb, loc, tileStart, c(keys)),
                    kNext, vNext, /*pending=*/1);
        clearRescaleFlag(nb, t);
      });
    } else {
      // Phase 1: the tile of K and V.
      threads(kThreads, [&](OpBuilder &nb, Value t) {
        loadKeyTile(nb, t, tileStart, kTile, vTile, /*pending=*/0);
        clearRescaleFlag(nb, t);
      });
    }

    // Phase 2 with tensor cores: each warp computes 16x16 tiles of Q.K^T
    // (K's rows are B^T's), into the score tile.
    if (mma) {
      warpTiles(rows / kMmaTile, keys / kMmaTile,
                [&](OpBuilder &wb, Value m0, Value n0) {
                  AccumulatorTile product = multiplyMatrixTiles(
                      wb, loc, zeroAccumulatorTile(wb, loc), qTile, m0, kTile,
                      n0, headDim, /*transposeB=*/true);
                  writeAccumulatorTile(wb, loc, product, scores, m0, n0);
                });
    }
    // The score of row r and key j of the tile from its dot product: scaled
    // (and capped), masked, -inf where the key is not visible.
    auto finishScore = [&](OpBuilder &fb, Value r, Value j,
                           Value dot) -> Value {
      return masking.finish(fb, loc, rowQuery(fb, r), rowHead(fb, r),
                            arith::AddIOp::create(fb, loc, tileStart, j), dot);
    };
    // The dot products of query rows `rs` and key rows `js` of the tiles,
    // `width` elements of each row at a time (one 16-byte read of a K row):
    // per pair a vector of partial sums, added up at the end.
    auto vectorTileDots = [&](OpBuilder &nb, ArrayRef<Value> rs,
                              ArrayRef<Value> js,
                              int64_t width) -> SmallVector<Value> {
      auto sumType = VectorType::get({width}, f32);
      Value zeros = arith::ConstantOp::create(
          nb, loc, DenseElementsAttr::get(sumType, nb.getF32FloatAttr(0.0)));
      auto read = [&](OpBuilder &lb, Value tile, Value row, Value i) -> Value {
        Type element = cast<MemRefType>(tile.getType()).getElementType();
        Value piece = vector::TransferReadOp::create(
            lb, loc, VectorType::get({width}, element), tile,
            ValueRange{row, i}, /*padding=*/std::nullopt, ArrayRef<bool>{true});
        return element == f32 ? piece
                              : arith::ExtFOp::create(lb, loc, sumType, piece);
      };
      auto loop = scf::ForOp::create(
          nb, loc, c(0), c(headDim), c(width),
          SmallVector<Value>(rs.size() * js.size(), zeros),
          [&](OpBuilder &lb, Location, Value i, ValueRange sums) {
            SmallVector<Value> xs, ys, next;
            for (Value r : rs)
              xs.push_back(read(lb, qTile, r, i));
            for (Value j : js)
              ys.push_back(read(lb, kTile, j, i));
            for (size_t a = 0; a < xs.size(); ++a)
              for (size_t q = 0; q < ys.size(); ++q)
                next.push_back(vector::FMAOp::create(lb, loc, xs[a], ys[q],
                                                     sums[a * ys.size() + q]));
            scf::YieldOp::create(lb, loc, next);
          });
      SmallVector<Value> dots;
      for (Value sum : loop.getResults())
        dots.push_back(vector::ReductionOp::create(
            nb, loc, vector::CombiningKind::ADD, sum));
      return dots;
    };
    // Phase 2 (scalar products): scores. A thread computes an [mr, mk]
    // register tile of them, rows r0 + a * rows / mr and keys j0 + b *
    // keys / mk, so that it reuses each loaded query and key value and
    // neighbouring threads read neighbouring rows of K. With tensor cores
    // the products are in the score tile already, and the first softmax
    // step finishes the scores.
    if (!mma) {
      auto [mr, mk] = registerTile(rows, keys, kThreads);
      int64_t rowStride = rows / mr, keyStride = keys / mk;
      int64_t width = shape.keyVector;
      threads(kThreads, [&](OpBuilder &nb, Value t) {
        forEachItem(nb, loc, t, rowStride * keyStride, kThreads,
                    [&](OpBuilder &fb, Value i) {
                      auto [r0, j0] = split2(fb, i, keyStride);
                      SmallVector<Value> rs = offsets(fb, r0, mr, rowStride);
                      SmallVector<Value> js = offsets(fb, j0, mk, keyStride);
                      SmallVector<Value> dots =
                          width > 1 ? vectorTileDots(fb, rs, js, width)
                                    : registerTileProduct(
                                          fb, SmallVector<Value>(mr * mk, zero),
                                          headDim, qTile, rs, kTile, js,
                                          /*rhsByColumn=*/true,
                                          /*skipZeroLhs=*/false);
                      for (int64_t a = 0; a < mr; ++a)
                        for (int64_t q = 0; q < mk; ++q)
                          memref::StoreOp::create(
                              fb, loc,
                              finishScore(fb, rs[a], js[q], dots[a * mk + q]),
                              scores, ValueRange{rs[a], js[q]});
                    });
      });
    }

    // Phase 3: the online softmax, in steps so that no thread walks a whole
    // row: (a) maxima of runs of kKeysPerRun scores; (b) the row's new
    // maximum and the rescaling of what came before, and (c) the run's
    // probabilities and their sums, one phase; (d) per row, the new sum
    // (with the accumulator's rescaling on tensor cores).
    int64_t runs = keys / kKeysPerRun;
    auto overRuns =
        [&](function_ref<void(OpBuilder &, Value, Value, Value)> fn) {
          threads(kThreads, [&](OpBuilder &nb, Value t) {
            forEachItem(
                nb, loc, t, rows * runs, kThreads, [&](OpBuilder &fb, Value i) {
                  auto [r, run] = split2(fb, i, runs);
                  fn(fb, r, run,
                     arith::MulIOp::create(fb, loc, run, c(kKeysPerRun)));
                });
          });
        };
    auto overRows = [&](function_ref<void(OpBuilder &, Value)> fn) {
      threads(kThreads, [&](OpBuilder &nb, Value t) {
        forEachItem(nb, loc, t, rows, kThreads, fn);
      });
    };
    overRuns([&](OpBuilder &fb, Value r, Value run, Value first) {
      Value m = accumulate(
          fb, loc, c(kKeysPerRun), negInf,
          [&](OpBuilder &mb, Value k, Value acc) -> Value {
            Value j = arith::AddIOp::create(mb, loc, first, k);
            Value s = memref::LoadOp::create(mb, loc, scores, ValueRange{r, j});
            if (mma) {
              s = finishScore(mb, r, j, s);
              memref::StoreOp::create(mb, loc, s, scores, ValueRange{r, j});
            }
            return arith::MaximumFOp::create(mb, loc, acc, s);
          });
      memref::StoreOp::create(fb, loc, m, runMaxima, ValueRange{r, run});
    });
    // (b) and (c) in one phase: each run's thread finds its row's new
    // reference maximum from the run maxima (the same in every thread of
    // the row), turns its run into probabilities and sums them; the row's
    // first run also records the maximum (for (d) to store: rowMax is read
    // here) and the rescaling of what came before.
    overRuns([&](OpBuilder &fb, Value r, Value run, Value first) {
      Value oldMax = memref::LoadOp::create(fb, loc, rowMax, r);
      Value newMax =
          accumulate(fb, loc, c(runs), oldMax,
                     [&](OpBuilder &mb, Value other, Value m) -> Value {
                       Value s = memref::LoadOp::create(mb, loc, runMaxima,
                                                        ValueRange{r, other});
                       return arith::MaximumFOp::create(mb, loc, m, s);
                     });
      Value moves;
      if (mma) {
        // The reference maximum moves only by more than the threshold (and
        // from -inf to the first visible score); the flag tells the threads
        // to rescale the accumulator.
        moves = arith::CmpFOp::create(
            fb, loc, arith::CmpFPredicate::OGT, newMax,
            arith::AddFOp::create(fb, loc, oldMax,
                                  f32Const(fb, loc, kRescaleThreshold)));
        newMax = arith::SelectOp::create(fb, loc, moves, newMax, oldMax);
      }
      Value base = finiteMax(fb, loc, newMax);
      Value sum = accumulate(
          fb, loc, c(kKeysPerRun), zero,
          [&](OpBuilder &sb, Value k, Value acc) -> Value {
            Value j = arith::AddIOp::create(sb, loc, first, k);
            Value s = memref::LoadOp::create(sb, loc, scores, ValueRange{r, j});
            Value p = math::ExpOp::create(
                sb, loc, arith::SubFOp::create(sb, loc, s, base));
            // The tensor-core products read P from its f16 tile only.
            if (mma)
              memref::StoreOp::create(sb, loc,
                                      arith::TruncFOp::create(sb, loc, f16, p),
                                      probs, ValueRange{r, j});
            else
              memref::StoreOp::create(sb, loc, p, scores, ValueRange{r, j});
            return arith::AddFOp::create(sb, loc, acc, p);
          });
      memref::StoreOp::create(fb, loc, sum, runSums, ValueRange{r, run});
      Value firstRun =
          arith::CmpIOp::create(fb, loc, arith::CmpIPredicate::eq, run, c(0));
      scf::IfOp::create(fb, loc, firstRun, [&](OpBuilder &tb, Location) {
        memref::StoreOp::create(tb, loc, newMax, nextMax, r);
        memref::StoreOp::create(
            tb, loc,
            math::ExpOp::create(tb, loc,
                                arith::SubFOp::create(tb, loc, oldMax, base)),
            rescale, r);
        if (moves)
          scf::IfOp::create(tb, loc, moves, [&](OpBuilder &mb, Location) {
            memref::StoreOp::create(
                mb, loc, arith::ConstantIntOp::create(mb, loc, 1, 32),
                anyRescale, ValueRange{c(0)});
            scf::YieldOp::create(mb, loc);
          });
        scf::YieldOp::create(tb, loc);
      });
    });
    // (d): the new row sum, from the run sums and the rescaled old sum,
    // and the new reference maximum.
    auto updateRowSum = [&](OpBuilder &fb, Value r) {
      Value tileSum = accumulate(
          fb, loc, c(runs), zero,
          [&](OpBuilder &sb, Value run, Value acc) -> Value {
            return arith::AddFOp::create(
                sb, loc, acc,
                memref::LoadOp::create(sb, loc, runSums, ValueRange{r, run}));
          });
      memref::StoreOp::create(
          fb, loc, memref::LoadOp::create(fb, loc, nextMax, r), rowMax, r);
      Value oldSum = memref::LoadOp::create(fb, loc, rowSum, r);
      Value alpha = memref::LoadOp::create(fb, loc, rescale, r);
      memref::StoreOp::create(
          fb, loc,
          arith::AddFOp::create(
              fb, loc, arith::MulFOp::create(fb, loc, oldSum, alpha), tileSum),
          rowSum, r);
    };
    if (!mma)
      overRows(updateRowSum);

    if (mma) {
      // Phase 4 with tensor cores: the threads rescale acc where some row's
      // reference maximum moved (and the first ones finish the row sums,
      // step (d)), then each warp adds P.V to 16x16 tiles of it (P rounded
      // to f16, as the matrix units take it). Keys past the block's range
      // have zero values.
      threads(kThreads, [&](OpBuilder &nb, Value t) {
        forEachItem(nb, loc, t, rows, kThreads, updateRowSum);
        Value moved = arith::CmpIOp::create(
            nb, loc, arith::CmpIPredicate::ne,
            memref::LoadOp::create(nb, loc, anyRescale, ValueRange{c(0)}),
            arith::ConstantIntOp::create(nb, loc, 0, 32));
        scf::IfOp::create(nb, loc, moved, [&](OpBuilder &tb, Location) {
          forEachItem(
              tb, loc, t, rows * valueDim, kThreads,
              [&](OpBuilder &fb, Value i) {
                auto [r, e] = split2(fb, i, valueDim);
                Value scaled = arith::MulFOp::create(
                    fb, loc,
                    memref::LoadOp::create(fb, loc, acc, ValueRange{r, e}),
                    memref::LoadOp::create(fb, loc, rescale, r));
                memref::StoreOp::create(fb, loc, scaled, acc, ValueRange{r, e});
              });
          scf::YieldOp::create(tb, loc);
        });
      });
      warpTiles(rows / kMmaTile, valueDim / kMmaTile,
                [&](OpBuilder &wb, Value m0, Value n0) {
                  AccumulatorTile product = multiplyMatrixTiles(
                      wb, loc, readAccumulatorTile(wb, loc, acc, m0, n0), probs,
                      m0, vTile, n0, keys, /*transposeB=*/false);
                  writeAccumulatorTile(wb, loc, product, acc, m0, n0);
                });
    } else {
      // Phase 4: acc = acc * alpha + P V, an [mr, me] register tile of acc
      // per thread (rows r0 + a * rows / mr, channels e0 + b * Dv / me). Keys
      // that are not visible (p = 0) add nothing, also where their values are
      // not finite (cache padding).
      auto [mr4, me] = registerTile(rows, valueDim, kThreads);
      int64_t accRowStride = rows / mr4, channelStride = valueDim / me;
      threads(kThreads, [&](OpBuilder &nb, Value t) {
        forEachItem(
            nb, loc, t, accRowStride * channelStride, kThreads,
            [&](OpBuilder &fb, Value i) {
              auto [r0, e0] = split2(fb, i, channelStride);
              SmallVector<Value> rs = offsets(fb, r0, mr4, accRowStride);
              SmallVector<Value> es = offsets(fb, e0, me, channelStride);
              SmallVector<Value> inits;
              for (Value r : rs) {
                Value alpha = memref::LoadOp::create(fb, loc, rescale, r);
                for (Value e : es)
                  inits.push_back(arith::MulFOp::create(
                      fb, loc,
                      memref::LoadOp::create(fb, loc, acc, ValueRange{r, e}),
                      alpha));
              }
              SmallVector<Value> sums = registerTileProduct(
                  fb, inits, keys, scores, rs, vTile, es,
                  /*rhsByColumn=*/false, /*skipZeroLhs=*/true);
              for (int64_t a = 0; a < mr4; ++a)
                for (int64_t q = 0; q < me; ++q)
                  memref::StoreOp::create(fb, loc, sums[a * me + q], acc,
                                          ValueRange{rs[a], es[q]});
            });
      });
    }
    if (twoTiles) // the other tile is the next one's
      scf::YieldOp::create(b, loc,
                           swapBuffers(b, loc, tileLoop.getRegionIterArg(0)));
  }

  // Phase 5: the block's rows of the result (acc / sum, 0 for a row without
  // visible keys) and lse, or with splits, the split's partial rows.
  auto ifRowValid = [&](OpBuilder &fb, Value r,
                        function_ref<void(OpBuilder &, Value, Value)> fn) {
    Value query = rowQuery(fb, r);
    scf::IfOp::create(fb, loc, lessThan(fb, query, seqQValue),
                      [&](OpBuilder &tb, Location) {
                        fn(tb, query, rowHead(tb, r));
                        scf::YieldOp::create(tb, loc);
                      });
  };
  threads(kThreads, [&](OpBuilder &nb, Value t) {
    forEachItem(
        nb, loc, t, rows * valueDim, kThreads, [&](OpBuilder &fb, Value i) {
          auto [r, e] = split2(fb, i, valueDim);
          ifRowValid(fb, r, [&](OpBuilder &tb, Value query, Value head) {
            Value a = memref::LoadOp::create(tb, loc, acc, ValueRange{r, e});
            if (splits > 1) {
              memref::StoreOp::create(
                  tb, loc, a, partOut,
                  ValueRange{split, batchIndex, query, head, e});
              return;
            }
            Value sum = memref::LoadOp::create(tb, loc, rowSum, r);
            Value isEmpty = arith::CmpFOp::create(
                tb, loc, arith::CmpFPredicate::OEQ, sum, zero);
            Value value = arith::SelectOp::create(
                tb, loc, isEmpty, zero, arith::DivFOp::create(tb, loc, a, sum));
            memref::StoreOp::create(
                tb, loc, truncateFromF32(tb, loc, value, outElement), out,
                ValueRange{batchIndex, query, head, e});
          });
        });
    if (splits == 1 && !withLse)
      return;
    forEachItem(nb, loc, t, rows, kThreads, [&](OpBuilder &fb, Value r) {
      ifRowValid(fb, r, [&](OpBuilder &tb, Value query, Value head) {
        Value m = memref::LoadOp::create(tb, loc, rowMax, r);
        Value sum = memref::LoadOp::create(tb, loc, rowSum, r);
        if (splits > 1) {
          memref::StoreOp::create(tb, loc, m, partMax,
                                  ValueRange{split, batchIndex, head, query});
          memref::StoreOp::create(tb, loc, sum, partSum,
                                  ValueRange{split, batchIndex, head, query});
          return;
        }
        Value isEmpty = arith::CmpFOp::create(
            tb, loc, arith::CmpFPredicate::OEQ, m, negInf);
        Value value = arith::SelectOp::create(
            tb, loc, isEmpty, m,
            arith::AddFOp::create(tb, loc, m,
                                  math::LogOp::create(tb, loc, sum)));
        memref::StoreOp::create(tb, loc, value, lse,
                                ValueRange{batchIndex, head, query});
      });
    });
  });

  b.setInsertionPointAfter(grid);
  if (splits > 1)
    mergeKeySplits(b, loc, io, parts, splitSize, numHeads, valueDim,
                   /*maximaInBase2=*/false);

  return getAttentionResults(b, op, io);
}

/// Splits the keys when the grid would leave the GPU mostly idle.
void splitKeys(BlockShape &shape, int64_t numKvHeads,
               std::optional<int64_t> batch, std::optional<int64_t> seqQ,
               std::optional<int64_t> seqK) {
  if (!seqK || !seqQ)
    return;
  int64_t tiles = ceilDiv(*seqK, shape.keys);
  int64_t blocks =
      batch.value_or(1) * numKvHeads * ceilDiv(*seqQ, shape.queries);
  int64_t splits =
      std::min(ceilDiv(kBlocksToFill, std::max<int64_t>(blocks, 1)), tiles / 2);
  if (splits > 1) {
    shape.tilesPerSplit = ceilDiv(tiles, splits);
    shape.splits = ceilDiv(tiles, shape.tilesPerSplit);
  }
}

std::optional<BlockShape> chooseBlockShape(AttentionOp op, int64_t headDim,
                                           int64_t valueDim, int64_t numKvHeads,
                                           std::optional<int64_t> batch,
                                           std::optional<int64_t> seqQ,
                                           std::optional<int64_t> seqK,
                                           int64_t sharedLimit) {
  int64_t group = op.getGroupSize();
  auto kType = cast<RankedTensorType>(op.getK().getType());
  auto vType = cast<RankedTensorType>(op.getV().getType());
  int64_t elementBytes =
      std::max(kType.getElementTypeBitWidth(), vType.getElementTypeBitWidth()) /
      8;
  // f16 operands whose tiles are whole 16x16 matrices use tensor cores.
  auto isF16 = [](Value value) {
    return cast<RankedTensorType>(value.getType()).getElementType().isF16();
  };
  bool f16 = isF16(op.getQ()) && isF16(op.getK()) && isF16(op.getV());
  auto fitsMma = [&](const BlockShape &s) {
    return s.rows % kMmaTile == 0 && s.keys % kMmaTile == 0 &&
           headDim % kMmaTile == 0 && valueDim % kMmaTile == 0;
  };
  for (bool tensorCores : {true, false}) {
    if (tensorCores && !f16)
      continue;
    BlockShape shape;
    shape.tensorCores = tensorCores;
    // About 32 rows per block, 64 on tensor cores beyond the static
    // shared memory (four times the products per phase); decoding (a few
    // queries) reads longer tiles.
    bool large = tensorCores && sharedLimit > kStaticSharedBytes;
    shape.queries = std::max<int64_t>(1, (large ? kLargeTile : 32) / group);
    if (seqQ)
      shape.queries = std::min(shape.queries, std::max<int64_t>(*seqQ, 1));
    shape.keys = (seqQ && *seqQ <= 4) || large ? 64 : 32;
    // Matrix tiles need rows of whole 16-byte units. The scalar products
    // read K rows in 16-byte pieces where the head dim is a multiple of
    // them: rows padded by 16 bytes keep the 8 rows of each quarter warp's
    // reads in distinct banks (and the tiles' rows aligned for 16-byte
    // copies); else rows are shifted by one 4-byte bank.
    int64_t pieceElements = 16 / elementBytes;
    shape.keyVector =
        !tensorCores && headDim % pieceElements == 0 ? pieceElements : 1;
    shape.pad = tensorCores           ? 8
                : shape.keyVector > 1 ? pieceElements
                                      : std::max<int64_t>(1, 4 / elementBytes);
    shape.splits = 1;
    shape.tilesPerSplit = 0;
    int64_t minKeys = tensorCores ? kMmaTile : 8;
    bool fits = true;
    for (;;) {
      shape.rows = shape.queries * group;
      if (sharedBytes(shape, headDim, valueDim, elementBytes) <= sharedLimit)
        break;
      if (shape.keys > minKeys)
        shape.keys /= 2;
      else if (shape.queries > 1)
        shape.queries /= 2;
      else {
        fits = false;
        break;
      }
    }
    if (!fits || (tensorCores && !fitsMma(shape)))
      continue;
    // A second K and V tile where it fits beside the tiles chosen above.
    shape.doubleBuffered = true;
    if (sharedBytes(shape, headDim, valueDim, elementBytes) > sharedLimit)
      shape.doubleBuffered = false;
    splitKeys(shape, numKvHeads, batch, seqQ, seqK);
    return shape;
  }
  return std::nullopt;
}

} // namespace

std::optional<SmallVector<Value>> weft::lowerAttentionAsBlocks(
    AttentionOp op, Value q, Value k, Value v, Value mask, Value kvLen,
    OpFoldResult batch, OpFoldResult seqQ, OpFoldResult seqK,
    int64_t sharedBytes, ConversionPatternRewriter &rewriter) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  std::optional<BlockShape> shape = chooseBlockShape(
      op, qType.getDimSize(3), vType.getDimSize(3), kType.getDimSize(2),
      getConstantIntValue(batch), getConstantIntValue(seqQ),
      getConstantIntValue(seqK), sharedBytes);
  if (!shape)
    return std::nullopt;
  return BlockedAttention(op, rewriter, *shape)
      .build(q, k, v, mask, kvLen, batch, seqQ, seqK);
}
