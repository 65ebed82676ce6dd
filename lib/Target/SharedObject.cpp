//===- SharedObject.cpp - LLVM module to a linked shared object -----------===//

#include "weft/Target/Artifact.h"

#include "lld/Common/Driver.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Operator.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

LLD_HAS_DRIVER(elf)

using namespace mlir;
using namespace mlir::weft;

LogicalResult weft::addArtifactSymbols(llvm::Module &module,
                                       const Manifest &manifest,
                                       std::string &error) {
  llvm::LLVMContext &context = module.getContext();
  llvm::Type *ptrType = llvm::PointerType::getUnqual(context);
  for (const FunctionSignature &function : manifest.functions) {
    std::string cifaceName = "_mlir_ciface_" + function.name;
    llvm::Function *ciface = module.getFunction(cifaceName);
    size_t expected = (function.results.empty() ? 0 : 1) +
                      function.inputs.size() + function.params.size();
    if (!ciface || ciface->arg_size() != expected) {
      error = "internal error: no C interface with " +
              std::to_string(expected) + " arguments for @" + function.name;
      return failure();
    }
    // void SYMBOL(void **args): args[i] is the pointer ciface takes as its
    // i-th argument (result storage first, then inputs, then params).
    auto *entry = llvm::Function::Create(
        llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptrType},
                                /*isVarArg=*/false),
        llvm::GlobalValue::ExternalLinkage, function.symbol, module);
    llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "", entry));
    SmallVector<llvm::Value *> arguments;
    for (unsigned i = 0; i < expected; ++i) {
      llvm::Value *slot =
          builder.CreateConstGEP1_64(ptrType, entry->getArg(0), i);
      arguments.push_back(builder.CreateLoad(ptrType, slot));
    }
    builder.CreateCall(ciface, arguments);
    builder.CreateRetVoid();
  }
  llvm::Constant *text =
      llvm::ConstantDataArray::getString(context, manifest.toJson());
  new llvm::GlobalVariable(module, text->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, text,
                           "weft_manifest");
  return success();
}

/// Tunes the code LLVM generates: floating-point arithmetic may be
/// reassociated and contracted into FMAs, which is what lets LLVM vectorize
/// the reductions of contractions, norms and softmax (NaN and infinity
/// semantics are kept, since attention masks rely on -inf; only the order of
/// roundings changes), and 512-bit vectors are preferred where the target has
/// them (LLVM defaults to 256 bits on x86; the GEMV kernels run 10-15% faster).
static void tuneCodeGeneration(llvm::Module &module) {
  for (llvm::Function &function : module) {
    if (!function.isDeclaration())
      function.addFnAttr("prefer-vector-width", "512");
    for (llvm::Instruction &instruction : llvm::instructions(function))
      if (isa<llvm::FPMathOperator>(instruction)) {
        instruction.setHasAllowReassoc(true);
        instruction.setHasAllowContract(true);
      }
  }
}

std::unique_ptr<llvm::TargetMachine>
weft::createCpuTargetMachine(StringRef cpu, StringRef features,
                             std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpuName =
      cpu.empty() ? llvm::sys::getHostCPUName().str() : cpu.str();
  std::string featureString = features.str();
  if (cpu.empty() && features.empty()) {
    SmallVector<std::string> enabled;
    for (const auto &[name, on] : llvm::sys::getHostCPUFeatures())
      enabled.push_back((on ? "+" : "-") + name.str());
    featureString = llvm::join(enabled, ",");
  }
  // Constructors go to .init_array, which the dynamic loader runs (the
  // legacy .ctors needs crtbegin.o, which the artifact is not linked with):
  // the kernel modules of cuda artifacts are loaded by constructors.
  llvm::TargetOptions options;
  options.UseInitArray = true;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, featureString, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    error =
        "cannot create a target machine for " + triple.str() + " " + cpuName;
  return machine;
}

LogicalResult weft::emitSharedObject(llvm::Module &module,
                                     llvm::TargetMachine &machine,
                                     StringRef outputPath,
                                     ArrayRef<std::string> libraries,
                                     std::string &error) {
  module.setDataLayout(machine.createDataLayout());
  module.setTargetTriple(machine.getTargetTriple());
  tuneCodeGeneration(module);
  if (llvm::Error err = makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, &machine)(&module)) {
    error = "LLVM optimization failed: " + llvm::toString(std::move(err));
    return failure();
  }

  SmallString<128> objectPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("weft", "o", objectPath)) {
    error = "cannot create a temporary object file: " + ec.message();
    return failure();
  }
  llvm::FileRemover removeObject(objectPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objectPath, ec);
    if (ec) {
      error = "cannot write " + objectPath.str().str() + ": " + ec.message();
      return failure();
    }
    llvm::legacy::PassManager passes;
    if (machine.addPassesToEmitFile(passes, os, nullptr,
                                    llvm::CodeGenFileType::ObjectFile)) {
      error = "the target cannot emit object files";
      return failure();
    }
    passes.run(module);
  }

  // Link in-process. The generated code calls libm (math-to-libm), libc
  // (malloc/free) and, when parallel, libomp from LLVM's lib directory, which
  // is recorded as the run path.
  std::string llvmLibDir = WEFT_LLVM_LIBRARY_DIR;
  std::vector<std::string> storage = {"ld.lld",
                                      "-shared",
                                      "-o",
                                      outputPath.str(),
                                      objectPath.str().str(),
                                      "-L" + llvmLibDir,
                                      "-L/lib/x86_64-linux-gnu",
                                      "-L/usr/lib/x86_64-linux-gnu"};
  if (!libraries.empty())
    storage.push_back("-rpath=" + llvmLibDir);
  for (const std::string &library : libraries)
    storage.push_back("-l" + library);
  storage.push_back("-lm");
  storage.push_back("-lc");
  SmallVector<const char *> args;
  for (const std::string &arg : storage)
    args.push_back(arg.c_str());
  std::string linkerOutput;
  llvm::raw_string_ostream linkerStream(linkerOutput);
  lld::Result result = lld::lldMain(args, linkerStream, linkerStream,
                                    {{lld::Gnu, &lld::elf::link}});
  if (result.retCode != 0) {
    error = "linking " + outputPath.str() + " failed: " + linkerOutput;
    return failure();
  }
  return success();
}
