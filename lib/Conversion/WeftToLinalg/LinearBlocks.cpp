//===- LinearBlocks.cpp - linear layers of few rows as GPU thread blocks --===//
//
// The thread-block form of weft.linear and weft.qlinear for few rows of x
// (decoding): a SIMT kernel (one thread loop per block, docs/GPU.md#simt-
// kernels-barriers-and-shuffles-inside-a-thread-loop) of 8 warps, each with
// 1, 2 or 4 output channels. Lane l reads the 16-byte chunks l, l + 32, ...
// of each of its channels' weight rows (32 int4, 16 int8, 8 f16/bf16 or 4
// f32 values each; neighbouring lanes read neighbouring chunks) and widens
// or dequantizes them in registers. x goes through shared memory one K tile
// at a time, stored so that a lane's four consecutive values are one
// 16-byte load and the lanes of a warp read consecutive 16-byte words; each
// x value read serves all of the warp's channels, so that x's shared-memory
// traffic is not that of the weight (4 bytes of f32 x per half byte of int4
// weight with one channel).
//
// Decoding is bound by the weight's bytes, which are read once, in 16-byte
// loads, and kept in flight: a lane requests a step of up to 4 chunks
// before it computes with the previous step's, and requests a tile's first
// step before x's tile is staged and the block synchronizes. Each lane's
// partial sums stay in registers across K tiles; a shuffle butterfly adds
// the warp's 32, and one lane per output applies the LoRA delta and the
// epilogue.
//
// Integers become floats without a conversion instruction: the value v in
// 0..255 or-ed into the mantissa of 2^23 is the float 2^23 + v, and one
// subtraction leaves v minus the offset (8 or 128 for signed values, which
// are stored biased by an exclusive or; the zero point otherwise). Every
// step is exact.
//
//===----------------------------------------------------------------------===//

#include "BlockLoops.h"
#include "ContractionLowering.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::weft;

namespace {
constexpr int64_t kWarpSize = 32;
constexpr int64_t kThreads = 256;
constexpr int64_t kWarps = kThreads / kWarpSize;
/// At most this many output channels per warp, times rows of x (each is a
/// vector accumulator per thread).
constexpr int64_t kMaxChannelTerms = 4;
/// Blocks a layer should keep (about two per H100 multiprocessor), so that
/// more channels per warp do not leave the GPU idle.
constexpr int64_t kMinBlocks = 256;
/// Rows of x the form takes (each costs a K tile of shared memory and a
/// vector accumulator per thread).
constexpr int64_t kMaxRows = kMaxBlocksRows;
/// Bytes of a weight chunk: one 16-byte load per lane.
constexpr int64_t kChunkBytes = 16;
/// Weight chunks a lane loads before it computes with any (its channels'
/// chunks of one or more steps): enough bytes in flight for the weight
/// stream to run at bandwidth with two blocks per multiprocessor.
constexpr int64_t kLoadsInFlight = 4;
/// Shared memory for the x tile, which sets the K tile.
constexpr int64_t kTileBytes = 32 * 1024;
/// x values per shared-memory load.
constexpr int64_t kQuad = 4;
/// 2^23: its float has unit mantissa steps.
constexpr double kMagic = 8388608.0;
constexpr int64_t kMagicBits = 0x4B000000;
} // namespace

/// Whether `value` is an argument of its function (the runtime's buffer,
/// aligned for 16-byte loads, not a view into one).
static bool isFunctionArgument(Value value) {
  auto argument = dyn_cast<BlockArgument>(value);
  return argument && argument.getOwner()->isEntryBlock() &&
         isa_and_nonnull<func::FuncOp>(argument.getOwner()->getParentOp());
}

/// The integers of a chunk (`raw`, their stored bits) as f32 values minus
/// the zero point: `zeroPoint` (an unsigned integer) when given, else the
/// values are signed.
static Value dequantizeChunk(OpBuilder &b, Location loc, Value raw,
                             Value zeroPoint) {
  auto rawType = cast<VectorType>(raw.getType());
  int64_t bits = rawType.getElementTypeBitWidth();
  auto intType = rawType.clone(b.getI32Type());
  auto floatType = rawType.clone(b.getF32Type());
  auto intConstant = [&](int64_t value) -> Value {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(intType, b.getI32IntegerAttr(value)));
  };
  Value stored = arith::ExtUIOp::create(b, loc, intType, raw);
  Value offset;
  if (zeroPoint) {
    Value zero = arith::UIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::ExtUIOp::create(b, loc, b.getI32Type(), zeroPoint));
    offset = arith::AddFOp::create(b, loc, f32Const(b, loc, kMagic), zero);
  } else {
    // Signed v is stored as v + half (mod the range) in the biased bits.
    int64_t half = int64_t{1} << (bits - 1);
    stored = arith::XOrIOp::create(b, loc, stored, intConstant(half));
    offset = f32Const(b, loc, kMagic + half);
  }
  Value floats = arith::BitcastOp::create(
      b, loc, floatType,
      arith::OrIOp::create(b, loc, stored, intConstant(kMagicBits)));
  return arith::SubFOp::create(
      b, loc, floats, vector::BroadcastOp::create(b, loc, floatType, offset));
}

/// The indices of row `row` of the [rows, ...] view of a tensor whose
/// leading dims are `sizes` (rows their product). The result is written in
/// its own shape: MLIR 22's expand-strided-metadata crashes on a
/// memref.expand_shape with two dynamic dims in one group.
static SmallVector<Value> delinearizeRow(OpBuilder &b, Location loc, Value row,
                                         ArrayRef<OpFoldResult> sizes) {
  SmallVector<Value> indices(sizes.size());
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    if (i == 0) {
      indices[i] = row;
      break;
    }
    Value size = getValueOrCreateConstantIndexOp(b, loc, sizes[i]);
    indices[i] = arith::RemUIOp::create(b, loc, row, size);
    row = arith::DivUIOp::create(b, loc, row, size);
  }
  return indices;
}

Value weft::applyLinearEpilogue(OpBuilder &b, Location loc, Value sum,
                                Activation activation, Value bias,
                                Value residual, Value row, Value channel,
                                Type type) {
  // As buildEpilogue in ContractionOps.cpp: round(act(sum + bias[n]) + r).
  Value y = sum;
  if (bias)
    y = arith::AddFOp::create(
        b, loc, y,
        extendToF32(b, loc,
                    memref::LoadOp::create(b, loc, bias, ValueRange{channel})));
  y = buildActivation(b, loc, activation, y);
  if (residual)
    y = arith::AddFOp::create(
        b, loc, y,
        extendToF32(b, loc,
                    memref::LoadOp::create(b, loc, residual,
                                           ValueRange{row, channel})));
  return truncateFromF32(b, loc, y, type);
}

/// sum_j t[m, j] * B[n, j] (single adapter) or B[id, n, j] with id the
/// adapter of row m (ids[m / rowsPerId]), 0 for an id outside the table.
static Value buildLoraDelta(OpBuilder &b, Location loc, Value t, Value table,
                            Value ids, int64_t rank, Value rowsPerId, Value m,
                            Value n) {
  auto c = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  auto dot = [&](OpBuilder &nb, std::optional<Value> id) -> Value {
    return accumulate(
        nb, loc, c(rank), f32Const(nb, loc, 0.0),
        [&](OpBuilder &ab, Value j, Value acc) -> Value {
          SmallVector<Value> at = {n, j};
          if (id)
            at.insert(at.begin(), *id);
          Value term = arith::MulFOp::create(
              ab, loc, memref::LoadOp::create(ab, loc, t, ValueRange{m, j}),
              extendToF32(ab, loc, memref::LoadOp::create(ab, loc, table, at)));
          return arith::AddFOp::create(ab, loc, acc, term);
        });
  };
  if (!ids)
    return dot(b, std::nullopt);
  Value stored = memref::LoadOp::create(
      b, loc, ids,
      ValueRange{arith::DivUIOp::create(b, loc, m, rowsPerId).getResult()});
  Value id = arith::IndexCastOp::create(b, loc, b.getIndexType(), stored);
  Value adapters = memref::DimOp::create(b, loc, table, 0);
  Value valid = arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, id, c(0)),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, id, adapters));
  return scf::IfOp::create(
             b, loc, valid,
             [&](OpBuilder &tb, Location) {
               scf::YieldOp::create(tb, loc, dot(tb, id));
             },
             [&](OpBuilder &eb, Location) {
               scf::YieldOp::create(eb, loc, f32Const(eb, loc, 0.0));
             })
      .getResult(0);
}

/// The rows of x ([..., K]), the product of its leading dims: ShapedType::
/// kDynamic when one is dynamic, nullopt when there are more than kMaxRows.
static std::optional<int64_t> getRowCount(RankedTensorType xType) {
  int64_t rows = 1;
  for (int64_t size : xType.getShape().drop_back()) {
    if (ShapedType::isDynamic(size))
      return ShapedType::kDynamic;
    rows *= size;
    if (rows > kMaxRows)
      return std::nullopt;
  }
  return rows;
}

bool weft::hasDynamicRows(Value x) {
  return llvm::any_of(
      cast<RankedTensorType>(x.getType()).getShape().drop_back(),
      ShapedType::isDynamic);
}

Value weft::getRowCountValue(OpBuilder &b, Location loc, Value x) {
  auto xType = cast<RankedTensorType>(x.getType());
  Value rows = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t dim = 0; dim + 1 < xType.getRank(); ++dim)
    rows = arith::MulIOp::create(b, loc, rows,
                                 tensor::DimOp::create(b, loc, x, dim));
  return rows;
}

bool weft::canLowerLinearAsBlocks(Operation *op, Value x, Value weight,
                                  Value scales, int64_t groupSize) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(weight.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  std::optional<int64_t> rows = getRowCount(xType);
  if (!isFunctionArgument(weight) || !wType.hasStaticShape() ||
      resultType.isDynamicDim(resultType.getRank() - 1) || !rows || *rows == 0)
    return false;
  int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
  int64_t lanes =
      kChunkBytes * 8 / wType.getElementType().getIntOrFloatBitWidth();
  int64_t group = scales ? groupSize : k;
  return n > 0 && k > 0 && lanes % kQuad == 0 && group > 0 &&
         group % lanes == 0;
}

std::optional<Value> weft::lowerLinearAsBlocks(Operation *op,
                                               const LinearBlocksOperands &in,
                                               OpBuilder &b) {
  Value x = in.x, qweight = in.weight, scales = in.scales, zeros = in.zeros;
  if (!canLowerLinearAsBlocks(op, x, qweight, scales, in.groupSize))
    return std::nullopt;
  auto xType = cast<RankedTensorType>(x.getType());
  auto qType = cast<RankedTensorType>(qweight.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t rank = xType.getRank();
  // Rows known only at run time (at most kMaxRows, which the caller checks)
  // take one row per block, the rows on the grid's second dimension.
  bool dynamicRows = *getRowCount(xType) == ShapedType::kDynamic;
  int64_t rows = dynamicRows ? 1 : *getRowCount(xType); // per block
  int64_t n = qType.getDimSize(0), k = qType.getDimSize(1);
  int64_t bits = qType.getElementType().getIntOrFloatBitWidth();
  int64_t lanes = kChunkBytes * 8 / bits; // values per chunk
  int64_t groupSize = scales ? in.groupSize : k;

  Location loc = op->getLoc();
  Type f32 = b.getF32Type();
  // x as [rows, K] with a static K (qweight's).
  if (xType.isDynamicDim(rank - 1)) {
    SmallVector<int64_t> shape(xType.getShape());
    shape.back() = k;
    xType = xType.clone(shape);
    x = tensor::CastOp::create(b, loc, xType, x);
  }
  SmallVector<OpFoldResult> leadingSizes = tensor::getMixedSizes(b, loc, x);
  leadingSizes.pop_back();
  Value xRows = collapseToRows(b, loc, x);
  OpFoldResult allRows =
      dynamicRows
          ? OpFoldResult(tensor::DimOp::create(b, loc, xRows, 0).getResult())
          : b.getIndexAttr(rows);
  Value xBuffer = toReadOnlyBuffer(b, loc, xRows);
  Value qBuffer = toReadOnlyBuffer(b, loc, qweight);
  Value sBuffer = scales ? toReadOnlyBuffer(b, loc, scales) : Value();
  Value zBuffer = zeros ? toReadOnlyBuffer(b, loc, zeros) : Value();
  Value biasBuffer =
      in.epilogue && in.bias ? toReadOnlyBuffer(b, loc, in.bias) : Value();
  Value residualBuffer;
  if (in.epilogue && in.residual) {
    Value residual = in.residual;
    auto residualType = cast<RankedTensorType>(residual.getType());
    if (!residualType.hasStaticShape())
      residual = tensor::CastOp::create(
          b, loc, resultType.clone(residualType.getElementType()), residual);
    residualBuffer = toReadOnlyBuffer(b, loc, collapseToRows(b, loc, residual));
  }
  Type yElementType = in.epilogue ? resultType.getElementType() : f32;
  SmallVector<OpFoldResult> ySizes(leadingSizes);
  ySizes.push_back(b.getIndexAttr(n));
  Value yBuffer = allocateBuffer(b, loc, ySizes, yElementType);
  // The LoRA delta t[m, :] . B[(id,) n, :], t as [rows, r] and the ids of
  // the rows flattened.
  Value tBuffer, loraBBuffer, idsBuffer;
  int64_t loraRank = 0;
  Value rowsPerId = arith::ConstantIndexOp::create(b, loc, 1);
  if (in.loraT) {
    tBuffer = toReadOnlyBuffer(b, loc, collapseToRows(b, loc, in.loraT));
    loraBBuffer = toReadOnlyBuffer(b, loc, in.loraB);
    loraRank = cast<RankedTensorType>(in.loraT.getType()).getShape().back();
    if (in.loraIds) {
      auto idsType = cast<RankedTensorType>(in.loraIds.getType());
      // Per-token ids have x's leading dims; per-row ids [B] cover
      // rows / B rows each.
      if (idsType.getRank() != rank - 1)
        rowsPerId = arith::DivUIOp::create(
            b, loc, getValueOrCreateConstantIndexOp(b, loc, allRows),
            getValueOrCreateConstantIndexOp(b, loc, leadingSizes.front()));
      Value ids = in.loraIds;
      if (idsType.getRank() != 1) {
        ids = tensor::CastOp::create(
            b, loc,
            RankedTensorType::get(xType.getShape().drop_back(),
                                  idsType.getElementType()),
            ids);
        ids = tensor::CollapseShapeOp::create(
            b, loc, ids,
            ArrayRef<ReassociationIndices>{
                llvm::to_vector(llvm::seq<int64_t>(0, idsType.getRank()))});
      }
      idsBuffer = toReadOnlyBuffer(b, loc, ids);
    }
  }

  // K tiles of x in shared memory, a multiple of the chunk; the tile is
  // [rows, lanes / 4, chunks + 1] quads (vector<4xf32>, 16 bytes): value kk
  // of the tile is element kk % 4 of quad [m, (kk % lanes) / 4, kk / lanes],
  // so that lane l's quad j is the 16 bytes after those of lane l - 1. The
  // extra chunk makes the row of quads an odd number of 16-byte words, so
  // that the quads neighbouring threads store fall in different banks.
  // Channels per warp: as many as the accumulators allow while the grid
  // keeps kMinBlocks blocks.
  int64_t channelsPerWarp = 1;
  while (channelsPerWarp * 2 * rows <= kMaxChannelTerms &&
         n / (kWarps * channelsPerWarp * 2) >= kMinBlocks)
    channelsPerWarp *= 2;
  int64_t channelsPerBlock = kWarps * channelsPerWarp;
  int64_t terms = rows * channelsPerWarp;
  int64_t tileK = std::min(k, kTileBytes / 4 / rows / lanes * lanes);
  int64_t tileChunks = tileK / lanes;
  int64_t quads = lanes / kQuad;
  // Chunks per lane and channel in a step (loaded together).
  int64_t unroll = std::clamp<int64_t>(
      std::min<int64_t>(kLoadsInFlight / channelsPerWarp,
                        llvm::divideCeil(tileChunks, kWarpSize)),
      1, kLoadsInFlight);
  auto quadType = VectorType::get({kQuad}, f32);
  auto chunkType = VectorType::get({lanes}, qType.getElementType());

  OpBuilder::InsertionGuard guard(b);
  SmallVector<OpFoldResult> gridSizes = {
      b.getIndexAttr((n + channelsPerBlock - 1) / channelsPerBlock)};
  if (dynamicRows)
    gridSizes.push_back(allRows);
  scf::ForallOp grid = createGridLoop(b, loc, gridSizes);
  Value block = grid.getInductionVars()[0];
  Value xTile = allocateBuffer(b, loc,
                               {b.getIndexAttr(rows), b.getIndexAttr(quads),
                                b.getIndexAttr(tileChunks + 1)},
                               quadType);
  createThreadLoop(b, loc, kThreads, [&](OpBuilder &nb, Value thread) {
    // Constants at the point of the builder that uses them.
    auto c = [&](OpBuilder &cb, int64_t value) -> Value {
      return arith::ConstantIndexOp::create(cb, loc, value);
    };
    Value lane = arith::RemUIOp::create(nb, loc, thread, c(nb, kWarpSize));
    // Row m of the block's x tile is this row of x and y.
    auto rowOf = [&](OpBuilder &rb, Value m) -> Value {
      return dynamicRows
                 ? arith::AddIOp::create(rb, loc, grid.getInductionVars()[1], m)
                       .getResult()
                 : m;
    };
    Value firstChannel = arith::AddIOp::create(
        nb, loc, arith::MulIOp::create(nb, loc, block, c(nb, channelsPerBlock)),
        arith::MulIOp::create(
            nb, loc, arith::DivUIOp::create(nb, loc, thread, c(nb, kWarpSize)),
            c(nb, channelsPerWarp)));
    // Channels past N read the last row (valid memory); their sums are never
    // written.
    SmallVector<Value> channels;
    for (int64_t ch = 0; ch < channelsPerWarp; ++ch)
      channels.push_back(arith::MinUIOp::create(
          nb, loc, arith::AddIOp::create(nb, loc, firstChannel, c(nb, ch)),
          c(nb, n - 1)));

    // A step's loads: the raw chunks [u * channelsPerWarp + ch] of the
    // lane's chunks `chunkIds` of the tile, then (integer weights) their
    // scales and zero points, in that order. Nothing loaded is used here, so
    // all of a step's loads are in flight together.
    auto loadStep = [&](OpBuilder &lb, Value tileStart,
                        ArrayRef<Value> chunkIds) -> SmallVector<Value> {
      SmallVector<Value> raws, scaleValues, zeroPoints;
      for (Value chunk : chunkIds) {
        Value column = arith::AddIOp::create(
            lb, loc, tileStart,
            arith::MulIOp::create(lb, loc, chunk, c(lb, lanes)));
        Value group =
            sBuffer ? arith::DivUIOp::create(lb, loc, column, c(lb, groupSize))
                          .getResult()
                    : Value();
        for (Value channel : channels) {
          raws.push_back(vector::TransferReadOp::create(
              lb, loc, chunkType, qBuffer, ValueRange{channel, column},
              /*padding=*/std::nullopt, ArrayRef<bool>{true}));
          if (sBuffer)
            scaleValues.push_back(memref::LoadOp::create(
                lb, loc, sBuffer, ValueRange{channel, group}));
          if (zBuffer)
            zeroPoints.push_back(memref::LoadOp::create(
                lb, loc, zBuffer, ValueRange{channel, group}));
        }
      }
      llvm::append_range(raws, scaleValues);
      llvm::append_range(raws, zeroPoints);
      return raws;
    };
    // `accs` plus the dot products of a step's chunks (`loaded` as loadStep
    // returned it) with the x tile.
    auto addStep = [&](OpBuilder &cb, ArrayRef<Value> chunkIds,
                       ValueRange loaded,
                       ValueRange accs) -> SmallVector<Value> {
      int64_t count = chunkIds.size() * channelsPerWarp;
      ValueRange raws = loaded.take_front(count);
      ValueRange scaleValues =
          sBuffer ? loaded.slice(count, count) : ValueRange();
      ValueRange zeroPoints =
          zBuffer ? loaded.slice(2 * count, count) : ValueRange();
      Value zeroQuad = arith::ConstantOp::create(
          cb, loc, DenseElementsAttr::get(quadType, 0.0f));
      SmallVector<Value> next(accs.begin(), accs.end());
      for (auto [u, chunk] : llvm::enumerate(chunkIds)) {
        // Float weights are summed as they are; integers are dequantized
        // and each chunk's sum is scaled.
        SmallVector<Value> values, scaleQuads;
        for (int64_t ch = 0; ch < channelsPerWarp; ++ch) {
          int64_t i = u * channelsPerWarp + ch;
          if (!sBuffer) {
            values.push_back(
                qType.getElementType().isF32()
                    ? raws[i]
                    : arith::ExtFOp::create(
                          cb, loc, VectorType::get({lanes}, f32), raws[i])
                          .getResult());
            continue;
          }
          values.push_back(dequantizeChunk(cb, loc, raws[i],
                                           zBuffer ? zeroPoints[i] : Value()));
          scaleQuads.push_back(vector::BroadcastOp::create(
              cb, loc, quadType, extendToF32(cb, loc, scaleValues[i])));
        }
        SmallVector<Value> accumulated;
        for (int64_t m = 0; m < rows; ++m) {
          // The chunk's dot products in quads (scaled after), each x quad
          // read once for all channels.
          SmallVector<Value> dots;
          for (int64_t ch = 0; ch < channelsPerWarp; ++ch)
            dots.push_back(sBuffer ? zeroQuad : next[m * channelsPerWarp + ch]);
          for (int64_t j = 0; j < quads; ++j) {
            Value xQuad = memref::LoadOp::create(
                cb, loc, xTile, ValueRange{c(cb, m), c(cb, j), chunk});
            for (int64_t ch = 0; ch < channelsPerWarp; ++ch) {
              Value wQuad = vector::ExtractStridedSliceOp::create(
                  cb, loc, values[ch], ArrayRef<int64_t>{j * kQuad},
                  ArrayRef<int64_t>{kQuad}, ArrayRef<int64_t>{1});
              dots[ch] = math::FmaOp::create(cb, loc, xQuad, wQuad, dots[ch]);
            }
          }
          for (int64_t ch = 0; ch < channelsPerWarp; ++ch)
            accumulated.push_back(
                sBuffer ? math::FmaOp::create(cb, loc, dots[ch], scaleQuads[ch],
                                              next[m * channelsPerWarp + ch])
                              .getResult()
                        : dots[ch]);
        }
        next = std::move(accumulated);
      }
      return next;
    };

    Value zeroQuad = arith::ConstantOp::create(
        nb, loc, DenseElementsAttr::get(quadType, 0.0f));
    SmallVector<Value> inits(terms, zeroQuad);
    auto tileLoop = scf::ForOp::create(
        nb, loc, c(nb, 0), c(nb, k), c(nb, tileK), inits,
        [&](OpBuilder &tb, Location, Value tileStart, ValueRange accs) {
          Value tileEnd = arith::MinSIOp::create(
              tb, loc, c(tb, tileK),
              arith::SubIOp::create(tb, loc, c(tb, k), tileStart));
          Value chunks = arith::DivUIOp::create(tb, loc, tileEnd, c(tb, lanes));
          Value lastChunk = arith::SubIOp::create(tb, loc, chunks, c(tb, 1));
          // Steps of `unroll` chunks: lane l takes chunks l, l + 32, ...
          // Ids past the tile are clamped to its last chunk, so that a
          // step's loads are always valid (and those of no step go unused).
          auto stepIds = [&](OpBuilder &sb, Value first) -> SmallVector<Value> {
            SmallVector<Value> ids;
            for (int64_t u = 0; u < unroll; ++u)
              ids.push_back(arith::MinUIOp::create(
                  sb, loc,
                  arith::AddIOp::create(sb, loc, first, c(sb, u * kWarpSize)),
                  lastChunk));
            return ids;
          };
          // The first step's weights are requested before x is staged, so
          // that the two latencies overlap.
          SmallVector<Value> prefetched =
              loadStep(tb, tileStart, stepIds(tb, lane));

          // x's quads of the tile into shared memory.
          forEachItem(
              tb, loc, thread, rows * (tileK / kQuad), kThreads,
              [&](OpBuilder &ib, Value item) {
                Value m =
                    arith::DivUIOp::create(ib, loc, item, c(ib, tileK / kQuad));
                Value kk = arith::MulIOp::create(
                    ib, loc,
                    arith::RemUIOp::create(ib, loc, item, c(ib, tileK / kQuad)),
                    c(ib, kQuad));
                Value inside = arith::CmpIOp::create(
                    ib, loc, arith::CmpIPredicate::ult, kk, tileEnd);
                scf::IfOp::create(
                    ib, loc, inside, [&](OpBuilder &sb, Location) {
                      Value column =
                          arith::AddIOp::create(sb, loc, tileStart, kk);
                      // One read of the quad (aligned by
                      // weft-align-buffer-accesses where x is a whole buffer),
                      // widened to f32.
                      Type xElement = xType.getElementType();
                      Value quad = vector::TransferReadOp::create(
                          sb, loc, VectorType::get({kQuad}, xElement), xBuffer,
                          ValueRange{rowOf(sb, m), column},
                          /*padding=*/std::nullopt, ArrayRef<bool>{true});
                      if (!xElement.isF32())
                        quad = arith::ExtFOp::create(sb, loc, quadType, quad);
                      Value chunkLane =
                          arith::RemUIOp::create(sb, loc, kk, c(sb, lanes));
                      memref::StoreOp::create(
                          sb, loc, quad, xTile,
                          ValueRange{m,
                                     arith::DivUIOp::create(sb, loc, chunkLane,
                                                            c(sb, kQuad)),
                                     arith::DivUIOp::create(sb, loc, kk,
                                                            c(sb, lanes))});
                      scf::YieldOp::create(sb, loc);
                    });
              });
          gpu::BarrierOp::create(tb, loc);

          // The steps, each requesting the next one's weights before it
          // computes with its own, then one chunk at a time for the rest.
          int64_t stride = kWarpSize * unroll;
          int64_t span = kWarpSize * (unroll - 1);
          Value mainEnd = arith::SubIOp::create(
              tb, loc, arith::MaxUIOp::create(tb, loc, chunks, c(tb, span)),
              c(tb, span));
          SmallVector<Value> carried(accs.begin(), accs.end());
          llvm::append_range(carried, prefetched);
          auto mainLoop = scf::ForOp::create(
              tb, loc, lane, mainEnd, c(tb, stride), carried,
              [&](OpBuilder &cb, Location, Value chunk, ValueRange values) {
                SmallVector<Value> nextLoaded =
                    loadStep(cb, tileStart,
                             stepIds(cb, arith::AddIOp::create(cb, loc, chunk,
                                                               c(cb, stride))));
                SmallVector<Value> chunkIds;
                for (int64_t u = 0; u < unroll; ++u)
                  chunkIds.push_back(arith::AddIOp::create(
                      cb, loc, chunk, c(cb, u * kWarpSize)));
                SmallVector<Value> next =
                    addStep(cb, chunkIds, values.drop_front(terms),
                            values.take_front(terms));
                llvm::append_range(next, nextLoaded);
                scf::YieldOp::create(cb, loc, next);
              });
          // The lane's first chunk past the steps.
          Value steps = arith::CeilDivUIOp::create(
              tb, loc,
              arith::SubIOp::create(
                  tb, loc, arith::MaxUIOp::create(tb, loc, mainEnd, lane),
                  lane),
              c(tb, stride));
          Value restStart = arith::AddIOp::create(
              tb, loc, lane,
              arith::MulIOp::create(tb, loc, steps, c(tb, stride)));
          auto chunkLoop = scf::ForOp::create(
              tb, loc, restStart, chunks, c(tb, kWarpSize),
              mainLoop.getResults().take_front(terms),
              [&](OpBuilder &cb, Location, Value chunk, ValueRange values) {
                scf::YieldOp::create(cb, loc,
                                     addStep(cb, {chunk},
                                             loadStep(cb, tileStart, {chunk}),
                                             values));
              });
          // The next tile overwrites x's.
          gpu::BarrierOp::create(tb, loc);
          scf::YieldOp::create(tb, loc, chunkLoop.getResults());
        });

    // Each output's sum over the warp's lanes by shuffles; lane i then
    // finishes output term i (row i / channelsPerWarp, channel i % it).
    auto add = [&](OpBuilder &ab, Value x, Value y) -> Value {
      return arith::AddFOp::create(ab, loc, x, y);
    };
    SmallVector<Value> sums;
    for (Value acc : tileLoop.getResults())
      sums.push_back(butterflyReduce(
          nb, loc,
          vector::ReductionOp::create(nb, loc, vector::CombiningKind::ADD, acc),
          1, kWarpSize, add));
    Value sum = sums.front();
    for (int64_t i = 1; i < terms; ++i)
      sum = arith::SelectOp::create(
          nb, loc,
          arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::eq, lane,
                                c(nb, i)),
          sums[i], sum);
    Value m = arith::DivUIOp::create(nb, loc, lane, c(nb, channelsPerWarp));
    Value row = arith::AddIOp::create(
        nb, loc, firstChannel,
        arith::RemUIOp::create(nb, loc, lane, c(nb, channelsPerWarp)));
    Value writes = arith::AndIOp::create(
        nb, loc,
        arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult, lane,
                              c(nb, terms)),
        arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult, row,
                              c(nb, n)));
    scf::IfOp::create(nb, loc, writes, [&](OpBuilder &sb, Location) {
      Value xRow = rowOf(sb, m);
      Value y = sum;
      if (tBuffer)
        y = arith::AddFOp::create(sb, loc, y,
                                  buildLoraDelta(sb, loc, tBuffer, loraBBuffer,
                                                 idsBuffer, loraRank, rowsPerId,
                                                 xRow, row));
      if (in.epilogue)
        y = applyLinearEpilogue(sb, loc, y, in.activation, biasBuffer,
                                residualBuffer, xRow, row, yElementType);
      SmallVector<Value> at = delinearizeRow(sb, loc, xRow, leadingSizes);
      at.push_back(row);
      memref::StoreOp::create(sb, loc, y, yBuffer, at);
      scf::YieldOp::create(sb, loc);
    });
  });
  b.setInsertionPointAfter(grid);
  return toResultTensor(b, loc, yBuffer,
                        in.epilogue ? resultType : withF32Elements(resultType));
}
