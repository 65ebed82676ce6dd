//===- SsmScanBuffers.cpp - buffers shared by the scan's block forms ------===//

#include "BlockLoops.h"
#include "SsmScanLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::weft;

SsmScanBuffers weft::createSsmScanBuffers(OpBuilder &b, Location loc,
                                          const SsmScanOperands &in,
                                          Type yElement) {
  auto readOnly = [&](Value tensor) -> Value {
    return tensor ? toReadOnlyBuffer(b, loc, tensor) : Value();
  };
  SsmScanBuffers buffers;
  buffers.x = readOnly(in.x);
  buffers.dt = readOnly(in.dtProcessed);
  buffers.a = readOnly(in.a);
  buffers.bm = readOnly(in.bm);
  buffers.cm = readOnly(in.cm);
  buffers.d = readOnly(in.d);
  buffers.z = readOnly(in.z);
  buffers.initialState = readOnly(in.initialState);
  buffers.y = allocateBuffer(
      b, loc, {in.batch, in.length, in.heads, in.headDim}, yElement);
  buffers.finalState = allocateBuffer(
      b, loc, {in.batch, in.heads, in.headDim, in.stateDim}, b.getF32Type());
  return buffers;
}

SsmScanHead weft::getSsmScanHead(OpBuilder &b, Location loc, Value batchHead,
                                 Value heads, Value headsPerGroup) {
  Value head = arith::RemUIOp::create(b, loc, batchHead, heads);
  return {arith::DivUIOp::create(b, loc, batchHead, heads), head,
          arith::DivUIOp::create(b, loc, head, headsPerGroup)};
}
