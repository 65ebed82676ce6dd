//===- LinearTiles.cpp - linear layers of f16 x on tensor cores -----------===//
//
// The thread-block form of weft.linear with f16 x and weight, and of
// weft.qlinear with f16 x, for more rows than LinearBlocks.cpp takes
// (prefill), in the loops of BlockLoops.h: a block computes a square tile
// of the output (64 x 64, or 128 x 128 with room for it). Per K step (32 to
// 128) it stages the tiles of x and of the weight in shared memory (16-byte
// loads where the alignment is known), then its 8 warps add 16x16x16 f16
// products with f32 accumulation (tensor cores on the GPU: ldmatrix and
// mma.sync) to the f32 accumulator tile, the tile's 16x16 pieces spread
// over the warps. Integer weights enter the products as they are (q, or
// q - zero: small integers, exact in f16); the step's product goes to a
// tile of its own and the threads add it to the accumulator scaled by each
// channel's scale of the step's group, so that the result is as exact as
// with the dequantized weight in f32. A last phase applies the epilogue
// (bias, activation, residual, rounding) and writes the tile. Larger tiles
// and steps do more products per phase (and barrier) and per load.
//
//===----------------------------------------------------------------------===//

#include "BlockLoops.h"
#include "ContractionLowering.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::weft;

namespace {
constexpr int64_t kThreads = 256;
/// Elements after each row of the operand tiles: rows of step + 8 f16 values
/// (144 bytes for a step of 64) fall in different banks, and each row starts
/// on 16 bytes (ldmatrix reads 16-byte rows).
constexpr int64_t kPad = 8;

/// Output rows and columns of a block and its K step.
struct TileShape {
  int64_t tile, step;
};

/// The largest tile, then the longest step, whose buffers fit `sharedBytes`:
/// the x and weight tiles (f16, padded rows), the f32 accumulator and, for
/// integer weights, the f32 product of a step. A step stays within a group
/// of scales (`groupSize`, 0 for float weights); nullopt where none fits.
std::optional<TileShape> chooseTileShape(int64_t sharedBytes, bool quantized,
                                         int64_t groupSize, int64_t k) {
  for (int64_t tile : {128, 64})
    for (int64_t step : {128, 64, 32}) {
      if (quantized && groupSize != k && groupSize % step)
        continue;
      int64_t bytes =
          2 * tile * (step + kPad) * 2 + (quantized ? 2 : 1) * tile * tile * 4;
      if (bytes <= sharedBytes)
        return TileShape{tile, step};
    }
  return std::nullopt;
}
} // namespace

std::optional<Value>
weft::lowerLinearAsMatrixTiles(Operation *op, const LinearBlocksOperands &in,
                               int64_t sharedBytes, OpBuilder &b) {
  auto xType = cast<RankedTensorType>(in.x.getType());
  auto wType = cast<RankedTensorType>(in.weight.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  bool quantized = static_cast<bool>(in.scales);
  if (!xType.getElementType().isF16() || !wType.hasStaticShape() ||
      (!quantized && !wType.getElementType().isF16()))
    return std::nullopt;
  int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
  std::optional<TileShape> shape =
      chooseTileShape(sharedBytes, quantized, quantized ? in.groupSize : 0, k);
  if (n == 0 || k == 0 || !shape)
    return std::nullopt;
  int64_t tile = shape->tile, step = shape->step;
  Location loc = op->getLoc();
  Type f32 = b.getF32Type(), f16 = b.getF16Type();
  auto c = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };

  Value x = in.x;
  if (xType.isDynamicDim(xType.getRank() - 1)) {
    SmallVector<int64_t> shape(xType.getShape());
    shape.back() = k;
    x = tensor::CastOp::create(b, loc, xType.clone(shape), x);
  }
  x = collapseToRows(b, loc, x);
  Value rows = tensor::DimOp::create(b, loc, x, 0);
  Value xBuffer = toReadOnlyBuffer(b, loc, x);
  Value wBuffer = toReadOnlyBuffer(b, loc, in.weight);
  Value sBuffer = quantized ? toReadOnlyBuffer(b, loc, in.scales) : Value();
  Value zBuffer = in.zeros ? toReadOnlyBuffer(b, loc, in.zeros) : Value();
  Value biasBuffer =
      in.epilogue && in.bias ? toReadOnlyBuffer(b, loc, in.bias) : Value();
  Value residualBuffer =
      in.epilogue && in.residual
          ? toReadOnlyBuffer(b, loc, collapseToRows(b, loc, in.residual))
          : Value();
  Type yElementType = in.epilogue ? resultType.getElementType() : f32;
  // The result has its own shape (the leading dims of x, then N), and each
  // row index is delinearized: an expand_shape of two dynamic dims would
  // not lower (expand-strided-metadata).
  SmallVector<OpFoldResult> ySizes;
  for (int64_t d = 0; d + 1 < xType.getRank(); ++d)
    ySizes.push_back(tensor::getMixedSize(b, loc, in.x, d));
  SmallVector<Value> leadingSizes = llvm::map_to_vector(
      ySizes, [&](OpFoldResult size) { return getIndexValue(b, loc, size); });
  ySizes.push_back(b.getIndexAttr(n));
  Value yBuffer = allocateBuffer(b, loc, ySizes, yElementType);
  Value rowBlocks = arith::DivUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, rows, c(tile - 1)), c(tile));

  {
    OpBuilder::InsertionGuard guard(b);
    scf::ForallOp grid = createGridLoop(
        b, loc, {rowBlocks, b.getIndexAttr((n + tile - 1) / tile)});
    Value firstRow =
        arith::MulIOp::create(b, loc, grid.getInductionVars()[0], c(tile));
    Value firstColumn =
        arith::MulIOp::create(b, loc, grid.getInductionVars()[1], c(tile));
    auto blockLocal = [&](ArrayRef<int64_t> sizes, Type type) -> Value {
      return memref::AllocOp::create(b, loc, MemRefType::get(sizes, type));
    };
    Value xTile = blockLocal({tile, step + kPad}, f16);
    Value wTile = blockLocal({tile, step + kPad}, f16);
    Value acc = blockLocal({tile, tile}, f32);
    // The step's product, before its scales (integer weights).
    Value stepProduct = quantized ? blockLocal({tile, tile}, f32) : Value();
    auto lessThan = [&](OpBuilder &nb, Value lhs, Value rhs) -> Value {
      return arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult, lhs,
                                   rhs);
    };
    auto both = [&](OpBuilder &nb, Value lhs, Value rhs) -> Value {
      return arith::AndIOp::create(nb, loc, lhs, rhs);
    };

    // A phase over the elements [r, column] of the block's output tile.
    auto forEachTileElement =
        [&](OpBuilder &nb, function_ref<void(OpBuilder &, Value, Value)> body) {
          createThreadLoop(nb, loc, kThreads, [&](OpBuilder &pb, Value t) {
            forEachItem(pb, loc, t, tile * tile, kThreads,
                        [&](OpBuilder &ib, Value i) {
                          body(ib, arith::DivUIOp::create(ib, loc, i, c(tile)),
                               arith::RemUIOp::create(ib, loc, i, c(tile)));
                        });
          });
        };

    // Phase 0: an empty accumulator.
    forEachTileElement(b, [&](OpBuilder &ib, Value r, Value column) {
      memref::StoreOp::create(ib, loc, f32Const(ib, loc, 0.0), acc,
                              ValueRange{r, column});
    });
    scf::ForOp::create(
        b, loc, c(0), c(k), c(step), ValueRange{},
        [&](OpBuilder &sb, Location, Value k0, ValueRange) {
          // Phase 1: the K step's tiles of x and of the weight (zeros past
          // the rows, columns and K).
          createThreadLoop(sb, loc, kThreads, [&](OpBuilder &pb, Value t) {
            auto load =
                [&](Value source, Value buffer, Value first, Value count,
                    function_ref<Value(OpBuilder &, Value, Value, Value)>
                        convert) {
                  loadTileRows(
                      pb, loc, t, kThreads, source, buffer, tile, step, k,
                      [&](OpBuilder &fb, Value r,
                          Value column) -> SmallVector<Value> {
                        return {arith::AddIOp::create(fb, loc, first, r),
                                arith::AddIOp::create(fb, loc, k0, column)};
                      },
                      [&](OpBuilder &fb, Value r, Value column) {
                        return both(
                            fb,
                            lessThan(fb,
                                     arith::AddIOp::create(fb, loc, first, r),
                                     count),
                            lessThan(fb,
                                     arith::AddIOp::create(fb, loc, k0, column),
                                     c(k)));
                      },
                      convert, /*asyncPending=*/0);
                };
            load(xBuffer, xTile, firstRow, rows, nullptr);
            // Integers as f16: q, or q - zero (exact).
            auto toF16 = [&](OpBuilder &fb, Value piece, Value r,
                             Value) -> Value {
              auto pieceType = cast<VectorType>(piece.getType());
              auto intType = pieceType.clone(fb.getI32Type());
              Value values;
              if (zBuffer) {
                Value group =
                    arith::DivUIOp::create(fb, loc, k0, c(in.groupSize));
                Value zero = arith::ExtUIOp::create(
                    fb, loc, fb.getI32Type(),
                    memref::LoadOp::create(
                        fb, loc, zBuffer,
                        ValueRange{
                            arith::AddIOp::create(fb, loc, firstColumn, r),
                            group}));
                values = arith::SubIOp::create(
                    fb, loc, arith::ExtUIOp::create(fb, loc, intType, piece),
                    vector::BroadcastOp::create(fb, loc, intType, zero));
              } else {
                values = arith::ExtSIOp::create(fb, loc, intType, piece);
              }
              return arith::SIToFPOp::create(fb, loc, pieceType.clone(f16),
                                             values);
            };
            if (quantized)
              load(wBuffer, wTile, firstColumn, c(n), toF16);
            else
              load(wBuffer, wTile, firstColumn, c(n), nullptr);
          });
          // Phase 2: acc += x . w^T (integer weights: the step's product),
          // 16x16 tiles per warp.
          forEachWarpTile(
              sb, loc, kThreads, tile / kMatrixTile, tile / kMatrixTile,
              [&](OpBuilder &wb, Value m0, Value n0) {
                AccumulatorTile current =
                    quantized ? zeroAccumulatorTile(wb, loc)
                              : readAccumulatorTile(wb, loc, acc, m0, n0);
                AccumulatorTile product =
                    multiplyMatrixTiles(wb, loc, current, xTile, m0, wTile, n0,
                                        step, /*transposeB=*/true);
                writeAccumulatorTile(wb, loc, product,
                                     quantized ? stepProduct : acc, m0, n0);
              });
          // Phase 3 (integer weights): acc += the step's product times each
          // channel's scale.
          if (quantized) {
            forEachTileElement(sb, [&](OpBuilder &ib, Value r, Value column) {
              Value channel =
                  arith::AddIOp::create(ib, loc, firstColumn, column);
              scf::IfOp::create(
                  ib, loc, lessThan(ib, channel, c(n)),
                  [&](OpBuilder &tb, Location) {
                    Value group =
                        arith::DivUIOp::create(tb, loc, k0, c(in.groupSize));
                    Value scale = extendToF32(
                        tb, loc,
                        memref::LoadOp::create(tb, loc, sBuffer,
                                               ValueRange{channel, group}));
                    Value scaled = arith::MulFOp::create(
                        tb, loc,
                        memref::LoadOp::create(tb, loc, stepProduct,
                                               ValueRange{r, column}),
                        scale);
                    Value sum = arith::AddFOp::create(
                        tb, loc,
                        memref::LoadOp::create(tb, loc, acc,
                                               ValueRange{r, column}),
                        scaled);
                    memref::StoreOp::create(tb, loc, sum, acc,
                                            ValueRange{r, column});
                    scf::YieldOp::create(tb, loc);
                  });
            });
          }
          scf::YieldOp::create(sb, loc);
        });
    // Last phase: the epilogue and the block's part of the result.
    forEachTileElement(b, [&](OpBuilder &ib, Value r, Value column) {
      Value row = arith::AddIOp::create(ib, loc, firstRow, r);
      Value channel = arith::AddIOp::create(ib, loc, firstColumn, column);
      scf::IfOp::create(
          ib, loc,
          both(ib, lessThan(ib, row, rows), lessThan(ib, channel, c(n))),
          [&](OpBuilder &tb, Location) {
            Value y =
                memref::LoadOp::create(tb, loc, acc, ValueRange{r, column});
            if (in.epilogue)
              y = applyLinearEpilogue(tb, loc, y, in.activation, biasBuffer,
                                      residualBuffer, row, channel,
                                      yElementType);
            // Row -> the leading indices of the result.
            SmallVector<Value> indices(leadingSizes.size());
            Value rest = row;
            for (int64_t d = leadingSizes.size() - 1; d >= 0; --d) {
              indices[d] = d == 0 ? rest
                                  : arith::RemUIOp::create(tb, loc, rest,
                                                           leadingSizes[d]);
              if (d > 0)
                rest = arith::DivUIOp::create(tb, loc, rest, leadingSizes[d]);
            }
            indices.push_back(channel);
            memref::StoreOp::create(tb, loc, y, yBuffer, indices);
            scf::YieldOp::create(tb, loc);
          });
    });
  }

  RankedTensorType type =
      in.epilogue ? resultType : withF32Elements(resultType);
  return toResultTensor(b, loc, yBuffer, type);
}
