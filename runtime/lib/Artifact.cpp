//===- Artifact.cpp - loading artifacts and binding params ----------------===//

#include "Artifact.h"

#include "Cuda.h"
#include "DType.h"
#include "Int4.h"
#include "Status.h"

#include <cerrno>
#include <cstring>

#include <dlfcn.h>
#include <sys/stat.h>

using namespace weft::runtime;

Descriptor weft::runtime::makeDescriptor(void *data, const int64_t *shape,
                                         size_t rank) {
  Descriptor words(descriptorWords(rank));
  words[0] = words[1] = pointerToWord(data);
  words[2] = 0;
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    words[3 + i] = shape[i];
    words[3 + rank + i] = stride;
    stride *= shape[i];
  }
  return words;
}

weftArtifactImpl::~weftArtifactImpl() {
  if (handle)
    dlclose(handle);
}

namespace {

weftTensorSpec makeSpec(const TensorSig &sig) {
  return weftTensorSpec{sig.name.empty() ? nullptr : sig.name.c_str(),
                        sig.dtype, sig.shape.size(), sig.shape.data()};
}

std::vector<weftTensorSpec> makeSpecs(const std::vector<TensorSig> &sigs) {
  std::vector<weftTensorSpec> specs;
  for (const TensorSig &sig : sigs)
    specs.push_back(makeSpec(sig));
  return specs;
}

/// Archive dtypes that may hold a param of `dtype`. i8 also accepts U8 and
/// i4 packed bytes of either sign (docs/Quantization.md).
std::vector<std::string_view> getArchiveDTypes(weftDType dtype) {
  switch (dtype) {
  case WEFT_DTYPE_F64:
    return {"F64"};
  case WEFT_DTYPE_F32:
    return {"F32"};
  case WEFT_DTYPE_F16:
    return {"F16"};
  case WEFT_DTYPE_BF16:
    return {"BF16"};
  case WEFT_DTYPE_I64:
    return {"I64"};
  case WEFT_DTYPE_I32:
    return {"I32"};
  case WEFT_DTYPE_I16:
    return {"I16"};
  case WEFT_DTYPE_I8:
    return {"I8", "U8"};
  case WEFT_DTYPE_U8:
    return {"U8"};
  case WEFT_DTYPE_I1:
    return {"BOOL"};
  case WEFT_DTYPE_I4:
    return {"U8", "I8"};
  }
  return {};
}

/// Binds one param from `entry` into `binding`.
weftStatus bindParam(const TensorSig &sig, const ArchiveEntry &entry,
                     const std::string &where, const std::string &path,
                     bool cuda, ParamBinding &binding) {
  // An i4 [..., M] param is stored as bytes [..., ceil(M / 2)].
  bool isInt4 = sig.dtype == WEFT_DTYPE_I4;
  std::vector<int64_t> archiveShape = sig.shape;
  if (isInt4)
    archiveShape.back() = int4RowBytes(archiveShape.back());

  bool dtypeMatches = false;
  std::string expected;
  for (std::string_view dtype : getArchiveDTypes(sig.dtype)) {
    dtypeMatches = dtypeMatches || entry.dtype == dtype;
    expected += concat(expected.empty() ? "" : " or ", dtype,
                       formatShape(archiveShape.data(), archiveShape.size()));
  }
  if (!dtypeMatches || entry.shape != archiveShape) {
    if (isInt4)
      expected += concat(" (", formatType(sig.dtype, sig.shape),
                         " packed two per byte)");
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, where, ": expected ",
                     expected, " in ", path, ", got ", entry.dtype,
                     formatShape(entry.shape.data(), entry.shape.size()));
  }

  int64_t numElements = *checkedNumElements(sig.shape.data(), sig.shape.size());
  int64_t storage = storageBytes(sig.dtype, numElements);
  const uint8_t *data = entry.data;
  size_t alignment = isInt4 ? 1 : dtypeByteSize(sig.dtype);
  bool repack = isInt4 && sig.shape.back() % 2 != 0;
  if (cuda || repack || reinterpret_cast<uintptr_t>(data) % alignment) {
    // Compiled code loads elements with their natural alignment and reads
    // i4 flat, so such params get a private copy; GPU code reads unified
    // memory.
    void *copy = nullptr;
    if (cuda) {
      if (weftStatus status = cuda::allocate(storage, copy))
        return prependContext(status, where);
      binding.copies.emplace_back(copy, BufferDeleter{cuda::release});
    } else {
      copy = std::malloc(storage ? storage : 1);
      if (!copy)
        return makeError(WEFT_STATUS_OUT_OF_MEMORY, where, ": cannot allocate ",
                         storage, " bytes");
      binding.copies.emplace_back(copy, BufferDeleter{});
    }
    if (repack)
      repackInt4RowsToFlat(data, numElements / sig.shape.back(),
                           sig.shape.back(), static_cast<uint8_t *>(copy));
    else
      std::memcpy(copy, data, storage);
    data = static_cast<const uint8_t *>(copy);
  }
  // The descriptor's pointers are not const, but the compiled code only
  // reads params (the mapping is read-only).
  void *pointer = const_cast<uint8_t *>(data);
  if (isInt4)
    binding.descriptors.push_back(makeDescriptor(pointer, &storage, 1));
  else
    binding.descriptors.push_back(
        makeDescriptor(pointer, sig.shape.data(), sig.shape.size()));
  return nullptr;
}

/// Binds every param of `function`; nullptr `binding` when it has none.
weftStatus bindFunction(const weftFunctionImpl &function,
                        const std::shared_ptr<const ParamArchive> &archive,
                        std::shared_ptr<const ParamBinding> &binding) {
  binding = nullptr;
  const FunctionSig &sig = *function.sig;
  if (sig.params.empty())
    return nullptr;
  auto result = std::make_shared<ParamBinding>();
  result->archive = archive;
  for (const TensorSig &param : sig.params) {
    std::string where =
        concat("param ", quoted(param.name), " of function ", quoted(sig.name));
    const ArchiveEntry *entry = archive->find(param.name);
    if (!entry)
      return makeError(WEFT_STATUS_NOT_FOUND, where, " not found in ",
                       archive->getPath());
    if (weftStatus status = bindParam(param, *entry, where, archive->getPath(),
                                      function.cuda, *result))
      return status;
  }
  binding = std::move(result);
  return nullptr;
}

weftStatus checkIndex(size_t index, size_t count, const char *what,
                      const FunctionSig &sig) {
  if (index < count)
    return nullptr;
  return makeError(WEFT_STATUS_INVALID_ARGUMENT, what, " index ", index,
                   " out of range (function ", quoted(sig.name), " has ", count,
                   " ", what, "s)");
}

} // namespace

extern "C" {

weftStatus weftArtifactOpen(const char *path, weftArtifact *artifact) {
  if (!path || !artifact)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftArtifactOpen: null argument");
  *artifact = nullptr;
  std::string file = path;
  // dlopen searches the library path for a name without a slash; an
  // artifact path always means a file.
  std::string loadPath =
      file.find('/') == std::string::npos ? "./" + file : file;
  struct stat info;
  if (stat(loadPath.c_str(), &info) != 0)
    return makeError(errno == ENOENT ? WEFT_STATUS_NOT_FOUND
                                     : WEFT_STATUS_IO_ERROR,
                     file, ": cannot open: ", std::strerror(errno));

  // Compiled code calls the runtime (the GPU host ABI, the allocation
  // functions): its symbols must be global even when the runtime itself was
  // loaded with RTLD_LOCAL (Python's ctypes does that by default).
  static const bool runtimeIsGlobal = [] {
    Dl_info self;
    return dladdr(reinterpret_cast<void *>(&weftArtifactOpen), &self) &&
           self.dli_fname &&
           dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  }();
  (void)runtimeIsGlobal;

  auto result = std::make_unique<weftArtifactImpl>();
  result->path = file;
  result->handle = dlopen(loadPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!result->handle) {
    const char *error = dlerror();
    return makeError(WEFT_STATUS_INVALID_FORMAT, file,
                     ": cannot load: ", error ? error : "unknown error");
  }
  const char *manifestText =
      static_cast<const char *>(dlsym(result->handle, "weft_manifest"));
  if (!manifestText)
    return makeError(WEFT_STATUS_INVALID_FORMAT, file,
                     ": not a weft artifact (no weft_manifest symbol)");
  if (weftStatus status = parseManifest(manifestText, result->manifest))
    return prependContext(status, file);
  // Loading ran the artifact's constructors, which load its GPU modules.
  bool cuda = result->manifest.target == "cuda";
  if (cuda) {
    weftStatus ready = cuda::ensureReady();
    weftStatus loading = cuda::takeError("loading its GPU kernels");
    if (ready) {
      weftStatusRelease(loading);
      return prependContext(ready, file);
    }
    if (loading)
      return prependContext(loading, file);
  }

  for (const FunctionSig &sig : result->manifest.functions) {
    void *symbol = dlsym(result->handle, sig.symbol.c_str());
    if (!symbol)
      return makeError(WEFT_STATUS_INVALID_FORMAT, file, ": function ",
                       quoted(sig.name), ": symbol ", quoted(sig.symbol),
                       " not found");
    auto function = std::make_unique<weftFunctionImpl>();
    function->sig = &sig;
    function->entry = reinterpret_cast<EntryFn>(symbol);
    function->cuda = cuda;
    function->inputSpecs = makeSpecs(sig.inputs);
    function->paramSpecs = makeSpecs(sig.params);
    function->resultSpecs = makeSpecs(sig.results);
    result->functions.push_back(std::move(function));
  }
  *artifact = result.release();
  return nullptr;
}

void weftArtifactRelease(weftArtifact artifact) { delete artifact; }

const char *weftArtifactGetTarget(weftArtifact artifact) {
  return artifact->manifest.target.c_str();
}

size_t weftArtifactGetNumFunctions(weftArtifact artifact) {
  return artifact->functions.size();
}

weftFunction weftArtifactGetFunction(weftArtifact artifact, size_t index) {
  if (!artifact || index >= artifact->functions.size())
    return nullptr;
  return artifact->functions[index].get();
}

weftStatus weftArtifactFindFunction(weftArtifact artifact, const char *name,
                                    weftFunction *function) {
  if (!artifact || !name || !function)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftArtifactFindFunction: null argument");
  *function = nullptr;
  std::string names;
  for (const std::unique_ptr<weftFunctionImpl> &candidate :
       artifact->functions) {
    if (candidate->sig->name == name) {
      *function = candidate.get();
      return nullptr;
    }
    names += concat(names.empty() ? "" : ", ", candidate->sig->name);
  }
  return makeError(WEFT_STATUS_NOT_FOUND, "no function ", quoted(name), " in ",
                   artifact->path, " (functions: ", names, ")");
}

weftStatus weftArtifactBindParams(weftArtifact artifact, weftParams params) {
  if (!artifact || !params)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftArtifactBindParams: null argument");
  std::vector<std::shared_ptr<const ParamBinding>> bindings(
      artifact->functions.size());
  for (size_t i = 0; i < bindings.size(); ++i)
    if (weftStatus status =
            bindFunction(*artifact->functions[i], params->archive, bindings[i]))
      return status;
  for (size_t i = 0; i < bindings.size(); ++i)
    artifact->functions[i]->binding = std::move(bindings[i]);
  return nullptr;
}

const char *weftFunctionGetName(weftFunction function) {
  return function->sig->name.c_str();
}

size_t weftFunctionGetNumInputs(weftFunction function) {
  return function->sig->inputs.size();
}

size_t weftFunctionGetNumParams(weftFunction function) {
  return function->sig->params.size();
}

size_t weftFunctionGetNumResults(weftFunction function) {
  return function->sig->results.size();
}

weftStatus weftFunctionGetInputSpec(weftFunction function, size_t index,
                                    weftTensorSpec *spec) {
  if (!function || !spec)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftFunctionGetInputSpec: null argument");
  if (weftStatus status = checkIndex(index, function->inputSpecs.size(),
                                     "input", *function->sig))
    return status;
  *spec = function->inputSpecs[index];
  return nullptr;
}

weftStatus weftFunctionGetParamSpec(weftFunction function, size_t index,
                                    weftTensorSpec *spec) {
  if (!function || !spec)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftFunctionGetParamSpec: null argument");
  if (weftStatus status = checkIndex(index, function->paramSpecs.size(),
                                     "param", *function->sig))
    return status;
  *spec = function->paramSpecs[index];
  return nullptr;
}

weftStatus weftFunctionGetResultSpec(weftFunction function, size_t index,
                                     weftTensorSpec *spec) {
  if (!function || !spec)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftFunctionGetResultSpec: null argument");
  if (weftStatus status = checkIndex(index, function->resultSpecs.size(),
                                     "result", *function->sig))
    return status;
  *spec = function->resultSpecs[index];
  return nullptr;
}

weftStatus weftFunctionBindParams(weftFunction function, weftParams params) {
  if (!function || !params)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftFunctionBindParams: null argument");
  std::shared_ptr<const ParamBinding> binding;
  if (weftStatus status = bindFunction(*function, params->archive, binding))
    return status;
  function->binding = std::move(binding);
  return nullptr;
}

} // extern "C"
