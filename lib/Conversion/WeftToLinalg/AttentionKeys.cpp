//===- AttentionKeys.cpp - keys a block of queries sees -------------------===//

#include "AttentionKeys.h"
#include "BlockLoops.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

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
