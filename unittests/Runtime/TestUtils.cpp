//===- TestUtils.cpp - helpers for the runtime tests ----------------------===//

#include "TestUtils.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <unistd.h>

using namespace weft::runtime::testing;

StatusInfo weft::runtime::testing::consume(weftStatus status) {
  StatusInfo info{weftStatusGetCode(status), weftStatusGetMessage(status)};
  weftStatusRelease(status);
  return info;
}

TempDir::TempDir() {
  std::string pattern = ::testing::TempDir() + "weft-runtime-XXXXXX";
  if (!mkdtemp(pattern.data()))
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
  path = pattern;
}

TempDir::~TempDir() {
  for (const std::string &file : files)
    std::remove(file.c_str());
  rmdir(path.c_str());
}

std::string TempDir::write(const std::string &name, const std::string &bytes) {
  std::string file = path + "/" + name;
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), bytes.size());
  EXPECT_TRUE(out.good()) << "cannot write " << file;
  files.push_back(file);
  return file;
}

std::string
weft::runtime::testing::makeSafetensorsRaw(const std::string &header,
                                           const std::string &data) {
  std::string bytes(8, '\0');
  uint64_t size = header.size();
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((size >> (8 * i)) & 0xFF);
  return bytes + header + data;
}

std::string weft::runtime::testing::makeSafetensors(
    const std::vector<TestTensor> &tensors) {
  std::string header = "{";
  std::string data;
  for (const TestTensor &tensor : tensors) {
    if (header.size() > 1)
      header += ", ";
    header += "\"" + tensor.name + "\": {\"dtype\": \"" + tensor.dtype +
              "\", \"shape\": [";
    for (size_t i = 0; i < tensor.shape.size(); ++i)
      header += (i ? ", " : "") + std::to_string(tensor.shape[i]);
    header += "], \"data_offsets\": [" + std::to_string(data.size()) + ", " +
              std::to_string(data.size() + tensor.bytes.size()) + "]}";
    data += tensor.bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  return makeSafetensorsRaw(header, data);
}

std::mt19937_64 weft::runtime::testing::makeRng() {
  uint64_t seed = (static_cast<uint64_t>(std::random_device()()) << 32) |
                  std::random_device()();
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  std::printf("random seed: %llu\n", static_cast<unsigned long long>(seed));
  return std::mt19937_64(seed);
}

std::string weft::runtime::testing::fakeArtifactPath(const std::string &name) {
  return std::string(WEFT_FAKE_ARTIFACT_DIR) + "/" + name + ".weft";
}
