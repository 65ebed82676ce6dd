//===- ParamArchiveTest.cpp - reading and writing safetensors -------------===//

#include "weft/Support/ParamArchive.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mlir;
using namespace mlir::weft;

namespace {

class ParamArchiveTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("weft-archive", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(StringRef name) {
    SmallString<128> result(dir);
    llvm::sys::path::append(result, name);
    return std::string(result);
  }

  /// Writes a file with an 8-byte length, `header` and `data`.
  std::string writeRaw(StringRef name, StringRef header, StringRef data) {
    std::string file = path(name);
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    uint64_t length = header.size();
    os.write(reinterpret_cast<const char *>(&length), 8);
    os << header << data;
    return file;
  }

  std::string readError(StringRef file) {
    llvm::Expected<ParamArchive> archive = ParamArchive::read(file);
    EXPECT_FALSE(static_cast<bool>(archive));
    return archive ? "" : llvm::toString(archive.takeError());
  }

  SmallString<128> dir;
};

TEST_F(ParamArchiveTest, RoundTripsTensorsAndMetadata) {
  ParamArchiveBuilder builder;
  builder.add("w", "F16", {2, 2},
              encodeFloats({1.0f, -2.0f, 0.5f, 65504.0f}, "F16"));
  builder.add("b", "BF16", {3}, encodeFloats({1.0f, 3.0f, -0.25f}, "BF16"));
  builder.add("q", "U8", {1, 3}, std::string("\x01\x02\x03", 3));
  builder.setMetadata("format", "pt");
  std::string file = path("a.safetensors");
  ASSERT_FALSE(static_cast<bool>(builder.write(file)));

  llvm::Expected<ParamArchive> archive = ParamArchive::read(file);
  ASSERT_TRUE(static_cast<bool>(archive))
      << llvm::toString(archive.takeError());
  EXPECT_EQ(archive->getNames(), (std::vector<StringRef>{"b", "q", "w"}));
  EXPECT_EQ(archive->getMetadata().lookup("format"), "pt");
  const ArchiveTensor *w = archive->lookup("w");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->dtype, "F16");
  EXPECT_EQ(w->shape, (SmallVector<int64_t>{2, 2}));
  llvm::Expected<std::vector<float>> values = decodeFloats(*w);
  ASSERT_TRUE(static_cast<bool>(values));
  EXPECT_EQ(*values, (std::vector<float>{1.0f, -2.0f, 0.5f, 65504.0f}));
  EXPECT_EQ(*decodeFloats(*archive->lookup("b")),
            (std::vector<float>{1.0f, 3.0f, -0.25f}));
  EXPECT_EQ(archive->lookup("q")->data, StringRef("\x01\x02\x03", 3));
  EXPECT_FALSE(archive->lookup("missing"));
  llvm::Expected<std::vector<float>> ints = decodeFloats(*archive->lookup("q"));
  ASSERT_FALSE(static_cast<bool>(ints));
  EXPECT_EQ(llvm::toString(ints.takeError()),
            "expected F32, F16 or BF16 values, got U8");
}

TEST_F(ParamArchiveTest, RewritesTheArchiveItReadsFrom) {
  std::string file = path("same.safetensors");
  ParamArchiveBuilder first;
  first.add("x", "F32", {2}, encodeFloats({1.0f, 2.0f}, "F32"));
  ASSERT_FALSE(static_cast<bool>(first.write(file)));
  llvm::Expected<ParamArchive> archive = ParamArchive::read(file);
  ASSERT_TRUE(static_cast<bool>(archive));
  ParamArchiveBuilder second;
  second.addView("x", *archive->lookup("x"));
  second.addView("y", *archive->lookup("x"));
  ASSERT_FALSE(static_cast<bool>(second.write(file)));
  llvm::Expected<ParamArchive> reread = ParamArchive::read(file);
  ASSERT_TRUE(static_cast<bool>(reread));
  EXPECT_EQ(*decodeFloats(*reread->lookup("y")),
            (std::vector<float>{1.0f, 2.0f}));
}

TEST_F(ParamArchiveTest, RejectsMalformedArchives) {
  std::string file = path("short");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    os << "abc";
  }
  EXPECT_EQ(readError(file),
            file + ": file too short for a safetensors header");
  EXPECT_EQ(readError(path("none")),
            path("none") + ": cannot read: No such file or directory");
  EXPECT_NE(readError(writeRaw("json", "{not json", ""))
                .find("header is not valid JSON"),
            std::string::npos);
  std::string dtype = writeRaw(
      "dtype", R"({"t":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})",
      std::string(8, '\0'));
  EXPECT_EQ(readError(dtype), dtype + ": tensor 't': unsupported dtype 'C64'");
  std::string size = writeRaw(
      "size", R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
      std::string(8, '\0'));
  EXPECT_EQ(readError(size),
            size + ": tensor 't': 8 bytes for F32[3] (expected 12)");
  std::string bounds = writeRaw(
      "bounds", R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
      std::string(2, '\0'));
  EXPECT_EQ(
      readError(bounds),
      bounds +
          ": tensor 't': data_offsets out of bounds (data section is 2 bytes)");
  std::string overlap = writeRaw(
      "overlap",
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
      std::string(4, '\0'));
  EXPECT_EQ(readError(overlap), overlap + ": tensors 'a' and 'b' overlap");
}

TEST_F(ParamArchiveTest, BindingRule) {
  ArchiveTensor packed{"U8", {4, 3}, StringRef()};
  EXPECT_EQ(getBindingMismatch(packed, "i4", {4, 5}), "");
  EXPECT_EQ(getBindingMismatch(packed, "i4", {4, 6}), "");
  EXPECT_EQ(getBindingMismatch(packed, "i4", {4, 8}),
            "is U8[4, 3], expected i4[4, 8] (stored as U8/I8[4, 4])");
  EXPECT_EQ(getBindingMismatch({"I8", {2}, StringRef()}, "i8", {2}), "");
  EXPECT_EQ(getBindingMismatch({"F16", {2}, StringRef()}, "f32", {2}),
            "is F16[2], expected f32[2]");
}

TEST(FloatConversionTest, DecodesEveryHalf) {
  // All 65536 half bit patterns decode exactly (NaNs stay NaN).
  std::string bytes;
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    bytes.push_back(static_cast<char>(bits & 0xFF));
    bytes.push_back(static_cast<char>(bits >> 8));
  }
  ArchiveTensor tensor{"F16", {65536}, bytes};
  std::vector<float> values = *decodeFloats(tensor);
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    llvm::APFloat half(llvm::APFloat::IEEEhalf(), llvm::APInt(16, bits));
    float expected = half.convertToFloat();
    if (std::isnan(expected))
      EXPECT_TRUE(std::isnan(values[bits])) << bits;
    else
      EXPECT_EQ(llvm::bit_cast<uint32_t>(values[bits]),
                llvm::bit_cast<uint32_t>(expected))
          << bits;
  }
}

TEST(FloatConversionTest, RoundsToNearestEven) {
  EXPECT_EQ(roundToDtype(1.0f + 0x1p-11f, "F16"), 1.0f); // tie to even
  EXPECT_EQ(roundToDtype(1.0f + 3 * 0x1p-11f, "F16"), 1.0f + 0x1p-9f);
  EXPECT_EQ(roundToDtype(1.0f + 0x1p-8f, "BF16"), 1.0f);
  EXPECT_TRUE(std::isinf(roundToDtype(70000.0f, "F16")));
  EXPECT_EQ(roundToDtype(0.1f, "F32"), 0.1f);
}

} // namespace
