//===- SafetensorsTest.cpp - tests of parameter archive validation --------===//

#include "Safetensors.h"

#include "TestUtils.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace weft::runtime::testing;

namespace {

TEST(SafetensorsTest, ReadsEntries) {
  TempDir dir;
  std::vector<float> weights = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -0.5f};
  std::vector<uint16_t> halves = {0x3C00, 0xC000};
  std::string path = dir.write(
      "ok.safetensors",
      makeSafetensors({{"layer.weight", "F32", {2, 3}, toBytes(weights)},
                       {"layer.scale", "BF16", {2}, toBytes(halves)},
                       {"flag", "BOOL", {}, std::string(1, '\1')},
                       {"empty", "I64", {0, 4}, ""}}));
  weftParams params;
  ASSERT_WEFT_OK(weftParamsOpen(path.c_str(), &params));
  ASSERT_EQ(weftParamsGetCount(params), 4u);

  weftParamInfo info;
  ASSERT_WEFT_OK(weftParamsGetInfo(params, 0, &info));
  EXPECT_STREQ(info.name, "layer.weight");
  EXPECT_STREQ(info.dtype, "F32");
  ASSERT_EQ(info.rank, 2u);
  EXPECT_EQ(info.shape[0], 2);
  EXPECT_EQ(info.shape[1], 3);
  ASSERT_EQ(info.byteSize, weights.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(info.data, weights.data(), info.byteSize), 0);

  ASSERT_WEFT_OK(weftParamsFind(params, "layer.scale", &info));
  EXPECT_STREQ(info.dtype, "BF16");
  ASSERT_EQ(info.byteSize, 4u);
  EXPECT_EQ(std::memcmp(info.data, halves.data(), 4), 0);

  ASSERT_WEFT_OK(weftParamsFind(params, "flag", &info));
  EXPECT_EQ(info.rank, 0u);
  EXPECT_EQ(info.byteSize, 1u);

  ASSERT_WEFT_OK(weftParamsFind(params, "empty", &info));
  EXPECT_EQ(info.byteSize, 0u);

  StatusInfo missing = consume(weftParamsFind(params, "nope", &info));
  EXPECT_EQ(missing.code, WEFT_STATUS_NOT_FOUND);
  EXPECT_EQ(missing.message, path + ": no tensor 'nope'");
  StatusInfo range = consume(weftParamsGetInfo(params, 4, &info));
  EXPECT_EQ(range.code, WEFT_STATUS_INVALID_ARGUMENT);
  weftParamsRelease(params);
}

TEST(SafetensorsTest, AcceptsMetadataAndPadding) {
  TempDir dir;
  std::string header = R"({"__metadata__": {"format": "pt"},
      "a": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]}}    )";
  std::string path =
      dir.write("meta.safetensors", makeSafetensorsRaw(header, "xyz"));
  weftParams params;
  ASSERT_WEFT_OK(weftParamsOpen(path.c_str(), &params));
  EXPECT_EQ(weftParamsGetCount(params), 1u);
  weftParamsRelease(params);
}

TEST(SafetensorsTest, MissingFile) {
  weftParams params = nullptr;
  StatusInfo status =
      consume(weftParamsOpen("/nonexistent/w.safetensors", &params));
  EXPECT_EQ(status.code, WEFT_STATUS_NOT_FOUND);
  EXPECT_EQ(status.message,
            "/nonexistent/w.safetensors: cannot open: No such file or "
            "directory");
  EXPECT_EQ(params, nullptr);
}

TEST(SafetensorsTest, DirectoryIsNotAnArchive) {
  TempDir dir;
  weftParams params;
  StatusInfo status = consume(weftParamsOpen(dir.getPath().c_str(), &params));
  EXPECT_EQ(status.code, WEFT_STATUS_IO_ERROR);
  EXPECT_EQ(status.message, dir.getPath() + ": not a regular file");
}

struct CorruptCase {
  const char *what;
  std::string bytes;
  std::string message; // after "<path>: "
};

std::string entry(const std::string &name, const std::string &body) {
  return "\"" + name + "\": " + body;
}

TEST(SafetensorsTest, RejectsCorruptArchives) {
  std::string twelve(12, 'd');
  std::string validEntry =
      entry("w", R"({"dtype": "F32", "shape": [3], "data_offsets": [0, 12]})");
  std::string hugeLength = makeSafetensorsRaw("{}", "");
  hugeLength[3] = 0x7F; // length 0x7F000002
  std::string truncated =
      makeSafetensorsRaw("{" + validEntry + "}", twelve).substr(0, 20);
  const CorruptCase cases[] = {
      {"empty file", "", "file too short for a safetensors header (0 bytes)"},
      {"short file", "1234567",
       "file too short for a safetensors header (7 bytes)"},
      {"zero header length", makeSafetensorsRaw("", "abc"),
       "invalid header length 0 (file is 11 bytes)"},
      {"header length past the end", truncated,
       "invalid header length 62 (file is 20 bytes)"},
      {"header length over the limit", hugeLength,
       "invalid header length 2130706434 (file is 10 bytes)"},
      {"bad JSON", makeSafetensorsRaw("{\"w\": ", ""),
       "header is not valid JSON (offset 6: expected a value, got end of "
       "input)"},
      {"header not an object", makeSafetensorsRaw("[1, 2]", ""),
       "header is not a JSON object"},
      {"entry not an object", makeSafetensorsRaw("{\"w\": 3}", ""),
       "tensor 'w': entry is not an object"},
      {"unknown dtype",
       makeSafetensorsRaw("{" + entry("w", R"({"dtype": "F8_E4M3", "shape": [3],
                                "data_offsets": [0, 3]})") +
                              "}",
                          "abc"),
       "tensor 'w': unsupported dtype 'F8_E4M3'"},
      {"missing dtype",
       makeSafetensorsRaw(
           "{" + entry("w", R"({"shape": [3], "data_offsets": [0, 3]})") + "}",
           "abc"),
       "tensor 'w': unsupported dtype missing"},
      {"negative dim",
       makeSafetensorsRaw("{" + entry("w", R"({"dtype": "U8", "shape": [-3],
                                "data_offsets": [0, 3]})") +
                              "}",
                          "abc"),
       "tensor 'w': invalid shape [-3]"},
      {"offsets out of bounds",
       makeSafetensorsRaw("{" + validEntry + "}", "only8byt"),
       "tensor 'w': data_offsets [0, 12] out of bounds (data section is 8 "
       "bytes)"},
      {"reversed offsets",
       makeSafetensorsRaw("{" + entry("w", R"({"dtype": "U8", "shape": [0],
                                "data_offsets": [3, 0]})") +
                              "}",
                          "abc"),
       "tensor 'w': data_offsets [3, 0] out of bounds (data section is 3 "
       "bytes)"},
      {"one offset",
       makeSafetensorsRaw("{" + entry("w", R"({"dtype": "U8", "shape": [0],
                                "data_offsets": [0]})") +
                              "}",
                          ""),
       "tensor 'w': data_offsets [0] out of bounds (data section is 0 "
       "bytes)"},
      {"size mismatch",
       makeSafetensorsRaw("{" + entry("w", R"({"dtype": "F32", "shape": [2],
                                "data_offsets": [0, 12]})") +
                              "}",
                          twelve),
       "tensor 'w': 12 bytes for F32[2] (expected 8)"},
      {"size overflow",
       makeSafetensorsRaw(
           "{" +
               entry("w", R"({"dtype": "F64", "shape": [4611686018427387904, 8],
                 "data_offsets": [0, 8]})") +
               "}",
           "12345678"),
       "tensor 'w': size of shape [4611686018427387904, 8] overflows"},
      {"overlap",
       makeSafetensorsRaw("{" + validEntry + ", " +
                              entry("v", R"({"dtype": "I32", "shape": [2],
                 "data_offsets": [4, 12]})") +
                              "}",
                          twelve),
       "tensors 'w' and 'v' overlap"},
      {"metadata not strings",
       makeSafetensorsRaw(R"({"__metadata__": {"n": 1}})", ""),
       "__metadata__ must be an object of strings"},
      {"duplicate names",
       makeSafetensorsRaw("{" + validEntry + ", " + validEntry + "}", twelve),
       "header is not valid JSON (offset 63: duplicate key 'w')"},
  };
  TempDir dir;
  for (const CorruptCase &c : cases) {
    std::string path = dir.write("corrupt.safetensors", c.bytes);
    weftParams params = nullptr;
    StatusInfo status = consume(weftParamsOpen(path.c_str(), &params));
    EXPECT_EQ(status.code, WEFT_STATUS_INVALID_FORMAT) << c.what;
    EXPECT_EQ(status.message, path + ": " + c.message) << c.what;
    EXPECT_EQ(params, nullptr) << c.what;
    weftParamsRelease(params);
  }
}

TEST(SafetensorsTest, EmptyTensorsDoNotOverlap) {
  TempDir dir;
  std::string header =
      "{" +
      entry("w", R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})") +
      ", " +
      entry("e", R"({"dtype": "F32", "shape": [0], "data_offsets": [4, 4]})") +
      "}";
  std::string path =
      dir.write("empty.safetensors", makeSafetensorsRaw(header, "12345678"));
  weftParams params;
  ASSERT_WEFT_OK(weftParamsOpen(path.c_str(), &params));
  weftParamsRelease(params);
}

} // namespace
