//===- SsmScanPerChannel.cpp - weft.ssm_scan, one task per channel --------===//
//
// The GPU form of weft.ssm_scan: one task per (batch, head, channel p), each
// carrying its state row [N] through the sequence. The CPU form's tasks are
// per (batch, head) with a [P, N] tile that stays in L1; on a GPU each task
// is a thread, and per-channel tasks give P times as many of them.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "SsmScanLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::weft;

SmallVector<Value>
weft::lowerSsmScanPerChannel(SsmScanOp op, const SsmScanOperands &in,
                             ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  auto yType = cast<RankedTensorType>(op.getY().getType());
  auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
  Type elementType = yType.getElementType();
  Type f32 = rewriter.getF32Type();
  bool scalarA = cast<RankedTensorType>(in.a.getType()).getRank() == 1;
  bool perChannelD =
      in.d && cast<RankedTensorType>(in.d.getType()).getRank() == 2;
  OpFoldResult zero = rewriter.getIndexAttr(0), one = rewriter.getIndexAttr(1);

  auto forall = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{in.batch, in.heads, in.headDim},
      ValueRange{tensor::EmptyOp::create(
                     rewriter, loc, {in.batch, in.length, in.heads, in.headDim},
                     elementType),
                 tensor::EmptyOp::create(
                     rewriter, loc,
                     {in.batch, in.heads, in.headDim, in.stateDim}, f32)},
      std::nullopt);
  rewriter.setInsertionPoint(forall.getTerminator());
  Value b = forall.getInductionVar(0), h = forall.getInductionVar(1);
  Value p = forall.getInductionVar(2);
  Value g = arith::DivUIOp::create(rewriter, loc, h, in.headsPerGroup);
  AffineMap id1 = rewriter.getMultiDimIdentityMap(1);

  Value state =
      in.initialState
          ? extractBlock(rewriter, loc, in.initialState, {b, h, p, zero},
                         {one, one, one, in.stateDim}, {3})
          : createFilledF32Tensor(rewriter, loc, {in.stateDim}, 0.0);
  Value rowInit =
      tensor::EmptyOp::create(rewriter, loc, {in.length}, elementType);
  Value aRow = scalarA ? Value()
                       : extractBlock(rewriter, loc, in.a, {h, zero},
                                      {one, in.stateDim}, {1});
  Value aScalar =
      scalarA ? extendToF32(rewriter, loc,
                            tensor::ExtractOp::create(rewriter, loc, in.a, h))
              : Value();
  Value dh = !in.d
                 ? Value()
                 : extendToF32(
                       rewriter, loc,
                       perChannelD
                           ? tensor::ExtractOp::create(rewriter, loc, in.d,
                                                       ValueRange{h, p})
                           : tensor::ExtractOp::create(rewriter, loc, in.d, h));

  Value lengthValue = getIndexValue(rewriter, loc, in.length);
  auto loop = scf::ForOp::create(
      rewriter, loc, arith::ConstantIndexOp::create(rewriter, loc, 0),
      lengthValue, arith::ConstantIndexOp::create(rewriter, loc, 1),
      ValueRange{state, rowInit});
  {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value s = loop.getRegionIterArgs()[0], row = loop.getRegionIterArgs()[1];
    Value d =
        extendToF32(rewriter, loc,
                    tensor::ExtractOp::create(rewriter, loc, in.dtProcessed,
                                              ValueRange{b, t, h}));
    Value xv = extendToF32(
        rewriter, loc,
        tensor::ExtractOp::create(rewriter, loc, in.x, ValueRange{b, t, h, p}));
    Value bRow = extractBlock(rewriter, loc, in.bm, {b, t, g, zero},
                              {one, one, one, in.stateDim}, {3});
    Value cRow = extractBlock(rewriter, loc, in.cm, {b, t, g, zero},
                              {one, one, one, in.stateDim}, {3});
    Value dx = arith::MulFOp::create(rewriter, loc, d, xv);

    // state[n] = exp(d * a) * state[n] + d * x * B[n], in place (the loop
    // carries one buffer).
    SmallVector<Value> inputs = {bRow};
    SmallVector<AffineMap> maps = {id1};
    if (!scalarA) {
      inputs.push_back(aRow);
      maps.push_back(id1);
    }
    maps.push_back(id1);
    Value decayScalar =
        scalarA ? math::ExpOp::create(
                      rewriter, loc,
                      arith::MulFOp::create(rewriter, loc, d, aScalar))
                      .getResult()
                : Value();
    Value next = buildGenericOp(
        rewriter, loc, inputs, s, maps, parallelIterators(1),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value decay =
              scalarA ? decayScalar
                      : math::ExpOp::create(
                            nb, l,
                            arith::MulFOp::create(nb, l, d,
                                                  extendToF32(nb, l, args[1])))
                            .getResult();
          Value kept = arith::MulFOp::create(nb, l, decay, args.back());
          Value input =
              arith::MulFOp::create(nb, l, dx, extendToF32(nb, l, args[0]));
          return arith::AddFOp::create(nb, l, kept, input).getResult();
        });

    // out = sum_n state[n] * C[n] (+ D x) (* silu(z)), rounded. The sum is
    // a scalar loop: a reduction into a 0-d tensor would allocate a buffer
    // in every step.
    Value stateDimValue = getIndexValue(rewriter, loc, in.stateDim);
    auto sum = scf::ForOp::create(
        rewriter, loc, arith::ConstantIndexOp::create(rewriter, loc, 0),
        stateDimValue, arith::ConstantIndexOp::create(rewriter, loc, 1),
        ValueRange{f32Const(rewriter, loc, 0.0)});
    {
      OpBuilder::InsertionGuard inner(rewriter);
      rewriter.setInsertionPointToStart(sum.getBody());
      Value n = sum.getInductionVar();
      Value sn = tensor::ExtractOp::create(rewriter, loc, next, n);
      Value cn = extendToF32(rewriter, loc,
                             tensor::ExtractOp::create(rewriter, loc, cRow, n));
      Value acc =
          arith::AddFOp::create(rewriter, loc, sum.getRegionIterArgs()[0],
                                arith::MulFOp::create(rewriter, loc, sn, cn));
      scf::YieldOp::create(rewriter, loc, acc);
    }
    Value out = sum.getResult(0);
    if (dh)
      out = arith::AddFOp::create(rewriter, loc, out,
                                  arith::MulFOp::create(rewriter, loc, dh, xv));
    if (in.z) {
      Value zv = extendToF32(rewriter, loc,
                             tensor::ExtractOp::create(rewriter, loc, in.z,
                                                       ValueRange{b, t, h, p}));
      out = arith::MulFOp::create(
          rewriter, loc, out,
          buildActivation(rewriter, loc, Activation::silu, zv));
    }
    Value rounded = truncateFromF32(rewriter, loc, out, elementType);
    Value nextRow = tensor::InsertOp::create(rewriter, loc, rounded, row, t);
    scf::YieldOp::create(rewriter, loc, ValueRange{next, nextRow});
  }

  rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(
      rewriter, loc, loop.getResult(1), forall.getRegionIterArgs()[0],
      ArrayRef<OpFoldResult>{b, zero, h, p},
      ArrayRef<OpFoldResult>{one, in.length, one, one},
      SmallVector<OpFoldResult>(4, one));
  tensor::ParallelInsertSliceOp::create(
      rewriter, loc, loop.getResult(0), forall.getRegionIterArgs()[1],
      ArrayRef<OpFoldResult>{b, h, p, zero},
      ArrayRef<OpFoldResult>{one, one, one, in.stateDim},
      SmallVector<OpFoldResult>(4, one));
  rewriter.setInsertionPointAfter(forall);
  return {castToType(rewriter, loc, forall.getResult(0), yType),
          castToType(rewriter, loc, forall.getResult(1), stateType)};
}
