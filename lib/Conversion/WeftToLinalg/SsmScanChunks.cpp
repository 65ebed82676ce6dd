//===- SsmScanChunks.cpp - the Mamba-2 scan in chunks on tensor cores -----===//
//
// The chunked (SSD) form of weft.ssm_scan with a scalar A per head and f16
// or bf16 x, B and C, written SIMT-style (one thread loop per block,
// docs/GPU.md#simt-kernels-barriers-and-shuffles-inside-a-thread-loop): a
// block of 4 warps per (batch, head) walks the sequence in chunks of 64
// steps. With a_t = dt'_t A and cum_t the chunk's running sum of a,
//
//   y_t   = sum_{s <= t} (C_t . B_s) exp(cum_t - cum_s) dt'_s x_s     (diag)
//         + exp(cum_t) C_t . S                                        (off)
//   S'    = exp(cum_last) S + sum_s exp(cum_last - cum_s) dt'_s x_s B_s^T
//
// where S is the state before the chunk: four matrix products per chunk on
// the tensor cores (m16n8k16, f32 accumulation) instead of 64 dependent
// steps. Warp w computes the chunk's output rows [16 w, 16 w + 16) (its
// C . B^T scores, their decay mask and the product with x, in registers as
// in AttentionRegisters.cpp) and the state rows (channels) [16 w, 16 w +
// 16), which stay in its lanes' accumulator fragments (f32) for the whole
// sequence; the products read the state from a copy rounded to the
// operands' type in shared memory, as the reference SSD kernels do.
//
//===----------------------------------------------------------------------===//

#include "BlockLoops.h"
#include "LoweringUtils.h"
#include "SsmScanLowering.h"
#include "WarpFragments.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::weft;

namespace {
constexpr int64_t kWarps = 4;
constexpr int64_t kThreads = kWarps * 32;
/// Steps of a chunk: 16 output rows per warp.
constexpr int64_t kChunk = kWarps * 16;
/// Channels (P): 16 state rows per warp.
constexpr int64_t kChannels = kWarps * 16;
/// Largest state dim: N / 8 accumulator fragments per lane.
constexpr int64_t kMaxStates = 128;
/// Elements after each row of the 16-bit tiles (ldmatrix rows 16 bytes
/// apart in the banks, each row on 16 bytes).
constexpr int64_t kPad = 8;

int64_t tileBytes(int64_t n) {
  int64_t rows16 = 2 * kChunk * (kChannels + kPad) // x, x scaled
                   + 2 * kChunk * (n + kPad)       // B, C
                   + kChannels * (n + kPad);       // the state's copy
  return rows16 * 2 + 2 * kChunk * 4;              // + cum, dt'
}
} // namespace

std::optional<SmallVector<Value>>
weft::lowerSsmScanAsChunks(SsmScanOp op, const SsmScanOperands &in,
                           int64_t sharedBytes,
                           ConversionPatternRewriter &rewriter) {
  std::optional<int64_t> headDim = getConstantIntValue(in.headDim);
  std::optional<int64_t> stateDim = getConstantIntValue(in.stateDim);
  auto xType = cast<RankedTensorType>(in.x.getType());
  Type element = xType.getElementType();
  auto is16Bit = [&](Value v) {
    return cast<RankedTensorType>(v.getType()).getElementType() == element;
  };
  if (!(element.isF16() || element.isBF16()) || !is16Bit(in.bm) ||
      !is16Bit(in.cm) ||
      cast<RankedTensorType>(in.a.getType()).getRank() != 1 ||
      headDim != kChannels || !stateDim || *stateDim % 16 ||
      *stateDim > kMaxStates || tileBytes(*stateDim) > sharedBytes)
    return std::nullopt;
  int64_t n = *stateDim, pieces = n / 8;
  OpBuilder &b = rewriter;
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  auto c = [&](OpBuilder &nb, int64_t value) -> Value {
    return arith::ConstantIndexOp::create(nb, loc, value);
  };
  auto add = [&](OpBuilder &nb, Value x, int64_t value) -> Value {
    return value ? arith::AddIOp::create(nb, loc, x, c(nb, value)).getResult()
                 : x;
  };
  auto addV = [&](OpBuilder &nb, Value x, Value y) -> Value {
    return arith::AddIOp::create(nb, loc, x, y);
  };
  auto lessThan = [&](OpBuilder &nb, Value x, Value y) -> Value {
    return arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult, x, y);
  };
  bool perChannelD =
      in.d && cast<RankedTensorType>(in.d.getType()).getRank() == 2;

  SsmScanBuffers buffers = createSsmScanBuffers(b, loc, in, element);
  Value x = buffers.x, dt = buffers.dt, a = buffers.a, bm = buffers.bm,
        cm = buffers.cm, d = buffers.d, z = buffers.z,
        s0 = buffers.initialState, y = buffers.y,
        finalState = buffers.finalState;
  Value length = getIndexValue(b, loc, in.length);
  Value headsValue = getIndexValue(b, loc, in.heads);
  Value batchHeads = arith::MulIOp::create(
      b, loc, getIndexValue(b, loc, in.batch), headsValue);
  Value chunks = arith::CeilDivUIOp::create(b, loc, length, c(b, kChunk));

  {
    OpBuilder::InsertionGuard guard(b);
    scf::ForallOp grid = createGridLoop(b, loc, {batchHeads});
    SsmScanHead scanHead = getSsmScanHead(b, loc, grid.getInductionVar(0),
                                          headsValue, in.headsPerGroup);
    Value batchIndex = scanHead.batch, head = scanHead.head,
          group = scanHead.group;
    auto tile = [&](int64_t rows, int64_t columns, Type type) -> Value {
      return memref::AllocOp::create(b, loc,
                                     MemRefType::get({rows, columns}, type));
    };
    // Block-local (shared memory on the GPU).
    Value xTile = tile(kChunk, kChannels + kPad, element);
    Value xScaled = tile(kChunk, kChannels + kPad, element);
    Value bTile = tile(kChunk, n + kPad, element);
    Value cTile = tile(kChunk, n + kPad, element);
    Value stateCopy = tile(kChannels, n + kPad, element);
    Value cum = memref::AllocOp::create(b, loc, MemRefType::get({kChunk}, f32));
    Value dts = memref::AllocOp::create(b, loc, MemRefType::get({kChunk}, f32));
    Value aValue = extendToF32(b, loc, memref::LoadOp::create(b, loc, a, head));

    createThreadLoop(b, loc, kThreads, [&](OpBuilder &nb, Value t) {
      Value lane = arith::RemUIOp::create(nb, loc, t, c(nb, 32));
      Value warp = arith::DivUIOp::create(nb, loc, t, c(nb, 32));
      Value warpRow0 = arith::MulIOp::create(nb, loc, warp, c(nb, 16));
      Value laneGroup = arith::DivUIOp::create(nb, loc, lane, c(nb, 4));
      Value pairColumn = arith::MulIOp::create(
          nb, loc, arith::RemUIOp::create(nb, loc, lane, c(nb, 4)), c(nb, 2));
      // This lane's rows (i = 0, 1) of its warp's 16: 16 w + g + 8 i.
      Value rows[2] = {addV(nb, warpRow0, laneGroup),
                       addV(nb, warpRow0, add(nb, laneGroup, 8))};
      Value zero = f32Const(nb, loc, 0.0);

      // The state fragments: rows (channels) of this warp, N / 8 pieces.
      SmallVector<Value> inits;
      for (int64_t piece = 0; piece < pieces; ++piece) {
        Value fragment = zeroAccumulatorFragment(nb, loc);
        if (s0)
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 2; ++j) {
              Value value = memref::LoadOp::create(
                  nb, loc, s0,
                  ValueRange{batchIndex, head, rows[i],
                             add(nb, pairColumn, 8 * piece + j)});
              fragment = vector::InsertOp::create(nb, loc, value, fragment,
                                                  ArrayRef<int64_t>{i, j});
            }
        inits.push_back(fragment);
      }
      auto chunkLoop =
          scf::ForOp::create(nb, loc, c(nb, 0), chunks, c(nb, 1), inits);
      {
        OpBuilder lb = OpBuilder::atBlockBegin(chunkLoop.getBody());
        ValueRange state = chunkLoop.getRegionIterArgs();
        Value first = arith::MulIOp::create(
            lb, loc, chunkLoop.getInductionVar(), c(lb, kChunk));
        // 1. The chunk's x, B and C rows (zeros past L), dt', and the
        // state's copy in the operands' type.
        auto loadRows =
            [&](Value source, Value target, int64_t width,
                function_ref<SmallVector<Value>(OpBuilder &, Value, Value)>
                    indices) {
              loadTileRows(lb, loc, t, kThreads, source, target, kChunk, width,
                           width, indices, [&](OpBuilder &fb, Value r, Value) {
                             return lessThan(fb, addV(fb, first, r), length);
                           });
            };
        loadRows(x, xTile, kChannels,
                 [&](OpBuilder &fb, Value r, Value col) -> SmallVector<Value> {
                   return {batchIndex, addV(fb, first, r), head, col};
                 });
        for (auto [source, target] : {std::pair(bm, bTile), {cm, cTile}})
          loadRows(
              source, target, n,
              [&](OpBuilder &fb, Value r, Value col) -> SmallVector<Value> {
                return {batchIndex, addV(fb, first, r), group, col};
              });
        forEachItem(lb, loc, t, kChunk, kThreads, [&](OpBuilder &fb, Value s) {
          Value step = addV(fb, first, s);
          Value value = loadF32If(fb, loc, lessThan(fb, step, length), dt,
                                  {batchIndex, step, head}, zero);
          memref::StoreOp::create(fb, loc, value, dts, s);
        });
        for (int64_t piece = 0; piece < pieces; ++piece)
          for (int64_t i = 0; i < 2; ++i) {
            SmallVector<Value> pair;
            for (int64_t j = 0; j < 2; ++j)
              pair.push_back(arith::TruncFOp::create(
                  lb, loc, element,
                  vector::ExtractOp::create(lb, loc, state[piece],
                                            ArrayRef<int64_t>{i, j})));
            vector::StoreOp::create(
                lb, loc,
                vector::FromElementsOp::create(
                    lb, loc, VectorType::get({2}, element), pair),
                stateCopy, ValueRange{rows[i], add(lb, pairColumn, 8 * piece)});
          }
        gpu::BarrierOp::create(lb, loc);
        // 2. cum_s = A (dt'_0 + ... + dt'_s).
        forEachItem(lb, loc, t, kChunk, kThreads, [&](OpBuilder &fb, Value s) {
          Value sum = accumulate(
              fb, loc, add(fb, s, 1), zero,
              [&](OpBuilder &ab, Value r, Value acc) -> Value {
                return arith::AddFOp::create(
                    ab, loc, acc, memref::LoadOp::create(ab, loc, dts, r));
              });
          memref::StoreOp::create(
              fb, loc, arith::MulFOp::create(fb, loc, sum, aValue), cum, s);
        });
        gpu::BarrierOp::create(lb, loc);
        // 3. x_s scaled by exp(cum_last - cum_s) dt'_s, for the state.
        Value cumLast = memref::LoadOp::create(lb, loc, cum, c(lb, kChunk - 1));
        forEachItem(
            lb, loc, t, kChunk * kChannels, kThreads,
            [&](OpBuilder &fb, Value item) {
              Value s = arith::DivUIOp::create(fb, loc, item, c(fb, kChannels));
              Value p = arith::RemUIOp::create(fb, loc, item, c(fb, kChannels));
              Value weight = arith::MulFOp::create(
                  fb, loc,
                  math::ExpOp::create(
                      fb, loc,
                      arith::SubFOp::create(
                          fb, loc, cumLast,
                          memref::LoadOp::create(fb, loc, cum, s))),
                  memref::LoadOp::create(fb, loc, dts, s));
              Value value = arith::MulFOp::create(
                  fb, loc,
                  extendToF32(
                      fb, loc,
                      memref::LoadOp::create(fb, loc, xTile, ValueRange{s, p})),
                  weight);
              memref::StoreOp::create(
                  fb, loc, arith::TruncFOp::create(fb, loc, element, value),
                  xScaled, ValueRange{s, p});
            });
        gpu::BarrierOp::create(lb, loc);

        Value xShared = viewAsShared(lb, loc, xTile);
        Value xScaledShared = viewAsShared(lb, loc, xScaled);
        Value bShared = viewAsShared(lb, loc, bTile);
        Value cShared = viewAsShared(lb, loc, cTile);
        Value stateShared = viewAsShared(lb, loc, stateCopy);
        // 4. The warp's output rows. C's A fragments over N.
        SmallVector<Value> cFragments;
        for (int64_t k = 0; k < n / 16; ++k)
          cFragments.push_back(loadMatrices(
              lb, loc, cShared, lane, 4, /*transpose=*/false, warpRow0,
              c(lb, 16 * k), [](int64_t m) { return 8 * (m % 2); },
              [](int64_t m) { return 8 * (m / 2); }));
        // acc + C . R^T over N for the 8-wide pieces of `shared`'s rows
        // [8 first, 8 first + 8 pieces).
        auto productWithRows = [&](Value shared, int64_t firstPiece,
                                   int64_t count) {
          SmallVector<Value> results;
          for (int64_t piece = 0; piece < count; ++piece) {
            Value acc = zeroAccumulatorFragment(lb, loc);
            for (int64_t k = 0; k < n / 16; k += 2) {
              int64_t steps = std::min<int64_t>(2, n / 16 - k);
              Value matrices = loadMatrices(
                  lb, loc, shared, lane, 2 * steps, /*transpose=*/false,
                  c(lb, 8 * (firstPiece + piece)), c(lb, 16 * k),
                  [](int64_t) { return 0; }, [](int64_t m) { return 8 * m; });
              for (int64_t i = 0; i < steps; ++i)
                acc = mmaSync(lb, loc, cFragments[k + i],
                              bFragmentOf(lb, loc, matrices, i), acc);
            }
            results.push_back(acc);
          }
          return results;
        };
        // Scores C_t . B_s, then the decay mask: s <= t, times
        // exp(cum_t - cum_s) dt'_s.
        SmallVector<Value> scores = productWithRows(bShared, 0, kChunk / 8);
        Value rowCum[2];
        for (int64_t i = 0; i < 2; ++i)
          rowCum[i] = memref::LoadOp::create(lb, loc, cum, rows[i]);
        for (int64_t piece = 0; piece < kChunk / 8; ++piece)
          for (int64_t j = 0; j < 2; ++j) {
            Value s = add(lb, pairColumn, 8 * piece + j);
            Value sCum = memref::LoadOp::create(lb, loc, cum, s);
            Value sDt = memref::LoadOp::create(lb, loc, dts, s);
            for (int64_t i = 0; i < 2; ++i) {
              Value decay = arith::MulFOp::create(
                  lb, loc,
                  math::ExpOp::create(
                      lb, loc, arith::SubFOp::create(lb, loc, rowCum[i], sCum)),
                  sDt);
              Value score = vector::ExtractOp::create(lb, loc, scores[piece],
                                                      ArrayRef<int64_t>{i, j});
              Value visible = arith::CmpIOp::create(
                  lb, loc, arith::CmpIPredicate::ule, s, rows[i]);
              Value masked = arith::SelectOp::create(
                  lb, loc, visible,
                  arith::MulFOp::create(lb, loc, score, decay), zero);
              scores[piece] = vector::InsertOp::create(
                  lb, loc, masked, scores[piece], ArrayRef<int64_t>{i, j});
            }
          }
        // Y = M x (M's A fragments from two score pieces, rounded to the
        // operands' type; x's B fragments transposed on the way) plus
        // exp(cum_t) C . S^T.
        SmallVector<Value> outputs(kChannels / 8,
                                   zeroAccumulatorFragment(lb, loc));
        for (int64_t kk = 0; kk < kChunk / 16; ++kk) {
          SmallVector<Value> elements;
          for (int64_t half = 0; half < 2; ++half)
            for (int64_t i = 0; i < 2; ++i)
              for (int64_t j = 0; j < 2; ++j)
                elements.push_back(arith::TruncFOp::create(
                    lb, loc, element,
                    vector::ExtractOp::create(lb, loc, scores[2 * kk + half],
                                              ArrayRef<int64_t>{i, j})));
          Value mFragment = vector::FromElementsOp::create(
              lb, loc, VectorType::get({4, 2}, element), elements);
          for (int64_t piece = 0; piece < kChannels / 8; piece += 2) {
            Value matrices = loadMatrices(
                lb, loc, xShared, lane, 4, /*transpose=*/true, c(lb, 16 * kk),
                c(lb, 8 * piece), [](int64_t m) { return 8 * (m % 2); },
                [](int64_t m) { return 8 * (m / 2); });
            for (int64_t h = 0; h < 2; ++h)
              outputs[piece + h] =
                  mmaSync(lb, loc, mFragment, bFragmentOf(lb, loc, matrices, h),
                          outputs[piece + h]);
          }
        }
        SmallVector<Value> fromState =
            productWithRows(stateShared, 0, kChannels / 8);
        // y = Y_diag + exp(cum_t) Y_off + D x, times silu(z).
        for (int64_t piece = 0; piece < kChannels / 8; ++piece)
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 2; ++j) {
              Value p = add(lb, pairColumn, 8 * piece + j);
              Value step = addV(lb, first, rows[i]);
              Value value = math::FmaOp::create(
                  lb, loc, math::ExpOp::create(lb, loc, rowCum[i]),
                  vector::ExtractOp::create(lb, loc, fromState[piece],
                                            ArrayRef<int64_t>{i, j}),
                  vector::ExtractOp::create(lb, loc, outputs[piece],
                                            ArrayRef<int64_t>{i, j}));
              scf::IfOp::create(
                  lb, loc, lessThan(lb, step, length),
                  [&](OpBuilder &tb, Location) {
                    Value result = value;
                    if (d) {
                      Value dValue = extendToF32(
                          tb, loc,
                          perChannelD
                              ? memref::LoadOp::create(tb, loc, d,
                                                       ValueRange{head, p})
                              : memref::LoadOp::create(tb, loc, d, head));
                      Value xValue = extendToF32(
                          tb, loc,
                          memref::LoadOp::create(tb, loc, xTile,
                                                 ValueRange{rows[i], p}));
                      result =
                          math::FmaOp::create(tb, loc, dValue, xValue, result);
                    }
                    if (z) {
                      Value zValue = extendToF32(
                          tb, loc,
                          memref::LoadOp::create(
                              tb, loc, z,
                              ValueRange{batchIndex, step, head, p}));
                      result = arith::MulFOp::create(
                          tb, loc, result,
                          arith::MulFOp::create(tb, loc, zValue,
                                                buildSigmoid(tb, loc, zValue)));
                    }
                    memref::StoreOp::create(
                        tb, loc, truncateFromF32(tb, loc, result, element), y,
                        ValueRange{batchIndex, step, head, p});
                    scf::YieldOp::create(tb, loc);
                  });
            }
        gpu::BarrierOp::create(lb, loc);
        // 5. S' = exp(cum_last) S + (x scaled)^T B: the warp's channel rows,
        // A fragments from the scaled x transposed on the way, B's
        // fragments (k = steps) transposed too.
        Value decay = math::ExpOp::create(lb, loc, cumLast);
        Value decayFragment = vector::BroadcastOp::create(
            lb, loc, VectorType::get({2, 2}, f32), decay);
        SmallVector<Value> next;
        for (int64_t piece = 0; piece < pieces; ++piece)
          next.push_back(
              arith::MulFOp::create(lb, loc, state[piece], decayFragment));
        for (int64_t kk = 0; kk < kChunk / 16; ++kk) {
          Value aFragment = loadMatrices(
              lb, loc, xScaledShared, lane, 4, /*transpose=*/true,
              c(lb, 16 * kk), warpRow0, [](int64_t m) { return 8 * (m / 2); },
              [](int64_t m) { return 8 * (m % 2); });
          for (int64_t piece = 0; piece < pieces; piece += 2) {
            Value matrices = loadMatrices(
                lb, loc, bShared, lane, 4, /*transpose=*/true, c(lb, 16 * kk),
                c(lb, 8 * piece), [](int64_t m) { return 8 * (m % 2); },
                [](int64_t m) { return 8 * (m / 2); });
            for (int64_t h = 0; h < 2; ++h)
              next[piece + h] =
                  mmaSync(lb, loc, aFragment, bFragmentOf(lb, loc, matrices, h),
                          next[piece + h]);
          }
        }
        gpu::BarrierOp::create(lb, loc);
        scf::YieldOp::create(lb, loc, next);
      }
      // The final state.
      for (int64_t piece = 0; piece < pieces; ++piece)
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 2; ++j)
            memref::StoreOp::create(
                nb, loc,
                vector::ExtractOp::create(nb, loc, chunkLoop.getResult(piece),
                                          ArrayRef<int64_t>{i, j}),
                finalState,
                ValueRange{batchIndex, head, rows[i],
                           add(nb, pairColumn, 8 * piece + j)});
    });
  }

  auto yType = cast<RankedTensorType>(op.getY().getType());
  auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
  return SmallVector<Value>{toResultTensor(b, loc, y, yType),
                            toResultTensor(b, loc, finalState, stateType)};
}
