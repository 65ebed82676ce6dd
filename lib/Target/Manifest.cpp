//===- Manifest.cpp - the artifact manifest -------------------------------===//

#include "weft/Target/Artifact.h"

#include "weft/Support/ParamArchive.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::weft;

FailureOr<std::string> weft::getManifestDtype(Type type) {
  return getLogicalDtype(type);
}

static llvm::json::Array toJson(ArrayRef<TensorSignature> tensors,
                                bool withNames) {
  llvm::json::Array array;
  for (const TensorSignature &tensor : tensors) {
    llvm::json::Object object{
        {"dtype", tensor.dtype},
        {"shape", llvm::json::Array(tensor.shape)},
    };
    if (withNames)
      object["name"] = tensor.name;
    if (tensor.range)
      object["range"] =
          llvm::json::Array({tensor.range->first, tensor.range->second});
    if (llvm::any_of(tensor.dimSymbols,
                     [](const std::string &s) { return !s.empty(); })) {
      llvm::json::Array symbols;
      for (const std::string &symbol : tensor.dimSymbols)
        symbols.push_back(symbol.empty() ? llvm::json::Value(nullptr)
                                         : llvm::json::Value(symbol));
      object["dim_symbols"] = std::move(symbols);
    }
    array.push_back(std::move(object));
  }
  return array;
}

std::string Manifest::toJson() const {
  llvm::json::Array functionArray;
  for (const FunctionSignature &function : functions)
    functionArray.push_back(llvm::json::Object{
        {"name", function.name},
        {"symbol", function.symbol},
        {"inputs", ::toJson(function.inputs, /*withNames=*/false)},
        {"params", ::toJson(function.params, /*withNames=*/true)},
        {"results", ::toJson(function.results, /*withNames=*/false)},
    });
  llvm::json::Object root{{"format", "weft-artifact"},
                          {"version", 1},
                          {"target", target},
                          {"functions", std::move(functionArray)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(root));
  return text;
}
