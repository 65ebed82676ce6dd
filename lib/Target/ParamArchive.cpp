//===- ParamArchive.cpp - checking parameters against an archive ----------===//

#include "weft/Target/Artifact.h"

#include "weft/Support/ParamArchive.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::weft;

LogicalResult weft::checkParamArchive(const Manifest &manifest, StringRef path,
                                      llvm::raw_ostream &errors) {
  auto fail = [&](const Twine &message) {
    errors << "weft-compile: error: " << message << "\n";
    return failure();
  };
  llvm::Expected<ParamArchive> archive = ParamArchive::read(path);
  if (!archive)
    return fail(llvm::toString(archive.takeError()));
  for (const FunctionSignature &function : manifest.functions) {
    for (const TensorSignature &param : function.params) {
      const ArchiveTensor *tensor = archive->lookup(param.name);
      if (!tensor)
        return fail(path + ": missing parameter '" + param.name + "'");
      std::string mismatch =
          getBindingMismatch(*tensor, param.dtype, param.shape);
      if (!mismatch.empty())
        return fail(path + ": parameter '" + param.name + "' " + mismatch);
    }
  }
  return success();
}
