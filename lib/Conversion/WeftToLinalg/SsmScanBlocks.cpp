//===- SsmScanBlocks.cpp - weft.ssm_scan as GPU thread blocks -------------===//
//
// The thread-block form of weft.ssm_scan (BlockLoops.h): one block per
// (batch x head, block of channels), one thread per state element (channel
// p, state index n) of the block's [Pb, N] state tile, which lives in shared
// memory for the whole sequence. The steps go in chunks of up to 16, each
// two phases: every thread carries its state element through the chunk's
// steps in a register, keeping each step's term state * C; then one thread
// per (step, channel) sums the terms over n and writes y. Long states (N a
// multiple of 16 above 16) add a phase between: threads sum runs of 16
// terms, and the (step, channel) thread sums those. A chunk thus costs the
// barriers one step would. The per-channel form has a thread walk the N
// states of its channel in every step; here N threads share that work, and
// B and C are read once per block and step. Where shared memory allows, a
// chunk's B, C, x, z and dt are staged there first, the next chunk's while
// the block works on this one (asynchronous copies on the GPU).
//
//===----------------------------------------------------------------------===//

#include "BlockLoops.h"
#include "LoweringUtils.h"
#include "SsmScanLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::weft;

namespace {
/// States per block: enough work per step for a block of threads, few
/// enough that long sequences still see many blocks.
constexpr int64_t kStatesPerBlock = 512;
constexpr int64_t kMaxThreads = 256;
/// Terms each thread adds up before the per-channel sum: long states are
/// summed in two levels, so that a step does not wait for N dependent adds.
constexpr int64_t kTermsPerPartial = 16;
/// Steps per chunk, at most, and the shared memory their terms may take.
constexpr int64_t kMaxStepsPerChunk = 16;
constexpr int64_t kTermsBytes = 32 * 1024;
} // namespace

std::optional<SmallVector<Value>>
weft::lowerSsmScanAsBlocks(SsmScanOp op, const SsmScanOperands &in,
                           int64_t sharedBytes,
                           ConversionPatternRewriter &rewriter) {
  std::optional<int64_t> headDim = getConstantIntValue(in.headDim);
  std::optional<int64_t> stateDim = getConstantIntValue(in.stateDim);
  if (!headDim || !stateDim || *headDim == 0 || *stateDim == 0)
    return std::nullopt;
  OpBuilder &b = rewriter;
  Location loc = op.getLoc();
  auto yType = cast<RankedTensorType>(op.getY().getType());
  auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
  Type elementType = yType.getElementType();
  Type f32 = b.getF32Type();
  bool scalarA = cast<RankedTensorType>(in.a.getType()).getRank() == 1;
  bool perChannelD =
      in.d && cast<RankedTensorType>(in.d.getType()).getRank() == 2;
  int64_t n = *stateDim;
  int64_t channels =
      std::clamp<int64_t>(kStatesPerBlock / n, 1, *headDim); // Pb
  int64_t states = channels * n;
  int64_t threads = std::min<int64_t>(kMaxThreads, (states + 31) / 32 * 32);
  auto c = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  Value zero = f32Const(b, loc, 0.0);

  SsmScanBuffers buffers = createSsmScanBuffers(b, loc, in, elementType);
  Value x = buffers.x, dt = buffers.dt, a = buffers.a, bm = buffers.bm,
        cm = buffers.cm, d = buffers.d, z = buffers.z,
        s0 = buffers.initialState, y = buffers.y,
        finalState = buffers.finalState;

  Value headsValue = getIndexValue(b, loc, in.heads);
  Value batchHeads = arith::MulIOp::create(
      b, loc, getIndexValue(b, loc, in.batch), headsValue);
  OpFoldResult channelBlocks =
      b.getIndexAttr((*headDim + channels - 1) / channels);
  {
    OpBuilder::InsertionGuard guard(b);
    scf::ForallOp grid = createGridLoop(b, loc, {batchHeads, channelBlocks});
    SsmScanHead scanHead = getSsmScanHead(b, loc, grid.getInductionVar(0),
                                          headsValue, in.headsPerGroup);
    Value batchIndex = scanHead.batch, head = scanHead.head,
          group = scanHead.group;
    Value firstChannel =
        arith::MulIOp::create(b, loc, grid.getInductionVar(1), c(channels));
    // Block-local (shared memory on the GPU): the states, and the terms of
    // a chunk's steps.
    int64_t chunk =
        std::clamp<int64_t>(kTermsBytes / (states * 4), 1, kMaxStepsPerChunk);
    Value state =
        memref::AllocOp::create(b, loc, MemRefType::get({channels, n}, f32));
    Value terms = memref::AllocOp::create(
        b, loc, MemRefType::get({chunk, channels, n}, f32));
    // Sums of kTermsPerPartial terms each, when N splits into several.
    int64_t partials = n % kTermsPerPartial == 0 ? n / kTermsPerPartial : 1;
    int64_t termsPerPartial = n / partials;
    Value partialSums =
        partials > 1
            ? memref::AllocOp::create(
                  b, loc, MemRefType::get({chunk, channels, partials}, f32))
                  .getResult()
            : Value();

    // Each chunk's rows of B and C, x (and z) of the block's channels and
    // dt, staged in block-local tiles (by asynchronous copies on the GPU) so
    // that the steps read them from shared memory; with two sets of tiles
    // the next chunk loads while the block works on this one. As many sets
    // as fit beside the states and terms (none leaves the reads global).
    auto bytesOf = [](Value buffer) -> int64_t {
      return cast<MemRefType>(buffer.getType()).getElementTypeBitWidth() / 8;
    };
    int64_t termBytes = states * 4 + chunk * states * 4 +
                        (partialSums ? chunk * channels * partials * 4 : 0);
    int64_t stagedBytes =
        chunk * (n * (bytesOf(bm) + bytesOf(cm)) +
                 channels * (bytesOf(x) + (z ? bytesOf(z) : 0)) + 4);
    int64_t stagedSets = termBytes + 2 * stagedBytes <= sharedBytes ? 2
                         : termBytes + stagedBytes <= sharedBytes   ? 1
                                                                    : 0;
    struct ChunkTiles {
      Value b, c, x, z, dt;
    };
    SmallVector<ChunkTiles, 2> staged;
    for (int64_t i = 0; i < stagedSets; ++i) {
      auto tile = [&](ArrayRef<int64_t> shape, Value like) -> Value {
        Type type =
            like ? cast<MemRefType>(like.getType()).getElementType() : f32;
        return memref::AllocOp::create(b, loc, MemRefType::get(shape, type));
      };
      staged.push_back({tile({chunk, n}, bm), tile({chunk, n}, cm),
                        tile({chunk, channels}, x),
                        z ? tile({chunk, channels}, z) : Value(),
                        tile({chunk, 1}, dt)});
    }
    Value length = getIndexValue(b, loc, in.length);
    auto lessThan = [&](OpBuilder &nb, Value lhs, Value rhs) -> Value {
      return arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::slt, lhs,
                                   rhs);
    };
    // In a thread loop: the chunk of steps from `start` into `tiles` (zeros
    // past the sequence and the channels).
    auto loadChunk = [&](OpBuilder &nb, Value t, Value start,
                         const ChunkTiles &tiles, int64_t pending) {
      auto stepOf = [&](OpBuilder &fb, Value k) -> Value {
        return arith::AddIOp::create(fb, loc, start, k);
      };
      for (auto [source, tile] : {std::pair{bm, tiles.b}, {cm, tiles.c}})
        loadTileRows(
            nb, loc, t, threads, source, tile, chunk, n, /*columns=*/0,
            [&](OpBuilder &fb, Value k, Value index) -> SmallVector<Value> {
              return {batchIndex, stepOf(fb, k), group, index};
            },
            [&](OpBuilder &fb, Value k, Value) {
              return lessThan(fb, stepOf(fb, k), length);
            },
            /*convert=*/nullptr, pending);
      for (auto [source, tile] : {std::pair{x, tiles.x}, {z, tiles.z}}) {
        if (!source)
          continue;
        loadTileRows(
            nb, loc, t, threads, source, tile, chunk, channels, *headDim,
            [&](OpBuilder &fb, Value k, Value local) -> SmallVector<Value> {
              return {batchIndex, stepOf(fb, k), head,
                      arith::AddIOp::create(fb, loc, firstChannel, local)};
            },
            [&](OpBuilder &fb, Value k, Value local) {
              return arith::AndIOp::create(
                  fb, loc, lessThan(fb, stepOf(fb, k), length),
                  lessThan(fb,
                           arith::AddIOp::create(fb, loc, firstChannel, local),
                           c(*headDim)));
            },
            /*convert=*/nullptr, pending);
      }
      // dt (f32) one step per piece: 4-byte copies.
      loadTileRows(
          nb, loc, t, threads, dt, tiles.dt, chunk, /*width=*/1,
          /*columns=*/0,
          [&](OpBuilder &fb, Value k, Value) -> SmallVector<Value> {
            return {batchIndex, stepOf(fb, k), head};
          },
          [&](OpBuilder &fb, Value k, Value) {
            return lessThan(fb, stepOf(fb, k), length);
          },
          /*convert=*/nullptr, pending);
    };

    // Element i of the tile: channel firstChannel + i / N, state i % N.
    auto element = [&](OpBuilder &nb, Value i) {
      Value local = arith::DivUIOp::create(nb, loc, i, c(n));
      Value index = arith::RemUIOp::create(nb, loc, i, c(n));
      Value channel = arith::AddIOp::create(nb, loc, firstChannel, local);
      Value valid = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::slt,
                                          channel, c(*headDim));
      return std::make_tuple(local, index, channel, valid);
    };

    createThreadLoop(b, loc, threads, [&](OpBuilder &nb, Value t) {
      forEachItem(nb, loc, t, states, threads, [&](OpBuilder &fb, Value i) {
        auto [local, index, channel, valid] = element(fb, i);
        Value initial = s0 ? loadF32If(fb, loc, valid, s0,
                                       {batchIndex, head, channel, index}, zero)
                           : zero;
        memref::StoreOp::create(fb, loc, initial, state,
                                ValueRange{local, index});
      });
      // Two sets: the first chunk, to land while the loop loads the second.
      if (stagedSets == 2)
        loadChunk(nb, t, c(0), staged[0], /*pending=*/1);
    });

    // With two sets, the loop carries which one holds the current chunk.
    Value firstIsCurrent = firstIsCurrentInit(b, loc);
    auto chunks = scf::ForOp::create(
        b, loc, c(0), length, c(chunk),
        stagedSets == 2 ? ValueRange{firstIsCurrent} : ValueRange{});
    {
      OpBuilder::InsertionGuard chunkGuard(b);
      b.setInsertionPointToStart(chunks.getBody());
      Value chunkStart = chunks.getInductionVar();
      Value count = arith::MinUIOp::create(
          b, loc, c(chunk), arith::SubIOp::create(b, loc, length, chunkStart));
      ChunkTiles tiles;
      if (stagedSets == 2) {
        Value first = chunks.getRegionIterArg(0);
        auto pick = [&](Value ChunkTiles::*member, bool current) -> Value {
          return pickBuffer(b, loc, first, staged[0].*member, staged[1].*member,
                            current);
        };
        ChunkTiles next;
        for (Value ChunkTiles::*member :
             {&ChunkTiles::b, &ChunkTiles::c, &ChunkTiles::x, &ChunkTiles::z,
              &ChunkTiles::dt}) {
          if (!(staged[0].*member))
            continue;
          tiles.*member = pick(member, true);
          next.*member = pick(member, false);
        }
        // The next chunk into the other set; this thread's copies of the
        // current one have landed at the end of the phase.
        createThreadLoop(b, loc, threads, [&](OpBuilder &nb, Value t) {
          loadChunk(nb, t, arith::AddIOp::create(nb, loc, chunkStart, c(chunk)),
                    next, /*pending=*/1);
        });
      } else if (stagedSets == 1) {
        tiles = staged[0];
        createThreadLoop(b, loc, threads, [&](OpBuilder &nb, Value t) {
          loadChunk(nb, t, chunkStart, tiles, /*pending=*/0);
        });
      }
      // For each step of the chunk: state = exp(d * a) * state + d * x * B;
      // term = state * C. The state stays in a register.
      createThreadLoop(b, loc, threads, [&](OpBuilder &nb, Value t) {
        forEachItem(nb, loc, t, states, threads, [&](OpBuilder &fb, Value i) {
          auto [local, index, channel, valid] = element(fb, i);
          Value av =
              extendToF32(fb, loc,
                          scalarA ? memref::LoadOp::create(fb, loc, a, head)
                                  : memref::LoadOp::create(
                                        fb, loc, a, ValueRange{head, index}));
          Value first =
              memref::LoadOp::create(fb, loc, state, ValueRange{local, index});
          Value last = accumulate(
              fb, loc, count, first,
              [&](OpBuilder &sb, Value k, Value old) -> Value {
                Value step = arith::AddIOp::create(sb, loc, chunkStart, k);
                auto load = [&](Value memref, ValueRange indices) {
                  return extendToF32(
                      sb, loc,
                      memref::LoadOp::create(sb, loc, memref, indices));
                };
                Value dv, xv, bv, cv;
                if (stagedSets) {
                  dv = load(tiles.dt, {k, c(0)});
                  xv = load(tiles.x, {k, local});
                  bv = load(tiles.b, {k, index});
                  cv = load(tiles.c, {k, index});
                } else {
                  dv = load(dt, {batchIndex, step, head});
                  xv = loadF32If(sb, loc, valid, x,
                                 {batchIndex, step, head, channel}, zero);
                  bv = load(bm, {batchIndex, step, group, index});
                  cv = load(cm, {batchIndex, step, group, index});
                }
                Value decay = math::ExpOp::create(
                    sb, loc, arith::MulFOp::create(sb, loc, dv, av));
                Value input = arith::MulFOp::create(
                    sb, loc, arith::MulFOp::create(sb, loc, dv, xv), bv);
                Value next = arith::AddFOp::create(
                    sb, loc, arith::MulFOp::create(sb, loc, decay, old), input);
                memref::StoreOp::create(
                    sb, loc, arith::MulFOp::create(sb, loc, next, cv), terms,
                    ValueRange{k, local, index});
                return next;
              });
          memref::StoreOp::create(fb, loc, last, state,
                                  ValueRange{local, index});
        });
      });
      // (step, channel) items of the chunk, for the items below `count`
      // steps.
      auto forEachStepItem = [&](OpBuilder &nb, Value t, int64_t perStep,
                                 function_ref<void(OpBuilder &, Value, Value)>
                                     body) {
        forEachItem(
            nb, loc, t, chunk * perStep, threads, [&](OpBuilder &fb, Value i) {
              Value k = arith::DivUIOp::create(fb, loc, i, c(perStep));
              Value inside = arith::CmpIOp::create(
                  fb, loc, arith::CmpIPredicate::ult, k, count);
              scf::IfOp::create(fb, loc, inside, [&](OpBuilder &tb, Location) {
                body(tb, k, arith::RemUIOp::create(tb, loc, i, c(perStep)));
                scf::YieldOp::create(tb, loc);
              });
            });
      };
      if (partialSums) {
        // sum of each run of kTermsPerPartial terms, a thread per run.
        createThreadLoop(b, loc, threads, [&](OpBuilder &nb, Value t) {
          forEachStepItem(
              nb, t, channels * partials, [&](OpBuilder &fb, Value k, Value i) {
                Value local = arith::DivUIOp::create(fb, loc, i, c(partials));
                Value part = arith::RemUIOp::create(fb, loc, i, c(partials));
                Value first =
                    arith::MulIOp::create(fb, loc, part, c(termsPerPartial));
                Value sum = accumulate(
                    fb, loc, c(termsPerPartial), zero,
                    [&](OpBuilder &sb, Value j, Value acc) -> Value {
                      Value index = arith::AddIOp::create(sb, loc, first, j);
                      return arith::AddFOp::create(
                          sb, loc, acc,
                          memref::LoadOp::create(sb, loc, terms,
                                                 ValueRange{k, local, index}));
                    });
                memref::StoreOp::create(fb, loc, sum, partialSums,
                                        ValueRange{k, local, part});
              });
        });
      }
      // y = sum_n terms (+ D x) (* silu(z)), one thread per (step, channel).
      createThreadLoop(b, loc, threads, [&](OpBuilder &nb, Value t) {
        forEachStepItem(
            nb, t, channels, [&](OpBuilder &fb, Value k, Value local) {
              Value step = arith::AddIOp::create(fb, loc, chunkStart, k);
              Value channel =
                  arith::AddIOp::create(fb, loc, firstChannel, local);
              Value valid = arith::CmpIOp::create(
                  fb, loc, arith::CmpIPredicate::slt, channel, c(*headDim));
              scf::IfOp::create(fb, loc, valid, [&](OpBuilder &tb, Location) {
                Value sums = partialSums ? partialSums : terms;
                Value out = accumulate(
                    tb, loc, c(partialSums ? partials : n), zero,
                    [&](OpBuilder &sb, Value index, Value sum) -> Value {
                      return arith::AddFOp::create(
                          sb, loc, sum,
                          memref::LoadOp::create(sb, loc, sums,
                                                 ValueRange{k, local, index}));
                    });
                SmallVector<Value> xIndex = {batchIndex, step, head, channel};
                if (d) {
                  Value dh = extendToF32(
                      tb, loc,
                      perChannelD ? memref::LoadOp::create(
                                        tb, loc, d, ValueRange{head, channel})
                                  : memref::LoadOp::create(tb, loc, d, head));
                  Value xv = extendToF32(
                      tb, loc,
                      stagedSets ? memref::LoadOp::create(tb, loc, tiles.x,
                                                          ValueRange{k, local})
                                 : memref::LoadOp::create(tb, loc, x, xIndex));
                  out = arith::AddFOp::create(
                      tb, loc, out, arith::MulFOp::create(tb, loc, dh, xv));
                }
                if (z) {
                  Value zv = extendToF32(
                      tb, loc,
                      stagedSets ? memref::LoadOp::create(tb, loc, tiles.z,
                                                          ValueRange{k, local})
                                 : memref::LoadOp::create(tb, loc, z, xIndex));
                  out = arith::MulFOp::create(
                      tb, loc, out,
                      buildActivation(tb, loc, Activation::silu, zv));
                }
                memref::StoreOp::create(
                    tb, loc, truncateFromF32(tb, loc, out, elementType), y,
                    xIndex);
                scf::YieldOp::create(tb, loc);
              });
            });
      });
      if (stagedSets == 2) // the other set holds the next chunk
        scf::YieldOp::create(b, loc,
                             swapBuffers(b, loc, chunks.getRegionIterArg(0)));
    }

    createThreadLoop(b, loc, threads, [&](OpBuilder &nb, Value t) {
      forEachItem(nb, loc, t, states, threads, [&](OpBuilder &fb, Value i) {
        auto [local, index, channel, valid] = element(fb, i);
        scf::IfOp::create(fb, loc, valid, [&](OpBuilder &tb, Location) {
          Value value =
              memref::LoadOp::create(tb, loc, state, ValueRange{local, index});
          memref::StoreOp::create(tb, loc, value, finalState,
                                  ValueRange{batchIndex, head, channel, index});
          scf::YieldOp::create(tb, loc);
        });
      });
    });
  }
  return SmallVector<Value>{toResultTensor(b, loc, y, yType),
                            toResultTensor(b, loc, finalState, stateType)};
}
