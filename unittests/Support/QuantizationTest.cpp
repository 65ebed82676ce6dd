//===- QuantizationTest.cpp - the worked examples of Quantization.md ------===//

#include "weft/Support/Quantization.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mlir;
using namespace mlir::weft;

namespace {

QuantizedWeight quantize(ArrayRef<float> w, QuantizationScheme scheme) {
  llvm::Expected<QuantizedWeight> q =
      quantizeWeight(w, 1, static_cast<int64_t>(w.size()), scheme);
  EXPECT_TRUE(static_cast<bool>(q)) << llvm::toString(q.takeError());
  return std::move(*q);
}

TEST(QuantizationTest, SymmetricInt4RoundsTiesToEven) {
  QuantizedWeight q = quantize({0.7f, -1.4f, 0.1f, 0.35f}, {4, -1, true});
  EXPECT_EQ(q.values, (std::vector<int32_t>{4, -7, 0, 2}));
  EXPECT_FLOAT_EQ(q.scales[0], 1.4f / 7);
  EXPECT_TRUE(q.zeros.empty());
  std::vector<float> w = q.dequantize(4);
  EXPECT_FLOAT_EQ(w[0], 0.8f);
  EXPECT_FLOAT_EQ(w[1], -1.4f);
}

TEST(QuantizationTest, StoredF16ScaleDecidesRounding) {
  QuantizedWeight q =
      quantize({0.7f, -1.4f, 0.1f, 0.35f}, {4, -1, true, "F16"});
  EXPECT_EQ(q.values[2], 1);
  EXPECT_NE(q.scales[0], 1.4f / 7);
}

TEST(QuantizationTest, AsymmetricInt4) {
  QuantizedWeight q = quantize({-0.3f, 0.9f, 0.45f, 0.0f}, {4, -1, false});
  EXPECT_EQ(q.values, (std::vector<int32_t>{0, 15, 10, 4}));
  EXPECT_EQ(q.zeros, (std::vector<int32_t>{4}));
  EXPECT_FLOAT_EQ(q.scales[0], 1.2f / 15);
  EXPECT_EQ(q.dequantize(4)[3], 0.0f); // 0 stays exactly 0
}

TEST(QuantizationTest, ZeroGroupGetsScaleOne) {
  QuantizedWeight q = quantize({0, 0, 0, 0, 1, -2, 0.5f, 0}, {8, 4, true});
  EXPECT_EQ(q.scales[0], 1.0f);
  EXPECT_EQ(q.values[0], 0);
  EXPECT_EQ(q.values[5], -127);
}

TEST(QuantizationTest, ReportsNonFiniteScaleAndWeight) {
  llvm::Expected<QuantizedWeight> overflow =
      quantizeWeight({1e7f, 1.0f}, 1, 2, {8, -1, true, "F16"});
  ASSERT_FALSE(static_cast<bool>(overflow));
  EXPECT_EQ(llvm::toString(overflow.takeError()),
            "row 0, group 0: the scale is not finite in F16");
  llvm::Expected<QuantizedWeight> nan =
      quantizeWeight({NAN, 1.0f}, 1, 2, {8, -1, true});
  ASSERT_FALSE(static_cast<bool>(nan));
  EXPECT_EQ(llvm::toString(nan.takeError()),
            "row 0, group 0: the weight has a non-finite value");
}

TEST(QuantizationTest, PacksInt4LowNibbleFirst) {
  // Quantization.md: rows [-3, 5, 7, -8] and [0, -1, 2, 1] -> 5D 87 F0 12.
  std::string bytes = packIntegers({-3, 5, 7, -8, 0, -1, 2, 1}, 2, 4, 4);
  EXPECT_EQ(bytes, std::string("\x5D\x87\xF0\x12", 4));
  // An odd last dim pads with a zero high nibble: zeros [8, 3, 12].
  EXPECT_EQ(packIntegers({8, 3, 12}, 1, 3, 4), std::string("\x38\x0C", 2));
  EXPECT_EQ(packIntegers({-3, 200}, 1, 2, 8), std::string("\xFD\xC8", 2));
}

TEST(QuantizationTest, ErrorMeasures) {
  // W = [[3, 4]], dequantized [[3, 3]]: ||D|| = 1, ||W|| = 5.
  QuantizationError error =
      measureQuantizationError({3, 4}, {3, 3}, 1, 2, 16, /*seed=*/1);
  EXPECT_DOUBLE_EQ(error.weightRelError, 0.2);
  EXPECT_DOUBLE_EQ(error.outputErrorBound, 1.0);
  EXPECT_GT(error.outputRelError, 0.0);
}

TEST(QuantizationTest, NormalInputsAreReproducible) {
  std::vector<double> a = drawNormalInputs(1001, 7),
                      b = drawNormalInputs(1001, 7);
  EXPECT_EQ(a, b);
  double mean = 0, square = 0;
  for (double v : a) {
    mean += v / a.size();
    square += v * v / a.size();
  }
  EXPECT_NEAR(mean, 0.0, 0.15);
  EXPECT_NEAR(square, 1.0, 0.15);
}

} // namespace
