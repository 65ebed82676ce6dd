//===- BufferizationPipeline.cpp - the steps every target shares ----------===//

#include "weft/Conversion/Passes.h"
#include "weft/Pipelines/Pipelines.h"
#include "weft/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void weft::buildWeftToLinalgPipeline(OpPassManager &pm,
                                     const WeftToLinalgForms &forms) {
  ConvertWeftToLinalgPassOptions options;
  options.ssmChunkSize = forms.ssmChunkSize;
  options.attentionProducts = forms.attentionProducts;
  options.attentionBlocks = forms.attentionBlocks;
  options.attentionRegisters = forms.attentionRegisters;
  options.ssmPerChannel = forms.ssmPerChannel;
  options.ssmBlocks = forms.ssmBlocks;
  options.ssmChunked = forms.ssmChunked;
  options.linearBlocks = forms.linearBlocks;
  options.blockSharedMemoryKiB = forms.blockSharedMemoryKiB;
  pm.addNestedPass<func::FuncOp>(createConvertWeftToLinalgPass(options));
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createWeftFuseElementwiseProducersPass());
  pm.addPass(createCSEPass());
}

void weft::buildBufferizationPipeline(OpPassManager &pm) {
  // Tensors -> buffers. Function boundaries use plain row-major memrefs so
  // that the runtime's descriptors match.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // Loops over tiles (weft-tile) may carry values that each iteration
  // computes into a new buffer: the K accumulator of a linear layer, the
  // state of a chunked scan. Ownership-based deallocation frees them.
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addPass(createConvertBufferizationToMemRefPass());
}
