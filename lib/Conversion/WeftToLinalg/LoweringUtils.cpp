//===- LoweringUtils.cpp - helpers shared by weft lowerings ---------------===//

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

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
