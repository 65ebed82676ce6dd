//===- AlignBufferAccesses.cpp - 16-byte vector accesses of buffers -------===//
//
// NVPTX splits a vector load or store into accesses of its known alignment:
// a 16-byte chunk of weights read with the element's alignment (1 byte for
// int8 and packed int4) becomes 16 byte loads, a 16-byte piece of an f16
// tile stored to shared memory 8 stores. The runtime's buffers and the
// kernels' shared memory are aligned, so what decides the alignment of an
// access is its offset, which this pass bounds from below by a known
// divisor.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/STLExtras.h"

#include <numeric>

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTALIGNBUFFERACCESSESPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

static constexpr int64_t kAlignment = 16;
/// Divisors are tracked up to this (a multiple of every alignment).
static constexpr int64_t kMaxDivisor = int64_t{1} << 20;

/// A positive integer that divides every value of `expr` (of `numDims`
/// dims), given one for each of its operands (dims, then symbols).
static int64_t getExprDivisor(AffineExpr expr, unsigned numDims,
                              function_ref<int64_t(unsigned)> operand) {
  auto capped = [](int64_t d) {
    return std::clamp<int64_t>(d, 1, kMaxDivisor);
  };
  if (auto constant = dyn_cast<AffineConstantExpr>(expr))
    return constant.getValue() == 0 ? kMaxDivisor
                                    : capped(std::abs(constant.getValue()));
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return operand(dim.getPosition());
  if (auto symbol = dyn_cast<AffineSymbolExpr>(expr))
    return operand(numDims + symbol.getPosition());
  auto binary = cast<AffineBinaryOpExpr>(expr);
  int64_t lhs = getExprDivisor(binary.getLHS(), numDims, operand);
  int64_t rhs = getExprDivisor(binary.getRHS(), numDims, operand);
  switch (expr.getKind()) {
  case AffineExprKind::Add:
    return std::gcd(lhs, rhs);
  case AffineExprKind::Mul:
    return capped(lhs * rhs);
  case AffineExprKind::Mod:
    // x mod c = x - c * floor(x / c): a multiple of what divides both.
    return std::gcd(lhs, rhs);
  default:
    return 1;
  }
}

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
  if (isa<arith::SelectOp>(op))
    return std::gcd(operand(1), operand(2));
  if (isa<arith::MulIOp>(op))
    return capped(operand(0) * operand(1));
  if (isa<arith::IndexCastOp, arith::IndexCastUIOp>(op))
    return operand(0);
  if (auto apply = dyn_cast<affine::AffineApplyOp>(op)) {
    AffineMap map = apply.getAffineMap();
    if (map.getNumResults() != 1)
      return 1;
    return capped(getExprDivisor(
        map.getResult(0), map.getNumDims(), [&](unsigned position) {
          return getKnownDivisor(apply.getOperand(position), depth + 1);
        }));
  }
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

/// The alignment (up to 16 bytes) of an access of `vectorType` at `indices`
/// of buffer type `type`, or 0 when it is only the element's.
static int64_t getAlignment(VectorType vectorType, ValueRange indices,
                            MemRefType type) {
  int64_t bits = type.getElementTypeBitWidth();
  if (vectorType.getRank() != 1 || vectorType.isScalable() || bits % 8)
    return 0;
  int64_t elementBytes = bits / 8;
  int64_t vectorBytes = vectorType.getNumElements() * elementBytes;
  int64_t offsetBytes = getOffsetDivisor(indices, type) * elementBytes;
  // The largest power of two up to 16 that divides the offset and that the
  // whole vector spans; nothing when that is only the element's alignment,
  // except for a single element (an access of its own natural alignment,
  // which weft-async-shared-copies can copy when it is 4 bytes or more).
  int64_t alignment = kAlignment;
  while (alignment > elementBytes &&
         (offsetBytes % alignment || vectorBytes % alignment))
    alignment /= 2;
  if (alignment > elementBytes)
    return alignment;
  return vectorType.getNumElements() == 1 ? elementBytes : 0;
}

/// Whether `memref` is a kernel's shared memory, aligned to 16 bytes: a
/// workgroup attribution of a gpu.launch (weft-align-workgroup-memory aligns
/// them to 32 bytes), a view of its dynamic shared memory (aligned to 16
/// bytes) at a multiple of 16 bytes, or a select between two of those
/// (double-buffered tiles).
static bool isAlignedSharedMemory(Value memref) {
  if (auto select = memref.getDefiningOp<arith::SelectOp>())
    return isAlignedSharedMemory(select.getTrueValue()) &&
           isAlignedSharedMemory(select.getFalseValue());
  if (auto view = memref.getDefiningOp<memref::ViewOp>()) {
    std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
    return view.getSource().getDefiningOp<gpu::DynamicSharedMemoryOp>() &&
           shift && *shift % kAlignment == 0;
  }
  auto attribution = dyn_cast<BlockArgument>(memref);
  auto launch =
      attribution
          ? dyn_cast<gpu::LaunchOp>(attribution.getOwner()->getParentOp())
          : gpu::LaunchOp();
  return launch &&
         llvm::is_contained(launch.getWorkgroupAttributions(), attribution);
}

/// Whether `memref` is a generic view (memref.memory_space_cast) of a
/// kernel's aligned shared memory.
static bool isSharedMemoryView(Value memref) {
  auto cast = memref.getDefiningOp<memref::MemorySpaceCastOp>();
  return cast && isAlignedSharedMemory(cast.getSource());
}

namespace {
struct WeftAlignBufferAccessesPass
    : weft::impl::WeftAlignBufferAccessesPassBase<WeftAlignBufferAccessesPass> {
  void runOnOperation() override {
    SmallVector<Value> buffers;
    getOperation().walk([&](func::FuncOp func) {
      if (!func.isExternal())
        llvm::append_range(buffers, func.getArguments());
    });
    // Host allocations (those of kernels are workgroup attributions by now)
    // and generic views of shared memory.
    getOperation().walk(
        [&](memref::AllocOp alloc) { buffers.push_back(alloc.getResult()); });
    getOperation().walk([&](memref::MemorySpaceCastOp cast) {
      if (isSharedMemoryView(cast.getResult()))
        buffers.push_back(cast.getResult());
    });
    for (Value buffer : buffers) {
      auto type = dyn_cast<MemRefType>(buffer.getType());
      if (!type || !type.getLayout().isIdentity() || type.getMemorySpace())
        continue;
      for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
        alignAccess(user, buffer, type);
    }
  }

  static void alignAccess(Operation *user, Value buffer, MemRefType type) {
    auto raise = [](auto access, int64_t alignment) {
      if (access.getAlignment().value_or(0) < static_cast<uint64_t>(alignment))
        access.setAlignment(alignment);
    };
    if (auto load = dyn_cast<vector::LoadOp>(user)) {
      if (load.getBase() == buffer)
        raise(load,
              getAlignment(load.getVectorType(), load.getIndices(), type));
      return;
    }
    if (auto store = dyn_cast<vector::StoreOp>(user)) {
      if (store.getBase() == buffer)
        raise(store,
              getAlignment(store.getVectorType(), store.getIndices(), type));
      return;
    }
    // In-bounds 1-D transfers become aligned vector loads and stores.
    auto transfer = dyn_cast<VectorTransferOpInterface>(user);
    if (!transfer || transfer.getBase() != buffer || transfer.getMask() ||
        !transfer.getPermutationMap().isMinorIdentity() ||
        transfer.getVectorType().getRank() != 1 || !transfer.isDimInBounds(0))
      return;
    int64_t alignment =
        getAlignment(transfer.getVectorType(), transfer.getIndices(), type);
    if (!alignment)
      return;
    OpBuilder b(user);
    if (auto read = dyn_cast<vector::TransferReadOp>(user)) {
      Value load = vector::LoadOp::create(
          b, read.getLoc(), read.getVectorType(), buffer, read.getIndices(),
          /*nontemporal=*/false, llvm::Align(alignment));
      read.replaceAllUsesWith(load);
      read.erase();
      return;
    }
    auto write = cast<vector::TransferWriteOp>(user);
    if (write.getResult())
      return;
    auto store = vector::StoreOp::create(
        b, write.getLoc(), write.getVector(), buffer, write.getIndices(),
        /*nontemporal=*/false, llvm::Align(alignment));
    // Marks such as weft.async_copy stay with the store.
    store->setDiscardableAttrs(write->getDiscardableAttrDictionary());
    write.erase();
  }
};
} // namespace
