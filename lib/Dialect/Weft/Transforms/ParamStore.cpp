//===- ParamStore.cpp - archives of passes that rewrite weights -----------===//

#include "weft/Dialect/Weft/Transforms/ParamStore.h"

using namespace mlir;
using namespace mlir::weft;

FailureOr<ParamStore> ParamStore::open(ModuleOp module, StringRef passName,
                                       StringRef inputPath,
                                       StringRef outputPath) {
  for (auto [option, value] :
       {std::pair{"params", inputPath}, std::pair{"params-out", outputPath}})
    if (value.empty())
      return emitError(module.getLoc())
             << passName << " needs the '" << option
             << "' option (the input and output safetensors archives)";
  llvm::Expected<ParamArchive> archive = ParamArchive::read(inputPath);
  if (!archive)
    return emitError(module.getLoc())
           << passName << ": " << llvm::toString(archive.takeError());
  return ParamStore(std::move(*archive), passName, outputPath);
}

FailureOr<const ArchiveTensor *> ParamStore::lookup(ParamOp param) {
  StringRef name = param.getName();
  const ArchiveTensor *tensor = input->lookup(name);
  if (!tensor)
    tensor = added.lookup(name);
  if (!tensor)
    return param.emitError()
           << passName << ": parameter '" << name << "' is not in archive '"
           << input->getPath() << "'";
  auto type = cast<RankedTensorType>(param.getType());
  FailureOr<std::string> dtype = getLogicalDtype(type.getElementType());
  std::string mismatch =
      succeeded(dtype) ? getBindingMismatch(*tensor, *dtype, type.getShape())
                       : "has an element type no archive stores";
  if (!mismatch.empty())
    return param.emitError()
           << passName << ": parameter '" << name << "' " << mismatch
           << " in archive '" << input->getPath() << "'";
  return tensor;
}

FailureOr<std::vector<float>> ParamStore::readFloats(ParamOp param) {
  FailureOr<const ArchiveTensor *> tensor = lookup(param);
  if (failed(tensor))
    return failure();
  llvm::Expected<std::vector<float>> values = decodeFloats(**tensor);
  if (!values)
    return param.emitError() << passName << ": parameter '" << param.getName()
                             << "': " << llvm::toString(values.takeError());
  return std::move(*values);
}

bool ParamStore::isNameTaken(StringRef name) const {
  return input->lookup(name) || added.contains(name);
}

void ParamStore::add(StringRef name, StringRef dtype, ArrayRef<int64_t> shape,
                     std::string bytes) {
  added.add(name, dtype, shape, std::move(bytes));
}

std::optional<StringRef> ParamStore::getAdded(StringRef name) const {
  if (const ArchiveTensor *tensor = added.lookup(name))
    return tensor->data;
  return std::nullopt;
}

void ParamStore::setMetadata(StringRef key, StringRef value) {
  added.setMetadata(key, value);
}

LogicalResult ParamStore::write(ModuleOp module) {
  // Only referenced tensors go out: an added tensor that a later rewrite
  // stopped using, or an input tensor replaced everywhere, is dropped.
  ParamArchiveBuilder output;
  for (const auto &entry : input->getMetadata())
    output.setMetadata(entry.first(), entry.second);
  for (const auto &entry : added.getMetadata())
    output.setMetadata(entry.first(), entry.second);
  WalkResult walk = module.walk([&](ParamOp param) {
    StringRef name = param.getName();
    if (const ArchiveTensor *tensor = added.lookup(name))
      output.addView(name, *tensor);
    else if (const ArchiveTensor *tensor = input->lookup(name))
      output.addView(name, *tensor);
    else {
      param.emitError() << passName << ": parameter '" << name
                        << "' is not in archive '" << input->getPath() << "'";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (llvm::Error error = output.write(outputPath))
    return emitError(module.getLoc())
           << passName << ": " << llvm::toString(std::move(error));
  return success();
}
