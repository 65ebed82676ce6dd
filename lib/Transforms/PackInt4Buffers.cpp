//===- PackInt4Buffers.cpp - packed storage for i4 arguments --------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTPACKINT4BUFFERSPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

/// The packed bytes of a static i4 argument: the flat row-major elements two
/// per byte, `ceil(numel / 2)` bytes (docs/Runtime.md, element storage).
static MemRefType getPackedType(MemRefType type) {
  return MemRefType::get({(type.getNumElements() + 1) / 2},
                         IntegerType::get(type.getContext(), 8));
}

/// Row-major linear index of the element at `indices` of `type`.
static Value getLinearIndex(OpBuilder &b, Location loc, ValueRange indices,
                            MemRefType type) {
  ArrayRef<int64_t> shape = type.getShape();
  Value e = indices.empty() ? arith::ConstantIndexOp::create(b, loc, 0)
                            : indices.front();
  for (auto [index, size] : llvm::drop_begin(llvm::zip_equal(indices, shape))) {
    Value scaled = arith::MulIOp::create(
        b, loc, e, arith::ConstantIndexOp::create(b, loc, size));
    e = arith::AddIOp::create(b, loc, scaled, index);
  }
  return e;
}

/// The i4 element `e` (row-major linear index) of the packed bytes: a byte
/// load, a shift and a truncation.
static Value loadNibble(OpBuilder &b, Location loc, Value packed, Value e) {
  Value two = arith::ConstantIndexOp::create(b, loc, 2);
  Value byteIndex = arith::DivUIOp::create(b, loc, e, two);
  Value byte = memref::LoadOp::create(b, loc, packed, byteIndex);
  // Even e: low nibble (shift 0); odd e: high nibble (shift 4).
  Value parity = arith::RemUIOp::create(b, loc, e, two);
  Value shiftIndex = arith::MulIOp::create(
      b, loc, parity, arith::ConstantIndexOp::create(b, loc, 4));
  Value shift = arith::IndexCastUIOp::create(b, loc, b.getI8Type(), shiftIndex);
  Value shifted = arith::ShRUIOp::create(b, loc, byte, shift);
  return arith::TruncIOp::create(b, loc, b.getIntegerType(4), shifted);
}

/// Whether `read` is a vector read this pass can rewrite: an in-bounds 1-D
/// read of consecutive elements along the last dim.
static bool isPackableRead(vector::TransferReadOp read) {
  return read.getVectorType().getRank() == 1 &&
         !read.getVectorType().isScalable() &&
         read.getPermutationMap().isMinorIdentity() && !read.getMask() &&
         read.getInBoundsValues().front();
}

/// Replaces `read` (isPackableRead). 2L elements along an even last dim start
/// at an even element (weft's vector reads of weights start at multiples of
/// the vector lanes), i.e. on a byte: one load of L bytes whose low and high
/// nibbles are interleaved (element e is the low nibble of byte e/2 for even
/// e) and truncated to i4. Other reads (a zero point broadcast over the
/// lanes, ...) are assembled from one nibble load per element.
static void rewriteRead(vector::TransferReadOp read, Value packed,
                        MemRefType type) {
  OpBuilder b(read);
  Location loc = read.getLoc();
  VectorType vectorType = read.getVectorType();
  int64_t numElements = vectorType.getNumElements();
  Value e = getLinearIndex(b, loc, read.getIndices(), type);
  Value nibbles;
  if (numElements % 2 == 0 && type.getShape().back() % 2 == 0) {
    Value byteIndex = arith::DivUIOp::create(
        b, loc, e, arith::ConstantIndexOp::create(b, loc, 2));
    auto bytesType = VectorType::get({numElements / 2}, b.getI8Type());
    Value bytes = vector::LoadOp::create(b, loc, bytesType, packed, byteIndex);
    Value four = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(bytesType, b.getI8IntegerAttr(4)));
    Value high = arith::ShRUIOp::create(b, loc, bytes, four);
    Value both = vector::InterleaveOp::create(b, loc, bytes, high);
    // Extensions of the nibbles are done on the i8 lanes (shifts, a mask):
    // LLVM scalarizes extensions of i4 vectors.
    auto bothType = cast<VectorType>(both.getType());
    for (Operation *user : llvm::make_early_inc_range(read->getUsers())) {
      OpBuilder ub(user);
      Value extended;
      if (auto ext = dyn_cast<arith::ExtSIOp>(user)) {
        Value fourWide = arith::ConstantOp::create(
            ub, loc, DenseElementsAttr::get(bothType, ub.getI8IntegerAttr(4)));
        Value up = arith::ShLIOp::create(ub, loc, both, fourWide);
        Value value = arith::ShRSIOp::create(ub, loc, up, fourWide);
        extended = arith::ExtSIOp::create(ub, loc, ext.getType(), value);
      } else if (auto ext = dyn_cast<arith::ExtUIOp>(user)) {
        Value mask = arith::ConstantOp::create(
            ub, loc, DenseElementsAttr::get(bothType, ub.getI8IntegerAttr(15)));
        Value value = arith::AndIOp::create(ub, loc, both, mask);
        extended = arith::ExtUIOp::create(ub, loc, ext.getType(), value);
      } else {
        continue;
      }
      user->getResult(0).replaceAllUsesWith(extended);
      user->erase();
    }
    nibbles = arith::TruncIOp::create(b, loc, vectorType, both);
  } else {
    SmallVector<Value> elements;
    for (int64_t i = 0; i < numElements; ++i) {
      Value index = arith::AddIOp::create(
          b, loc, e, arith::ConstantIndexOp::create(b, loc, i));
      elements.push_back(loadNibble(b, loc, packed, index));
    }
    nibbles = vector::FromElementsOp::create(b, loc, vectorType, elements);
  }
  read.replaceAllUsesWith(nibbles);
  read.erase();
}

/// Replaces `load` from a packed argument, whose i4 type was `type`, by byte
/// load + shift + truncation.
static void rewriteLoad(memref::LoadOp load, Value packed, MemRefType type) {
  OpBuilder b(load);
  Value e = getLinearIndex(b, load.getLoc(), load.getIndices(), type);
  load.replaceAllUsesWith(loadNibble(b, load.getLoc(), packed, e));
  load.erase();
}

namespace {
struct WeftPackInt4BuffersPass
    : weft::impl::WeftPackInt4BuffersPassBase<WeftPackInt4BuffersPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      if (failed(packArguments(func)))
        return signalPassFailure();
    }
    // i4 buffers anywhere else (allocations, globals) have no packed form.
    WalkResult result = getOperation().walk([](Operation *op) {
      for (Type type : op->getResultTypes())
        if (auto memref = dyn_cast<MemRefType>(type);
            memref && memref.getElementType().isInteger(4)) {
          op->emitOpError("creates an i4 buffer; i4 tensors are supported "
                          "only as parameters");
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }

  LogicalResult packArguments(func::FuncOp func) {
    SmallVector<Type> inputs(func.getArgumentTypes());
    for (BlockArgument arg : func.getArguments()) {
      auto type = dyn_cast<MemRefType>(arg.getType());
      if (!type || !type.getElementType().isInteger(4))
        continue;
      if (!type.hasStaticShape() || !type.getLayout().isIdentity())
        return func.emitError("i4 argument ")
               << arg.getArgNumber()
               << " must have a static, row-major shape, got " << type;
      for (Operation *user : arg.getUsers()) {
        auto read = dyn_cast<vector::TransferReadOp>(user);
        if (!isa<memref::LoadOp>(user) && !(read && isPackableRead(read)))
          return user->emitOpError("uses i4 argument ")
                 << arg.getArgNumber()
                 << " in a way that has no packed form (only loads and "
                    "in-bounds 1-D vector reads along the last dim do)";
      }
      MemRefType packed = getPackedType(type);
      arg.setType(packed);
      inputs[arg.getArgNumber()] = packed;
      for (Operation *user : llvm::make_early_inc_range(arg.getUsers())) {
        if (auto load = dyn_cast<memref::LoadOp>(user))
          rewriteLoad(load, arg, type);
        else
          rewriteRead(cast<vector::TransferReadOp>(user), arg, type);
      }
    }
    func.setFunctionType(
        FunctionType::get(func.getContext(), inputs, func.getResultTypes()));
    return success();
  }
};
} // namespace
