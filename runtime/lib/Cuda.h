//===- Cuda.h - the CUDA backend of the runtime -----------------*- C++ -*-===//
//
// cuda artifacts call MLIR's GPU host ABI (mgpuModuleLoad, mgpuLaunchKernel,
// ...) and allocate buffers through the generic allocation functions
// (_mlir_memref_to_llvm_alloc, ...). The runtime implements both on the CUDA
// driver API, which it loads with dlopen at first use: the runtime builds and
// runs without the CUDA toolkit, and a machine without a driver gets an error
// status instead of a crash. Buffers are unified (managed) memory, valid on
// the host and on the device.
//
// The ABI functions cannot return errors, so they record the first failure;
// the runtime reports it as the status of the call that caused it.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_RUNTIME_LIB_CUDA_H
#define WEFT_RUNTIME_LIB_CUDA_H

#include "weft-runtime/Base.h"

#include <cstddef>
#include <string>

namespace weft::runtime::cuda {

/// Loads the driver and makes the primary context of device 0 current.
/// Returns an error naming what is missing.
weftStatus ensureReady();

/// Unified memory of `bytes` bytes (at least 256-byte aligned); nullptr with
/// an error status when the allocation fails.
weftStatus allocate(size_t bytes, void *&pointer);

/// Frees memory from allocate() or from compiled code (freed blocks are kept
/// for reuse, up to WEFT_CUDA_CACHE_MB).
void release(void *pointer);

/// Whether `pointer` is the start of a block from allocate() or compiled
/// code that is still live.
bool isUnifiedMemory(const void *pointer);

/// Starts moving `bytes` of unified memory at `pointer` to the device, ahead
/// of the kernels of the calling thread; a no-op where the device cannot.
void prefetchToDevice(const void *pointer, size_t bytes);

/// Waits for all launched work, then returns the first error recorded since
/// the last call (clearing it), with `where` as context.
weftStatus synchronize(const std::string &where);

/// Starts timing the calling thread's GPU work (weftCallTimed): an event on
/// its stream now, and one before each wait for work submitted since.
weftStatus beginTiming(const std::string &where);

/// Stops timing: the GPU milliseconds from beginTiming() to the end of the
/// last work submitted (host time after it, waking up from waits, does not
/// count; gaps while the host prepares launches do). Waits for that work.
weftStatus endTiming(const std::string &where, double &milliseconds);

/// Returns and clears the first recorded error without waiting.
weftStatus takeError(const std::string &where);

} // namespace weft::runtime::cuda

#endif // WEFT_RUNTIME_LIB_CUDA_H
