//===- ParamArchive.cpp - checking parameters against an archive ----------===//

#include "weft/Target/Artifact.h"

#include "weft/Dialect/Weft/IR/ShapeUtils.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::weft;

/// True when an archive tensor of safetensors `archiveDtype` can bind a
/// parameter of manifest `dtype`.
static bool isStorableAs(StringRef dtype, StringRef archiveDtype) {
  if (dtype == "i4" || dtype == "i8")
    return archiveDtype == "I8" || archiveDtype == "U8";
  if (dtype == "i1")
    return archiveDtype == "BOOL";
  return dtype.upper() == archiveDtype;
}

LogicalResult weft::checkParamArchive(const Manifest &manifest, StringRef path,
                                      llvm::raw_ostream &errors) {
  auto fail = [&](const Twine &message) {
    errors << "weft-compile: error: " << path << ": " << message << "\n";
    return failure();
  };
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    return fail("cannot read: " + buffer.getError().message());
  StringRef data = (*buffer)->getBuffer();
  if (data.size() < 8)
    return fail("file too short for a safetensors header");
  uint64_t length = llvm::support::endian::read64le(data.data());
  if (length == 0 || length > data.size() - 8)
    return fail("invalid header length " + Twine(length));
  llvm::Expected<llvm::json::Value> header =
      llvm::json::parse(data.substr(8, length));
  if (!header)
    return fail("header is not valid JSON: " +
                llvm::toString(header.takeError()));
  const llvm::json::Object *entries = header->getAsObject();
  if (!entries)
    return fail("header is not a JSON object");

  for (const FunctionSignature &function : manifest.functions) {
    for (const TensorSignature &param : function.params) {
      const llvm::json::Object *entry = entries->getObject(param.name);
      if (!entry)
        return fail("missing parameter '" + param.name + "'");
      std::optional<StringRef> dtype = entry->getString("dtype");
      const llvm::json::Array *shapeArray = entry->getArray("shape");
      if (!dtype || !shapeArray)
        return fail("parameter '" + param.name + "' has no dtype or shape");
      SmallVector<int64_t> shape;
      for (const llvm::json::Value &dim : *shapeArray)
        shape.push_back(dim.getAsInteger().value_or(-1));
      // i4 is stored packed: two values per byte along the last dim, an odd
      // last dim padded to whole bytes.
      SmallVector<int64_t> expected(param.shape);
      if (param.dtype == "i4")
        expected.back() = (expected.back() + 1) / 2;
      if (!isStorableAs(param.dtype, *dtype) || shape != expected)
        return fail("parameter '" + param.name + "' is " + *dtype +
                    formatShape(shape) + ", expected " + param.dtype +
                    formatShape(param.shape) +
                    (param.dtype == "i4"
                         ? " (stored as U8/I8" + formatShape(expected) + ")"
                         : ""));
    }
  }
  return success();
}
