//===- TestUtils.h - helpers for the runtime tests --------------*- C++ -*-===//

#ifndef WEFT_UNITTESTS_RUNTIME_TESTUTILS_H
#define WEFT_UNITTESTS_RUNTIME_TESTUTILS_H

#include "weft-runtime/Runtime.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace weft::runtime::testing {

/// Takes the code and message of `status` and releases it.
struct StatusInfo {
  weftStatusCode code;
  std::string message;
};
StatusInfo consume(weftStatus status);

#define ASSERT_WEFT_OK(expr)                                                   \
  do {                                                                         \
    ::weft::runtime::testing::StatusInfo info_ =                               \
        ::weft::runtime::testing::consume(expr);                               \
    ASSERT_EQ(info_.code, WEFT_STATUS_OK) << info_.message;                    \
  } while (0)

/// A fresh directory, removed with its files at destruction. Unique per
/// process, since lit runs test shards in parallel.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  /// Writes `bytes` to a file `name` in the directory; returns its path.
  std::string write(const std::string &name, const std::string &bytes);
  const std::string &getPath() const { return path; }

private:
  std::string path;
  std::vector<std::string> files;
};

/// One entry for makeSafetensors: raw little-endian bytes.
struct TestTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

/// A valid safetensors file: header padded to 8 bytes, data in order.
std::string makeSafetensors(const std::vector<TestTensor> &tensors);

/// The file bytes for a raw header text and data section.
std::string makeSafetensorsRaw(const std::string &header,
                               const std::string &data);

template <typename T> std::string toBytes(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(T));
}

/// A generator seeded from std::random_device; the seed is recorded in the
/// test output so a failure can be reproduced.
std::mt19937_64 makeRng();

/// Path of an artifact built from unittests/Runtime (fake-artifact, ...).
std::string fakeArtifactPath(const std::string &name = "fake-artifact");

} // namespace weft::runtime::testing

#endif // WEFT_UNITTESTS_RUNTIME_TESTUTILS_H
