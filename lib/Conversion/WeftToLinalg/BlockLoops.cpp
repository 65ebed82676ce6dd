//===- BlockLoops.cpp - kernels as loops over GPU blocks and threads ------===//

#include "BlockLoops.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

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
