//===- TensorTest.cpp - tests of tensors, dtypes and statuses -------------===//

#include "TestUtils.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace weft::runtime::testing;

namespace {

TEST(TensorTest, CreateCopiesTheData) {
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  int64_t shape[] = {2, 3};
  weftTensor tensor;
  ASSERT_WEFT_OK(
      weftTensorCreate(WEFT_DTYPE_F32, shape, 2, values.data(), &tensor));
  values[0] = 100; // the tensor has its own copy
  EXPECT_EQ(weftTensorGetDType(tensor), WEFT_DTYPE_F32);
  ASSERT_EQ(weftTensorGetRank(tensor), 2u);
  EXPECT_EQ(weftTensorGetShape(tensor)[0], 2);
  EXPECT_EQ(weftTensorGetShape(tensor)[1], 3);
  EXPECT_EQ(weftTensorGetNumElements(tensor), 6);
  EXPECT_EQ(weftTensorGetByteSize(tensor), 24u);
  EXPECT_EQ(weftTensorGetMemory(tensor), WEFT_MEMORY_HOST);
  const float *data = static_cast<const float *>(weftTensorGetData(tensor));
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(data[i], i + 1.0f);
  weftTensorRelease(tensor);
}

TEST(TensorTest, CreateWithoutDataZeroFills) {
  int64_t shape[] = {5};
  weftTensor tensor;
  ASSERT_WEFT_OK(weftTensorCreate(WEFT_DTYPE_I64, shape, 1, nullptr, &tensor));
  const int64_t *data = static_cast<const int64_t *>(weftTensorGetData(tensor));
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(data[i], 0);
  weftTensorRelease(tensor);
}

TEST(TensorTest, ScalarsAndEmptyTensors) {
  weftTensor scalar;
  int16_t value = -7;
  ASSERT_WEFT_OK(weftTensorCreate(WEFT_DTYPE_I16, nullptr, 0, &value, &scalar));
  EXPECT_EQ(weftTensorGetNumElements(scalar), 1);
  EXPECT_EQ(weftTensorGetByteSize(scalar), 2u);
  EXPECT_EQ(*static_cast<int16_t *>(weftTensorGetData(scalar)), -7);
  weftTensorRelease(scalar);

  int64_t shape[] = {3, 0};
  weftTensor empty;
  ASSERT_WEFT_OK(weftTensorCreate(WEFT_DTYPE_BF16, shape, 2, nullptr, &empty));
  EXPECT_EQ(weftTensorGetNumElements(empty), 0);
  EXPECT_EQ(weftTensorGetByteSize(empty), 0u);
  weftTensorRelease(empty);
}

TEST(TensorTest, WrapBorrows) {
  std::vector<uint8_t> bytes = {1, 0, 1};
  int64_t shape[] = {3};
  weftTensor tensor;
  ASSERT_WEFT_OK(
      weftTensorWrap(WEFT_DTYPE_I1, shape, 1, bytes.data(), &tensor));
  EXPECT_EQ(weftTensorGetData(tensor), bytes.data());
  bytes[1] = 1; // visible through the view
  EXPECT_EQ(static_cast<uint8_t *>(weftTensorGetData(tensor))[1], 1);
  weftTensorRelease(tensor); // must not free `bytes`
  EXPECT_EQ(bytes[0], 1);
}

TEST(TensorTest, CreateInHostMemoryIsCreate) {
  int32_t values[] = {4, -5};
  int64_t shape[] = {2};
  weftTensor tensor;
  ASSERT_WEFT_OK(weftTensorCreateIn(WEFT_MEMORY_HOST, WEFT_DTYPE_I32, shape, 1,
                                    values, &tensor));
  EXPECT_EQ(weftTensorGetMemory(tensor), WEFT_MEMORY_HOST);
  EXPECT_EQ(static_cast<int32_t *>(weftTensorGetData(tensor))[1], -5);
  weftTensorRelease(tensor);

  weftStatus status = weftTensorCreateIn(
      static_cast<weftMemory>(7), WEFT_DTYPE_I32, shape, 1, values, &tensor);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(weftStatusGetCode(status), WEFT_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(weftStatusGetMessage(status),
               "weftTensorCreate: invalid memory 7");
  EXPECT_EQ(tensor, nullptr);
  weftStatusRelease(status);
}

TEST(TensorTest, RejectsInvalidTensors) {
  alignas(8) char buffer[16] = {};
  int64_t shape[] = {2};
  int64_t negative[] = {2, -3};
  int64_t huge[] = {INT64_MAX / 2, 4};
  struct Case {
    const char *what;
    weftStatus status;
    const char *message;
  };
  weftTensor tensor = nullptr;
  Case cases[] = {
      {"i4", weftTensorCreate(WEFT_DTYPE_I4, shape, 1, nullptr, &tensor),
       "i4 tensors are not supported (i4 is for params only)"},
      {"negative dim",
       weftTensorCreate(WEFT_DTYPE_F32, negative, 2, nullptr, &tensor),
       "invalid shape [2, -3] (dims must be >= 0 and the size must fit int64)"},
      {"overflow", weftTensorCreate(WEFT_DTYPE_F32, huge, 2, nullptr, &tensor),
       "invalid shape [4611686018427387903, 4] (dims must be >= 0 and the "
       "size must fit int64)"},
      {"bad dtype",
       weftTensorCreate(static_cast<weftDType>(42), shape, 1, nullptr, &tensor),
       "invalid dtype 42"},
      {"null shape",
       weftTensorCreate(WEFT_DTYPE_F32, nullptr, 1, nullptr, &tensor),
       "null shape for rank 1"},
      {"wrap null", weftTensorWrap(WEFT_DTYPE_F32, shape, 1, nullptr, &tensor),
       "weftTensorWrap: null data for f32[2]"},
      {"wrap misaligned",
       weftTensorWrap(WEFT_DTYPE_F32, shape, 1, buffer + 2, &tensor),
       "weftTensorWrap: data is not aligned to 4 bytes"},
  };
  for (Case &c : cases) {
    StatusInfo status = consume(c.status);
    EXPECT_EQ(status.code, WEFT_STATUS_INVALID_ARGUMENT) << c.what;
    EXPECT_EQ(status.message, c.message) << c.what;
    EXPECT_EQ(tensor, nullptr) << c.what;
  }
}

TEST(TensorTest, DTypeNamesAndWidths) {
  struct Expected {
    weftDType dtype;
    const char *name;
    size_t bits;
  };
  const Expected expected[] = {
      {WEFT_DTYPE_F64, "f64", 64}, {WEFT_DTYPE_F32, "f32", 32},
      {WEFT_DTYPE_F16, "f16", 16}, {WEFT_DTYPE_BF16, "bf16", 16},
      {WEFT_DTYPE_I64, "i64", 64}, {WEFT_DTYPE_I32, "i32", 32},
      {WEFT_DTYPE_I16, "i16", 16}, {WEFT_DTYPE_I8, "i8", 8},
      {WEFT_DTYPE_U8, "u8", 8},    {WEFT_DTYPE_I1, "i1", 8},
      {WEFT_DTYPE_I4, "i4", 4},
  };
  for (const Expected &e : expected) {
    EXPECT_STREQ(weftDTypeGetName(e.dtype), e.name);
    EXPECT_EQ(weftDTypeGetBitWidth(e.dtype), e.bits) << e.name;
    weftDType parsed;
    ASSERT_TRUE(weftDTypeFromName(e.name, &parsed)) << e.name;
    EXPECT_EQ(parsed, e.dtype);
  }
  weftDType parsed;
  EXPECT_FALSE(weftDTypeFromName("f8", &parsed));
  EXPECT_EQ(weftDTypeGetName(static_cast<weftDType>(99)), nullptr);
}

TEST(TensorTest, StatusBasics) {
  EXPECT_EQ(weftStatusGetCode(nullptr), WEFT_STATUS_OK);
  EXPECT_STREQ(weftStatusGetMessage(nullptr), "");
  weftStatusRelease(nullptr);
  EXPECT_STREQ(weftStatusCodeGetName(WEFT_STATUS_NOT_FOUND), "not found");
  EXPECT_STREQ(weftStatusCodeGetName(WEFT_STATUS_INTERNAL), "internal error");
}

} // namespace
