//===- Pipelines.h - weft pass pipelines ------------------------*- C++ -*-===//

#ifndef WEFT_PIPELINES_PIPELINES_H
#define WEFT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::weft {

/// Options of weft-cpu-pipeline.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run parallel loops on several threads (OpenMP)"),
      llvm::cl::init(true)};
};

/// Lowers a module of weft functions (parameters already bound to function
/// arguments) to the LLVM dialect: weft -> linalg -> bufferized loops -> LLVM.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers weft-cpu-pipeline with the global pipeline registry.
void registerCpuPipeline();

} // namespace mlir::weft

#endif // WEFT_PIPELINES_PIPELINES_H
