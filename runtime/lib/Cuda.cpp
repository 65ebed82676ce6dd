//===- Cuda.cpp - MLIR's GPU host ABI on the CUDA driver API --------------===//

#include "Cuda.h"

#include "BlockCache.h"
#include "Status.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>

#include <dlfcn.h>

using namespace weft::runtime;

namespace {

// The few driver API types and constants used here, as cuda.h declares them
// (the runtime does not need the toolkit's headers to build).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUevent = CUevent_st *;
using CUjit_option = int;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr unsigned CU_MEM_ATTACH_GLOBAL = 1;
constexpr int CU_LIMIT_MALLOC_HEAP_SIZE = 2;
/// Kernels allocate their per-task scratch buffers (the tiles a CPU task
/// keeps in cache) with device malloc; the driver's default heap (8 MiB) is
/// too small for them. WEFT_CUDA_HEAP_MB overrides this size.
constexpr size_t kDefaultHeapMiB = 2048;
/// Freed unified-memory blocks kept for reuse (BlockCache.h);
/// WEFT_CUDA_CACHE_MB overrides it, 0 turns the cache off (as memory
/// checkers want: every block then is exactly what was asked for).
constexpr size_t kDefaultCacheMiB = 4096;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;
constexpr unsigned CU_EVENT_DEFAULT = 0;
constexpr unsigned CU_EVENT_DISABLE_TIMING = 2;
constexpr int CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS = 89;
constexpr int CU_MEM_LOCATION_TYPE_DEVICE = 1;
struct CUmemLocation {
  int type;
  int id;
};
constexpr CUjit_option CU_JIT_OPTIMIZATION_LEVEL = 7;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
/// Dynamic shared memory a kernel may use without opting in.
constexpr int32_t kDefaultSharedMemoryLimit = 48 * 1024;

/// Driver entry points, resolved from libcuda.so.1.
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned,
                                 CUjit_option *, void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  /// Optional (timed calls only): cuEventElapsedTime_v2 where it exists.
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent) = nullptr;
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuCtxSetLimit)(int, size_t);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  /// Optional (CUDA 12.2 and later); null where the driver lacks it.
  CUresult (*cuMemPrefetchAsync)(CUdeviceptr, size_t, CUmemLocation, unsigned,
                                 CUstream) = nullptr;

  CUcontext context = nullptr;
  CUdevice device = 0;
  /// Whether data can be moved to the device ahead of the kernels that read
  /// it (cuMemPrefetchAsync on unified memory).
  bool canPrefetch = false;
  /// Why the driver is unusable; empty when it is ready.
  std::string failure;
};

std::mutex mutex;
std::string firstError; // guarded by mutex
/// The dynamic shared memory each kernel has opted in to, above the
/// default (guarded by mutex). Never destroyed: artifacts unload their
/// modules from their own destructors.
std::map<void *, int32_t> &getSharedMemoryOptIns() {
  static auto *optIns = new std::map<void *, int32_t>();
  return *optIns;
}
/// Unified-memory blocks handed out, with their sizes (guarded by mutex).
std::map<void *, size_t> liveBlocks;

BlockCache &getBlockCache() { // guarded by mutex
  static BlockCache cache([] {
    size_t mib = kDefaultCacheMiB;
    if (const char *text = std::getenv("WEFT_CUDA_CACHE_MB"))
      mib = std::strtoull(text, nullptr, 10);
    return mib << 20;
  }());
  return cache;
}

void recordError(const std::string &message) {
  std::lock_guard<std::mutex> lock(mutex);
  if (firstError.empty())
    firstError = message;
}

template <typename Fn> bool resolve(void *library, const char *name, Fn &fn) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
  return fn != nullptr;
}

Driver loadDriver() {
  Driver driver{};
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *error = dlerror();
    driver.failure = concat("CUDA driver not available (",
                            error ? error : "libcuda.so.1 not found", ")");
    return driver;
  }
  // Versioned names where the plain one is a legacy ABI.
  bool ok =
      resolve(library, "cuInit", driver.cuInit) &&
      resolve(library, "cuDeviceGet", driver.cuDeviceGet) &&
      resolve(library, "cuDevicePrimaryCtxRetain",
              driver.cuDevicePrimaryCtxRetain) &&
      resolve(library, "cuCtxSetCurrent", driver.cuCtxSetCurrent) &&
      resolve(library, "cuCtxSynchronize", driver.cuCtxSynchronize) &&
      resolve(library, "cuModuleLoadData", driver.cuModuleLoadData) &&
      resolve(library, "cuModuleLoadDataEx", driver.cuModuleLoadDataEx) &&
      resolve(library, "cuModuleUnload", driver.cuModuleUnload) &&
      resolve(library, "cuModuleGetFunction", driver.cuModuleGetFunction) &&
      resolve(library, "cuLaunchKernel", driver.cuLaunchKernel) &&
      resolve(library, "cuFuncSetAttribute", driver.cuFuncSetAttribute) &&
      resolve(library, "cuStreamCreate", driver.cuStreamCreate) &&
      resolve(library, "cuStreamDestroy_v2", driver.cuStreamDestroy) &&
      resolve(library, "cuStreamSynchronize", driver.cuStreamSynchronize) &&
      resolve(library, "cuStreamWaitEvent", driver.cuStreamWaitEvent) &&
      resolve(library, "cuEventCreate", driver.cuEventCreate) &&
      resolve(library, "cuEventDestroy_v2", driver.cuEventDestroy) &&
      resolve(library, "cuEventRecord", driver.cuEventRecord) &&
      resolve(library, "cuEventSynchronize", driver.cuEventSynchronize) &&
      resolve(library, "cuMemAllocManaged", driver.cuMemAllocManaged) &&
      resolve(library, "cuMemFree_v2", driver.cuMemFree) &&
      resolve(library, "cuGetErrorName", driver.cuGetErrorName) &&
      resolve(library, "cuCtxSetLimit", driver.cuCtxSetLimit) &&
      resolve(library, "cuDeviceGetAttribute", driver.cuDeviceGetAttribute);
  resolve(library, "cuMemPrefetchAsync_v2", driver.cuMemPrefetchAsync);
  if (!resolve(library, "cuEventElapsedTime_v2", driver.cuEventElapsedTime))
    resolve(library, "cuEventElapsedTime", driver.cuEventElapsedTime);
  if (!ok) {
    driver.failure = "CUDA driver libcuda.so.1 lacks a required function";
    return driver;
  }
  CUdevice &device = driver.device;
  CUresult result = driver.cuInit(0);
  if (result == CUDA_SUCCESS)
    result = driver.cuDeviceGet(&device, 0);
  if (result == CUDA_SUCCESS)
    result = driver.cuDevicePrimaryCtxRetain(&driver.context, device);
  int concurrentManagedAccess = 0;
  if (result == CUDA_SUCCESS)
    result = driver.cuDeviceGetAttribute(
        &concurrentManagedAccess, CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS,
        device);
  driver.canPrefetch = driver.cuMemPrefetchAsync && concurrentManagedAccess;
  if (result == CUDA_SUCCESS)
    result = driver.cuCtxSetCurrent(driver.context);
  if (result == CUDA_SUCCESS) {
    size_t heapMiB = kDefaultHeapMiB;
    if (const char *text = std::getenv("WEFT_CUDA_HEAP_MB"))
      heapMiB = std::strtoull(text, nullptr, 10);
    result = driver.cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, heapMiB << 20);
  }
  if (result != CUDA_SUCCESS) {
    const char *name = nullptr;
    driver.cuGetErrorName(result, &name);
    driver.failure =
        concat("no usable CUDA device (", name ? name : "unknown error", ")");
  }
  return driver;
}

Driver &getDriverInstance() {
  static Driver driver = loadDriver();
  return driver;
}

/// The driver, loaded once; its context is made current on the calling
/// thread. Null when unusable (the reason is recorded).
Driver *getDriver() {
  Driver &driver = getDriverInstance();
  if (!driver.failure.empty()) {
    recordError(driver.failure);
    return nullptr;
  }
  driver.cuCtxSetCurrent(driver.context);
  return &driver;
}

/// Records a failed driver call; true when `result` is a success.
bool check(Driver &driver, CUresult result, const char *call) {
  if (result == CUDA_SUCCESS)
    return true;
  const char *name = nullptr;
  driver.cuGetErrorName(result, &name);
  recordError(concat(call, " failed: ", name ? name : "unknown error"));
  return false;
}

weftStatus popError(const std::string &where) {
  std::string message;
  {
    std::lock_guard<std::mutex> lock(mutex);
    message.swap(firstError);
  }
  if (message.empty())
    return nullptr;
  return makeError(WEFT_STATUS_INTERNAL, where, ": ", message);
}

/// The stream of the calling thread, created once: compiled code asks for a
/// stream per launch, and creating and destroying one each time costs more
/// than many small kernels.
CUstream threadStream(Driver &driver) {
  thread_local CUstream stream = nullptr;
  if (!stream)
    check(driver, driver.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
          "cuStreamCreate");
  return stream;
}

/// A timed call's events on the thread's stream (weftCallTimed): `end` is
/// recorded when the call is about to wait for work submitted since the
/// last record, so that the host's wake-up after the wait is not counted.
struct CallTiming {
  CUevent start = nullptr, end = nullptr;
  bool active = false;
  /// Work was submitted after the last record of `end`.
  bool pending = false;
};

CallTiming &threadTiming() {
  thread_local CallTiming timing;
  return timing;
}

/// Notes work submitted to the thread's stream.
void noteSubmitted() {
  CallTiming &timing = threadTiming();
  if (timing.active)
    timing.pending = true;
}

/// Before a wait: the end of the work submitted so far.
void recordTimingEnd(Driver &driver) {
  CallTiming &timing = threadTiming();
  if (!timing.active || !timing.pending)
    return;
  check(driver, driver.cuEventRecord(timing.end, threadStream(driver)),
        "cuEventRecord (call timing)");
  timing.pending = false;
}

CUdeviceptr toDevicePointer(void *pointer) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(pointer));
}

/// Unified memory, or null with the failure recorded. Reuses a cached block
/// of the same rounded size when there is one.
void *allocateManaged(size_t bytes) {
  Driver *driver = getDriver();
  if (!driver)
    return nullptr;
  size_t blockBytes = BlockCache::roundUp(bytes);
  std::vector<void *> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (void *block = getBlockCache().take(blockBytes)) {
      liveBlocks[block] = blockBytes;
      return block;
    }
  }
  CUdeviceptr address = 0;
  CUresult result =
      driver->cuMemAllocManaged(&address, blockBytes, CU_MEM_ATTACH_GLOBAL);
  if (result != CUDA_SUCCESS) {
    // Out of memory with blocks cached: give them back and try once more.
    {
      std::lock_guard<std::mutex> lock(mutex);
      dropped = getBlockCache().drain();
    }
    if (!dropped.empty()) {
      for (void *block : dropped)
        driver->cuMemFree(toDevicePointer(block));
      result =
          driver->cuMemAllocManaged(&address, blockBytes, CU_MEM_ATTACH_GLOBAL);
    }
  }
  if (!check(*driver, result, "cuMemAllocManaged"))
    return nullptr;
  void *pointer = reinterpret_cast<void *>(static_cast<uintptr_t>(address));
  std::lock_guard<std::mutex> lock(mutex);
  liveBlocks[pointer] = blockBytes;
  return pointer;
}

} // namespace

weftStatus cuda::ensureReady() {
  Driver &driver = getDriverInstance();
  if (!driver.failure.empty())
    return makeError(WEFT_STATUS_FAILED_PRECONDITION,
                     "target cuda: ", driver.failure);
  driver.cuCtxSetCurrent(driver.context);
  return nullptr;
}

weftStatus cuda::allocate(size_t bytes, void *&pointer) {
  pointer = allocateManaged(bytes);
  if (!pointer)
    return popError(concat("allocating ", bytes, " bytes of unified memory"));
  return nullptr;
}

bool cuda::isUnifiedMemory(const void *pointer) {
  std::lock_guard<std::mutex> lock(mutex);
  return liveBlocks.count(const_cast<void *>(pointer));
}

void cuda::prefetchToDevice(const void *pointer, size_t bytes) {
  Driver *driver = getDriver();
  if (!driver || !driver->canPrefetch || !bytes)
    return;
  CUmemLocation location{CU_MEM_LOCATION_TYPE_DEVICE, driver->device};
  // Only a hint: a failure leaves the pages to migrate on first touch.
  driver->cuMemPrefetchAsync(toDevicePointer(const_cast<void *>(pointer)),
                             bytes, location, 0, threadStream(*driver));
  noteSubmitted();
}

void cuda::release(void *pointer) {
  if (!pointer)
    return;
  std::vector<void *> evicted;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto live = liveBlocks.find(pointer);
    if (live == liveBlocks.end()) {
      // A host fallback of _mlir_memref_to_llvm_alloc.
      std::free(pointer);
      return;
    }
    evicted = getBlockCache().put(pointer, live->second);
    liveBlocks.erase(live);
  }
  if (evicted.empty())
    return;
  if (Driver *driver = getDriver())
    for (void *block : evicted)
      check(*driver, driver->cuMemFree(toDevicePointer(block)), "cuMemFree");
}

weftStatus cuda::synchronize(const std::string &where) {
  if (Driver *driver = getDriver()) {
    recordTimingEnd(*driver);
    check(*driver, driver->cuCtxSynchronize(), "cuCtxSynchronize");
  }
  return popError(where);
}

weftStatus cuda::beginTiming(const std::string &where) {
  Driver *driver = getDriver();
  if (!driver)
    return popError(where);
  if (!driver->cuEventElapsedTime)
    return makeError(WEFT_STATUS_FAILED_PRECONDITION, where,
                     ": the CUDA driver lacks cuEventElapsedTime");
  CallTiming &timing = threadTiming();
  for (CUevent *event : {&timing.start, &timing.end})
    if (!*event)
      check(*driver, driver->cuEventCreate(event, CU_EVENT_DEFAULT),
            "cuEventCreate (call timing)");
  // Both events mark the call's start: a call that submits nothing takes 0.
  check(*driver, driver->cuEventRecord(timing.start, threadStream(*driver)),
        "cuEventRecord (call timing)");
  check(*driver, driver->cuEventRecord(timing.end, threadStream(*driver)),
        "cuEventRecord (call timing)");
  timing.active = true;
  timing.pending = false;
  return popError(where);
}

weftStatus cuda::endTiming(const std::string &where, double &milliseconds) {
  milliseconds = 0;
  CallTiming &timing = threadTiming();
  if (!timing.active)
    return nullptr;
  Driver *driver = getDriver();
  if (!driver)
    return popError(where);
  recordTimingEnd(*driver);
  timing.active = false;
  float elapsed = 0;
  if (check(*driver, driver->cuEventSynchronize(timing.end),
            "cuEventSynchronize (call timing)") &&
      check(*driver,
            driver->cuEventElapsedTime(&elapsed, timing.start, timing.end),
            "cuEventElapsedTime (call timing)"))
    milliseconds = elapsed;
  return popError(where);
}

weftStatus cuda::takeError(const std::string &where) { return popError(where); }

//===----------------------------------------------------------------------===//
// The ABI compiled code calls (signatures as MLIR's gpu-to-llvm emits them).
//===----------------------------------------------------------------------===//

extern "C" {

__attribute__((visibility("default"))) void *mgpuModuleLoad(void *data,
                                                            size_t) {
  Driver *driver = getDriver();
  CUmodule module = nullptr;
  if (driver)
    check(*driver, driver->cuModuleLoadData(&module, data), "cuModuleLoadData");
  return module;
}

__attribute__((visibility("default"))) void *mgpuModuleLoadJIT(void *data,
                                                               int optLevel) {
  Driver *driver = getDriver();
  CUmodule module = nullptr;
  if (!driver)
    return nullptr;
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  check(*driver, driver->cuModuleLoadDataEx(&module, data, 1, options, values),
        "cuModuleLoadDataEx (PTX JIT)");
  return module;
}

__attribute__((visibility("default"))) void mgpuModuleUnload(void *module) {
  Driver *driver = getDriver();
  if (!driver || !module)
    return;
  check(*driver, driver->cuModuleUnload(static_cast<CUmodule>(module)),
        "cuModuleUnload");
  // A kernel loaded later may have the address of one unloaded here.
  std::lock_guard<std::mutex> lock(mutex);
  getSharedMemoryOptIns().clear();
}

__attribute__((visibility("default"))) void *
mgpuModuleGetFunction(void *module, const char *name) {
  Driver *driver = getDriver();
  CUfunction function = nullptr;
  if (driver && !module)
    recordError(concat("kernel ", name, ": its module is not loaded"));
  if (driver && module)
    check(*driver,
          driver->cuModuleGetFunction(&function, static_cast<CUmodule>(module),
                                      name),
          "cuModuleGetFunction");
  return function;
}

__attribute__((visibility("default"))) void
mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                 intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                 int32_t sharedMemory, void *stream, void **params,
                 void **extra, size_t /*paramsCount*/) {
  Driver *driver = getDriver();
  if (!driver)
    return; // the failure is already recorded
  if (!function) {
    recordError("launch of a kernel that was not found");
    return;
  }
  // An empty grid (a loop with no iterations) launches nothing.
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return;
  // More than 48 KiB of dynamic shared memory (the thread-block kernels'
  // larger tiles) needs the kernel's opt-in, once per kernel and size; the
  // device's limit is checked by the driver.
  if (sharedMemory > kDefaultSharedMemoryLimit) {
    // (check() takes the mutex itself when it records a failure.)
    bool optIn;
    {
      std::lock_guard<std::mutex> lock(mutex);
      optIn = getSharedMemoryOptIns()[function] < sharedMemory;
    }
    if (optIn) {
      if (!check(*driver,
                 driver->cuFuncSetAttribute(
                     static_cast<CUfunction>(function),
                     CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                     sharedMemory),
                 "cuFuncSetAttribute (dynamic shared memory)"))
        return;
      std::lock_guard<std::mutex> lock(mutex);
      int32_t &allowed = getSharedMemoryOptIns()[function];
      allowed = std::max(allowed, sharedMemory);
    }
  }
  check(*driver,
        driver->cuLaunchKernel(static_cast<CUfunction>(function), gridX, gridY,
                               gridZ, blockX, blockY, blockZ, sharedMemory,
                               static_cast<CUstream>(stream), params, extra),
        "cuLaunchKernel");
  noteSubmitted();
}

__attribute__((visibility("default"))) void *mgpuStreamCreate() {
  Driver *driver = getDriver();
  return driver ? threadStream(*driver) : nullptr;
}

/// The thread's stream lives as long as the thread.
__attribute__((visibility("default"))) void mgpuStreamDestroy(void *stream) {
  Driver *driver = getDriver();
  if (driver && stream && stream != threadStream(*driver))
    check(*driver, driver->cuStreamDestroy(static_cast<CUstream>(stream)),
          "cuStreamDestroy");
}

__attribute__((visibility("default"))) void
mgpuStreamSynchronize(void *stream) {
  Driver *driver = getDriver();
  if (!driver || !stream)
    return;
  recordTimingEnd(*driver);
  check(*driver, driver->cuStreamSynchronize(static_cast<CUstream>(stream)),
        "cuStreamSynchronize (a kernel failed)");
}

// Events order work between streams; compiled code uses them when
// asynchronous launches from different streams join (gpu.wait async with
// several tokens).

__attribute__((visibility("default"))) void *mgpuEventCreate() {
  Driver *driver = getDriver();
  CUevent event = nullptr;
  if (driver)
    check(*driver, driver->cuEventCreate(&event, CU_EVENT_DISABLE_TIMING),
          "cuEventCreate");
  return event;
}

__attribute__((visibility("default"))) void mgpuEventDestroy(void *event) {
  Driver *driver = getDriver();
  if (driver && event)
    check(*driver, driver->cuEventDestroy(static_cast<CUevent>(event)),
          "cuEventDestroy");
}

__attribute__((visibility("default"))) void mgpuEventSynchronize(void *event) {
  Driver *driver = getDriver();
  if (driver)
    recordTimingEnd(*driver);
  if (driver && event)
    check(*driver, driver->cuEventSynchronize(static_cast<CUevent>(event)),
          "cuEventSynchronize (a kernel failed)");
}

__attribute__((visibility("default"))) void mgpuEventRecord(void *event,
                                                            void *stream) {
  Driver *driver = getDriver();
  if (driver && event)
    check(*driver,
          driver->cuEventRecord(static_cast<CUevent>(event),
                                static_cast<CUstream>(stream)),
          "cuEventRecord");
}

__attribute__((visibility("default"))) void mgpuStreamWaitEvent(void *stream,
                                                                void *event) {
  Driver *driver = getDriver();
  if (driver && event)
    check(*driver,
          driver->cuStreamWaitEvent(static_cast<CUstream>(stream),
                                    static_cast<CUevent>(event), 0),
          "cuStreamWaitEvent");
}

/// Buffers of compiled code: unified memory. When that fails the error is
/// recorded and host memory keeps the host side from crashing; the call then
/// fails with the recorded error.
__attribute__((visibility("default"))) void *
_mlir_memref_to_llvm_alloc(size_t bytes) {
  // On failure the first error stays recorded (a sticky kernel fault makes
  // every later allocation fail too).
  if (void *pointer = allocateManaged(bytes))
    return pointer;
  return std::malloc(bytes ? bytes : 1);
}

__attribute__((visibility("default"))) void *
_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  // Unified memory is aligned to at least 256 bytes.
  if (alignment > 256) {
    recordError(concat("unsupported buffer alignment ", alignment));
    return std::malloc(bytes ? bytes : 1);
  }
  return _mlir_memref_to_llvm_alloc(bytes);
}

__attribute__((visibility("default"))) void
_mlir_memref_to_llvm_free(void *pointer) {
  cuda::release(pointer);
}

} // extern "C"
