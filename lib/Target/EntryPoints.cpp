//===- EntryPoints.cpp - preparing public functions as entry points -------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"
#include "weft/Target/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::weft;

/// Describes `type` for the manifest, or emits an error naming `what`.
static FailureOr<TensorSignature> describe(func::FuncOp func, Type type,
                                           const Twine &what) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  FailureOr<std::string> dtype = failure();
  if (tensor)
    dtype = getManifestDtype(tensor.getElementType());
  if (failed(dtype))
    return func.emitError("entry function @")
           << func.getSymName() << ": " << what
           << " must be a ranked tensor of f64, f32, f16, bf16, i64, i32, "
              "i16, i8 or i1, got "
           << type;
  TensorSignature signature;
  signature.dtype = *dtype;
  for (int64_t dim : tensor.getShape())
    signature.shape.push_back(ShapedType::isDynamic(dim) ? -1 : dim);
  return signature;
}

/// The values an input must hold when the program uses it to index memory:
/// ids of weft.embedding lie in [0, V). Out-of-range ids would read outside
/// the table, so the runtime rejects them before the call.
static std::optional<std::pair<int64_t, int64_t>>
getIndexRange(BlockArgument input) {
  std::optional<std::pair<int64_t, int64_t>> range;
  for (Operation *user : input.getUsers()) {
    auto embedding = dyn_cast<EmbeddingOp>(user);
    if (!embedding || embedding.getIds() != input)
      continue;
    int64_t rows = embedding.getTable().getType().getDimSize(0);
    if (ShapedType::isDynamic(rows))
      continue;
    range = {0, range ? std::min(range->second, rows) : rows};
  }
  return range;
}

/// Binds the `weft.param` ops of `func` to trailing arguments (with those
/// weft-bind-params bound already) and records them in `signature`.
static LogicalResult bindParams(func::FuncOp func,
                                FunctionSignature &signature) {
  if (failed(bindParamsToArguments(func)))
    return failure();
  bool seenParam = false;
  for (BlockArgument argument : func.getArguments()) {
    unsigned index = argument.getArgNumber();
    auto name = func.getArgAttrOfType<StringAttr>(index, kParamAttrName);
    if (!name) {
      if (seenParam)
        return func.emitError("entry function @")
               << func.getSymName() << ": argument " << index
               << " follows a parameter argument; parameters ("
               << kParamAttrName << ") must be the trailing arguments";
      continue;
    }
    seenParam = true;
    auto type = dyn_cast<RankedTensorType>(argument.getType());
    FailureOr<std::string> dtype = failure();
    if (type && type.hasStaticShape())
      dtype = getManifestDtype(type.getElementType());
    if (failed(dtype))
      return func.emitError("entry function @")
             << func.getSymName() << ": parameter '" << name.getValue()
             << "' must be a static tensor of a parameter dtype, got "
             << argument.getType();
    TensorSignature tensor;
    tensor.name = name.getValue().str();
    tensor.dtype = *dtype;
    tensor.shape = llvm::to_vector(type.getShape());
    signature.params.push_back(std::move(tensor));
    func.removeArgAttr(index, kParamAttrName);
  }
  return success();
}

FailureOr<Manifest> weft::prepareEntryPoints(ModuleOp module,
                                             StringRef target) {
  Manifest manifest;
  manifest.target = target.str();
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    FunctionSignature signature;
    signature.name = func.getSymName().str();
    signature.symbol = "_weft_entry_" + signature.name;
    for (auto [i, type] : llvm::enumerate(func.getArgumentTypes())) {
      if (func.getArgAttr(i, kParamAttrName))
        continue;
      FailureOr<TensorSignature> input =
          describe(func, type, "argument " + Twine(i));
      if (failed(input))
        return failure();
      if (input->dtype == "i4")
        return func.emitError("entry function @")
               << func.getSymName() << ": argument " << i
               << " is i4; only parameters may be i4";
      input->range = getIndexRange(func.getArgument(i));
      signature.inputs.push_back(*input);
    }
    for (auto [i, type] : llvm::enumerate(func.getResultTypes())) {
      FailureOr<TensorSignature> result =
          describe(func, type, "result " + Twine(i));
      if (failed(result))
        return failure();
      signature.results.push_back(*result);
    }
    if (failed(bindParams(func, signature)))
      return failure();
    // Inputs belong to the caller and parameters are mapped read-only:
    // bufferization must never write into them.
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      func.setArgAttr(i, "bufferization.writable",
                      BoolAttr::get(module.getContext(), false));
    func->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
    manifest.functions.push_back(std::move(signature));
  }
  WalkResult leftover = module.walk([](ParamOp op) {
    op.emitOpError("is only supported inside public (entry) functions");
    return WalkResult::interrupt();
  });
  if (leftover.wasInterrupted())
    return failure();
  if (manifest.functions.empty())
    return module.emitError("no public function to compile");
  return manifest;
}
