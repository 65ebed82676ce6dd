//===- MapForallToGpu.cpp - block and thread loops -> gpu.launch ----------===//
//
// A kernel written as an scf.forall over #gpu.block ids whose body holds
// scf.forall loops over #gpu.thread ids becomes one gpu.launch: block ids
// from the outer loop, shared memory from the buffers the outer body
// allocates, threads (with a barrier after each inner loop) from upstream's
// mapNestedForallToThreadsImpl.
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/TransformOps/GPUTransformOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTMAPFORALLTOGPUPASS
#include "weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;

namespace {

bool isMappedTo(scf::ForallOp loop, function_ref<bool(Attribute)> kind) {
  std::optional<ArrayAttr> mapping = loop.getMapping();
  return mapping && !mapping->empty() && llvm::all_of(*mapping, kind);
}

bool isBlockLoop(scf::ForallOp loop) {
  return isMappedTo(loop, llvm::IsaPred<gpu::GPUBlockMappingAttr>);
}

bool isThreadLoop(scf::ForallOp loop) {
  return isMappedTo(loop, llvm::IsaPred<gpu::GPUThreadMappingAttr>);
}

/// Threads per block: the largest inner loop (static, one-dimensional).
FailureOr<int64_t> getBlockSize(scf::ForallOp grid) {
  int64_t threads = 1;
  WalkResult result = grid.getBody()->walk([&](scf::ForallOp loop) {
    if (!isThreadLoop(loop)) {
      loop.emitError("weft-map-forall-to-gpu: a loop inside a block loop "
                     "must be mapped to #gpu.thread");
      return WalkResult::interrupt();
    }
    std::optional<SmallVector<int64_t>> sizes =
        getConstantIntValues(loop.getMixedUpperBound());
    if (loop.getRank() != 1 || !sizes || !loop.isNormalized()) {
      loop.emitError("weft-map-forall-to-gpu: thread loops must be "
                     "one-dimensional and normalized, with a static size");
      return WalkResult::interrupt();
    }
    threads = std::max(threads, (*sizes)[0]);
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  if (threads > 1024)
    return grid.emitError("weft-map-forall-to-gpu: ")
           << threads << " threads per block (at most 1024)";
  return threads;
}

/// Buffers of a static shape allocated directly in the block body become
/// workgroup attributions of `launch`; their deallocations go away.
LogicalResult promoteToSharedMemory(RewriterBase &rewriter,
                                    gpu::LaunchOp launch) {
  auto workgroup = gpu::AddressSpaceAttr::get(launch.getContext(),
                                              gpu::AddressSpace::Workgroup);
  SmallVector<memref::AllocOp> allocs;
  for (Operation &op : launch.getBody().front())
    if (auto alloc = dyn_cast<memref::AllocOp>(op))
      allocs.push_back(alloc);
  for (memref::AllocOp alloc : allocs) {
    MemRefType type = alloc.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity())
      return alloc.emitError("weft-map-forall-to-gpu: a block-local buffer "
                             "must have a static shape and identity layout");
    for (Operation *user : llvm::make_early_inc_range(alloc->getUsers())) {
      if (isa<memref::DeallocOp>(user)) {
        rewriter.eraseOp(user);
        continue;
      }
      if (!isa<memref::LoadOp, memref::StoreOp>(user))
        return user->emitError("weft-map-forall-to-gpu: a block-local buffer "
                               "may only be loaded from and stored to");
    }
    auto shared = MemRefType::get(type.getShape(), type.getElementType(),
                                  MemRefLayoutAttrInterface(), workgroup);
    BlockArgument buffer = launch.addWorkgroupAttribution(shared, alloc.getLoc());
    rewriter.replaceAllUsesWith(alloc.getResult(), buffer);
    rewriter.eraseOp(alloc);
  }
  return success();
}

LogicalResult mapGrid(RewriterBase &rewriter, scf::ForallOp grid) {
  if (!grid.getOutputs().empty() || !grid.isNormalized() || grid.getRank() > 3)
    return grid.emitError("weft-map-forall-to-gpu: a block loop must be "
                          "normalized, have no results and at most 3 dims");
  FailureOr<int64_t> threads = getBlockSize(grid);
  if (failed(threads))
    return failure();

  Location loc = grid.getLoc();
  rewriter.setInsertionPoint(grid);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  // gpu.launch takes its grid as x, y, z; unmapped dims are 1.
  SmallVector<Value> gridSizes(3, one);
  bool seen[3] = {false, false, false};
  SmallVector<int64_t> dimOfLoop;
  SmallVector<OpFoldResult> upperBounds = grid.getMixedUpperBound();
  for (auto [index, attr] : llvm::enumerate(*grid.getMapping())) {
    auto id = static_cast<int64_t>(
        cast<gpu::GPUBlockMappingAttr>(attr).getMappingId());
    if (id > 2 || seen[id])
      return grid.emitError("weft-map-forall-to-gpu: block loop dims must map "
                            "to distinct ids among x, y and z");
    seen[id] = true;
    gridSizes[id] = getValueOrCreateConstantIndexOp(rewriter, loc,
                                                    upperBounds[index]);
    dimOfLoop.push_back(id);
  }
  Value blockX = arith::ConstantIndexOp::create(rewriter, loc, *threads);
  auto launch = gpu::LaunchOp::create(rewriter, loc, gridSizes[0],
                                      gridSizes[1], gridSizes[2], blockX, one,
                                      one);

  // The block body moves into the launch, block ids in place of the
  // induction variables.
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToEnd(&body);
  auto terminator = gpu::TerminatorOp::create(rewriter, loc);
  Block *gridBody = grid.getBody();
  body.getOperations().splice(terminator->getIterator(),
                              gridBody->getOperations(), gridBody->begin(),
                              std::prev(gridBody->end()));
  gpu::KernelDim3 blockIds = launch.getBlockIds();
  Value ids[] = {blockIds.x, blockIds.y, blockIds.z};
  for (auto [index, iv] : llvm::enumerate(grid.getInductionVars()))
    rewriter.replaceAllUsesWith(iv, ids[dimOfLoop[index]]);
  rewriter.eraseOp(grid);

  if (failed(promoteToSharedMemory(rewriter, launch)))
    return failure();
  rewriter.setInsertionPointToStart(&body);
  DiagnosedSilenceableFailure mapped =
      transform::gpu::mapNestedForallToThreadsImpl(
          rewriter, std::nullopt, launch, {*threads, 1, 1}, /*warpSize=*/32,
          /*syncAfterDistribute=*/true);
  return mapped.checkAndReport();
}

struct WeftMapForallToGpuPass
    : weft::impl::WeftMapForallToGpuPassBase<WeftMapForallToGpuPass> {
  void runOnOperation() override {
    SmallVector<scf::ForallOp> grids;
    getOperation().walk([&](scf::ForallOp loop) {
      if (isBlockLoop(loop) && !loop->getParentOfType<scf::ForallOp>())
        grids.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForallOp grid : grids)
      if (failed(mapGrid(rewriter, grid)))
        return signalPassFailure();
  }
};

} // namespace
