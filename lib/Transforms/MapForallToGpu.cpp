//===- MapForallToGpu.cpp - block and thread loops -> gpu.launch ----------===//
//
// A kernel written as an scf.forall over #gpu.block ids whose body holds
// scf.forall loops over #gpu.thread (or #gpu.warp) ids becomes one
// gpu.launch: block ids from the outer loop, shared memory from the buffers
// the outer body allocates, threads and warps (with a barrier after each
// inner loop) from upstream's mapNestedForallToThreadsImpl. Warp-level
// vector.contract ops of the 16x8x16 shape then become tensor-core
// operations (nvgpu.ldmatrix and nvgpu.mma.sync with the accumulators in
// registers, upstream's convertVectorToNVVMCompatibleMMASync).
//
//===----------------------------------------------------------------------===//

#include "weft/Transforms/Passes.h"
#include "weft/Transforms/ThreadLoops.h"

#include "mlir/Conversion/VectorToGPU/VectorToGPU.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/TransformOps/GPUTransformOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

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

bool isWarpLoop(scf::ForallOp loop) {
  return isMappedTo(loop, llvm::IsaPred<gpu::GPUWarpMappingAttr>);
}

/// contract(extf(a), extf(b), acc) -> contract(a, b, acc): a mixed-precision
/// product, which is what the matrix units compute (f16 x f16 + f32).
struct FoldExtensionsIntoContract : OpRewritePattern<vector::ContractionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::ContractionOp contract,
                                PatternRewriter &rewriter) const override {
    auto lhs = contract.getLhs().getDefiningOp<arith::ExtFOp>();
    auto rhs = contract.getRhs().getDefiningOp<arith::ExtFOp>();
    if (!lhs || !rhs ||
        getElementTypeOrSelf(lhs.getIn()) != getElementTypeOrSelf(rhs.getIn()))
      return failure();
    rewriter.modifyOpInPlace(contract, [&] {
      contract.getLhsMutable().assign(lhs.getIn());
      contract.getRhsMutable().assign(rhs.getIn());
    });
    return success();
  }
};

/// Vector loads and stores of shared memory (the tiles' 16-byte pieces,
/// the accumulators' per-lane pairs) go through a generic view of their
/// buffer: the vector-to-LLVM conversion the kernels go through before
/// convert-gpu-to-nvvm has no workgroup address space. The backend infers
/// the shared address space again (ld/st.shared).
void viewSharedVectorAccessesAsGeneric(RewriterBase &rewriter,
                                       gpu::LaunchOp launch) {
  auto getSharedType = [](Value memref) -> MemRefType {
    auto type = cast<MemRefType>(memref.getType());
    auto space =
        dyn_cast_if_present<gpu::AddressSpaceAttr>(type.getMemorySpace());
    if (!space || space.getValue() != gpu::AddressSpace::Workgroup)
      return {};
    return type;
  };
  DenseMap<Value, Value> genericViews;
  launch.getBody().walk([&](Operation *op) {
    if (!isa<vector::LoadOp, vector::StoreOp, vector::TransferReadOp,
             vector::TransferWriteOp>(op))
      return;
    for (OpOperand &operand : op->getOpOperands()) {
      MemRefType type = isa<MemRefType>(operand.get().getType())
                            ? getSharedType(operand.get())
                            : MemRefType();
      if (!type)
        continue;
      Value &view = genericViews[operand.get()];
      if (!view) {
        OpBuilder::InsertionGuard guard(rewriter);
        // After the buffer: a workgroup attribution or a view of dynamic
        // shared memory.
        if (Operation *def = operand.get().getDefiningOp())
          rewriter.setInsertionPointAfter(def);
        else
          rewriter.setInsertionPointToStart(&launch.getBody().front());
        view = memref::MemorySpaceCastOp::create(
            rewriter, op->getLoc(),
            MemRefType::get(type.getShape(), type.getElementType(),
                            type.getLayout()),
            operand.get());
      }
      rewriter.modifyOpInPlace(op, [&] { operand.set(view); });
    }
  });
}

/// The smallest op around a warp-level product and the vector values it is
/// connected to (its operand reads, the loops that carry its accumulator,
/// the reads and writes of that): where the mma.sync conversion runs. MLIR
/// 22's convertVectorToNVVMCompatibleMMASync takes every live integer or
/// float add, mul, sub or div in the op it is given for a matrix operation
/// and fails on it, so it must not see the rest of the kernel.
Operation *getProductRoot(vector::ContractionOp contract,
                          gpu::LaunchOp launch) {
  SetVector<Operation *> connected;
  connected.insert(contract);
  auto addValue = [&](Value value) {
    if (!isa<VectorType>(value.getType()))
      return;
    if (Operation *def = value.getDefiningOp())
      connected.insert(def);
    else
      connected.insert(value.getParentBlock()->getParentOp());
    for (Operation *user : value.getUsers())
      connected.insert(user);
  };
  for (size_t i = 0; i < connected.size(); ++i) {
    Operation *op = connected[i];
    if (isa<scf::YieldOp>(op))
      connected.insert(op->getParentOp());
    for (Value operand : op->getOperands())
      addValue(operand);
    for (Value result : op->getResults())
      addValue(result);
    if (auto loop = dyn_cast<scf::ForOp>(op))
      for (Value arg : loop.getRegionIterArgs())
        addValue(arg);
  }
  Operation *root = contract->getParentOp();
  while (root != launch && !llvm::all_of(connected, [&](Operation *op) {
           return root->isProperAncestor(op);
         }))
    root = root->getParentOp();
  return root;
}

/// Warp-level vector.contract ops in `launch` -> nvgpu.mma.sync.
LogicalResult convertToTensorCores(RewriterBase &rewriter,
                                   gpu::LaunchOp launch) {
  if (!launch.getBody()
           .walk([](vector::ContractionOp) { return WalkResult::interrupt(); })
           .wasInterrupted())
    return success();
  // Vector constants (a zero accumulator) hoisted out of the kernel come
  // back in: the conversion must see them with their users.
  Region &body = launch.getBody();
  SmallVector<std::pair<OpOperand *, arith::ConstantOp>> outside;
  body.walk([&](Operation *op) {
    for (OpOperand &operand : op->getOpOperands())
      if (auto constant = operand.get().getDefiningOp<arith::ConstantOp>())
        if (isa<VectorType>(constant.getType()) &&
            !body.isAncestor(constant->getParentRegion()))
          outside.push_back({&operand, constant});
  });
  // Each next to its user, inside the warp's tile (see getProductRoot).
  for (auto [operand, constant] : outside) {
    rewriter.setInsertionPoint(operand->getOwner());
    Operation *clone = rewriter.clone(*constant);
    rewriter.modifyOpInPlace(operand->getOwner(),
                             [&] { operand->set(clone->getResult(0)); });
  }
  RewritePatternSet patterns(launch.getContext());
  patterns.add<FoldExtensionsIntoContract>(launch.getContext());
  populatePrepareVectorToMMAPatterns(patterns, /*useNvGpu=*/true);
  // Constants stay where they are, next to the products they feed.
  GreedyRewriteConfig config;
  config.enableConstantCSE(false);
  if (failed(applyPatternsGreedily(launch, std::move(patterns), config)))
    return launch.emitError("weft-map-forall-to-gpu: preparing warp-level "
                            "products for tensor cores did not converge");
  // Reads from shared memory become ldmatrix (transposing where B is stored
  // row-major), accumulators per-lane registers, reads and writes of them
  // per-lane loads and stores. Each product is converted within the op
  // around its K loop (a warp's tile), where it is read and written.
  SetVector<Operation *> roots;
  launch.getBody().walk([&](vector::ContractionOp contract) {
    roots.insert(getProductRoot(contract, launch));
  });
  for (Operation *root : roots)
    if (failed(convertVectorToNVVMCompatibleMMASync(rewriter, root)))
      return root->emitError(
          "weft-map-forall-to-gpu: mapping warp-level products to mma.sync "
          "failed (index arithmetic beside them must be affine.apply)");
  // Dead vector ops the conversion replaced go away with unused loop
  // values. A product still there was not converted (it would run on every
  // thread of the warp), which is an error.
  RewritePatternSet cleanup(launch.getContext());
  scf::ForOp::getCanonicalizationPatterns(cleanup, launch.getContext());
  if (failed(applyPatternsGreedily(launch, std::move(cleanup), config)))
    return launch.emitError("weft-map-forall-to-gpu: cleaning up after the "
                            "tensor-core conversion did not converge");
  WalkResult left = launch.getBody().walk([](vector::ContractionOp contract) {
    contract.emitError("weft-map-forall-to-gpu: a warp-level product could "
                       "not be mapped to tensor cores (16x8x16 f16 products "
                       "of operands read from shared memory)");
    return WalkResult::interrupt();
  });
  return failure(left.wasInterrupted());
}

/// Threads per block: the largest inner loop (static, one-dimensional).
FailureOr<int64_t> getBlockSize(scf::ForallOp grid) {
  int64_t threads = 1;
  WalkResult result = grid.getBody()->walk([&](scf::ForallOp loop) {
    bool warps = isWarpLoop(loop);
    if (!weft::isThreadLoop(loop) && !warps) {
      loop.emitError("weft-map-forall-to-gpu: a loop inside a block loop "
                     "must be mapped to #gpu.thread or #gpu.warp");
      return WalkResult::interrupt();
    }
    std::optional<SmallVector<int64_t>> sizes =
        getConstantIntValues(loop.getMixedUpperBound());
    if (loop.getRank() != 1 || !sizes || !loop.isNormalized()) {
      loop.emitError("weft-map-forall-to-gpu: thread and warp loops must be "
                     "one-dimensional and normalized, with a static size");
      return WalkResult::interrupt();
    }
    threads = std::max(threads, (*sizes)[0] * (warps ? kWarpSize : 1));
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  if (threads > 1024)
    return grid.emitError("weft-map-forall-to-gpu: ")
           << threads << " threads per block (at most 1024)";
  // A smaller loop runs with the block's other threads masked off, which
  // a barrier would wait for (and a shuffle would read) forever.
  result = grid.getBody()->walk([&](scf::ForallOp loop) {
    int64_t size = *getConstantIntValue(loop.getMixedUpperBound().front()) *
                   (isWarpLoop(loop) ? kWarpSize : 1);
    bool synchronizes = loop.getBody()
                            ->walk([](Operation *op) {
                              return isa<gpu::BarrierOp, gpu::ShuffleOp>(op)
                                         ? WalkResult::interrupt()
                                         : WalkResult::advance();
                            })
                            .wasInterrupted();
    if (synchronizes && size != threads) {
      loop.emitError("weft-map-forall-to-gpu: a thread loop with barriers or "
                     "shuffles must span the whole block (")
          << size << " of " << threads << " threads)";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  return threads;
}

/// Shared memory a kernel can have without opting in to more (the static
/// kind has no other way); beyond it the buffers are views of dynamic shared
/// memory, which the runtime opts in to at launch.
constexpr int64_t kStaticSharedMemoryLimit = 48 * 1024;
/// Alignment of each buffer within dynamic shared memory (ldmatrix and the
/// 16-byte accesses need 16).
constexpr int64_t kDynamicBufferAlignment = 128;

/// Bytes of a static buffer of integers, floats or vectors of them.
int64_t getBytes(MemRefType type) {
  Type element = type.getElementType();
  int64_t bits = 0;
  if (auto vector = dyn_cast<VectorType>(element))
    bits = vector.getNumElements() * vector.getElementTypeBitWidth();
  else
    bits = element.getIntOrFloatBitWidth();
  return type.getNumElements() * llvm::divideCeil(bits, 8);
}

/// Whether `user` of a block-local buffer only reads or writes it, or views
/// it as the shared memory it becomes (for nvgpu.ldmatrix).
bool isAccess(Operation *user) {
  if (auto view = dyn_cast<memref::MemorySpaceCastOp>(user)) {
    auto space = dyn_cast_if_present<gpu::AddressSpaceAttr>(
        view.getDest().getType().getMemorySpace());
    return space && space.getValue() == gpu::AddressSpace::Workgroup;
  }
  return isa<memref::LoadOp, memref::StoreOp, vector::LoadOp, vector::StoreOp,
             vector::TransferReadOp, vector::TransferWriteOp>(user);
}

/// Buffers of a static shape allocated directly in the block body become
/// the block's shared memory: workgroup attributions of `launch`, or views
/// of its dynamic shared memory when together they take more than
/// kStaticSharedMemoryLimit bytes. Their deallocations go away. Besides
/// loads and stores, a buffer may be picked by an arith.select between two
/// of them (double buffering) whose result is only loaded from and stored
/// to; the select then picks between their shared-memory versions.
LogicalResult promoteToSharedMemory(RewriterBase &rewriter,
                                    gpu::LaunchOp launch) {
  auto workgroup = gpu::AddressSpaceAttr::get(launch.getContext(),
                                              gpu::AddressSpace::Workgroup);
  SmallVector<memref::AllocOp> allocs;
  for (Operation &op : launch.getBody().front())
    if (auto alloc = dyn_cast<memref::AllocOp>(op))
      allocs.push_back(alloc);
  SetVector<arith::SelectOp> selects;
  int64_t totalBytes = 0;
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
      auto select = dyn_cast<arith::SelectOp>(user);
      if (select && select.getCondition() != alloc.getResult() &&
          select.getTrueValue().getDefiningOp<memref::AllocOp>() &&
          select.getFalseValue().getDefiningOp<memref::AllocOp>() &&
          select.getTrueValue().getType() == select.getFalseValue().getType() &&
          llvm::all_of(select->getUsers(), isAccess)) {
        selects.insert(select);
        continue;
      }
      if (!isAccess(user))
        return user->emitError("weft-map-forall-to-gpu: a block-local buffer "
                               "may only be loaded from, stored to or picked "
                               "by a select between two of them");
    }
    totalBytes += llvm::alignTo(getBytes(type), kDynamicBufferAlignment);
  }
  // Once the buffers are shared memory, the selects take their type, and
  // views of them as shared memory are the buffers themselves.
  auto retypeSelects = [&] {
    for (arith::SelectOp select : selects)
      select.getResult().setType(select.getTrueValue().getType());
    launch.getBody().walk([&](memref::MemorySpaceCastOp view) {
      if (view.getSource().getType() == view.getDest().getType())
        rewriter.replaceOp(view, view.getSource());
    });
  };
  if (totalBytes <= kStaticSharedMemoryLimit) {
    for (memref::AllocOp alloc : allocs) {
      MemRefType type = alloc.getType();
      auto shared = MemRefType::get(type.getShape(), type.getElementType(),
                                    MemRefLayoutAttrInterface(), workgroup);
      BlockArgument buffer =
          launch.addWorkgroupAttribution(shared, alloc.getLoc());
      rewriter.replaceAllUsesWith(alloc.getResult(), buffer);
      rewriter.eraseOp(alloc);
    }
    retypeSelects();
    return success();
  }
  Location loc = launch.getLoc();
  rewriter.setInsertionPointToStart(&launch.getBody().front());
  Value base = gpu::DynamicSharedMemoryOp::create(
      rewriter, loc,
      MemRefType::get({ShapedType::kDynamic}, rewriter.getI8Type(),
                      MemRefLayoutAttrInterface(), workgroup));
  int64_t offset = 0;
  for (memref::AllocOp alloc : allocs) {
    MemRefType type = alloc.getType();
    auto shared = MemRefType::get(type.getShape(), type.getElementType(),
                                  MemRefLayoutAttrInterface(), workgroup);
    Value view = memref::ViewOp::create(
        rewriter, alloc.getLoc(), shared, base,
        arith::ConstantIndexOp::create(rewriter, loc, offset), ValueRange{});
    rewriter.replaceAllUsesWith(alloc.getResult(), view);
    rewriter.eraseOp(alloc);
    offset += llvm::alignTo(getBytes(type), kDynamicBufferAlignment);
  }
  retypeSelects();
  rewriter.setInsertionPoint(launch);
  Value size = arith::ConstantIntOp::create(rewriter, loc, totalBytes, 32);
  rewriter.modifyOpInPlace(
      launch, [&] { launch.getDynamicSharedMemorySizeMutable().assign(size); });
  return success();
}

LogicalResult mapGrid(RewriterBase &rewriter, scf::ForallOp grid) {
  if (!grid.getOutputs().empty() || !grid.isNormalized() || grid.getRank() > 3)
    return grid.emitError("weft-map-forall-to-gpu: a block loop must be "
                          "normalized, have no results and at most 3 dims");
  FailureOr<int64_t> threads = getBlockSize(grid);
  if (failed(threads))
    return failure();
  grid.getBody()->walk([](scf::ForallOp loop) {
    if (weft::isThreadLoop(loop))
      weft::addStructuredBarriers(loop);
  });

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
    gridSizes[id] =
        getValueOrCreateConstantIndexOp(rewriter, loc, upperBounds[index]);
    dimOfLoop.push_back(id);
  }
  Value blockX = arith::ConstantIndexOp::create(rewriter, loc, *threads);
  auto launch = gpu::LaunchOp::create(rewriter, loc, gridSizes[0], gridSizes[1],
                                      gridSizes[2], blockX, one, one);

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
  if (failed(mapped.checkAndReport()))
    return failure();
  if (failed(convertToTensorCores(rewriter, launch)))
    return failure();
  viewSharedVectorAccessesAsGeneric(rewriter, launch);
  return success();
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
