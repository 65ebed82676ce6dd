//===- OpBuildersTest.cpp - building weft ops from C++ --------------------===//
//
// Ops are built without result types (inferred from operands and attributes),
// as passes and importers do, and must verify.
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

class OpBuildersTest : public ::testing::Test {
protected:
  OpBuildersTest() : builder(&context) {
    context.loadDialect<WeftDialect, func::FuncDialect>();
    module = ModuleOp::create(builder.getUnknownLoc());
    builder.setInsertionPointToEnd(module->getBody());
  }

  /// Creates a function with arguments of `types` and returns its arguments;
  /// ops are then built into its body.
  ValueRange makeArgs(ArrayRef<Type> types) {
    auto func = func::FuncOp::create(builder, builder.getUnknownLoc(), "f",
                                     builder.getFunctionType(types, {}));
    Block *body = func.addEntryBlock();
    builder.setInsertionPointToEnd(body);
    return body->getArguments();
  }

  RankedTensorType tensor(ArrayRef<int64_t> shape, Type elementType = {}) {
    return RankedTensorType::get(shape, elementType ? elementType
                                                    : builder.getF32Type());
  }

  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
};

TEST_F(OpBuildersTest, AttentionInfersGqaOutputAndLse) {
  ValueRange args =
      makeArgs({tensor({2, kDyn, 8, 64}), tensor({2, kDyn, 2, 64}),
                tensor({2, kDyn, 2, 32})});
  auto op = AttentionOp::create(builder, builder.getUnknownLoc(), args[0],
                                args[1], args[2], /*mask=*/Value(),
                                /*kv_len=*/Value(), /*scale=*/nullptr,
                                /*causal=*/true, /*window=*/nullptr,
                                /*softcap=*/nullptr, /*return_lse=*/true);
  EXPECT_EQ(op.getOutput().getType(), tensor({2, kDyn, 8, 32}));
  ASSERT_TRUE(op.getLse());
  EXPECT_EQ(op.getLse().getType(), tensor({2, 8, kDyn}));
  EXPECT_EQ(op.getGroupSize(), 4);
  EXPECT_DOUBLE_EQ(op.getEffectiveScale(), 0.125);
  EXPECT_TRUE(succeeded(verify(op)));
}

TEST_F(OpBuildersTest, LinearInfersOutFeatures) {
  ValueRange args = makeArgs({tensor({kDyn, kDyn, 512}), tensor({1024, 512})});
  auto op = LinearOp::create(builder, builder.getUnknownLoc(), args[0], args[1],
                             Value(), Value(), Activation::silu);
  EXPECT_EQ(op.getType(), tensor({kDyn, kDyn, 1024}));
  EXPECT_TRUE(succeeded(verify(op)));
}

TEST_F(OpBuildersTest, LinearWithLoraOperands) {
  Type i32 = builder.getI32Type();
  ValueRange args = makeArgs({tensor({kDyn, kDyn, 512}), tensor({1024, 512}),
                              tensor({4, 8, 512}), tensor({4, 1024, 8}),
                              tensor({kDyn}, i32)});
  auto op = LinearOp::create(builder, builder.getUnknownLoc(), args[0], args[1],
                             Value(), Value(), args[2], args[3], args[4],
                             ActivationAttr::get(&context, Activation::none),
                             builder.getF32FloatAttr(2.0));
  EXPECT_EQ(op.getType(), tensor({kDyn, kDyn, 1024}));
  EXPECT_TRUE(op.hasLora());
  EXPECT_DOUBLE_EQ(op.getEffectiveLoraScale(), 2.0);
  EXPECT_TRUE(succeeded(verify(op)));
}

TEST_F(OpBuildersTest, GatedLinearInfersOutFeatures) {
  ValueRange args =
      makeArgs({tensor({kDyn, 512}), tensor({1408, 512}), tensor({1408, 512})});
  auto op = GatedLinearOp::create(builder, builder.getUnknownLoc(), args[0],
                                  args[1], args[2], Activation::silu);
  EXPECT_EQ(op.getType(), tensor({kDyn, 1408}));
  EXPECT_TRUE(succeeded(verify(op)));
}

TEST_F(OpBuildersTest, QLinearDerivesBitsGroupsAndSymmetry) {
  Type i4 = builder.getIntegerType(4);
  ValueRange args = makeArgs({tensor({kDyn, 512}), tensor({256, 512}, i4),
                              tensor({256, 4}), tensor({256, 4}, i4)});
  auto op = QLinearOp::create(builder, builder.getUnknownLoc(), args[0],
                              args[1], args[2], args[3], Value(), Value(),
                              /*group_size=*/128, Activation::none);
  EXPECT_EQ(op.getType(), tensor({kDyn, 256}));
  EXPECT_EQ(op.getBits(), 4u);
  EXPECT_EQ(op.getNumGroups(), 4);
  EXPECT_FALSE(op.isSymmetric());
  EXPECT_TRUE(succeeded(verify(op)));
}

TEST_F(OpBuildersTest, SsmScanStateIsF32) {
  Type bf16 = builder.getBF16Type();
  ValueRange args = makeArgs(
      {tensor({1, kDyn, 8, 16}, bf16), tensor({1, kDyn, 8}, bf16), tensor({8}),
       tensor({1, kDyn, 2, 32}, bf16), tensor({1, kDyn, 2, 32}, bf16)});
  auto op = SsmScanOp::create(builder, builder.getUnknownLoc(), args[0],
                              args[1], args[2], args[3], args[4], Value(),
                              Value(), Value(), Value(), /*dt_softplus=*/true,
                              /*dt_limit=*/nullptr);
  EXPECT_EQ(op.getY().getType(), tensor({1, kDyn, 8, 16}, bf16));
  EXPECT_EQ(op.getFinalState().getType(), tensor({1, 8, 16, 32}));
  EXPECT_TRUE(op.hasScalarA());
  EXPECT_TRUE(succeeded(verify(op)));
}

TEST_F(OpBuildersTest, MultiAdapterLora) {
  ValueRange args =
      makeArgs({tensor({kDyn, kDyn, 64}), tensor({3, 8, 64}),
                tensor({3, 32, 8}), tensor({kDyn}, builder.getI32Type())});
  auto op = LoraOp::create(builder, builder.getUnknownLoc(), args[0], args[1],
                           args[2], args[3], builder.getF32FloatAttr(0.5f));
  EXPECT_EQ(op.getType(), tensor({kDyn, kDyn, 32}));
  EXPECT_TRUE(op.isMultiAdapter());
  EXPECT_EQ(op.getRank(), 8);
  EXPECT_TRUE(succeeded(verify(op)));
}

TEST_F(OpBuildersTest, InvalidOpFailsVerification) {
  // k and v disagree on the number of heads: building succeeds (inference is
  // total) and the verifier rejects the op.
  ValueRange args = makeArgs(
      {tensor({1, 4, 8, 64}), tensor({1, 4, 2, 64}), tensor({1, 4, 4, 64})});
  auto op = AttentionOp::create(builder, builder.getUnknownLoc(), args[0],
                                args[1], args[2], Value(), Value(), nullptr,
                                false, nullptr, nullptr, false);
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_TRUE(failed(verify(op)));
  EXPECT_EQ(message,
            "'weft.attention' op expects k and v to have the same number of "
            "heads, got 2 and 4");
}

TEST_F(OpBuildersTest, BroadcastingAddInfersShape) {
  ValueRange args = makeArgs({tensor({kDyn, 1, 64}), tensor({7, 1})});
  auto op = AddOp::create(builder, builder.getUnknownLoc(), args[0], args[1]);
  EXPECT_EQ(op.getType(), tensor({kDyn, 7, 64}));
  EXPECT_TRUE(succeeded(verify(op)));
}

} // namespace
