//===- CpuPipeline.cpp - weft-cpu-pipeline --------------------------------===//

#include "weft/Conversion/Passes.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"
#include "weft/Pipelines/Pipelines.h"
#include "weft/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void weft::buildCpuPipeline(OpPassManager &pm,
                            const CpuPipelineOptions &options) {
  if (options.tile) {
    // Norms in blocks of rows and scans per (batch row, head) as scf.forall
    // tasks; the lowering's own parallel loops inside them run serially.
    WeftTilePassOptions tile;
    tile.target = "cpu";
    tile.useForall = true;
    pm.addNestedPass<func::FuncOp>(createWeftTilePass(tile));
  }
  buildWeftToLinalgPipeline(pm);
  // Register-blocked vector code for linear-like contractions.
  pm.addNestedPass<func::FuncOp>(createWeftTileContractionsPass());
  buildBufferizationPipeline(pm);
  // SIMT kernels (barriers and shuffles inside thread loops) as consecutive
  // thread loops.
  pm.addNestedPass<func::FuncOp>(createWeftExpandWarpCollectivesPass());
  pm.addNestedPass<func::FuncOp>(createWeftSplitThreadLoopsAtBarriersPass());
  if (options.reverseGpuLoops)
    pm.addNestedPass<func::FuncOp>(createWeftReverseGpuLoopsPass());

  // Loops. Strided copies become loops too (no runtime copy helper).
  pm.addNestedPass<func::FuncOp>(createWeftLowerStridedCopiesPass());
  if (options.parallel) {
    // scf.forall (the tasks of attention and ssm_scan) -> scf.parallel.
    pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
    pm.addNestedPass<func::FuncOp>(
        createWeftSerializeNestedParallelLoopsPass());
    pm.addPass(createConvertSCFToOpenMPPass());
    // Inlines the memref.alloca_scope that wraps each parallel body (it holds
    // no alloca) before scf-to-cf splits the body into blocks.
    pm.addPass(createCanonicalizerPass());
  } else {
    pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  }

  // Vector ops -> 1-D vectors (what LLVM's vector types are).
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass());

  // Quantized weights arrive packed (two i4 per byte); loads and vector reads
  // are rewritten on the argument itself, through no views.
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(createWeftPackInt4BuffersPass());

  // -> LLVM.
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.reassociateFPReductions = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // log1p goes to libm: the LLVM lowering's log(1 + x) loses every digit of
  // small x (softplus of large negative inputs). Ops without an LLVM
  // intrinsic (erf, ...) go to libm too.
  ConvertMathToLLVMPassOptions mathToLLVM;
  mathToLLVM.approximateLog1p = false;
  pm.addPass(createConvertMathToLLVMPass(mathToLLVM));
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void weft::registerCpuPipeline() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "weft-cpu-pipeline",
      "Lowers weft functions to the LLVM dialect for the host CPU",
      buildCpuPipeline);
}
