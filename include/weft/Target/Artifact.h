//===- Artifact.h - building weft AOT artifacts -----------------*- C++ -*-===//
//
// An artifact is one shared object that exports a JSON manifest
// (`weft_manifest`) and, per entry function, `void _weft_entry_<name>(void **)`
// following the packed calling convention of docs/Runtime.md.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_TARGET_ARTIFACT_H
#define WEFT_TARGET_ARTIFACT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>
#include <vector>

namespace llvm {
class Module;
class TargetMachine;
class raw_ostream;
} // namespace llvm

namespace mlir::weft {

/// The dtype and shape of one tensor crossing the artifact boundary.
struct TensorSignature {
  std::string name; // parameter name; empty for inputs and results
  std::string dtype;
  SmallVector<int64_t> shape; // -1 for dynamic dims
  /// For integer inputs used as indices: every value must lie in
  /// [range->first, range->second), which the runtime checks before a call.
  std::optional<std::pair<int64_t, int64_t>> range;
  /// For inputs: per dim, empty or a symbol shared with dims of other inputs
  /// that must have the same size (see inferInputShapes).
  SmallVector<std::string> dimSymbols;
};

/// One entry function of an artifact.
struct FunctionSignature {
  std::string name;
  std::string symbol;
  SmallVector<TensorSignature> inputs, params, results;
};

struct Manifest {
  std::string target;
  std::vector<FunctionSignature> functions;

  /// The JSON document stored in the artifact.
  std::string toJson() const;
};

/// Refines the input signatures of `manifest` with what the compiled code
/// assumes about their dynamic dims: a dim tied to a static size (of a
/// parameter, say) becomes static, and dims of different inputs tied to each
/// other share a symbol, which the runtime checks before a call. `module` is
/// the result of prepareEntryPoints; it is not modified.
LogicalResult inferInputShapes(ModuleOp module, Manifest &manifest);

/// The manifest dtype of a tensor element type ("f32", "i4", ...), or failure
/// when the type cannot cross the artifact boundary.
FailureOr<std::string> getManifestDtype(Type elementType);

/// Prepares the public functions of `module` as entry points: every
/// `weft.param` becomes a trailing function argument (one per distinct name),
/// and the functions are marked for C interface emission. Returns their
/// signatures; emits an error on unsupported signatures.
FailureOr<Manifest> prepareEntryPoints(ModuleOp module, StringRef target);

/// Checks that the archive at `path` (safetensors) holds every parameter of
/// `manifest` with a matching dtype and shape; reports the first mismatch to
/// `errors`.
LogicalResult checkParamArchive(const Manifest &manifest, StringRef path,
                                llvm::raw_ostream &errors);

/// Adds, to the translated `llvmModule`, the packed entry wrappers and the
/// `weft_manifest` string.
LogicalResult addArtifactSymbols(llvm::Module &llvmModule,
                                 const Manifest &manifest, std::string &error);

/// Creates a TargetMachine for the host, or for `cpu` and `features` when
/// given. PIC, since the object goes into a shared object.
std::unique_ptr<llvm::TargetMachine>
createCpuTargetMachine(StringRef cpu, StringRef features, std::string &error);

/// Optimizes `llvmModule` at -O3, emits an object and links it in-process
/// (lld) into the shared object `outputPath`, with `libraries` (e.g. "omp",
/// searched in LLVM's and the system's library directories) as dependencies.
LogicalResult emitSharedObject(llvm::Module &llvmModule,
                               llvm::TargetMachine &targetMachine,
                               StringRef outputPath,
                               ArrayRef<std::string> libraries,
                               std::string &error);

} // namespace mlir::weft

#endif // WEFT_TARGET_ARTIFACT_H
