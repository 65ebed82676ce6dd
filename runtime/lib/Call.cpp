//===- Call.cpp - calling entry functions ---------------------------------===//
//
// Builds the packed argument array of the ABI (docs/Runtime.md), calls the
// entry symbol and turns the result descriptors into owned tensors.
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"
#include "Cuda.h"
#include "DType.h"
#include "Status.h"
#include "Tensor.h"

#include <chrono>
#include <cstring>
#include <map>
#include <set>

using namespace weft::runtime;

namespace {

// MLIR marks memrefs of globals with this allocated pointer; they must not be
// freed.
const void *const kGlobalMarker = reinterpret_cast<void *>(0xdeadbeef);

/// The alignment of the data of CUDA tensors (unified memory allocations are
/// aligned to at least 256 bytes).
constexpr uintptr_t kCudaTensorAlignment = 16;

/// A result descriptor read back from the result storage.
struct ResultView {
  void *allocated;
  char *aligned;
  int64_t offset;
  const int64_t *sizes;
  const int64_t *strides;
  size_t rank;
};

bool isContiguous(const ResultView &view) {
  int64_t expected = 1;
  for (size_t i = view.rank; i-- > 0;) {
    if (view.sizes[i] != 1 && view.strides[i] != expected)
      return false;
    expected *= view.sizes[i];
  }
  return true;
}

/// Copies the elements of a strided view into dense row-major `out`.
void copyStrided(const ResultView &view, size_t dim, const char *in, char *&out,
                 size_t elementSize) {
  if (dim == view.rank) {
    std::memcpy(out, in, elementSize);
    out += elementSize;
    return;
  }
  int64_t stride = view.strides[dim] * static_cast<int64_t>(elementSize);
  if (dim + 1 == view.rank && view.strides[dim] == 1) {
    size_t bytes = view.sizes[dim] * elementSize;
    std::memcpy(out, in, bytes);
    out += bytes;
    return;
  }
  for (int64_t i = 0; i < view.sizes[dim]; ++i)
    copyStrided(view, dim + 1, in + i * stride, out, elementSize);
}

/// Checks what the compiled code returned against the manifest.
weftStatus checkResult(const ResultView &view, const TensorSig &sig,
                       const FunctionSig &function, size_t index) {
  bool matches = true;
  for (size_t i = 0; i < view.rank; ++i)
    matches = matches && view.sizes[i] >= 0 &&
              (sig.shape[i] == kDynamicDim || sig.shape[i] == view.sizes[i]);
  std::optional<int64_t> bytes =
      matches
          ? checkedNumElements(view.sizes, view.rank, dtypeByteSize(sig.dtype))
          : std::nullopt;
  if (bytes && *bytes && !view.aligned)
    return makeError(WEFT_STATUS_INTERNAL, "function ", quoted(function.name),
                     ": result ", index, " has a null data pointer");
  if (bytes)
    return nullptr;
  return makeError(WEFT_STATUS_INTERNAL, "function ", quoted(function.name),
                   ": result ", index, " has sizes ",
                   formatShape(view.sizes, view.rank), ", manifest says ",
                   formatType(sig.dtype, sig.shape));
}

/// Wraps the result descriptors in `storage` as owned tensors. Frees every
/// allocation of the compiled code that no tensor adopts, also on errors and
/// when `failure` (an error of the call itself) is set, which is returned.
/// Results of cuda artifacts stay where the kernels wrote them, in unified
/// memory (WEFT_MEMORY_CUDA tensors).
weftStatus collectResults(const weftFunctionImpl &function,
                          const std::vector<int64_t> &storage,
                          const std::set<const void *> &argumentAllocations,
                          weftStatus failure, weftTensor *outputs) {
  const FunctionSig &sig = *function.sig;
  std::vector<ResultView> views;
  size_t word = 0;
  for (const TensorSig &result : sig.results) {
    size_t rank = result.shape.size();
    const int64_t *words = storage.data() + word;
    views.push_back(ResultView{wordToPointer(words[0]),
                               static_cast<char *>(wordToPointer(words[1])),
                               words[2], words + 3, words + 3 + rank, rank});
    word += descriptorWords(rank);
  }

  // Allocations the compiled code handed over: not an input or param passed
  // through, not a global. Several results may share one.
  std::set<void *> owned;
  for (const ResultView &view : views)
    if (view.allocated && view.allocated != kGlobalMarker &&
        !argumentAllocations.count(view.allocated))
      owned.insert(view.allocated);

  weftStatus status = failure;
  for (size_t i = 0; i < views.size() && !status; ++i)
    status = checkResult(views[i], sig.results[i], sig, i);

  std::set<void *> adopted;
  for (size_t i = 0; i < views.size() && !status; ++i) {
    const ResultView &view = views[i];
    weftDType dtype = sig.results[i].dtype;
    size_t elementSize = dtypeByteSize(dtype);
    char *data = view.aligned + view.offset * static_cast<int64_t>(elementSize);
    // A contiguous result is adopted as is, unless another tensor already
    // owns its allocation. CUDA tensors start on 16 bytes: compiled kernels
    // read their inputs in 16-byte vectors where the offsets allow
    // (weft-align-buffer-accesses), so a view at another offset is copied.
    weftMemory memory = function.cuda ? WEFT_MEMORY_CUDA : WEFT_MEMORY_HOST;
    bool aligned =
        !function.cuda ||
        reinterpret_cast<uintptr_t>(data) % kCudaTensorAlignment == 0;
    if (owned.count(view.allocated) && !adopted.count(view.allocated) &&
        isContiguous(view) && aligned) {
      adopted.insert(view.allocated);
      outputs[i] = adoptTensor(dtype, view.sizes, view.rank, data,
                               view.allocated, memory);
      continue;
    }
    status = allocateTensor(dtype, view.sizes, view.rank, outputs[i], memory);
    if (status)
      break;
    if (outputs[i]->numElements) {
      char *out = static_cast<char *>(outputs[i]->data);
      copyStrided(view, 0, data, out, elementSize);
    }
  }

  for (void *allocation : owned)
    if (!adopted.count(allocation) || status)
      function.cuda ? cuda::release(allocation) : std::free(allocation);
  if (status) {
    // Adopted allocations were just freed: drop them from the tensors first.
    for (size_t i = 0; i < views.size(); ++i) {
      if (outputs[i] && adopted.count(outputs[i]->allocation))
        outputs[i]->allocation = nullptr;
      weftTensorRelease(outputs[i]);
      outputs[i] = nullptr;
    }
  }
  return status;
}

/// Element `i` of an integer tensor, widened to int64_t.
int64_t loadInteger(weftTensor tensor, int64_t i) {
  const void *data = tensor->data;
  switch (tensor->dtype) {
  case WEFT_DTYPE_I64:
    return static_cast<const int64_t *>(data)[i];
  case WEFT_DTYPE_I32:
    return static_cast<const int32_t *>(data)[i];
  case WEFT_DTYPE_I16:
    return static_cast<const int16_t *>(data)[i];
  case WEFT_DTYPE_I8:
    return static_cast<const int8_t *>(data)[i];
  default:
    return static_cast<const uint8_t *>(data)[i];
  }
}

/// Index inputs (e.g. token ids of an embedding) must stay inside the range
/// the manifest gives: compiled code does not bounds-check the memory they
/// address.
weftStatus checkRange(const TensorSig &sig, weftTensor tensor) {
  for (int64_t i = 0; i < tensor->numElements; ++i) {
    int64_t value = loadInteger(tensor, i);
    if (value < sig.rangeBegin || value >= sig.rangeEnd)
      return makeError(WEFT_STATUS_INVALID_ARGUMENT, "value ", value,
                       " at flat index ", i, " is outside the valid range [",
                       sig.rangeBegin, ", ", sig.rangeEnd, ")");
  }
  return nullptr;
}

weftStatus checkInput(const weftFunctionImpl &function, size_t index,
                      weftTensor tensor) {
  const TensorSig &sig = function.sig->inputs[index];
  bool matches =
      tensor->dtype == sig.dtype && tensor->shape.size() == sig.shape.size();
  for (size_t i = 0; matches && i < sig.shape.size(); ++i)
    matches = sig.shape[i] == kDynamicDim || sig.shape[i] == tensor->shape[i];
  if (!matches)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, "expected ",
                     formatType(sig.dtype, sig.shape), ", got ",
                     formatType(tensor->dtype, tensor->shape));
  return sig.hasRange ? checkRange(sig, tensor) : nullptr;
}

/// Dynamic dims that share a symbol in the manifest must agree: the compiled
/// code indexes them with one loop.
weftStatus checkSharedDims(const FunctionSig &sig, const weftTensor *inputs) {
  struct FirstUse {
    size_t input, dim;
    int64_t size;
  };
  std::map<std::string, FirstUse> seen;
  for (size_t i = 0; i < sig.inputs.size(); ++i) {
    const std::vector<std::string> &symbols = sig.inputs[i].dimSymbols;
    for (size_t d = 0; d < symbols.size(); ++d) {
      if (symbols[d].empty())
        continue;
      int64_t size = inputs[i]->shape[d];
      auto [it, inserted] = seen.try_emplace(symbols[d], FirstUse{i, d, size});
      if (!inserted && it->second.size != size)
        return makeError(WEFT_STATUS_INVALID_ARGUMENT, "input ", i, " has ",
                         formatType(inputs[i]->dtype, inputs[i]->shape),
                         ", but its dim ", d, " must equal dim ",
                         it->second.dim, " of input ", it->second.input, " (",
                         it->second.size, ")");
    }
  }
  return nullptr;
}

weftStatus callFunction(weftFunction function, const weftTensor *inputs,
                        size_t numInputs, weftTensor *outputs,
                        size_t numOutputs, double *milliseconds) {
  if (!function || (numInputs && !inputs) || (numOutputs && !outputs))
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, "weftCall: null argument");
  for (size_t i = 0; i < numOutputs; ++i)
    outputs[i] = nullptr;
  const FunctionSig &sig = *function->sig;
  std::string where = concat("function ", quoted(sig.name));
  if (numInputs != sig.inputs.size())
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, where, ": expected ",
                     sig.inputs.size(), " inputs, got ", numInputs);
  if (numOutputs != sig.results.size())
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, where, ": has ",
                     sig.results.size(), " results, got room for ", numOutputs);
  // Keep the binding alive for the call even if params are rebound.
  std::shared_ptr<const ParamBinding> binding = function->binding;
  if (!sig.params.empty() && !binding)
    return makeError(WEFT_STATUS_FAILED_PRECONDITION, where, ": its ",
                     sig.params.size(),
                     " params are not bound (bind a parameter archive)");

  for (size_t i = 0; i < numInputs; ++i) {
    if (!inputs[i])
      return makeError(WEFT_STATUS_INVALID_ARGUMENT, where, ": input ", i,
                       " is null");
    if (weftStatus status = checkInput(*function, i, inputs[i]))
      return prependContext(status, concat(where, ": input ", i));
  }
  if (weftStatus status = checkSharedDims(sig, inputs))
    return prependContext(status, where);
  if (function->cuda)
    if (weftStatus status = cuda::ensureReady())
      return prependContext(status, where);
  // A timed call: from here (the inputs' transfer included) to the end of
  // its last kernel on the GPU, or the wall time on the CPU.
  auto wallStart = std::chrono::steady_clock::now();
  // Stops the GPU timing on the early returns below.
  struct TimingGuard {
    bool active = false;
    ~TimingGuard() {
      double ignored;
      if (active)
        weftStatusRelease(cuda::endTiming("", ignored));
    }
  } timingGuard;
  if (milliseconds && function->cuda) {
    if (weftStatus status = cuda::beginTiming(where))
      return status;
    timingGuard.active = true;
  }

  std::vector<Descriptor> inputDescriptors;
  std::set<const void *> argumentAllocations;
  // GPU code reads inputs from unified memory: host tensors are copied
  // there and sent ahead to the device, CUDA tensors are used as they are.
  std::vector<Buffer> deviceInputs;
  for (size_t i = 0; i < numInputs; ++i) {
    void *data = inputs[i]->data;
    if (function->cuda && inputs[i]->memory != WEFT_MEMORY_CUDA) {
      size_t bytes = weftTensorGetByteSize(inputs[i]);
      if (weftStatus status = cuda::allocate(bytes, data))
        return prependContext(status, concat(where, ": input ", i));
      deviceInputs.emplace_back(data, BufferDeleter{cuda::release});
      std::memcpy(data, inputs[i]->data, bytes);
      cuda::prefetchToDevice(data, bytes);
    }
    inputDescriptors.push_back(
        makeDescriptor(data, inputs[i]->shape.data(), inputs[i]->shape.size()));
    argumentAllocations.insert(data);
  }

  size_t storageWords = 0;
  for (const TensorSig &result : sig.results)
    storageWords += descriptorWords(result.shape.size());
  std::vector<int64_t> storage(storageWords, 0);

  std::vector<void *> args;
  if (!sig.results.empty())
    args.push_back(storage.data());
  for (Descriptor &descriptor : inputDescriptors)
    args.push_back(descriptor.data());
  if (binding) {
    for (const Descriptor &descriptor : binding->descriptors) {
      // Compiled code only reads descriptors.
      args.push_back(const_cast<int64_t *>(descriptor.data()));
      argumentAllocations.insert(wordToPointer(descriptor[0]));
    }
  }

  function->entry(args.data());
  // Kernels run asynchronously; their errors (and those of the host ABI
  // calls) surface here.
  weftStatus failure = function->cuda ? cuda::synchronize(where) : nullptr;
  if (milliseconds && !function->cuda)
    *milliseconds = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - wallStart)
                        .count();
  if (milliseconds && function->cuda) {
    timingGuard.active = false;
    weftStatus timing = cuda::endTiming(where, *milliseconds);
    if (failure)
      weftStatusRelease(timing);
    else
      failure = timing;
  }
  if (sig.results.empty())
    return failure;
  return collectResults(*function, storage, argumentAllocations, failure,
                        outputs);
}

} // namespace

extern "C" {

weftStatus weftFunctionCheckInput(weftFunction function, size_t index,
                                  weftTensor tensor) {
  if (!function || !tensor)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftFunctionCheckInput: null argument");
  if (index >= function->sig->inputs.size())
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, "input index ", index,
                     " out of range (function ", quoted(function->sig->name),
                     " has ", function->sig->inputs.size(), " inputs)");
  return checkInput(*function, index, tensor);
}

weftStatus weftCall(weftFunction function, const weftTensor *inputs,
                    size_t numInputs, weftTensor *outputs, size_t numOutputs) {
  return callFunction(function, inputs, numInputs, outputs, numOutputs,
                      /*milliseconds=*/nullptr);
}

weftStatus weftCallTimed(weftFunction function, const weftTensor *inputs,
                         size_t numInputs, weftTensor *outputs,
                         size_t numOutputs, double *milliseconds) {
  if (!milliseconds)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftCallTimed: null argument");
  *milliseconds = 0;
  return callFunction(function, inputs, numInputs, outputs, numOutputs,
                      milliseconds);
}

} // extern "C"
