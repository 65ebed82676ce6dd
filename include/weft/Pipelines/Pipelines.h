//===- Pipelines.h - weft pass pipelines ------------------------*- C++ -*-===//

#ifndef WEFT_PIPELINES_PIPELINES_H
#define WEFT_PIPELINES_PIPELINES_H

#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::weft {

/// The steps every target starts with: weft -> linalg/scf on tensors in the
/// given forms (the defaults are the CPU's), then elementwise fusion
/// (weft-fuse-elementwise-producers).
void buildWeftToLinalgPipeline(OpPassManager &pm,
                               const WeftToLinalgForms &forms = {});

/// Tensors -> buffers with ownership-based deallocation, for every target.
/// Function boundaries become identity-layout memrefs (the runtime's
/// descriptors).
void buildBufferizationPipeline(OpPassManager &pm);

/// Options of weft-cpu-pipeline.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run parallel loops on several threads (OpenMP)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> tile{
      *this, "tile",
      llvm::cl::desc("Tile transformer ops before lowering "
                     "(weft-tile{target=cpu forall})"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> reverseGpuLoops{
      *this, "reverse-gpu-loops",
      llvm::cl::desc("Run loops over GPU blocks, warps and threads (the "
                     "thread-block forms) backwards: a race check "
                     "(weft-reverse-gpu-loops)"),
      llvm::cl::init(false)};
};

/// Lowers a module of weft functions (parameters already bound to function
/// arguments) to the LLVM dialect: weft -> linalg -> bufferized loops -> LLVM.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers weft-cpu-pipeline with the global pipeline registry.
void registerCpuPipeline();

/// Options of weft-gpu-pipeline.
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA GPU architecture (sm_80, sm_90a)"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features (the PTX ISA version, e.g. +ptx80)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What to embed: isa (PTX text, JIT-compiled by the "
                     "driver), bin (cubin) or fatbin; bin and fatbin run "
                     "ptxas from the CUDA toolkit"),
      llvm::cl::init("isa")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit directory (libdevice, ptxas)"),
      llvm::cl::init("/usr/local/cuda")};
  PassOptions::Option<int64_t> threads{*this, "threads",
                                       llvm::cl::desc("Threads per block"),
                                       llvm::cl::init(256)};
  PassOptions::Option<bool> attentionBlocks{
      *this, "attention-blocks",
      llvm::cl::desc("Lower weft.attention as one fused kernel of thread "
                     "blocks (flash attention with shared-memory tiles; split "
                     "keys and a merging kernel when there are few blocks) "
                     "instead of whole-tensor products"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> attentionRegisters{
      *this, "attention-registers",
      llvm::cl::desc("Lower weft.attention with its state in registers where "
                     "that applies: decoding (at most 8 query rows per kv "
                     "head) streams K and V into registers with split keys; "
                     "f16 prefill is FlashAttention-2 style (tensor-core "
                     "fragments); elsewhere as attention-blocks"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> ssmBlocks{
      *this, "ssm-blocks",
      llvm::cl::desc("Lower ssm_scan as one kernel of thread blocks, one "
                     "thread per state element of a tile in shared memory "
                     "(takes precedence over ssm-per-channel)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> ssmChunked{
      *this, "ssm-chunked",
      llvm::cl::desc("Lower the Mamba-2 ssm_scan (scalar A, f16 or bf16 x, "
                     "B and C, P = 64) as chunks of 64 steps whose products "
                     "run on the tensor cores (SSD), else as ssm-blocks"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> linearBlocks{
      *this, "linear-blocks",
      llvm::cl::desc("Lower weft.linear and weft.qlinear as kernels of thread "
                     "blocks: up to 8 rows of x (decoding) with warps "
                     "reading their channels' weights in 16-byte chunks, "
                     "more rows of f16 or bf16 x on tensor cores (dynamic "
                     "rows choose at run time)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> blockSharedMemoryKiB{
      *this, "block-shared-memory-kib",
      llvm::cl::desc("Shared memory (KiB) a block of the thread-block forms "
                     "may take; beyond 48 KiB their buffers are dynamic "
                     "shared memory. 0: as much as lets two blocks share a "
                     "multiprocessor (110 KiB on sm_90, 80 KiB on sm_80)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> ssmPerChannel{
      *this, "ssm-per-channel",
      llvm::cl::desc("Lower ssm_scan with one task (thread) per (batch, head, "
                     "channel) instead of per (batch, head); off by default "
                     "until its per-step buffers stop going through device "
                     "malloc"),
      llvm::cl::init(false)};
};

/// Lowers a module of weft functions (parameters already bound to function
/// arguments) for NVIDIA GPUs: every loop nest that touches memory becomes a
/// kernel compiled to PTX/cubin and embedded in the module; the host code
/// launches them through the mgpu* runtime ABI and allocates unified memory.
void buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// Registers weft-gpu-pipeline with the global pipeline registry.
void registerGpuPipeline();

} // namespace mlir::weft

#endif // WEFT_PIPELINES_PIPELINES_H
