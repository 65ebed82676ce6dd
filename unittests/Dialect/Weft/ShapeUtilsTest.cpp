//===- ShapeUtilsTest.cpp - tests of weft's shape helpers -----------------===//

#include "weft/Dialect/Weft/IR/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

TEST(ShapeUtilsTest, BroadcastFollowsNumpy) {
  auto result = broadcastShapes({8, 1, 6, 1}, {7, 1, 5});
  ASSERT_TRUE(succeeded(result));
  EXPECT_EQ(*result, (SmallVector<int64_t>{8, 7, 6, 5}));

  result = broadcastShapes({4}, {});
  ASSERT_TRUE(succeeded(result));
  EXPECT_EQ(*result, (SmallVector<int64_t>{4}));

  EXPECT_TRUE(failed(broadcastShapes({3}, {4})));
  EXPECT_TRUE(failed(broadcastShapes({2, 3}, {4, 3})));
}

TEST(ShapeUtilsTest, BroadcastWithDynamicDims) {
  // A dynamic dim against 1 stays dynamic; against a static size > 1 it takes
  // that size (anything else would be a run-time error).
  auto result = broadcastShapes({kDyn, 1, kDyn}, {1, kDyn, 512});
  ASSERT_TRUE(succeeded(result));
  EXPECT_EQ(*result, (SmallVector<int64_t>{kDyn, kDyn, 512}));
  EXPECT_EQ(broadcastShapesOrDynamic({3}, {4}), (SmallVector<int64_t>{kDyn}));
}

TEST(ShapeUtilsTest, MergeAndCompatibleDims) {
  EXPECT_EQ(mergeDims(kDyn, 4), 4);
  EXPECT_EQ(mergeDims(4, kDyn), 4);
  EXPECT_EQ(mergeDims(4, 4), 4);
  EXPECT_EQ(mergeDims(4, 5), kDyn);
  EXPECT_TRUE(areDimsCompatible(kDyn, 3));
  EXPECT_TRUE(areDimsCompatible(3, 3));
  EXPECT_FALSE(areDimsCompatible(3, 4));
}

TEST(ShapeUtilsTest, CompatibleTensorTypes) {
  MLIRContext context;
  Builder b(&context);
  Type f32 = b.getF32Type(), f16 = b.getF16Type();
  Type dynamic = RankedTensorType::get({kDyn, 8}, f32);
  Type fixed = RankedTensorType::get({4, 8}, f32);
  Type other = RankedTensorType::get({4, 9}, f32);
  Type half = RankedTensorType::get({4, 8}, f16);
  EXPECT_TRUE(areCompatibleTensorTypes({dynamic}, {fixed}));
  EXPECT_FALSE(areCompatibleTensorTypes({fixed}, {other}));
  EXPECT_FALSE(areCompatibleTensorTypes({fixed}, {half}));
  EXPECT_FALSE(areCompatibleTensorTypes({fixed}, {fixed, fixed}));
}

TEST(ShapeUtilsTest, FormatsShapes) {
  EXPECT_EQ(formatShape({2, kDyn, 64}), "[2, ?, 64]");
  EXPECT_EQ(formatShape({}), "[]");
  EXPECT_EQ(formatDim(kDyn), "?");
}

} // namespace
