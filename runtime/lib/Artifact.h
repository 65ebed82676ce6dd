//===- Artifact.h - weftArtifact and weftFunction internals -----*- C++ -*-===//

#ifndef WEFT_RUNTIME_LIB_ARTIFACT_H
#define WEFT_RUNTIME_LIB_ARTIFACT_H

#include "Manifest.h"
#include "Safetensors.h"

#include "weft-runtime/Artifact.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace weft::runtime {

/// The packed entry point: args[0] is the result storage (when there are
/// results), then one descriptor pointer per input and per param.
using EntryFn = void (*)(void **args);

/// A memref descriptor, {allocated, aligned, offset, sizes[r], strides[r]},
/// as 3 + 2r 8-byte words.
using Descriptor = std::vector<int64_t>;

inline int64_t descriptorWords(size_t rank) { return 3 + 2 * rank; }

/// A contiguous row-major descriptor of `data`.
Descriptor makeDescriptor(void *data, const int64_t *shape, size_t rank);

inline int64_t pointerToWord(const void *pointer) {
  return static_cast<int64_t>(reinterpret_cast<intptr_t>(pointer));
}
inline void *wordToPointer(int64_t word) {
  return reinterpret_cast<void *>(static_cast<intptr_t>(word));
}

/// Frees host memory (std::free) or unified memory (cuda::release).
struct BufferDeleter {
  void (*release)(void *) = std::free;
  void operator()(void *pointer) const { release(pointer); }
};
using Buffer = std::unique_ptr<void, BufferDeleter>;

/// The params of one function bound from an archive.
struct ParamBinding {
  /// Keeps the mapping alive for the descriptors that point into it.
  std::shared_ptr<const ParamArchive> archive;
  std::vector<Descriptor> descriptors;
  /// Storage the runtime made for params it could not use in place
  /// (misaligned data, odd-length i4 rows, and every param of a cuda
  /// artifact, which lives in unified memory).
  std::vector<Buffer> copies;
};

} // namespace weft::runtime

struct weftFunctionImpl {
  const weft::runtime::FunctionSig *sig;
  weft::runtime::EntryFn entry;
  /// A cuda artifact: buffers crossing the call live in unified memory.
  bool cuda = false;
  std::vector<weftTensorSpec> inputSpecs, paramSpecs, resultSpecs;
  /// Null until params are bound (or when there are none to bind).
  std::shared_ptr<const weft::runtime::ParamBinding> binding;
};

struct weftArtifactImpl {
  weftArtifactImpl() = default;
  weftArtifactImpl(const weftArtifactImpl &) = delete;
  weftArtifactImpl &operator=(const weftArtifactImpl &) = delete;
  /// Unloads the shared object.
  ~weftArtifactImpl();

  std::string path;
  void *handle = nullptr;
  weft::runtime::Manifest manifest;
  /// Stable addresses: weftFunction handles point at the elements.
  std::vector<std::unique_ptr<weftFunctionImpl>> functions;
};

#endif // WEFT_RUNTIME_LIB_ARTIFACT_H
