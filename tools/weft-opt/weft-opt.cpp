//===- weft-opt.cpp - the weft optimizer driver ---------------------------===//
//
// mlir-opt with the weft dialect: every upstream dialect, extension and pass
// is registered, plus the LLVM IR translations that gpu-module-to-binary uses.
//
//===----------------------------------------------------------------------===//

#include "weft/InitAllWeft.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::weft::registerAllWeftPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  mlir::weft::registerAllWeftDialects(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "weft optimizer driver\n", registry));
}
