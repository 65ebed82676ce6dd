//===- GpuPipeline.cpp - weft-gpu-pipeline --------------------------------===//
//
// Linalg and buffers as on the CPU, then every loop nest that touches memory
// becomes a kernel (weft-map-parallel-loops-to-gpu decides the grid), kernels
// go to NVVM and PTX/cubin, and the host code goes to LLVM. Host allocations
// use the runtime's unified-memory allocator (generic allocation functions),
// so buffers are valid on both sides.
//
//===----------------------------------------------------------------------===//

#include "weft/Pipelines/Pipelines.h"
#include "weft/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// Shared memory per block that lets two blocks share a multiprocessor
/// (228 KiB on sm_90, 164 KiB on sm_80, 1 KiB of each block reserved).
static int64_t getDefaultBlockSharedMemoryKiB(StringRef chip) {
  return chip.starts_with("sm_90") ? 110 : 80;
}

void weft::buildGpuPipeline(OpPassManager &pm,
                            const GpuPipelineOptions &options) {
  // Attention as whole-tensor products: the CPU form's tasks (one per query
  // block) would be one GPU thread each.
  WeftToLinalgForms forms;
  forms.attentionProducts = true;
  forms.attentionBlocks = options.attentionBlocks;
  forms.attentionRegisters = options.attentionRegisters;
  forms.ssmPerChannel = options.ssmPerChannel;
  forms.ssmBlocks = options.ssmBlocks;
  forms.ssmChunked = options.ssmChunked;
  forms.linearBlocks = options.linearBlocks;
  forms.blockSharedMemoryKiB =
      options.blockSharedMemoryKiB > 0
          ? options.blockSharedMemoryKiB
          : getDefaultBlockSharedMemoryKiB(options.chip);
  buildWeftToLinalgPipeline(pm, forms);
  buildBufferizationPipeline(pm);
  // Kernels written as loops over blocks and threads (attention-blocks)
  // become launches with shared memory.
  pm.addNestedPass<func::FuncOp>(createWeftMapForallToGpuPass());

  // Loops, then kernels. Every copy becomes a loop: a memcpy would run on
  // the host.
  WeftLowerStridedCopiesPassOptions copies;
  copies.all = true;
  pm.addNestedPass<func::FuncOp>(createWeftLowerStridedCopiesPass(copies));
  // Sums over K (contractions, norms): one warp per output element.
  pm.addNestedPass<func::FuncOp>(createWeftGpuWarpReductionsPass());
  // scf.forall (the tasks of attention and ssm_scan) -> scf.parallel.
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  WeftMapParallelLoopsToGpuPassOptions mapping;
  mapping.threads = options.threads;
  pm.addNestedPass<func::FuncOp>(createWeftMapParallelLoopsToGpuPass(mapping));
  pm.addPass(createConvertParallelLoopToGpuPass());
  pm.addPass(createCanonicalizerPass());
  // Packed int4 parameters: accesses go to the argument itself, through no
  // views.
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(createWeftPackInt4BuffersPass());
  // Weight chunks and pieces of shared tiles of 16 bytes as single loads
  // and stores (the runtime's buffers and shared memory are aligned).
  pm.addPass(createWeftAlignBufferAccessesPass());
  // Marked tile pieces go to shared memory by cp.async (double-buffered
  // tiles load the next one while the block works on the current one).
  pm.addPass(createWeftAsyncSharedCopiesPass());
  // Constant tables the kernels read become device globals.
  pm.addPass(createWeftSinkGlobalsIntoKernelsPass());
  // Constants and the index arithmetic on them are computed in the kernels
  // instead of being passed: loop bounds and strides stay known there.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  // Shared memory aligned for tensor-core loads and the 16-byte accesses
  // weft-align-buffer-accesses marked.
  pm.addNestedPass<gpu::GPUModuleOp>(createWeftAlignWorkgroupMemoryPass());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  // Vector kernels (attention's register blocks) become loads and stores of
  // vectors; views become plain descriptors before the kernels go to NVVM.
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());

  // Kernels -> NVVM.
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addNestedPass<gpu::GPUModuleOp>(createStripDebugInfoPass());
  // bf16 tensor-core products, which convert-nvgpu-to-nvvm does not take.
  pm.addNestedPass<gpu::GPUModuleOp>(createWeftLowerBf16MmaSyncPass());
  // Vector transfers -> vector loads/stores (convert-gpu-to-nvvm lowers
  // vector ops but not transfers).
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertVectorToLLVMPass());
  // Tensor-core operations (ldmatrix, mma.sync) -> NVVM.
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertNVGPUToNVVMPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 64;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(nvvm));
  pm.addNestedPass<gpu::GPUModuleOp>(LLVM::createNVVMOptimizeForTargetPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  // Host -> LLVM. Allocations call the runtime's generic allocation
  // functions (unified memory); math without an intrinsic goes to libm.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  ConvertMathToLLVMPassOptions mathToLLVM;
  mathToLLVM.approximateLog1p = false;
  pm.addPass(createConvertMathToLLVMPass(mathToLLVM));
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createGpuToLLVMConversionPass());

  // Kernels -> PTX / cubin, embedded as gpu.binary.
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void weft::registerGpuPipeline() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "weft-gpu-pipeline",
      "Lowers weft functions to GPU kernels (NVVM, embedded PTX/cubin) and "
      "LLVM host code",
      buildGpuPipeline);
}
