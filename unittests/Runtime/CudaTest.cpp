//===- CudaTest.cpp - the CUDA backend on a machine without a GPU ---------===//
//
// The backend must fail cleanly where no driver can be loaded: clear statuses,
// no crash from the ABI functions compiled code calls. With a driver present
// these tests skip; test/GPU covers execution on a GPU.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"

#include "weft-runtime/Tensor.h"

#include "gtest/gtest.h"

#include <cstring>
#include <string>

#include <dlfcn.h>

extern "C" {
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedMemory, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *mgpuStreamCreate();
void mgpuStreamSynchronize(void *stream);
void mgpuStreamDestroy(void *stream);
void *mgpuEventCreate();
void mgpuEventRecord(void *event, void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventDestroy(void *event);
void *_mlir_memref_to_llvm_alloc(size_t bytes);
void _mlir_memref_to_llvm_free(void *pointer);
}

using namespace weft::runtime;

namespace {

class CudaWithoutDriverTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
      dlclose(driver);
      GTEST_SKIP() << "a CUDA driver is installed";
    }
    // Start from a clean slate.
    weftStatusRelease(cuda::takeError(""));
  }
};

std::string takeMessage(const char *where) {
  weftStatus status = cuda::takeError(where);
  std::string message = status ? weftStatusGetMessage(status) : "";
  weftStatusRelease(status);
  return message;
}

TEST_F(CudaWithoutDriverTest, EnsureReadyNamesTheMissingDriver) {
  weftStatus status = cuda::ensureReady();
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(weftStatusGetCode(status), WEFT_STATUS_FAILED_PRECONDITION);
  EXPECT_EQ(std::string(weftStatusGetMessage(status))
                .rfind("target cuda: CUDA driver not available (", 0),
            0u)
      << weftStatusGetMessage(status);
  weftStatusRelease(status);
}

TEST_F(CudaWithoutDriverTest, AbiCallsRecordTheFirstErrorAndDoNotCrash) {
  char image[] = "not a module";
  void *module = mgpuModuleLoad(image, sizeof(image));
  EXPECT_EQ(module, nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(module, "kernel"), nullptr);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  std::string message = takeMessage("loading");
  EXPECT_EQ(message.rfind("loading: CUDA driver not available", 0), 0u)
      << message;
  // Taking the error clears it.
  EXPECT_EQ(takeMessage("again"), "");
}

TEST_F(CudaWithoutDriverTest, StreamAndEventCallsRecordTheMissingDriver) {
  // What asynchronous launches call: streams, and events where streams join.
  void *stream = mgpuStreamCreate();
  EXPECT_EQ(stream, nullptr);
  void *event = mgpuEventCreate();
  EXPECT_EQ(event, nullptr);
  mgpuEventRecord(event, stream);
  mgpuStreamWaitEvent(stream, event);
  mgpuEventSynchronize(event);
  mgpuEventDestroy(event);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  std::string message = takeMessage("call");
  EXPECT_EQ(message.rfind("call: CUDA driver not available", 0), 0u) << message;
}

TEST_F(CudaWithoutDriverTest, CallTimingNamesTheMissingDriver) {
  weftStatus status = cuda::beginTiming("timing");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(std::string(weftStatusGetMessage(status))
                .rfind("timing: CUDA driver not available", 0),
            0u)
      << weftStatusGetMessage(status);
  weftStatusRelease(status);
  // Nothing was started: stopping measures nothing and reports nothing.
  double ms = -1;
  EXPECT_EQ(cuda::endTiming("timing", ms), nullptr);
  EXPECT_EQ(ms, 0.0);
}

TEST_F(CudaWithoutDriverTest, AllocationFallsBackToHostMemoryAndReports) {
  auto *buffer = static_cast<char *>(_mlir_memref_to_llvm_alloc(64));
  ASSERT_NE(buffer, nullptr);
  std::memset(buffer, 1, 64); // usable by the host side
  _mlir_memref_to_llvm_free(buffer);
  std::string message = takeMessage("call");
  EXPECT_NE(message.find("CUDA driver not available"), std::string::npos)
      << message;

  void *pointer = reinterpret_cast<void *>(1);
  weftStatus status = cuda::allocate(16, pointer);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(pointer, nullptr);
  weftStatusRelease(status);
}

TEST_F(CudaWithoutDriverTest, DeviceTensorsNameTheMissingDriver) {
  int64_t shape[] = {2, 3};
  float data[6] = {};
  weftTensor tensor = reinterpret_cast<weftTensor>(1);
  weftStatus status = weftTensorCreateIn(WEFT_MEMORY_CUDA, WEFT_DTYPE_F32,
                                         shape, 2, data, &tensor);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(tensor, nullptr);
  EXPECT_EQ(weftStatusGetCode(status), WEFT_STATUS_FAILED_PRECONDITION);
  EXPECT_EQ(std::string(weftStatusGetMessage(status))
                .rfind("target cuda: CUDA driver not available (", 0),
            0u)
      << weftStatusGetMessage(status);
  weftStatusRelease(status);
  // Nothing stays recorded for a later call.
  EXPECT_EQ(takeMessage("later"), "");
}

} // namespace
