//===- AttentionKeys.cpp - keys a block of queries sees -------------------===//

#include "AttentionKeys.h"
#include "BlockLoops.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::weft;

AttentionIO weft::prepareAttentionIO(OpBuilder &b, AttentionOp op, Value q,
                                     Value k, Value v, Value mask, Value kvLen,
                                     OpFoldResult batch, OpFoldResult seqQ,
                                     OpFoldResult seqK) {
  Location loc = op.getLoc();
  auto outType = cast<RankedTensorType>(op.getOutput().getType());
  OpFoldResult heads = b.getIndexAttr(outType.getDimSize(2));
  AttentionIO io;
  io.q = toReadOnlyBuffer(b, loc, q);
  io.k = toReadOnlyBuffer(b, loc, k);
  io.v = toReadOnlyBuffer(b, loc, v);
  io.mask = mask ? toReadOnlyBuffer(b, loc, mask) : Value();
  io.kvLen = kvLen ? toReadOnlyBuffer(b, loc, kvLen) : Value();
  io.batch = getIndexValue(b, loc, batch);
  io.seqQ = getIndexValue(b, loc, seqQ);
  io.seqK = getIndexValue(b, loc, seqK);
  io.out = allocateBuffer(
      b, loc, {batch, seqQ, heads, b.getIndexAttr(outType.getDimSize(3))},
      outType.getElementType());
  if (op.getLse())
    io.lse = allocateBuffer(b, loc, {batch, heads, seqQ}, b.getF32Type());
  return io;
}

SmallVector<Value> weft::getAttentionResults(OpBuilder &b, AttentionOp op,
                                             const AttentionIO &io) {
  Location loc = op.getLoc();
  SmallVector<Value> results = {
      toResultTensor(b, loc, io.out, op.getOutput().getType())};
  if (io.lse)
    results.push_back(toResultTensor(b, loc, io.lse, op.getLse().getType()));
  return results;
}

BlockKeys weft::computeBlockKeys(OpBuilder &b, Location loc,
                                 const AttentionScoring &scoring,
                                 Value firstQuery, int64_t queries, Value seqQ,
                                 Value seqK, Value kvLen, Value batchIndex) {
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  BlockKeys keys;
  keys.validLength = seqK;
  if (kvLen) {
    Value stored = memref::LoadOp::create(b, loc, kvLen, batchIndex);
    keys.validLength =
        arith::IndexCastOp::create(b, loc, b.getIndexType(), stored);
  }
  keys.end =
      kvLen ? arith::MinSIOp::create(b, loc, keys.validLength, seqK) : seqK;
  keys.start = c(0);
  if (scoring.causal) {
    // Key j is visible from query i when j + Sq <= i + L.
    Value lastQuery = arith::MinSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, firstQuery, c(queries)), seqQ);
    Value limit = arith::SubIOp::create(
        b, loc, arith::AddIOp::create(b, loc, lastQuery, keys.validLength),
        seqQ);
    keys.end = arith::MinSIOp::create(
        b, loc, keys.end, arith::MaxSIOp::create(b, loc, limit, c(0)));
    if (scoring.window) {
      // ... and i + L - Sq - j < W.
      Value first = arith::SubIOp::create(
          b, loc, arith::AddIOp::create(b, loc, firstQuery, keys.validLength),
          arith::AddIOp::create(b, loc, seqQ, c(*scoring.window - 1)));
      keys.start = arith::MaxSIOp::create(b, loc, first, c(0));
    }
  }
  return keys;
}

Value ScoreMasking::finish(OpBuilder &b, Location loc, Value query, Value head,
                           Value key, Value dot) const {
  auto lessThan = [&](Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
  };
  Value s = buildScaledScore(b, loc, dot, scoring);
  Value inBlock = arith::AndIOp::create(
      b, loc, lessThan(query, seqQ),
      arith::AndIOp::create(b, loc, lessThan(key, keys.end),
                            arith::CmpIOp::create(b, loc,
                                                  arith::CmpIPredicate::sge,
                                                  key, keys.start)));
  if (mask) {
    auto maskType = cast<MemRefType>(mask.getType());
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value maskBatch = maskType.getDimSize(0) == 1 ? zero : batchIndex;
    Value maskHead = maskType.getDimSize(1) == 1 ? zero : head;
    s = arith::AddFOp::create(b, loc, s,
                              loadF32If(b, loc, inBlock, mask,
                                        {maskBatch, maskHead, query, key},
                                        f32Const(b, loc, 0.0)));
  }
  Value visible = buildKeyVisible(b, loc, query, key, keys.validLength, seqQ,
                                  checkLength, scoring);
  if (visible)
    inBlock = arith::AndIOp::create(b, loc, inBlock, visible);
  return arith::SelectOp::create(
      b, loc, inBlock, s,
      f32Const(b, loc, -std::numeric_limits<float>::infinity()));
}

void weft::loadKeyValueTiles(OpBuilder &b, Location loc, Value thread,
                             int64_t threads, Value k, Value v, Value kTile,
                             Value vTile, int64_t rows, Value batchIndex,
                             Value kvHead, Value tileStart, Value keyEnd,
                             int64_t pending) {
  auto loadRows = [&](Value source, Value tile) {
    int64_t width = cast<MemRefType>(source.getType()).getDimSize(3);
    loadTileRows(
        b, loc, thread, threads, source, tile, rows, width, /*columns=*/0,
        [&](OpBuilder &fb, Value j, Value d) -> SmallVector<Value> {
          return {batchIndex, arith::AddIOp::create(fb, loc, tileStart, j),
                  kvHead, d};
        },
        [&](OpBuilder &fb, Value j, Value) -> Value {
          return arith::CmpIOp::create(
              fb, loc, arith::CmpIPredicate::slt,
              arith::AddIOp::create(fb, loc, tileStart, j), keyEnd);
        },
        /*convert=*/nullptr, pending);
  };
  loadRows(k, kTile);
  loadRows(v, vTile);
}

KeySplitParts weft::allocateKeySplitParts(OpBuilder &b, Location loc,
                                          OpFoldResult splits,
                                          OpFoldResult batch, OpFoldResult seqQ,
                                          int64_t heads, int64_t valueDim) {
  Type f32 = b.getF32Type();
  OpFoldResult headSize = b.getIndexAttr(heads);
  KeySplitParts parts;
  parts.out = allocateBuffer(
      b, loc, {splits, batch, seqQ, headSize, b.getIndexAttr(valueDim)}, f32);
  parts.max = allocateBuffer(b, loc, {splits, batch, headSize, seqQ}, f32);
  parts.sum = allocateBuffer(b, loc, {splits, batch, headSize, seqQ}, f32);
  return parts;
}

void weft::mergeKeySplits(OpBuilder &b, Location loc, const AttentionIO &io,
                          const KeySplitParts &parts, OpFoldResult splits,
                          int64_t heads, int64_t valueDim, bool maximaInBase2) {
  constexpr int64_t kMergeThreads = 128;
  auto c = [&](OpBuilder &nb, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(nb, loc, v);
  };
  Type outElement = cast<MemRefType>(io.out.getType()).getElementType();
  Value splitCount = getIndexValue(b, loc, splits);
  Value zero = f32Const(b, loc, 0.0);
  Value negInf = f32Const(b, loc, -std::numeric_limits<float>::infinity());
  auto exponential = [&](OpBuilder &nb, Value x) -> Value {
    if (maximaInBase2)
      return math::Exp2Op::create(nb, loc, x);
    return math::ExpOp::create(nb, loc, x);
  };

  // One block per (batch, query, head), its threads over the value
  // channels.
  OpBuilder::InsertionGuard guard(b);
  scf::ForallOp merge =
      createGridLoop(b, loc,
                     {getAsOpFoldResult(io.batch), getAsOpFoldResult(io.seqQ),
                      b.getIndexAttr(heads)});
  Value bi = merge.getInductionVar(0), qi = merge.getInductionVar(1),
        hi = merge.getInductionVar(2);
  createThreadLoop(b, loc, kMergeThreads, [&](OpBuilder &nb, Value t) {
    auto overSplits = [&](OpBuilder &fb, Value init,
                          function_ref<Value(OpBuilder &, Value, Value)> step) {
      return accumulate(fb, loc, splitCount, init, step);
    };
    auto splitMax = [&](OpBuilder &sb, Value s) -> Value {
      return memref::LoadOp::create(sb, loc, parts.max,
                                    ValueRange{s, bi, hi, qi});
    };
    auto weight = [&](OpBuilder &sb, Value s, Value base) -> Value {
      return exponential(sb,
                         arith::SubFOp::create(sb, loc, splitMax(sb, s), base));
    };
    Value maxAll =
        overSplits(nb, negInf, [&](OpBuilder &sb, Value s, Value m) -> Value {
          return arith::MaximumFOp::create(sb, loc, m, splitMax(sb, s));
        });
    Value base = finiteMax(nb, loc, maxAll);
    Value total =
        overSplits(nb, zero, [&](OpBuilder &sb, Value s, Value sum) -> Value {
          Value l = memref::LoadOp::create(sb, loc, parts.sum,
                                           ValueRange{s, bi, hi, qi});
          return arith::AddFOp::create(
              sb, loc, sum,
              arith::MulFOp::create(sb, loc, weight(sb, s, base), l));
        });
    Value isEmpty =
        arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ, total, zero);
    forEachItem(
        nb, loc, t, valueDim, kMergeThreads, [&](OpBuilder &fb, Value e) {
          Value weighted = overSplits(
              fb, zero, [&](OpBuilder &sb, Value s, Value sum) -> Value {
                Value o = memref::LoadOp::create(sb, loc, parts.out,
                                                 ValueRange{s, bi, qi, hi, e});
                return arith::AddFOp::create(
                    sb, loc, sum,
                    arith::MulFOp::create(sb, loc, weight(sb, s, base), o));
              });
          Value value = arith::SelectOp::create(
              fb, loc, isEmpty, zero,
              arith::DivFOp::create(fb, loc, weighted, total));
          memref::StoreOp::create(fb, loc,
                                  truncateFromF32(fb, loc, value, outElement),
                                  io.out, ValueRange{bi, qi, hi, e});
        });
    if (!io.lse)
      return;
    Value first =
        arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::eq, t, c(nb, 0));
    scf::IfOp::create(nb, loc, first, [&](OpBuilder &tb, Location) {
      Value isNone = arith::CmpFOp::create(tb, loc, arith::CmpFPredicate::OEQ,
                                           maxAll, negInf);
      Value lse;
      if (maximaInBase2)
        lse = arith::MulFOp::create(
            tb, loc,
            arith::AddFOp::create(tb, loc, base,
                                  math::Log2Op::create(tb, loc, total)),
            f32Const(tb, loc, M_LN2));
      else
        lse = arith::AddFOp::create(tb, loc, base,
                                    math::LogOp::create(tb, loc, total));
      memref::StoreOp::create(
          tb, loc, arith::SelectOp::create(tb, loc, isNone, maxAll, lse),
          io.lse, ValueRange{bi, hi, qi});
      scf::YieldOp::create(tb, loc);
    });
  });
}
