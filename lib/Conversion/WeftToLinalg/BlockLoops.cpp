//===- BlockLoops.cpp - kernels as loops over GPU blocks and threads ------===//

#include "BlockLoops.h"
#include "LoweringUtils.h"
#include "weft/Transforms/AsyncCopies.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::weft;

Value weft::toReadOnlyBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  auto layout =
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides);
  auto memrefType =
      MemRefType::get(type.getShape(), type.getElementType(), layout);
  return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                           /*read_only=*/true);
}

Value weft::allocateBuffer(OpBuilder &b, Location loc,
                           ArrayRef<OpFoldResult> sizes, Type type) {
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes;
  for (OpFoldResult size : sizes) {
    std::optional<int64_t> constant = getConstantIntValue(size);
    shape.push_back(constant.value_or(ShapedType::kDynamic));
    if (!constant)
      dynamicSizes.push_back(getIndexValue(b, loc, size));
  }
  return memref::AllocOp::create(b, loc, MemRefType::get(shape, type),
                                 dynamicSizes);
}

Value weft::toResultTensor(OpBuilder &b, Location loc, Value buffer,
                           Type type) {
  auto memrefType = cast<MemRefType>(buffer.getType());
  Value tensor = bufferization::ToTensorOp::create(
      b, loc,
      RankedTensorType::get(memrefType.getShape(), memrefType.getElementType()),
      buffer, /*restrict=*/true, /*writable=*/true);
  return castToType(b, loc, tensor, type);
}

Value weft::collapseToRows(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return value;
  if (rank == 1)
    return tensor::ExpandShapeOp::create(
        b, loc,
        RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType()),
        value, ArrayRef<ReassociationIndices>{{0, 1}});
  int64_t rows = 1;
  for (int64_t size : type.getShape().drop_back())
    rows = ShapedType::isDynamic(size) || ShapedType::isDynamic(rows)
               ? ShapedType::kDynamic
               : rows * size;
  ReassociationIndices leading =
      llvm::to_vector(llvm::seq<int64_t>(0, rank - 1));
  return tensor::CollapseShapeOp::create(
      b, loc,
      RankedTensorType::get({rows, type.getShape().back()},
                            type.getElementType()),
      value, ArrayRef<ReassociationIndices>{leading, {rank - 1}});
}

scf::ForallOp weft::createGridLoop(OpBuilder &b, Location loc,
                                   ArrayRef<OpFoldResult> sizes) {
  const gpu::MappingId ids[] = {gpu::MappingId::DimX, gpu::MappingId::DimY,
                                gpu::MappingId::DimZ};
  SmallVector<Attribute> mapping;
  for (size_t i = 0; i < sizes.size(); ++i)
    mapping.push_back(gpu::GPUBlockMappingAttr::get(b.getContext(), ids[i]));
  auto grid = scf::ForallOp::create(b, loc, sizes, ValueRange{},
                                    b.getArrayAttr(mapping));
  b.setInsertionPointToStart(grid.getBody());
  return grid;
}

/// An scf.forall over `count` ids with the given x-dimension mapping.
static void createMappedLoop(OpBuilder &b, Location loc, int64_t count,
                             Attribute mapping,
                             function_ref<void(OpBuilder &, Value)> body) {
  scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(count)},
                        ValueRange{}, b.getArrayAttr({mapping}),
                        [&](OpBuilder &nb, Location, ValueRange ivs) {
                          body(nb, ivs[0]);
                          scf::InParallelOp::create(nb, loc);
                        });
}

void weft::createThreadLoop(OpBuilder &b, Location loc, int64_t threads,
                            function_ref<void(OpBuilder &, Value)> body) {
  createMappedLoop(
      b, loc, threads,
      gpu::GPUThreadMappingAttr::get(b.getContext(), gpu::MappingId::DimX),
      body);
}

void weft::createWarpLoop(OpBuilder &b, Location loc, int64_t warps,
                          function_ref<void(OpBuilder &, Value)> body) {
  createMappedLoop(
      b, loc, warps,
      gpu::GPUWarpMappingAttr::get(b.getContext(), gpu::MappingId::DimX), body);
}

void weft::forEachItem(OpBuilder &b, Location loc, Value thread, int64_t count,
                       int64_t stride,
                       function_ref<void(OpBuilder &, Value)> body) {
  Value end = arith::ConstantIndexOp::create(b, loc, count);
  Value step = arith::ConstantIndexOp::create(b, loc, stride);
  scf::ForOp::create(b, loc, thread, end, step, ValueRange{},
                     [&](OpBuilder &fb, Location, Value item, ValueRange) {
                       body(fb, item);
                       scf::YieldOp::create(fb, loc);
                     });
}

Value weft::shuffleXor(OpBuilder &b, Location loc, Value value,
                       int64_t offset) {
  return gpu::ShuffleOp::create(
             b, loc, value, arith::ConstantIntOp::create(b, loc, offset, 32),
             arith::ConstantIntOp::create(b, loc, kWarpLanes, 32),
             gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

Value weft::butterflyReduce(
    OpBuilder &b, Location loc, Value value, int64_t first, int64_t last,
    function_ref<Value(OpBuilder &, Value, Value)> combine) {
  for (int64_t offset = first; offset < last; offset *= 2)
    value = combine(b, value, shuffleXor(b, loc, value, offset));
  return value;
}

// The index arithmetic of a warp's tile is affine.apply: MLIR 22's mma.sync
// conversion (convertVectorToNVVMCompatibleMMASync), run on the warp's
// loop body, takes integer arith ops there for matrix operations and fails.
void weft::forEachWarpTile(OpBuilder &b, Location loc, int64_t threads,
                           int64_t tilesM, int64_t tilesN,
                           function_ref<void(OpBuilder &, Value, Value)> body) {
  constexpr int64_t warpSize = 32;
  createWarpLoop(b, loc, threads / warpSize, [&](OpBuilder &nb, Value warp) {
    forEachItem(nb, loc, warp, tilesM * tilesN, threads / warpSize,
                [&](OpBuilder &fb, Value i) {
                  AffineExpr d0 = fb.getAffineDimExpr(0);
                  auto apply = [&](AffineExpr expr) -> Value {
                    return affine::AffineApplyOp::create(
                        fb, loc, AffineMap::get(1, 0, expr), ValueRange{i});
                  };
                  body(fb, apply(d0.floorDiv(tilesN) * kMatrixTile),
                       apply((d0 % tilesN) * kMatrixTile));
                });
  });
}

/// The type of one piece of an accumulator tile.
static VectorType getPieceType(OpBuilder &b) {
  return VectorType::get({kMatrixTile, kMatrixPieceColumns}, b.getF32Type());
}

/// The first column of piece `piece` of the tile starting at column `n0`.
static Value getPieceColumn(OpBuilder &b, Location loc, Value n0,
                            int64_t piece) {
  if (piece == 0)
    return n0;
  return affine::AffineApplyOp::create(
      b, loc,
      AffineMap::get(1, 0, b.getAffineDimExpr(0) + piece * kMatrixPieceColumns),
      ValueRange{n0});
}

static constexpr int64_t kPiecesPerTile = kMatrixTile / kMatrixPieceColumns;

AccumulatorTile weft::zeroAccumulatorTile(OpBuilder &b, Location loc) {
  VectorType type = getPieceType(b);
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0.0)));
  return AccumulatorTile(kPiecesPerTile, zero);
}

AccumulatorTile weft::readAccumulatorTile(OpBuilder &b, Location loc,
                                          Value buffer, Value m0, Value n0) {
  AccumulatorTile tile;
  Value padding = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  for (int64_t piece = 0; piece < kPiecesPerTile; ++piece)
    tile.push_back(vector::TransferReadOp::create(
        b, loc, getPieceType(b), buffer,
        ValueRange{m0, getPieceColumn(b, loc, n0, piece)}, padding,
        ArrayRef<bool>{true, true}));
  return tile;
}

void weft::writeAccumulatorTile(OpBuilder &b, Location loc,
                                const AccumulatorTile &tile, Value buffer,
                                Value m0, Value n0) {
  for (auto [piece, value] : llvm::enumerate(tile))
    vector::TransferWriteOp::create(
        b, loc, value, buffer,
        ValueRange{m0, getPieceColumn(b, loc, n0, piece)},
        ArrayRef<bool>{true, true});
}

AccumulatorTile weft::multiplyMatrixTiles(OpBuilder &b, Location loc,
                                          const AccumulatorTile &init, Value a,
                                          Value m0, Value bTile, Value n0,
                                          int64_t extent, bool transposeB) {
  MLIRContext *ctx = b.getContext();
  Type f16 = b.getF16Type(), f32 = b.getF32Type();
  auto lhsType = VectorType::get({kMatrixTile, kMatrixTile}, f16);
  auto rhsType = VectorType::get({kMatrixPieceColumns, kMatrixTile}, f16);
  Value padding = arith::ConstantOp::create(b, loc, b.getF16FloatAttr(0.0));
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  // [m, k] x [n, k] -> [m, n]: the operand layouts of mma.sync.
  auto maps = b.getAffineMapArrayAttr({AffineMap::get(3, 0, {m, k}, ctx),
                                       AffineMap::get(3, 0, {n, k}, ctx),
                                       AffineMap::get(3, 0, {m, n}, ctx)});
  auto iterators = b.getArrayAttr(
      {vector::IteratorTypeAttr::get(ctx, vector::IteratorType::parallel),
       vector::IteratorTypeAttr::get(ctx, vector::IteratorType::parallel),
       vector::IteratorTypeAttr::get(ctx, vector::IteratorType::reduction)});
  auto c = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  auto loop = scf::ForOp::create(
      b, loc, c(0), c(extent), c(kMatrixTile), ValueRange(init),
      [&](OpBuilder &lb, Location, Value k0, ValueRange sums) {
        auto extend = [&](Value tile) -> Value {
          auto type = cast<VectorType>(tile.getType());
          return arith::ExtFOp::create(lb, loc, type.clone(f32), tile);
        };
        Value lhs = extend(vector::TransferReadOp::create(
            lb, loc, lhsType, a, ValueRange{m0, k0}, padding,
            ArrayRef<bool>{true, true}));
        SmallVector<Value> next;
        for (auto [piece, sum] : llvm::enumerate(sums)) {
          Value column = getPieceColumn(lb, loc, n0, piece);
          // B^T rows are [n, k] already; B rows [k, n] are read transposed.
          Value rhs = transposeB
                          ? vector::TransferReadOp::create(
                                lb, loc, rhsType, bTile, ValueRange{column, k0},
                                padding, ArrayRef<bool>{true, true})
                          : vector::TransferReadOp::create(
                                lb, loc, rhsType, bTile, ValueRange{k0, column},
                                padding,
                                AffineMap::getPermutationMap(
                                    ArrayRef<unsigned>{1, 0}, ctx),
                                ArrayRef<bool>{true, true});
          next.push_back(vector::ContractionOp::create(
              lb, loc, lhs, extend(rhs), sum, maps, iterators));
        }
        scf::YieldOp::create(lb, loc, next);
      });
  return AccumulatorTile(loop.getResults());
}

void weft::loadTileRows(
    OpBuilder &b, Location loc, Value thread, int64_t threads, Value source,
    Value tile, int64_t rows, int64_t width, int64_t columns,
    function_ref<SmallVector<Value>(OpBuilder &, Value, Value)> sourceIndices,
    function_ref<Value(OpBuilder &, Value, Value)> inside,
    function_ref<Value(OpBuilder &, Value, Value, Value)> convert,
    std::optional<int64_t> asyncPending) {
  constexpr int64_t pieceBytes = 16;
  Type sourceElement = cast<MemRefType>(source.getType()).getElementType();
  Type element = cast<MemRefType>(tile.getType()).getElementType();
  int64_t piece = pieceBytes * 8 / sourceElement.getIntOrFloatBitWidth();
  while (width % piece || (columns > 0 && columns % piece))
    piece /= 2;
  auto sourcePieceType = VectorType::get({piece}, sourceElement);
  auto pieceType = VectorType::get({piece}, element);
  auto c = [&](OpBuilder &nb, int64_t value) -> Value {
    return arith::ConstantIndexOp::create(nb, loc, value);
  };
  forEachItem(
      b, loc, thread, rows * (width / piece), threads,
      [&](OpBuilder &fb, Value i) {
        Value row = arith::DivUIOp::create(fb, loc, i, c(fb, width / piece));
        Value column = arith::MulIOp::create(
            fb, loc, arith::RemUIOp::create(fb, loc, i, c(fb, width / piece)),
            c(fb, piece));
        Value values =
            scf::IfOp::create(
                fb, loc, inside(fb, row, column),
                [&](OpBuilder &tb, Location) {
                  Value read = vector::TransferReadOp::create(
                      tb, loc, sourcePieceType, source,
                      sourceIndices(tb, row, column),
                      /*padding=*/std::nullopt, ArrayRef<bool>{true});
                  scf::YieldOp::create(
                      tb, loc, convert ? convert(tb, read, row, column) : read);
                },
                [&](OpBuilder &eb, Location) {
                  scf::YieldOp::create(
                      eb, loc,
                      arith::ConstantOp::create(
                          eb, loc,
                          DenseElementsAttr::get(pieceType,
                                                 eb.getZeroAttr(element)))
                          .getResult());
                })
                .getResult(0);
        auto write = vector::TransferWriteOp::create(fb, loc, values, tile,
                                                     ValueRange{row, column},
                                                     ArrayRef<bool>{true});
        if (asyncPending && !convert)
          write->setAttr(kAsyncCopyAttrName,
                         fb.getI64IntegerAttr(*asyncPending));
      });
}

Value weft::loadF32If(OpBuilder &b, Location loc, Value condition, Value memref,
                      ValueRange indices, Value otherwise) {
  return scf::IfOp::create(
             b, loc, condition,
             [&](OpBuilder &tb, Location) {
               Value value = memref::LoadOp::create(tb, loc, memref, indices);
               scf::YieldOp::create(tb, loc, extendToF32(tb, loc, value));
             },
             [&](OpBuilder &eb, Location) {
               scf::YieldOp::create(eb, loc, otherwise);
             })
      .getResult(0);
}

Value weft::accumulate(OpBuilder &b, Location loc, Value count, Value init,
                       function_ref<Value(OpBuilder &, Value, Value)> step) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  return scf::ForOp::create(
             b, loc, zero, count, one, ValueRange{init},
             [&](OpBuilder &fb, Location, Value i, ValueRange acc) {
               scf::YieldOp::create(fb, loc, ValueRange{step(fb, i, acc[0])});
             })
      .getResult(0);
}

Value weft::firstIsCurrentInit(OpBuilder &b, Location loc) {
  return arith::ConstantIntOp::create(b, loc, 1, 1);
}

Value weft::pickBuffer(OpBuilder &b, Location loc, Value firstIsCurrent,
                       Value first, Value second, bool current) {
  return arith::SelectOp::create(b, loc, firstIsCurrent,
                                 current ? first : second,
                                 current ? second : first);
}

Value weft::swapBuffers(OpBuilder &b, Location loc, Value firstIsCurrent) {
  return arith::XOrIOp::create(b, loc, firstIsCurrent,
                               arith::ConstantIntOp::create(b, loc, 1, 1));
}
