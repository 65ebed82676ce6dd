//===- GraphOps.cpp - weft graph ops --------------------------------------===//
//
// Verifiers, result type inference and folders of the graph ops. Inference is
// total on ranked tensors (conflicts become dynamic dims): builders call it on
// operands nobody has verified yet, and the verifier names the exact problem.
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/ShapeUtils.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/Support/MathExtras.h"

#include <limits>

using namespace mlir;
using namespace mlir::weft;

static RankedTensorType getTensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// True when `attr` is a splat of `value` (float or integer).
static bool isSplatOf(Attribute attr, double value) {
  auto splat = dyn_cast_if_present<SplatElementsAttr>(attr);
  if (!splat)
    return false;
  Type elementType = splat.getElementType();
  if (isa<FloatType>(elementType))
    return splat.getSplatValue<APFloat>().convertToDouble() == value;
  if (isa<IntegerType>(elementType))
    return splat.getSplatValue<APInt>().getSExtValue() ==
           static_cast<int64_t>(value);
  return false;
}

//===----------------------------------------------------------------------===//
// ParamOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("expects a non-empty parameter name");
  RankedTensorType type = getType();
  if (!type.hasStaticShape())
    return emitOpError("expects a static shape, got ") << type;
  // int4 archives pack two values per byte along the last dim (an odd last
  // dim ends each row in a padding nibble).
  if (type.getElementType().isInteger(4) && type.getRank() == 0)
    return emitOpError("expects an i4 parameter to have rank >= 1, got ")
           << type;
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  RankedTensorType table = getTensorType(adaptor.getTable());
  SmallVector<int64_t> shape(getShape(adaptor.getIds()));
  shape.push_back(table.getDimSize(1));
  results.push_back(RankedTensorType::get(shape, table.getElementType()));
  return success();
}

LogicalResult EmbeddingOp::verify() { return success(); }

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

namespace {
/// The [M, K] x [K, N] view of a matmul's operands after the transpose flags.
struct MatmulDims {
  ArrayRef<int64_t> lhsBatch, rhsBatch;
  int64_t m, lhsK, rhsK, n;
};
} // namespace

static MatmulDims getMatmulDims(Value lhs, Value rhs, bool transposeLhs,
                                bool transposeRhs) {
  ArrayRef<int64_t> l = getShape(lhs), r = getShape(rhs);
  MatmulDims dims;
  // Ranks below 2 are rejected by the verifier; keep inference total.
  auto at = [](ArrayRef<int64_t> s, int64_t fromEnd) {
    return static_cast<int64_t>(s.size()) >= fromEnd ? s[s.size() - fromEnd]
                                                     : ShapedType::kDynamic;
  };
  dims.lhsBatch = l.drop_back(std::min<size_t>(2, l.size()));
  dims.rhsBatch = r.drop_back(std::min<size_t>(2, r.size()));
  dims.m = transposeLhs ? at(l, 1) : at(l, 2);
  dims.lhsK = transposeLhs ? at(l, 2) : at(l, 1);
  dims.rhsK = transposeRhs ? at(r, 1) : at(r, 2);
  dims.n = transposeRhs ? at(r, 2) : at(r, 1);
  return dims;
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  MatmulDims dims =
      getMatmulDims(adaptor.getLhs(), adaptor.getRhs(),
                    adaptor.getTransposeLhs(), adaptor.getTransposeRhs());
  SmallVector<int64_t> shape =
      broadcastShapesOrDynamic(dims.lhsBatch, dims.rhsBatch);
  shape.push_back(dims.m);
  shape.push_back(dims.n);
  results.push_back(
      RankedTensorType::get(shape, getElementType(adaptor.getLhs())));
  return success();
}

LogicalResult MatmulOp::verify() {
  if (getLhs().getType().getRank() < 2 || getRhs().getType().getRank() < 2)
    return emitOpError("expects lhs and rhs to have rank >= 2, got ")
           << getLhs().getType().getRank() << " and "
           << getRhs().getType().getRank();
  if (failed(verifyElementType(*this, getRhs(), "rhs", getElementType(getLhs()),
                               "lhs")))
    return failure();
  MatmulDims dims =
      getMatmulDims(getLhs(), getRhs(), getTransposeLhs(), getTransposeRhs());
  if (failed(verifyCompatibleDims(*this, dims.lhsK, dims.rhsK,
                                  "the contraction dims of lhs and rhs to "
                                  "match")))
    return failure();
  if (failed(broadcastShapes(dims.lhsBatch, dims.rhsBatch)))
    return emitOpError("expects broadcast-compatible batch dims, got ")
           << formatShape(dims.lhsBatch) << " and "
           << formatShape(dims.rhsBatch);
  return success();
}

//===----------------------------------------------------------------------===//
// Binary elementwise ops
//===----------------------------------------------------------------------===//

template <typename OpTy>
static LogicalResult inferBinaryOp(typename OpTy::Adaptor adaptor,
                                   SmallVectorImpl<Type> &results) {
  SmallVector<int64_t> shape = broadcastShapesOrDynamic(
      getShape(adaptor.getLhs()), getShape(adaptor.getRhs()));
  results.push_back(
      RankedTensorType::get(shape, getElementType(adaptor.getLhs())));
  return success();
}

static LogicalResult verifyBinaryOp(Operation *op) {
  ArrayRef<int64_t> lhs = getShape(op->getOperand(0));
  ArrayRef<int64_t> rhs = getShape(op->getOperand(1));
  if (failed(broadcastShapes(lhs, rhs)))
    return op->emitOpError("expects broadcast-compatible shapes, got ")
           << formatShape(lhs) << " and " << formatShape(rhs);
  return success();
}

/// Folds `x op c` to `x` when `c` is a splat of the identity and broadcasting
/// does not change x's type.
static OpFoldResult foldRightIdentity(Operation *op, Attribute rhs,
                                      double identity) {
  Value lhs = op->getOperand(0);
  if (isSplatOf(rhs, identity) && lhs.getType() == op->getResult(0).getType())
    return lhs;
  return {};
}

#define WEFT_BINARY_OP(OP, IDENTITY)                                           \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,   \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {         \
    return inferBinaryOp<OP>(adaptor, results);                                \
  }                                                                            \
  LogicalResult OP::verify() { return verifyBinaryOp(*this); }                 \
  OpFoldResult OP::fold(FoldAdaptor adaptor) {                                 \
    return foldRightIdentity(*this, adaptor.getRhs(), IDENTITY);               \
  }

WEFT_BINARY_OP(AddOp, 0.0)
WEFT_BINARY_OP(SubOp, 0.0)
WEFT_BINARY_OP(MulOp, 1.0)
WEFT_BINARY_OP(DivOp, 1.0)

#undef WEFT_BINARY_OP

//===----------------------------------------------------------------------===//
// NegOp
//===----------------------------------------------------------------------===//

OpFoldResult NegOp::fold(FoldAdaptor) {
  if (auto inner = getInput().getDefiningOp<NegOp>())
    return inner.getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// SoftmaxOp, ReduceOp, ArgmaxOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank());
}

/// Drops (or sets to 1 with `keepDims`) the reduced dims of `shape`.
static SmallVector<int64_t> reduceShape(ArrayRef<int64_t> shape,
                                        ArrayRef<int64_t> axes, bool keepDims) {
  llvm::SmallBitVector reduced(shape.size());
  for (int64_t axis : axes)
    if (axis >= 0 && axis < static_cast<int64_t>(shape.size()))
      reduced.set(axis);
  SmallVector<int64_t> result;
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (!reduced.test(i))
      result.push_back(dim);
    else if (keepDims)
      result.push_back(1);
  }
  return result;
}

LogicalResult ReduceOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  results.push_back(RankedTensorType::get(
      reduceShape(getShape(adaptor.getInput()), adaptor.getAxes(),
                  adaptor.getKeepDims()),
      getElementType(adaptor.getInput())));
  return success();
}

LogicalResult ReduceOp::verify() {
  ArrayRef<int64_t> axes = getAxes();
  int64_t rank = getInput().getType().getRank();
  bool valid = !axes.empty() && llvm::all_of(axes, [&](int64_t a) {
    return a >= 0 && a < rank;
  });
  for (size_t i = 1; valid && i < axes.size(); ++i)
    valid = axes[i - 1] < axes[i];
  if (!valid)
    return emitOpError("expects axes to be non-empty, sorted, unique and in "
                       "[0, ")
           << rank << "), got " << formatShape(axes);
  return success();
}

LogicalResult ArgmaxOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  int64_t axis = adaptor.getAxis();
  results.push_back(RankedTensorType::get(
      reduceShape(getShape(adaptor.getInput()), {axis}, adaptor.getKeepDims()),
      IntegerType::get(context, 64)));
  return success();
}

LogicalResult ArgmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getInput().getType().getRank());
}

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType resultType = getType();
  if (inputType.getElementType() != resultType.getElementType())
    return emitOpError("expects the result to have the element type of the "
                       "input (")
           << inputType.getElementType() << "), got "
           << resultType.getElementType();
  // Dynamic dims must form the same leading prefix of both shapes.
  auto dynamicPrefix = [](ArrayRef<int64_t> shape) -> std::optional<size_t> {
    size_t prefix = 0;
    while (prefix < shape.size() && ShapedType::isDynamic(shape[prefix]))
      ++prefix;
    if (llvm::any_of(shape.drop_front(prefix), ShapedType::isDynamic))
      return std::nullopt;
    return prefix;
  };
  std::optional<size_t> inPrefix = dynamicPrefix(inputType.getShape());
  std::optional<size_t> outPrefix = dynamicPrefix(resultType.getShape());
  if (!inPrefix || !outPrefix || *inPrefix != *outPrefix)
    return emitOpError("expects dynamic dims only as a common leading prefix "
                       "of input and result, got ")
           << formatShape(inputType.getShape()) << " and "
           << formatShape(resultType.getShape());
  int64_t inElements =
      ShapedType::getNumElements(inputType.getShape().drop_front(*inPrefix));
  int64_t outElements =
      ShapedType::getNumElements(resultType.getShape().drop_front(*outPrefix));
  if (inElements != outElements)
    return emitOpError("expects the static dims of input and result to hold "
                       "the same number of elements, got ")
           << inElements << " and " << outElements;
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // reshape(reshape(x)) -> reshape(x): both steps keep the dynamic prefix.
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  ArrayRef<int64_t> input = getShape(adaptor.getInput());
  SmallVector<int64_t> shape;
  for (int64_t p : adaptor.getPermutation())
    shape.push_back(p >= 0 && p < static_cast<int64_t>(input.size())
                        ? input[p]
                        : ShapedType::kDynamic);
  results.push_back(
      RankedTensorType::get(shape, getElementType(adaptor.getInput())));
  return success();
}

LogicalResult TransposeOp::verify() {
  ArrayRef<int64_t> perm = getPermutation();
  int64_t rank = getInput().getType().getRank();
  llvm::SmallBitVector seen(rank);
  bool valid = static_cast<int64_t>(perm.size()) == rank;
  for (int64_t p : perm) {
    if (!valid || p < 0 || p >= rank || seen.test(p)) {
      valid = false;
      break;
    }
    seen.set(p);
  }
  if (!valid)
    return emitOpError("expects permutation to be a permutation of [0, ")
           << rank << "), got " << formatShape(perm);
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return getInput();
  // transpose(transpose(x, inner), outer) -> transpose(x, inner o outer).
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(inner.getPermutation()[p]);
    getInputMutable().assign(inner.getInput());
    setPermutation(composed);
    return getResult();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// ConcatOp
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return failure();
  int64_t axis = adaptor.getAxis();
  SmallVector<int64_t> shape(getShape(inputs.front()));
  for (Value input : inputs.drop_front()) {
    ArrayRef<int64_t> other = getShape(input);
    for (size_t d = 0; d < shape.size() && d < other.size(); ++d) {
      if (static_cast<int64_t>(d) != axis)
        shape[d] = mergeDims(shape[d], other[d]);
      else if (ShapedType::isDynamic(shape[d]) ||
               ShapedType::isDynamic(other[d]) ||
               llvm::AddOverflow(shape[d], other[d], shape[d]))
        shape[d] = ShapedType::kDynamic;
    }
  }
  results.push_back(
      RankedTensorType::get(shape, getElementType(inputs.front())));
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("expects at least one input");
  int64_t rank = getTensorType(getInputs().front()).getRank();
  int64_t axis = getAxis();
  if (failed(verifyAxis(*this, axis, rank)))
    return failure();
  ArrayRef<int64_t> first = getShape(getInputs().front());
  // Sum of the static sizes along `axis`; it must not overflow.
  int64_t axisSize = ShapedType::isDynamic(first[axis]) ? 0 : first[axis];
  for (auto [i, input] : llvm::enumerate(getInputs().drop_front())) {
    ArrayRef<int64_t> shape = getShape(input);
    if (static_cast<int64_t>(shape.size()) != rank)
      return emitOpError("expects all inputs to have rank ")
             << rank << ", got " << shape.size() << " for input " << i + 1;
    if (!ShapedType::isDynamic(shape[axis]) &&
        llvm::AddOverflow(axisSize, shape[axis], axisSize))
      return emitOpError("expects the static sizes of dim ")
             << axis << " to sum to at most "
             << std::numeric_limits<int64_t>::max() << ", got an overflow at "
             << "input " << i + 1;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && failed(verifyCompatibleDims(
                           *this, first[d], shape[d],
                           "input " + Twine(i + 1) +
                               " to match input 0 in dim " + Twine(d))))
        return failure();
  }
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  return {};
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  SmallVector<int64_t> shape(getShape(adaptor.getInput()));
  int64_t axis = adaptor.getAxis();
  int64_t start = adaptor.getStart(), end = adaptor.getEnd(),
          step = adaptor.getStep();
  // 1 + (end - start - 1) / step is ceil((end - start) / step) without
  // overflow; invalid bounds give a dynamic dim (the verifier reports them).
  if (axis >= 0 && axis < static_cast<int64_t>(shape.size()))
    shape[axis] = (start >= 0 && end > start && step > 0)
                      ? 1 + (end - start - 1) / step
                      : ShapedType::kDynamic;
  results.push_back(
      RankedTensorType::get(shape, getElementType(adaptor.getInput())));
  return success();
}

LogicalResult SliceOp::verify() {
  RankedTensorType inputType = getInput().getType();
  int64_t axis = getAxis(), start = getStart(), end = getEnd(),
          step = getStep();
  if (failed(verifyAxis(*this, axis, inputType.getRank())))
    return failure();
  if (start < 0 || end <= start || step < 1)
    return emitOpError("expects 0 <= start < end and step >= 1, got start = ")
           << start << ", end = " << end << ", step = " << step;
  int64_t dim = inputType.getDimSize(axis);
  if (!ShapedType::isDynamic(dim) && end > dim)
    return emitOpError("expects end <= ")
           << dim << " (the size of dim " << axis << "), got " << end;
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  int64_t end = getEnd();
  if (getStart() == 0 && getStep() == 1 &&
      getInput().getType().getDimSize(getAxis()) == end &&
      getInput().getType() == getType())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// CastOp
//===----------------------------------------------------------------------===//

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}
