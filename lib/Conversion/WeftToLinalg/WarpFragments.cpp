//===- WarpFragments.cpp - per-lane tensor-core fragments -----------------===//

#include "WarpFragments.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::weft;

Value weft::viewAsShared(OpBuilder &b, Location loc, Value tile) {
  auto type = cast<MemRefType>(tile.getType());
  return memref::MemorySpaceCastOp::create(
      b, loc,
      MemRefType::get(type.getShape(), type.getElementType(),
                      MemRefLayoutAttrInterface(),
                      gpu::AddressSpaceAttr::get(b.getContext(),
                                                 gpu::AddressSpace::Workgroup)),
      tile);
}

Value weft::loadMatrices(OpBuilder &b, Location loc, Value shared, Value lane,
                         int64_t tiles, bool transpose, Value row0,
                         Value column0, function_ref<int64_t(int64_t)> rowOf,
                         function_ref<int64_t(int64_t)> columnOf) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  // The lane's matrix m and row r, and (a select chain over the few
  // matrices) the matrix's first row and column.
  Value m = arith::RemUIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, lane, c(8)), c(tiles));
  Value r = arith::RemUIOp::create(b, loc, lane, c(8));
  Value row = c(rowOf(0)), column = c(columnOf(0));
  for (int64_t i = 1; i < tiles; ++i) {
    Value isI =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, m, c(i));
    row = arith::SelectOp::create(b, loc, isI, c(rowOf(i)), row);
    column = arith::SelectOp::create(b, loc, isI, c(columnOf(i)), column);
  }
  row = arith::AddIOp::create(b, loc, arith::AddIOp::create(b, loc, row, r),
                              row0);
  column = arith::AddIOp::create(b, loc, column, column0);
  Type element = cast<MemRefType>(shared.getType()).getElementType();
  return nvgpu::LdMatrixOp::create(b, loc, VectorType::get({tiles, 2}, element),
                                   shared, ValueRange{row, column}, transpose,
                                   tiles);
}

Value weft::bFragmentOf(OpBuilder &b, Location loc, Value matrices, int64_t i) {
  return vector::ExtractStridedSliceOp::create(
      b, loc, matrices, ArrayRef<int64_t>{2 * i, 0}, ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{1, 1});
}

Value weft::mmaSync(OpBuilder &b, Location loc, Value a, Value bFragment,
                    Value acc) {
  return nvgpu::MmaSyncOp::create(b, loc, a, bFragment, acc,
                                  ArrayRef<int64_t>{16, 8, 16});
}

Value weft::zeroAccumulatorFragment(OpBuilder &b, Location loc) {
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({2, 2}, b.getF32Type()),
                             b.getF32FloatAttr(0.0)));
}
