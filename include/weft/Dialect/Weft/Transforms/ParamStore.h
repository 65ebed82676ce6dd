//===- ParamStore.h - archives of passes that rewrite weights ---*- C++ -*-===//
//
// Passes that compute new weights (quantization, LoRA merging, projection
// fusion) read the values of `weft.param` tensors from an input archive (the
// pass option `params`) and write an output archive (`params-out`) that holds
// every parameter the rewritten module references: the new tensors they added
// and, copied unchanged, the input tensors still in use.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_DIALECT_WEFT_TRANSFORMS_PARAMSTORE_H
#define WEFT_DIALECT_WEFT_TRANSFORMS_PARAMSTORE_H

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Support/ParamArchive.h"

#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace mlir::weft {

class ParamStore {
public:
  /// Opens the archive named by a pass's `params` option; reports at `module`
  /// an unset option (for `params` or `params-out`) or an unreadable archive.
  static FailureOr<ParamStore> open(ModuleOp module, StringRef passName,
                                    StringRef inputPath, StringRef outputPath);

  /// The archive entry that `param` names, after checking that it binds the
  /// param's type; reports at `param` an absent entry or a mismatch.
  FailureOr<const ArchiveTensor *> lookup(ParamOp param);
  /// The values of the float parameter `param` as f32.
  FailureOr<std::vector<float>> readFloats(ParamOp param);

  /// True when `name` is taken, in the input archive or by an added tensor.
  bool isNameTaken(StringRef name) const;
  /// Adds a new tensor for the output archive.
  void add(StringRef name, StringRef dtype, ArrayRef<int64_t> shape,
           std::string bytes);
  /// The bytes of a tensor added earlier, if any.
  std::optional<StringRef> getAdded(StringRef name) const;
  /// Records a `__metadata__` entry of the output archive.
  void setMetadata(StringRef key, StringRef value);

  /// Writes the output archive: every parameter `module` references, from the
  /// added tensors or else from the input archive. Reports a reference to a
  /// name in neither.
  LogicalResult write(ModuleOp module);

  StringRef getInputPath() const { return input->getPath(); }
  StringRef getOutputPath() const { return outputPath; }

private:
  ParamStore(ParamArchive input, StringRef passName, StringRef outputPath)
      : input(std::make_unique<ParamArchive>(std::move(input))),
        passName(passName.str()), outputPath(outputPath.str()) {}

  std::unique_ptr<ParamArchive> input;
  std::string passName, outputPath;
  ParamArchiveBuilder added;
};

} // namespace mlir::weft

#endif // WEFT_DIALECT_WEFT_TRANSFORMS_PARAMSTORE_H
