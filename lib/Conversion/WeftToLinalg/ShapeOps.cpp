//===- ShapeOps.cpp - gather, reshape and layout weft ops to linalg -------===//
//
// embedding, reshape, transpose, concat, slice and cast. Data movement goes
// through tensor ops (expand/collapse_shape, concat, extract_slice) and
// linalg.transpose so that bufferization can alias instead of copying;
// gathers and element conversions are linalg.generic.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

/// weft.embedding -> linalg.generic over the result that reads the table row
/// of each id with tensor.extract.
struct EmbeddingOpLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    Value table = adaptor.getTable(), ids = adaptor.getIds();
    int64_t rank = resultType.getRank();
    Value init = createEmptyTensorWithSizes(
        rewriter, loc, resultType, [&](int64_t d) -> Value {
          if (d == rank - 1)
            return tensor::DimOp::create(rewriter, loc, table, 1);
          return tensor::DimOp::create(rewriter, loc, ids, d);
        });
    MLIRContext *context = op.getContext();
    // ids are read at the leading dims (none for rank-0 ids).
    SmallVector<AffineExpr> idExprs;
    for (int64_t d = 0; d < rank - 1; ++d)
      idExprs.push_back(getAffineDimExpr(d, context));
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank, 0, idExprs, context),
        AffineMap::getMultiDimIdentityMap(rank, context)};
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, ids, init, maps, parallelIterators(rank),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          // Precondition 0 <= id < V: no bounds check (docs/Spec.md).
          Value row =
              arith::IndexCastOp::create(b, loc, b.getIndexType(), args[0]);
          Value col = linalg::IndexOp::create(b, loc, rank - 1);
          Value value =
              tensor::ExtractOp::create(b, loc, table, ValueRange{row, col});
          linalg::YieldOp::create(b, loc, value);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// weft.reshape -> tensor.collapse_shape of the static trailing dims into one
/// dim, then tensor.expand_shape into the result's trailing dims; the dynamic
/// prefix (docs/Spec.md) is passed through unchanged.
struct ReshapeOpLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inputType = cast<RankedTensorType>(input.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    if (inputType == resultType) {
      rewriter.replaceOp(op, input);
      return success();
    }
    // The verifier guarantees a common dynamic prefix of length n; only the
    // static trailing dims of each side are regrouped.
    int64_t n = llvm::count_if(inputType.getShape(), ShapedType::isDynamic);
    int64_t inRank = inputType.getRank(), outRank = resultType.getRank();
    int64_t total = 1;
    for (int64_t d = n; d < inRank; ++d)
      total *= inputType.getDimSize(d);

    // Middle form: the prefix followed by one dim holding the trailing
    // elements. When a side has no trailing dims (the other side's are all 1),
    // the middle form is the prefix alone and the 1s join the last prefix dim
    // (or the empty group list of a rank-0 tensor).
    SmallVector<int64_t> middleShape(inputType.getShape().take_front(n));
    bool hasMiddleTail = inRank > n && outRank > n;
    if (hasMiddleTail)
      middleShape.push_back(total);
    auto middleType = inputType.clone(middleShape);

    // Groups mapping `rank` dims onto the middle form.
    auto reassociation = [&](int64_t rank) {
      SmallVector<ReassociationIndices> groups;
      for (int64_t d = 0; d < n; ++d)
        groups.push_back({d});
      if (rank == n)
        return groups;
      if (hasMiddleTail) {
        groups.emplace_back();
      } else if (groups.empty()) {
        // Rank-0 middle form: the group list stays empty.
        return groups;
      }
      for (int64_t d = n; d < rank; ++d)
        groups.back().push_back(d);
      return groups;
    };

    Value middle = input;
    if (middleType != inputType)
      middle = tensor::CollapseShapeOp::create(rewriter, loc, middleType, input,
                                               reassociation(inRank));
    Value result = middle;
    if (middleType != resultType) {
      SmallVector<OpFoldResult> outputShape;
      for (int64_t d = 0; d < outRank; ++d) {
        if (d < n)
          outputShape.push_back(
              tensor::DimOp::create(rewriter, loc, input, d).getResult());
        else
          outputShape.push_back(
              rewriter.getIndexAttr(resultType.getDimSize(d)));
      }
      result =
          tensor::ExpandShapeOp::create(rewriter, loc, resultType, middle,
                                        reassociation(outRank), outputShape);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// weft.transpose -> linalg.transpose (same permutation convention).
struct TransposeOpLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto resultType = cast<RankedTensorType>(op.getType());
    ArrayRef<int64_t> permutation = op.getPermutation();
    Value init = createEmptyTensorWithSizes(
        rewriter, loc, resultType, [&](int64_t d) -> Value {
          return tensor::DimOp::create(rewriter, loc, input, permutation[d]);
        });
    auto transpose =
        linalg::TransposeOp::create(rewriter, loc, input, init, permutation);
    rewriter.replaceOp(op, transpose.getResults());
    return success();
  }
};

/// weft.concat -> tensor.concat (bufferizes to an allocation and one copy per
/// input).
struct ConcatOpLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    ValueRange inputs = adaptor.getInputs();
    Value result;
    if (inputs.size() == 1)
      result = inputs.front();
    else
      result = tensor::ConcatOp::create(rewriter, loc, op.getAxis(), inputs);
    // The written result type may be more static than tensor.concat infers.
    if (result.getType() != resultType)
      result = tensor::CastOp::create(rewriter, loc, resultType, result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// weft.slice -> tensor.extract_slice with the step as the stride of the
/// sliced dim.
struct SliceOpLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = resultType.getRank(), axis = op.getAxis();
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes;
    for (int64_t d = 0; d < rank; ++d) {
      // The result type carries the static count of the sliced dim, and may
      // be more static than the input elsewhere.
      if (!resultType.isDynamicDim(d))
        sizes.push_back(rewriter.getIndexAttr(resultType.getDimSize(d)));
      else
        sizes.push_back(
            tensor::DimOp::create(rewriter, loc, input, d).getResult());
    }
    offsets[axis] = rewriter.getIndexAttr(op.getStart());
    strides[axis] = rewriter.getIndexAttr(op.getStep());
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
        op, resultType, input, offsets, sizes, strides);
    return success();
  }
};

/// Converts the scalar `value` to `type` following the table of weft.cast.
Value convertScalar(OpBuilder &b, Location loc, Value value, Type type) {
  Type from = value.getType();
  if (from == type)
    return value;
  auto fromInt = dyn_cast<IntegerType>(from);
  auto toInt = dyn_cast<IntegerType>(type);
  if (!fromInt && !toInt) {
    // f16 <-> bf16 goes through f32; f32 is exact for both.
    Value wide = extendToF32(b, loc, value);
    if (type.isF32())
      return wide;
    return arith::TruncFOp::create(b, loc, type, wide);
  }
  if (!fromInt) {
    // Truncate toward zero into i32 or wider, then keep the low bits of a
    // narrower result (i1, i4, i8) as an integer truncation does.
    unsigned width = toInt.getWidth();
    if (width >= 32)
      return arith::FPToSIOp::create(b, loc, type, value);
    Value wide = arith::FPToSIOp::create(b, loc, b.getI32Type(), value);
    return arith::TruncIOp::create(b, loc, type, wide);
  }
  // i1 is read as 0/1, every other integer as signed.
  bool isBool = fromInt.getWidth() == 1;
  if (!toInt) {
    if (isBool)
      return arith::UIToFPOp::create(b, loc, type, value);
    return arith::SIToFPOp::create(b, loc, type, value);
  }
  if (toInt.getWidth() < fromInt.getWidth())
    return arith::TruncIOp::create(b, loc, type, value);
  if (isBool)
    return arith::ExtUIOp::create(b, loc, type, value);
  return arith::ExtSIOp::create(b, loc, type, value);
}

/// weft.cast -> elementwise linalg.generic with one arith conversion (two for
/// f16 <-> bf16 and float -> narrow integer).
struct CastOpLowering : OpConversionPattern<CastOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto resultType = cast<RankedTensorType>(op.getType());
    if (input.getType() == resultType) {
      rewriter.replaceOp(op, input);
      return success();
    }
    int64_t rank = resultType.getRank();
    Value init = createEmptyTensor(rewriter, loc, resultType, input);
    SmallVector<AffineMap> maps(2, rewriter.getMultiDimIdentityMap(rank));
    Type elementType = resultType.getElementType();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, input, init, maps, parallelIterators(rank),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          linalg::YieldOp::create(b, loc,
                                  convertScalar(b, loc, args[0], elementType));
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

void weft::populateShapeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<EmbeddingOpLowering, ReshapeOpLowering, TransposeOpLowering,
               ConcatOpLowering, SliceOpLowering, CastOpLowering>(
      patterns.getContext());
}
