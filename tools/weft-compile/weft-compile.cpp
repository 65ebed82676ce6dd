//===- weft-compile.cpp - ahead-of-time compiler for weft modules ---------===//
//
//   weft-compile IN.mlir --target=cpu|cuda [--params P.safetensors] -o OUT
//
// Parses and verifies IN.mlir, binds weft.param ops to entry function
// arguments, lowers with weft-cpu-pipeline or weft-gpu-pipeline (kernels
// embedded as PTX/cubin), translates to LLVM IR, optimizes, emits an object
// and links it in-process into the shared object OUT, which carries its
// manifest (see docs/Runtime.md).
//
//===----------------------------------------------------------------------===//

#include "weft/InitAllWeft.h"
#include "weft/Pipelines/Pipelines.h"
#include "weft/Target/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string>
    inputFilename(cl::Positional, cl::desc("<input .mlir>"), cl::Required);
static cl::opt<std::string> outputFilename("o", cl::desc("Output artifact"),
                                           cl::value_desc("path"),
                                           cl::Required);
static cl::opt<std::string> target("target", cl::desc("Target: cpu or cuda"),
                                   cl::init("cpu"));
static cl::opt<std::string>
    sm("sm", cl::desc("cuda: GPU architecture, 80 or 90a (default 90a)"),
       cl::init("90a"));
static cl::opt<std::string>
    cudaFormat("cuda-format",
               cl::desc("cuda: embed isa (PTX, default), bin (cubin) or "
                        "fatbin; bin and fatbin need ptxas"),
               cl::init("isa"));
static cl::opt<std::string>
    cudaToolkit("cuda-toolkit",
                cl::desc("cuda: CUDA toolkit directory (libdevice, ptxas)"),
                cl::init("/usr/local/cuda"));
static cl::opt<std::string> gpuAttention(
    "gpu-attention",
    cl::desc("cuda: how weft.attention runs, as whole-tensor products "
             "(default), as one fused kernel of thread blocks (blocks) or "
             "with its state in registers where that applies, FlashAttention-2 "
             "style for prefill and K/V streamed with split keys for "
             "decoding, else as blocks (registers)"),
    cl::init("products"));
static cl::opt<std::string> gpuSsmScan(
    "gpu-ssm-scan",
    cl::desc("cuda: how weft.ssm_scan runs: a thread per (batch, head) "
             "(tasks, default), per channel (per-channel), per state "
             "element in thread blocks (blocks), or the Mamba-2 scan in "
             "chunks on the tensor cores where that applies, else as blocks "
             "(chunked)"),
    cl::init("tasks"));
static cl::opt<std::string> gpuLinear(
    "gpu-linear",
    cl::desc("cuda: how weft.linear and weft.qlinear run: warp reductions "
             "over K (reductions, default) or kernels of thread blocks "
             "(blocks: up to 8 rows of x read the weight in 16-byte chunks, "
             "more rows of f16 or bf16 x use tensor cores, and dynamic rows "
             "choose at run time)"),
    cl::init("reductions"));
static cl::opt<int64_t> gpuBlockSharedMemory(
    "gpu-block-shared-memory",
    cl::desc("cuda: shared memory (KiB) a block of the thread-block forms "
             "may take, at most 227; 0 (default): as much as lets two "
             "blocks share a multiprocessor (110 on sm_90a, 80 on sm_80)"),
    cl::init(0));
static cl::opt<std::string>
    paramsFile("params",
               cl::desc("Parameter archive (safetensors) to check the "
                        "parameters against"),
               cl::value_desc("path"));
static cl::opt<std::string> cpu("cpu",
                                cl::desc("Target CPU (default: the host)"));
static cl::opt<std::string>
    features("features", cl::desc("Target features, e.g. +avx512f (default: "
                                  "the host's)"));
static cl::opt<bool> parallel(
    "parallel",
    cl::desc("Run parallel loops on all cores through OpenMP (libomp)"),
    cl::init(true));
static cl::opt<bool> reverseGpuLoops(
    "reverse-gpu-loops",
    cl::desc("cpu: run the loops over GPU blocks, warps and threads of the "
             "thread-block forms backwards, so that a race between threads "
             "changes the results (a check; see weft-reverse-gpu-loops)"),
    cl::init(false));
static cl::opt<std::string>
    emit("emit",
         cl::desc("What to write: artifact (default), mlir (the "
                  "lowered LLVM dialect), llvm (LLVM IR) or ptx (the "
                  "kernels of --target=cuda)"),
         cl::init("artifact"));

static int fail(const Twine &message) {
  llvm::errs() << "weft-compile: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  weft::registerAllWeftPasses();
  cl::ParseCommandLineOptions(argc, argv, "weft ahead-of-time compiler\n");

  if (target != "cpu" && target != "cuda")
    return fail("unsupported target '" + target + "' (supported: cpu, cuda)");
  if (target == "cuda" && sm != "80" && sm != "90a")
    return fail("unsupported --sm=" + sm + " (supported: 80, 90a)");
  if (target == "cuda" && cudaFormat != "isa" && cudaFormat != "bin" &&
      cudaFormat != "fatbin")
    return fail("unsupported --cuda-format=" + cudaFormat +
                " (supported: isa, bin, fatbin)");
  if (gpuAttention != "products" && gpuAttention != "blocks" &&
      gpuAttention != "registers")
    return fail("unsupported --gpu-attention=" + gpuAttention +
                " (supported: products, blocks, registers)");
  if (gpuAttention != "products" && target != "cuda")
    return fail("--gpu-attention needs --target=cuda");
  if (gpuSsmScan != "tasks" && gpuSsmScan != "per-channel" &&
      gpuSsmScan != "blocks" && gpuSsmScan != "chunked")
    return fail("unsupported --gpu-ssm-scan=" + gpuSsmScan +
                " (supported: tasks, per-channel, blocks, chunked)");
  if (reverseGpuLoops && target != "cpu")
    return fail("--reverse-gpu-loops needs --target=cpu");
  if (gpuSsmScan != "tasks" && target != "cuda")
    return fail("--gpu-ssm-scan needs --target=cuda");
  if (gpuLinear != "reductions" && gpuLinear != "blocks")
    return fail("unsupported --gpu-linear=" + gpuLinear +
                " (supported: reductions, blocks)");
  if (gpuLinear != "reductions" && target != "cuda")
    return fail("--gpu-linear needs --target=cuda");
  if (gpuBlockSharedMemory < 0 || gpuBlockSharedMemory > 227)
    return fail("unsupported --gpu-block-shared-memory=" +
                std::to_string(gpuBlockSharedMemory) +
                " (KiB, from 1 to 227; 0 for the default)");
  if (gpuBlockSharedMemory != 0 && target != "cuda")
    return fail("--gpu-block-shared-memory needs --target=cuda");
  if (emit != "artifact" && emit != "mlir" && emit != "llvm" && emit != "ptx")
    return fail("unsupported --emit=" + emit +
                " (supported: artifact, mlir, llvm, ptx)");
  if (emit == "ptx" && (target != "cuda" || cudaFormat != "isa"))
    return fail("--emit=ptx needs --target=cuda and --cuda-format=isa");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registerAllGPUToLLVMIRTranslations(registry);
  weft::registerAllWeftDialects(registry);
  MLIRContext context(registry);

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(inputFilename, sourceMgr, &context);
  if (!module)
    return 1;

  FailureOr<weft::Manifest> manifest =
      weft::prepareEntryPoints(*module, target);
  if (failed(manifest) || failed(weft::inferInputShapes(*module, *manifest)))
    return 1;
  if (!paramsFile.empty() &&
      failed(weft::checkParamArchive(*manifest, paramsFile, llvm::errs())))
    return 1;

  PassManager pm(&context);
  if (target == "cuda") {
    weft::GpuPipelineOptions options;
    options.chip = "sm_" + sm;
    options.format = cudaFormat;
    options.toolkit = cudaToolkit;
    options.attentionBlocks = gpuAttention == "blocks";
    options.attentionRegisters = gpuAttention == "registers";
    options.ssmPerChannel = gpuSsmScan == "per-channel";
    options.ssmBlocks = gpuSsmScan == "blocks";
    options.ssmChunked = gpuSsmScan == "chunked";
    options.linearBlocks = gpuLinear == "blocks";
    options.blockSharedMemoryKiB = gpuBlockSharedMemory;
    weft::buildGpuPipeline(pm, options);
  } else {
    weft::CpuPipelineOptions options;
    options.parallel = parallel;
    options.reverseGpuLoops = reverseGpuLoops;
    weft::buildCpuPipeline(pm, options);
  }
  if (failed(pm.run(*module)))
    return 1;

  std::string error;
  auto output = openOutputFile(outputFilename, &error);
  if (!output)
    return fail(error);
  if (emit == "mlir") {
    module->print(output->os());
    output->keep();
    return 0;
  }
  if (emit == "ptx") {
    module->walk([&](gpu::BinaryOp binary) {
      for (Attribute object : binary.getObjects())
        output->os() << "// kernel module " << binary.getSymName() << "\n"
                     << cast<gpu::ObjectAttr>(object).getObject().getValue()
                     << "\n";
    });
    output->keep();
    return 0;
  }

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext);
  if (!llvmModule)
    return fail("translation to LLVM IR failed");
  if (failed(weft::addArtifactSymbols(*llvmModule, *manifest, error)))
    return fail(error);
  if (emit == "llvm") {
    llvmModule->print(output->os(), nullptr);
    output->keep();
    return 0;
  }

  std::unique_ptr<llvm::TargetMachine> machine =
      weft::createCpuTargetMachine(cpu, features, error);
  if (!machine)
    return fail(error);
  output->os().close();
  SmallVector<std::string> libraries;
  // cuda artifacts resolve the mgpu* and allocation functions from the
  // runtime that loads them.
  if (parallel && target == "cpu")
    libraries.push_back("omp");
  if (failed(weft::emitSharedObject(*llvmModule, *machine, outputFilename,
                                    libraries, error)))
    return fail(error);
  output->keep();
  return 0;
}
