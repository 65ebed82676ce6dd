//===- LowerBf16MmaSync.cpp - bf16 tensor-core products to NVVM -----------===//
//
// Upstream's nvgpu.mma.sync lowering deduces PTX types for f16, tf32, f64
// and integer fragments only. A bf16 m16n8k16 product has the same fragment
// layout as the f16 one; PTX takes its A and B fragments as 32-bit
// registers holding two bf16 each.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTLOWERBF16MMASYNCPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

namespace {

/// The 32-bit registers of a [rows, 2] bf16 fragment, one per row.
SmallVector<Value> fragmentRegisters(OpBuilder &b, Location loc,
                                     Value fragment) {
  auto type = cast<VectorType>(fragment.getType());
  Type i32 = b.getI32Type();
  SmallVector<Value> registers;
  for (int64_t row = 0; row < type.getDimSize(0); ++row) {
    Value pair = vector::ExtractOp::create(b, loc, fragment, row);
    Value word =
        vector::BitCastOp::create(b, loc, VectorType::get({1}, i32), pair);
    registers.push_back(vector::ExtractOp::create(b, loc, word, 0));
  }
  return registers;
}

bool isBf16Fragment(Value value, int64_t rows) {
  auto type = dyn_cast<VectorType>(value.getType());
  return type && type.getElementType().isBF16() &&
         type.getShape() == ArrayRef<int64_t>{rows, 2};
}

/// Rewrites `op` when it is a bf16 product (true); false for other
/// products, failure for bf16 products of another shape.
FailureOr<bool> lowerBf16MmaSync(nvgpu::MmaSyncOp op) {
  auto aType = cast<VectorType>(op.getMatrixA().getType());
  if (!aType.getElementType().isBF16())
    return false;
  auto accType = cast<VectorType>(op.getMatrixC().getType());
  if (!isBf16Fragment(op.getMatrixA(), 4) ||
      !isBf16Fragment(op.getMatrixB(), 2) ||
      !accType.getElementType().isF32() ||
      accType.getShape() != ArrayRef<int64_t>{2, 2} ||
      op.getMmaShapeAsArray() != std::array<int64_t, 3>{16, 8, 16}) {
    op.emitOpError("bf16 products are lowered as m16n8k16 with f32 "
                   "accumulators (vector<2x2xf32>) only");
    return failure();
  }
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<Value> a = fragmentRegisters(b, loc, op.getMatrixA());
  SmallVector<Value> bRegs = fragmentRegisters(b, loc, op.getMatrixB());
  SmallVector<Value> c;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      c.push_back(vector::ExtractOp::create(b, loc, op.getMatrixC(),
                                            ArrayRef<int64_t>{i, j}));
  Type f32 = b.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                     SmallVector<Type>(4, f32));
  std::array<int64_t, 3> shape = {16, 8, 16};
  auto mma = NVVM::MmaOp::create(
      b, loc, resultType, a, bRegs, c, shape,
      /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> d;
  for (int64_t i = 0; i < 4; ++i)
    d.push_back(LLVM::ExtractValueOp::create(b, loc, mma, i));
  op.replaceAllUsesWith(
      vector::FromElementsOp::create(b, loc, accType, d).getResult());
  op.erase();
  return true;
}

struct WeftLowerBf16MmaSyncPass
    : weft::impl::WeftLowerBf16MmaSyncPassBase<WeftLowerBf16MmaSyncPass> {
  void runOnOperation() override {
    SmallVector<nvgpu::MmaSyncOp> products;
    getOperation().walk([&](nvgpu::MmaSyncOp op) { products.push_back(op); });
    for (nvgpu::MmaSyncOp op : products)
      if (failed(lowerBf16MmaSync(op)))
        return signalPassFailure();
  }
};

} // namespace
