//===- LinearTiles.cpp - linear layers of 16-bit x on tensor cores --------===//
//
// The thread-block form of weft.linear with f16 or bf16 x and weight, and of
// weft.qlinear with f16 or bf16 x, for more rows than LinearBlocks.cpp
// takes (prefill), written SIMT-style (one thread loop per block,
// docs/GPU.md#simt-kernels-barriers-and-shuffles-inside-a-thread-loop): a
// block computes a square tile of the output (128 x 128, or 64 x 64), its
// 8 warps a [tile / 2, tile / 4] part each, whose m16n8k16 accumulator
// fragments the lanes keep in registers for the whole K loop
// (WarpFragments.h). Per K step (32 or 64) all threads copy the x and
// weight tiles into shared memory (asynchronously, double-buffered where
// two sets fit: the next step's copies go out before the current step's
// products), then each warp loads its A and B fragments by ldmatrix and
// multiplies on the tensor cores. Integer weights enter the products as
// they are (q, or q - zero: small integers, exact in f16 and bf16); each
// step's product has fragments of its own, added to the accumulators times
// each channel's scale of the step's group, so that the result is as exact
// as with the dequantized weight in f32. The epilogue (bias, activation,
// residual, rounding) runs on the fragments as they are written.
//
//===----------------------------------------------------------------------===//

#include "BlockLoops.h"
#include "ContractionLowering.h"
#include "LoweringUtils.h"
#include "WarpFragments.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::weft;

namespace {
constexpr int64_t kThreads = 256;
/// The block's warps: 2 along the output rows, 4 along its columns.
constexpr int64_t kWarpRows = 2, kWarpColumns = 4;
/// Elements after each row of the operand tiles: rows of step + 8 16-bit
/// values (144 bytes for a step of 64) fall in different banks, and each
/// row starts on 16 bytes (ldmatrix reads 16-byte rows).
constexpr int64_t kPad = 8;

/// Output rows and columns of a block, its K step, and whether the tiles of
/// two steps are in shared memory at once.
struct TileShape {
  int64_t tile, step;
  bool doubleBuffered;
};

/// Two sets of tiles where they fit `sharedBytes`, then the largest tile
/// and step: 128 x 128 tiles hold 64 accumulators per lane, integer
/// weights twice that (the step's product), so they take 64 x 64. A step
/// stays within a group of scales (`groupSize`, 0 for float weights);
/// nullopt where none fits.
std::optional<TileShape> chooseTileShape(int64_t sharedBytes, bool quantized,
                                         int64_t groupSize, int64_t k) {
  SmallVector<int64_t> tiles =
      quantized ? SmallVector<int64_t>{64} : SmallVector<int64_t>{128, 64};
  for (bool twoSets : {true, false})
    for (int64_t tile : tiles)
      for (int64_t step : {64, 32}) {
        if (quantized && groupSize != k && groupSize % step)
          continue;
        int64_t setBytes = 2 * tile * (step + kPad) * 2;
        if ((twoSets ? 2 : 1) * setBytes <= sharedBytes)
          return TileShape{tile, step, twoSets};
      }
  return std::nullopt;
}
} // namespace

/// The tiles for `in`, or nullopt where the form does not apply.
static std::optional<TileShape>
getMatrixTileShape(const LinearBlocksOperands &in, int64_t sharedBytes) {
  auto xType = cast<RankedTensorType>(in.x.getType());
  auto wType = cast<RankedTensorType>(in.weight.getType());
  bool quantized = static_cast<bool>(in.scales);
  // f16 or bf16 x, and float weights of the same type.
  Type element = xType.getElementType();
  if (!(element.isF16() || element.isBF16()) || !wType.hasStaticShape() ||
      (!quantized && wType.getElementType() != element))
    return std::nullopt;
  int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
  if (n == 0 || k == 0)
    return std::nullopt;
  return chooseTileShape(sharedBytes, quantized, quantized ? in.groupSize : 0,
                         k);
}

bool weft::canLowerLinearAsMatrixTiles(const LinearBlocksOperands &operands,
                                       int64_t sharedBytes) {
  return getMatrixTileShape(operands, sharedBytes).has_value();
}

std::optional<Value>
weft::lowerLinearAsMatrixTiles(Operation *op, const LinearBlocksOperands &in,
                               int64_t sharedBytes, OpBuilder &b) {
  auto xType = cast<RankedTensorType>(in.x.getType());
  auto wType = cast<RankedTensorType>(in.weight.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  bool quantized = static_cast<bool>(in.scales);
  std::optional<TileShape> shape = getMatrixTileShape(in, sharedBytes);
  if (!shape)
    return std::nullopt;
  int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
  Type element = xType.getElementType();
  int64_t tile = shape->tile, step = shape->step;
  int64_t warpRows = tile / kWarpRows, warpColumns = tile / kWarpColumns;
  // Fragments per warp: 16-row tiles by 8-column pieces.
  int64_t rowTiles = warpRows / 16, pieces = warpColumns / 8;
  Location loc = op->getLoc();
  Type f32 = b.getF32Type();
  auto c = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  // Constants where a nested builder inserts (inside the thread loop).
  auto cst = [&](OpBuilder &nb, int64_t value) -> Value {
    return arith::ConstantIndexOp::create(nb, loc, value);
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
    // The tiles of the x rows and of the weight rows (channels) of one or
    // two K steps (shared memory on the GPU).
    int64_t sets = shape->doubleBuffered ? 2 : 1;
    Value xTiles[2], wTiles[2];
    for (int64_t i = 0; i < sets; ++i) {
      xTiles[i] = memref::AllocOp::create(
          b, loc, MemRefType::get({tile, step + kPad}, element));
      wTiles[i] = memref::AllocOp::create(
          b, loc, MemRefType::get({tile, step + kPad}, element));
    }
    auto lessThan = [&](OpBuilder &nb, Value lhs, Value rhs) -> Value {
      return arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult, lhs,
                                   rhs);
    };
    auto both = [&](OpBuilder &nb, Value lhs, Value rhs) -> Value {
      return arith::AndIOp::create(nb, loc, lhs, rhs);
    };

    createThreadLoop(b, loc, kThreads, [&](OpBuilder &nb, Value t) {
      Value lane = arith::RemUIOp::create(nb, loc, t, cst(nb, 32));
      Value warp = arith::DivUIOp::create(nb, loc, t, cst(nb, 32));
      Value warpRow0 = arith::MulIOp::create(
          nb, loc, arith::DivUIOp::create(nb, loc, warp, cst(nb, kWarpColumns)),
          cst(nb, warpRows));
      Value warpColumn0 = arith::MulIOp::create(
          nb, loc, arith::RemUIOp::create(nb, loc, warp, cst(nb, kWarpColumns)),
          cst(nb, warpColumns));
      // This lane's fragment coordinates: rows g, g + 8, columns 2t, 2t + 1.
      Value group = arith::DivUIOp::create(nb, loc, lane, cst(nb, 4));
      Value pairColumn = arith::MulIOp::create(
          nb, loc, arith::RemUIOp::create(nb, loc, lane, cst(nb, 4)),
          cst(nb, 2));

      // This thread's share of the K step from `k0` of both tiles (zeros
      // past the rows, the channels and K), copies that may be
      // asynchronous with `pending` groups left pending at the barrier.
      auto loadStep = [&](OpBuilder &lb, Value k0, Value xTile, Value wTile,
                          int64_t pending) {
        auto load =
            [&](Value source, Value buffer, Value first, Value count,
                function_ref<Value(OpBuilder &, Value, Value, Value)> convert) {
              loadTileRows(
                  lb, loc, t, kThreads, source, buffer, tile, step, k,
                  [&](OpBuilder &fb, Value r,
                      Value column) -> SmallVector<Value> {
                    return {arith::AddIOp::create(fb, loc, first, r),
                            arith::AddIOp::create(fb, loc, k0, column)};
                  },
                  [&](OpBuilder &fb, Value r, Value column) {
                    return both(
                        fb,
                        lessThan(fb, arith::AddIOp::create(fb, loc, first, r),
                                 count),
                        lessThan(fb, arith::AddIOp::create(fb, loc, k0, column),
                                 cst(fb, k)));
                  },
                  convert, pending);
            };
        load(xBuffer, xTile, firstRow, rows, nullptr);
        if (!quantized) {
          load(wBuffer, wTile, firstColumn, cst(lb, n), nullptr);
          return;
        }
        // Integers in x's type: q, or q - zero (exact: at most 255 in
        // magnitude, within the 8 significant bits of f16 and bf16).
        load(wBuffer, wTile, firstColumn, cst(lb, n),
             [&](OpBuilder &fb, Value piece, Value r, Value) -> Value {
               auto pieceType = cast<VectorType>(piece.getType());
               auto intType = pieceType.clone(fb.getI32Type());
               Value values;
               if (zBuffer) {
                 Value stepGroup =
                     arith::DivUIOp::create(fb, loc, k0, cst(fb, in.groupSize));
                 Value zero = arith::ExtUIOp::create(
                     fb, loc, fb.getI32Type(),
                     memref::LoadOp::create(
                         fb, loc, zBuffer,
                         ValueRange{
                             arith::AddIOp::create(fb, loc, firstColumn, r),
                             stepGroup}));
                 values = arith::SubIOp::create(
                     fb, loc, arith::ExtUIOp::create(fb, loc, intType, piece),
                     vector::BroadcastOp::create(fb, loc, intType, zero));
               } else {
                 values = arith::ExtSIOp::create(fb, loc, intType, piece);
               }
               return arith::SIToFPOp::create(fb, loc, pieceType.clone(element),
                                              values);
             });
      };
      if (shape->doubleBuffered)
        loadStep(nb, cst(nb, 0), xTiles[0], wTiles[0], /*pending=*/1);

      // The K loop carries the accumulator fragments [rowTile][piece] (and,
      // double-buffered, which set of tiles is current).
      Value zeroFragment = zeroAccumulatorFragment(nb, loc);
      int64_t fragments = rowTiles * pieces;
      SmallVector<Value> inits(fragments, zeroFragment);
      if (shape->doubleBuffered)
        inits.push_back(firstIsCurrentInit(nb, loc));
      auto kLoop = scf::ForOp::create(nb, loc, cst(nb, 0), cst(nb, k),
                                      cst(nb, step), inits);
      {
        OpBuilder lb = OpBuilder::atBlockBegin(kLoop.getBody());
        Value k0 = kLoop.getInductionVar();
        ValueRange carried = kLoop.getRegionIterArgs();
        Value xTile = xTiles[0], wTile = wTiles[0];
        if (shape->doubleBuffered) {
          Value first = carried[fragments];
          xTile = pickBuffer(lb, loc, first, xTiles[0], xTiles[1], true);
          wTile = pickBuffer(lb, loc, first, wTiles[0], wTiles[1], true);
          loadStep(lb, arith::AddIOp::create(lb, loc, k0, cst(lb, step)),
                   pickBuffer(lb, loc, first, xTiles[0], xTiles[1], false),
                   pickBuffer(lb, loc, first, wTiles[0], wTiles[1], false),
                   /*pending=*/1);
        } else {
          loadStep(lb, k0, xTile, wTile, /*pending=*/0);
        }
        gpu::BarrierOp::create(lb, loc);
        Value xShared = viewAsShared(lb, loc, xTile);
        Value wShared = viewAsShared(lb, loc, wTile);
        // Integer weights: the step's own product, scaled below.
        SmallVector<Value> products =
            quantized ? SmallVector<Value>(fragments, zeroFragment)
                      : SmallVector<Value>(carried.take_front(fragments));
        for (int64_t kk = 0; kk < step / 16; ++kk) {
          // A: 16x16 tiles of x rows, matrices (rows + 8 (m mod 2),
          // columns + 8 (m / 2)).
          SmallVector<Value> aFragments;
          for (int64_t mi = 0; mi < rowTiles; ++mi)
            aFragments.push_back(loadMatrices(
                lb, loc, xShared, lane, 4, /*transpose=*/false,
                arith::AddIOp::create(lb, loc, warpRow0, cst(lb, 16 * mi)),
                cst(lb, 16 * kk), [](int64_t m) { return 8 * (m % 2); },
                [](int64_t m) { return 8 * (m / 2); }));
          // B = W^T: two 8-channel pieces per load, matrices (channels
          // + 8 (m / 2), k + 8 (m mod 2)) of the weight rows.
          for (int64_t ni = 0; ni < pieces; ni += 2) {
            Value matrices = loadMatrices(
                lb, loc, wShared, lane, 4, /*transpose=*/false,
                arith::AddIOp::create(lb, loc, warpColumn0, cst(lb, 8 * ni)),
                cst(lb, 16 * kk), [](int64_t m) { return 8 * (m / 2); },
                [](int64_t m) { return 8 * (m % 2); });
            for (int64_t half = 0; half < 2; ++half) {
              Value bFragment = bFragmentOf(lb, loc, matrices, half);
              for (int64_t mi = 0; mi < rowTiles; ++mi) {
                Value &product = products[mi * pieces + ni + half];
                product = mmaSync(lb, loc, aFragments[mi], bFragment, product);
              }
            }
          }
        }
        SmallVector<Value> next = products;
        if (quantized) {
          // acc += the step's product times its channels' scales (the
          // lane's two columns of each piece; channels past N read the
          // last one and are never written).
          Value stepGroup =
              arith::DivUIOp::create(lb, loc, k0, cst(lb, in.groupSize));
          for (int64_t ni = 0; ni < pieces; ++ni) {
            SmallVector<Value> scales;
            for (int64_t j = 0; j < 2; ++j) {
              Value channel = arith::MinUIOp::create(
                  lb, loc,
                  arith::AddIOp::create(
                      lb, loc,
                      arith::AddIOp::create(lb, loc, firstColumn, warpColumn0),
                      arith::AddIOp::create(lb, loc, pairColumn,
                                            cst(lb, 8 * ni + j))),
                  cst(lb, n - 1));
              scales.push_back(extendToF32(
                  lb, loc,
                  memref::LoadOp::create(lb, loc, sBuffer,
                                         ValueRange{channel, stepGroup})));
            }
            Value scaleFragment = vector::FromElementsOp::create(
                lb, loc, VectorType::get({2, 2}, f32),
                ValueRange{scales[0], scales[1], scales[0], scales[1]});
            for (int64_t mi = 0; mi < rowTiles; ++mi) {
              int64_t at = mi * pieces + ni;
              next[at] = vector::FMAOp::create(lb, loc, products[at],
                                               scaleFragment, carried[at]);
            }
          }
        }
        // Nobody overwrites the tiles before every warp is done with them.
        gpu::BarrierOp::create(lb, loc);
        if (shape->doubleBuffered)
          next.push_back(swapBuffers(lb, loc, carried[fragments]));
        scf::YieldOp::create(lb, loc, next);
      }

      // The epilogue on each fragment element and the block's part of the
      // result.
      for (int64_t mi = 0; mi < rowTiles; ++mi)
        for (int64_t ni = 0; ni < pieces; ++ni)
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 2; ++j) {
              Value row = arith::AddIOp::create(
                  nb, loc, arith::AddIOp::create(nb, loc, firstRow, warpRow0),
                  arith::AddIOp::create(nb, loc, group,
                                        cst(nb, 16 * mi + 8 * i)));
              Value channel = arith::AddIOp::create(
                  nb, loc,
                  arith::AddIOp::create(nb, loc, firstColumn, warpColumn0),
                  arith::AddIOp::create(nb, loc, pairColumn,
                                        cst(nb, 8 * ni + j)));
              Value y = vector::ExtractOp::create(
                  nb, loc, kLoop.getResult(mi * pieces + ni),
                  ArrayRef<int64_t>{i, j});
              scf::IfOp::create(
                  nb, loc,
                  both(nb, lessThan(nb, row, rows),
                       lessThan(nb, channel, cst(nb, n))),
                  [&](OpBuilder &tb, Location) {
                    Value value = y;
                    if (in.epilogue)
                      value = applyLinearEpilogue(tb, loc, value, in.activation,
                                                  biasBuffer, residualBuffer,
                                                  row, channel, yElementType);
                    // Row -> the leading indices of the result.
                    SmallVector<Value> indices(leadingSizes.size());
                    Value rest = row;
                    for (int64_t d = leadingSizes.size() - 1; d >= 0; --d) {
                      indices[d] = d == 0 ? rest
                                          : arith::RemUIOp::create(
                                                tb, loc, rest, leadingSizes[d]);
                      if (d > 0)
                        rest = arith::DivUIOp::create(tb, loc, rest,
                                                      leadingSizes[d]);
                    }
                    indices.push_back(channel);
                    memref::StoreOp::create(tb, loc, value, yBuffer, indices);
                    scf::YieldOp::create(tb, loc);
                  });
            }
    });
  }

  RankedTensorType type =
      in.epilogue ? resultType : withF32Elements(resultType);
  return toResultTensor(b, loc, yBuffer, type);
}
