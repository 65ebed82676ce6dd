//===- AlignBufferReads.cpp - 16-byte vector reads of whole buffers -------===//
//
// NVPTX splits a vector load into loads of its known alignment: a 16-byte
// chunk of weights read with the element's alignment (1 byte for int8 and
// packed int4) becomes 16 byte loads. The runtime's buffers are aligned, so
// what decides the alignment of a read is its offset, which this pass
// bounds from below by a known divisor.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/STLExtras.h"

#include <numeric>

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTALIGNBUFFERREADSPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

static constexpr int64_t kAlignment = 16;
/// Divisors are tracked up to this (a multiple of every alignment).
static constexpr int64_t kMaxDivisor = int64_t{1} << 20;

/// A positive integer that divides every value `value` can take (1 when
/// nothing is known).
static int64_t getKnownDivisor(Value value, int depth = 0) {
  if (depth > 16)
    return 1;
  auto capped = [](int64_t d) {
    return std::clamp<int64_t>(d, 1, kMaxDivisor);
  };
  if (std::optional<int64_t> constant = getConstantIntValue(value))
    return *constant == 0 ? kMaxDivisor : capped(std::abs(*constant));
  if (auto iv = dyn_cast<BlockArgument>(value)) {
    auto loop = dyn_cast<scf::ForOp>(iv.getOwner()->getParentOp());
    if (!loop || iv != loop.getInductionVar())
      return 1;
    return std::gcd(getKnownDivisor(loop.getLowerBound(), depth + 1),
                    getKnownDivisor(loop.getStep(), depth + 1));
  }
  Operation *op = value.getDefiningOp();
  if (!op)
    return 1;
  auto operand = [&](unsigned i) {
    return getKnownDivisor(op->getOperand(i), depth + 1);
  };
  if (isa<arith::AddIOp, arith::SubIOp>(op))
    return std::gcd(operand(0), operand(1));
  if (isa<arith::MulIOp>(op))
    return capped(operand(0) * operand(1));
  if (isa<arith::IndexCastOp, arith::IndexCastUIOp>(op))
    return operand(0);
  if (isa<arith::DivUIOp>(op)) {
    std::optional<int64_t> divisor = getConstantIntValue(op->getOperand(1));
    int64_t dividend = operand(0);
    if (divisor && *divisor > 0 && dividend % *divisor == 0)
      return capped(dividend / *divisor);
  }
  return 1;
}

/// The row-major linear element offset of `indices` into `type` has this
/// known divisor. A stride is the product of the sizes of the inner dims,
/// so it has the product of their static sizes as a divisor.
static int64_t getOffsetDivisor(ValueRange indices, MemRefType type) {
  int64_t divisor = kMaxDivisor, stride = 1;
  for (auto [index, size] :
       llvm::reverse(llvm::zip_equal(indices, type.getShape()))) {
    divisor = std::gcd(divisor,
                       std::min(kMaxDivisor, getKnownDivisor(index) * stride));
    if (!ShapedType::isDynamic(size))
      stride = std::min(kMaxDivisor, stride * std::max<int64_t>(size, 1));
  }
  return divisor;
}

/// Whether a read of `vectorType` at `indices` of argument type `type` is
/// 16-byte aligned.
static int64_t getAlignment(VectorType vectorType, ValueRange indices,
                            MemRefType type) {
  int64_t bits = type.getElementTypeBitWidth();
  if (vectorType.getRank() != 1 || vectorType.isScalable() || bits % 8)
    return 0;
  int64_t elementBytes = bits / 8;
  int64_t vectorBytes = vectorType.getNumElements() * elementBytes;
  int64_t offsetBytes = getOffsetDivisor(indices, type) * elementBytes;
  // The largest power of two up to 16 that divides the offset and that the
  // whole vector spans; nothing when that is only the element's alignment.
  int64_t alignment = kAlignment;
  while (alignment > elementBytes &&
         (offsetBytes % alignment || vectorBytes % alignment))
    alignment /= 2;
  return alignment > elementBytes ? alignment : 0;
}

namespace {
struct WeftAlignBufferReadsPass
    : weft::impl::WeftAlignBufferReadsPassBase<WeftAlignBufferReadsPass> {
  void runOnOperation() override {
    SmallVector<Value> buffers;
    getOperation().walk([&](func::FuncOp func) {
      if (!func.isExternal())
        llvm::append_range(buffers, func.getArguments());
    });
    // Host allocations (those of kernels are workgroup attributions by now).
    getOperation().walk(
        [&](memref::AllocOp alloc) { buffers.push_back(alloc.getResult()); });
    for (Value buffer : buffers) {
      auto type = dyn_cast<MemRefType>(buffer.getType());
      if (!type || !type.getLayout().isIdentity() || type.getMemorySpace())
        continue;
      for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
        alignRead(user, buffer, type);
    }
  }

  static void alignRead(Operation *user, Value argument, MemRefType type) {
    if (auto load = dyn_cast<vector::LoadOp>(user)) {
      int64_t alignment =
          getAlignment(load.getVectorType(), load.getIndices(), type);
      if (load.getBase() == argument &&
          load.getAlignment().value_or(0) < static_cast<uint64_t>(alignment))
        load.setAlignment(alignment);
      return;
    }
    auto read = dyn_cast<vector::TransferReadOp>(user);
    if (!read || read.getBase() != argument || read.getMask() ||
        !read.getPermutationMap().isMinorIdentity() ||
        read.getVectorType().getRank() != 1 || !read.getInBoundsValues()[0])
      return;
    int64_t alignment =
        getAlignment(read.getVectorType(), read.getIndices(), type);
    if (!alignment)
      return;
    OpBuilder b(read);
    Value load = vector::LoadOp::create(
        b, read.getLoc(), read.getVectorType(), argument, read.getIndices(),
        /*nontemporal=*/false, llvm::Align(alignment));
    read.replaceAllUsesWith(load);
    read.erase();
  }
};
} // namespace
