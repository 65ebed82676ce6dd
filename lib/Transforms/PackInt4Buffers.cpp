//===- PackInt4Buffers.cpp - packed storage for i4 arguments --------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
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

/// Replaces `load` from a packed argument, whose i4 type was `type`, by byte
/// load + shift + truncation.
static void rewriteLoad(memref::LoadOp load, Value packed, MemRefType type) {
  OpBuilder b(load);
  Location loc = load.getLoc();
  // Row-major linear index e of the element.
  ArrayRef<int64_t> shape = type.getShape();
  ValueRange indices = load.getIndices();
  Value e = indices.empty() ? arith::ConstantIndexOp::create(b, loc, 0)
                            : indices.front();
  for (auto [index, size] : llvm::drop_begin(llvm::zip_equal(indices, shape))) {
    Value scaled = arith::MulIOp::create(
        b, loc, e, arith::ConstantIndexOp::create(b, loc, size));
    e = arith::AddIOp::create(b, loc, scaled, index);
  }
  Value two = arith::ConstantIndexOp::create(b, loc, 2);
  Value byteIndex = arith::DivUIOp::create(b, loc, e, two);
  Value byte = memref::LoadOp::create(b, loc, packed, byteIndex);
  // Even e: low nibble (shift 0); odd e: high nibble (shift 4).
  Value parity = arith::RemUIOp::create(b, loc, e, two);
  Value shiftIndex = arith::MulIOp::create(
      b, loc, parity, arith::ConstantIndexOp::create(b, loc, 4));
  Value shift = arith::IndexCastUIOp::create(b, loc, b.getI8Type(), shiftIndex);
  Value shifted = arith::ShRUIOp::create(b, loc, byte, shift);
  Value nibble = arith::TruncIOp::create(b, loc, b.getIntegerType(4), shifted);
  load.replaceAllUsesWith(nibble);
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
      for (Operation *user : arg.getUsers())
        if (!isa<memref::LoadOp>(user))
          return user->emitOpError("uses i4 argument ")
                 << arg.getArgNumber()
                 << " in a way that has no packed form (only loads do)";
      MemRefType packed = getPackedType(type);
      arg.setType(packed);
      inputs[arg.getArgNumber()] = packed;
      for (Operation *user : llvm::make_early_inc_range(arg.getUsers()))
        rewriteLoad(cast<memref::LoadOp>(user), arg, type);
    }
    func.setFunctionType(
        FunctionType::get(func.getContext(), inputs, func.getResultTypes()));
    return success();
  }
};
} // namespace
