//===- LoweringUtils.cpp - helpers shared by weft lowerings ---------------===//

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;

SmallVector<Value> weft::getDynamicSizes(OpBuilder &b, Location loc,
                                         RankedTensorType type,
                                         ValueRange sources) {
  SmallVector<Value> sizes;
  int64_t rank = type.getRank();
  for (int64_t d = 0; d < rank; ++d) {
    if (!type.isDynamicDim(d))
      continue;
    Value size;
    for (Value source : sources) {
      auto sourceType = cast<RankedTensorType>(source.getType());
      int64_t sd = d - (rank - sourceType.getRank());
      if (sd < 0 || sourceType.getDimSize(sd) == 1)
        continue;
      size = tensor::DimOp::create(b, loc, source, sd);
      break;
    }
    assert(size && "no source for a dynamic dim");
    sizes.push_back(size);
  }
  return sizes;
}

Value weft::createEmptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                              ValueRange sources) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                 getDynamicSizes(b, loc, type, sources));
}

Value weft::createFilledTensor(OpBuilder &b, Location loc,
                               RankedTensorType type, ValueRange sources,
                               TypedAttr value) {
  Value empty = createEmptyTensor(b, loc, type, sources);
  Value scalar = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, scalar, empty).getResult(0);
}

AffineMap weft::getBroadcastMap(RankedTensorType operandType,
                                ArrayRef<int64_t> resultShape,
                                MLIRContext *context) {
  int64_t resultRank = resultShape.size();
  int64_t offset = resultRank - operandType.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < operandType.getRank(); ++i) {
    if (operandType.getDimSize(i) == 1 && resultShape[offset + i] != 1)
      exprs.push_back(getAffineConstantExpr(0, context));
    else
      exprs.push_back(getAffineDimExpr(offset + i, context));
  }
  return AffineMap::get(resultRank, 0, exprs, context);
}

Value weft::extendToF32(OpBuilder &b, Location loc, Value value) {
  Type type = value.getType();
  if (type.isF16() || type.isBF16())
    return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
  return value;
}

Value weft::truncateFromF32(OpBuilder &b, Location loc, Value value,
                            Type type) {
  if (value.getType() == type)
    return value;
  return arith::TruncFOp::create(b, loc, type, value);
}

RankedTensorType weft::withF32Elements(RankedTensorType type) {
  return type.clone(Float32Type::get(type.getContext()));
}

SmallVector<utils::IteratorType> weft::parallelIterators(int64_t n) {
  return SmallVector<utils::IteratorType>(n, utils::IteratorType::parallel);
}

static Value f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value weft::buildSigmoid(OpBuilder &b, Location loc, Value x) {
  Value negExp = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  Value one = f32Constant(b, loc, 1.0);
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, negExp));
}

Value weft::buildActivation(OpBuilder &b, Location loc, Activation activation,
                            Value x) {
  switch (activation) {
  case Activation::none:
    return x;
  case Activation::silu:
    return arith::MulFOp::create(b, loc, x, buildSigmoid(b, loc, x));
  case Activation::relu:
    return arith::MaximumFOp::create(b, loc, x, f32Constant(b, loc, 0.0));
  case Activation::gelu:
  case Activation::gelu_tanh: {
    Value half = arith::MulFOp::create(b, loc, f32Constant(b, loc, 0.5), x);
    Value inner;
    if (activation == Activation::gelu_tanh) {
      Value cube =
          arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
      Value poly = arith::AddFOp::create(
          b, loc, x,
          arith::MulFOp::create(b, loc, f32Constant(b, loc, 0.044715), cube));
      inner = math::TanhOp::create(
          b, loc,
          arith::MulFOp::create(
              b, loc, f32Constant(b, loc, std::sqrt(2.0 / M_PI)), poly));
    } else {
      inner = math::ErfOp::create(
          b, loc,
          arith::MulFOp::create(b, loc, x, f32Constant(b, loc, M_SQRT1_2)));
    }
    return arith::MulFOp::create(
        b, loc, half,
        arith::AddFOp::create(b, loc, f32Constant(b, loc, 1.0), inner));
  }
  }
  llvm_unreachable("unknown activation");
}

Value weft::createEmptyTensorWithSizes(
    OpBuilder &b, Location loc, RankedTensorType type,
    function_ref<Value(int64_t)> dynamicSize) {
  SmallVector<Value> sizes;
  for (int64_t d = 0, e = type.getRank(); d < e; ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(dynamicSize(d));
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                 sizes);
}

Value weft::createF32AccumulatorWithSizes(
    OpBuilder &b, Location loc, RankedTensorType type, double value,
    function_ref<Value(int64_t)> dynamicSize) {
  Value empty =
      createEmptyTensorWithSizes(b, loc, withF32Elements(type), dynamicSize);
  return linalg::FillOp::create(b, loc, f32Constant(b, loc, value), empty)
      .getResult(0);
}

Value weft::createDimAsF32(OpBuilder &b, Location loc, Value tensor,
                           int64_t dim) {
  int64_t staticSize = cast<RankedTensorType>(tensor.getType()).getDimSize(dim);
  if (!ShapedType::isDynamic(staticSize))
    return f32Constant(b, loc, static_cast<double>(staticSize));
  Value size = tensor::DimOp::create(b, loc, tensor, dim);
  Value asInt = arith::IndexCastUIOp::create(b, loc, b.getI64Type(), size);
  return arith::UIToFPOp::create(b, loc, b.getF32Type(), asInt);
}

OpFoldResult weft::getSharedSize(OpBuilder &b, Location loc,
                                 ArrayRef<std::pair<Value, int64_t>> sources,
                                 ArrayRef<int64_t> staticHints) {
  assert(!sources.empty() && "no source for a shared dim");
  for (int64_t hint : staticHints)
    if (!ShapedType::isDynamic(hint))
      return b.getIndexAttr(hint);
  for (auto [source, dim] : sources) {
    int64_t size = cast<RankedTensorType>(source.getType()).getDimSize(dim);
    if (!ShapedType::isDynamic(size))
      return b.getIndexAttr(size);
  }
  return tensor::DimOp::create(b, loc, sources.front().first,
                               sources.front().second)
      .getResult();
}

Value weft::getIndexValue(OpBuilder &b, Location loc, OpFoldResult size) {
  if (auto value = dyn_cast<Value>(size))
    return value;
  return arith::ConstantIndexOp::create(
      b, loc, cast<IntegerAttr>(cast<Attribute>(size)).getInt());
}

Value weft::createFilledF32Tensor(OpBuilder &b, Location loc,
                                  ArrayRef<OpFoldResult> sizes, double value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  return linalg::FillOp::create(b, loc, f32Constant(b, loc, value), empty)
      .getResult(0);
}

Value weft::castToType(OpBuilder &b, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  return tensor::CastOp::create(b, loc, type, value);
}

Value weft::buildGenericOp(
    OpBuilder &b, Location loc, ValueRange inputs, Value init,
    ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  return linalg::GenericOp::create(
             b, loc, init.getType(), inputs, init, maps, iterators,
             [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               linalg::YieldOp::create(nested, nestedLoc,
                                       body(nested, nestedLoc, args));
             })
      .getResult(0);
}

Value weft::f32Const(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value weft::extractBlock(OpBuilder &b, Location loc, Value source,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes,
                         ArrayRef<int64_t> keptDims) {
  SmallVector<int64_t> shape;
  for (int64_t dim : keptDims)
    shape.push_back(
        getConstantIntValue(sizes[dim]).value_or(ShapedType::kDynamic));
  auto type = RankedTensorType::get(
      shape, cast<RankedTensorType>(source.getType()).getElementType());
  SmallVector<OpFoldResult> strides(sizes.size(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, source, offsets, sizes,
                                        strides);
}
