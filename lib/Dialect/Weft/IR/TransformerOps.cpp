//===- TransformerOps.cpp - weft transformer ops --------------------------===//
//
// Verifiers and result type inference of the transformer ops. Each verifier
// checks the shape relations that docs/Spec.md states for the op, naming the
// operand and the expected shape. Inference is total on ranked tensors
// (conflicts become dynamic dims) so the verifier can report the conflict.
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/ShapeUtils.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::weft;

/// Dim `i` of `value`'s shape, or dynamic when the rank is too small (the
/// verifier reports wrong ranks; inference must stay total).
static int64_t dimOf(Value value, int64_t i) {
  ArrayRef<int64_t> shape = getShape(value);
  return i >= 0 && i < static_cast<int64_t>(shape.size())
             ? shape[i]
             : ShapedType::kDynamic;
}

static int64_t lastDimOf(Value value) {
  return dimOf(value, getShape(value).size() - 1);
}

/// `shape` with the last dim replaced by `dim` (appended for rank 0).
static SmallVector<int64_t> withLastDim(ArrayRef<int64_t> shape, int64_t dim) {
  SmallVector<int64_t> result(shape);
  if (result.empty())
    result.push_back(dim);
  else
    result.back() = dim;
  return result;
}

static LogicalResult verifyRankAtLeastOne(Operation *op, Value value,
                                          StringRef name) {
  if (cast<RankedTensorType>(value.getType()).getRank() >= 1)
    return success();
  return op->emitOpError("expects ") << name << " to have rank >= 1, got 0";
}

/// Verifies the optional `bias[N]` and `residual` (shaped like the result) of
/// linear-like ops, and that both share `x`'s element type.
static LogicalResult verifyEpilogueOperands(Operation *op, Value x, Value bias,
                                            Value residual, int64_t n,
                                            ArrayRef<int64_t> resultShape) {
  Type elementType = getElementType(x);
  if (bias && (failed(verifyElementType(op, bias, "bias", elementType, "x")) ||
               failed(verifyShape(op, bias, "bias", "[N]", {n}))))
    return failure();
  if (residual &&
      (failed(verifyElementType(op, residual, "residual", elementType, "x")) ||
       failed(verifyShape(op, residual, "residual", "[..., N]", resultShape))))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

double AttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(getQ().getType().getDimSize(3)));
}

int64_t AttentionOp::getGroupSize() {
  return getQ().getType().getDimSize(2) / getK().getType().getDimSize(2);
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *context,
                                            std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  Value q = adaptor.getQ(), k = adaptor.getK(), v = adaptor.getV();
  int64_t batch = mergeDims(mergeDims(dimOf(q, 0), dimOf(k, 0)), dimOf(v, 0));
  int64_t sq = dimOf(q, 1), hq = dimOf(q, 2);
  results.push_back(
      RankedTensorType::get({batch, sq, hq, dimOf(v, 3)}, getElementType(q)));
  if (adaptor.getReturnLse())
    results.push_back(
        RankedTensorType::get({batch, hq, sq}, Float32Type::get(context)));
  return success();
}

LogicalResult AttentionOp::verify() {
  Operation *op = *this;
  Value q = getQ(), k = getK(), v = getV();
  Type elementType = getElementType(q);
  if (failed(verifyElementType(op, k, "k", elementType, "q")) ||
      failed(verifyElementType(op, v, "v", elementType, "q")))
    return failure();
  ArrayRef<int64_t> qs = getShape(q), ks = getShape(k), vs = getShape(v);
  if (ShapedType::isDynamic(qs[2]) || ShapedType::isDynamic(qs[3]) ||
      ShapedType::isDynamic(ks[2]) || ShapedType::isDynamic(vs[3]))
    return emitOpError("expects static head counts and head dims, got q ")
           << formatShape(qs) << ", k " << formatShape(ks) << " and v "
           << formatShape(vs);
  if (failed(verifyCompatibleDims(op, qs[0], ks[0],
                                  "q and k to have the same batch size")) ||
      failed(verifyCompatibleDims(op, ks[0], vs[0],
                                  "k and v to have the same batch size")) ||
      failed(verifyCompatibleDims(op, qs[3], ks[3],
                                  "q and k to have the same head dim")) ||
      failed(verifyCompatibleDims(
          op, ks[1], vs[1], "k and v to have the same sequence length")) ||
      failed(verifyCompatibleDims(op, ks[2], vs[2],
                                  "k and v to have the same number of heads")))
    return failure();
  if (ks[2] == 0 || qs[2] % ks[2] != 0)
    return emitOpError("expects the number of query heads (")
           << qs[2] << ") to be a multiple of the number of kv heads (" << ks[2]
           << ")";
  int64_t batch = mergeDims(qs[0], ks[0]);
  if (Value mask = getMask()) {
    if (failed(verifyElementType(op, mask, "mask", elementType, "q")))
      return failure();
    ArrayRef<int64_t> ms = getShape(mask);
    bool valid = (ms[0] == 1 || areDimsCompatible(ms[0], batch)) &&
                 (ms[1] == 1 || areDimsCompatible(ms[1], qs[2])) &&
                 areDimsCompatible(ms[2], qs[1]) &&
                 areDimsCompatible(ms[3], ks[1]);
    if (!valid)
      return emitOpError("expects mask of shape [B|1, Hq|1, Sq, Sk] = [")
             << formatDim(batch) << "|1, " << qs[2] << "|1, "
             << formatDim(qs[1]) << ", " << formatDim(ks[1]) << "], got "
             << formatShape(ms);
  }
  if (Value kvLen = getKvLen())
    if (failed(verifyShape(op, kvLen, "kv_len", "[B]", {batch})))
      return failure();
  if (std::optional<APFloat> scale = getScale())
    if (!scale->isFinite() || scale->isZero())
      return emitOpError("expects scale to be finite and non-zero, got ")
             << scale->convertToDouble();
  if (std::optional<int64_t> window = getWindow()) {
    if (*window <= 0)
      return emitOpError("expects window to be positive, got ") << *window;
    if (!getCausal())
      return emitOpError("expects window to be used together with causal");
  }
  if (std::optional<APFloat> softcap = getSoftcap())
    if (!softcap->isFinite() || softcap->isNegative() || softcap->isZero())
      return emitOpError("expects softcap to be positive and finite, got ")
             << softcap->convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

int64_t RopeOp::getEffectiveRotaryDim() {
  return getRotaryDim().value_or(getX().getType().getDimSize(3));
}

LogicalResult RopeOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  results.push_back(adaptor.getX().getType());
  return success();
}

LogicalResult RopeOp::verify() {
  Operation *op = *this;
  ArrayRef<int64_t> xs = getShape(getX());
  int64_t headDim = xs[3];
  if (ShapedType::isDynamic(headDim))
    return emitOpError("expects x to have a static head dim, got ")
           << formatShape(xs);
  if (failed(verifyShape(op, getPositions(), "positions", "[B, S]",
                         {xs[0], xs[1]})))
    return failure();
  int64_t rotaryDim = getEffectiveRotaryDim();
  if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0)
    return emitOpError("expects rotary_dim to be even and in (0, ")
           << headDim << "], got " << rotaryDim;
  if (Value invFreq = getInvFreq()) {
    if (failed(verifyShape(op, invFreq, "inv_freq", "[rotary_dim / 2]",
                           {rotaryDim / 2})))
      return failure();
  } else if (!(getTheta().convertToDouble() > 0.0)) {
    return emitOpError("expects theta to be positive, got ")
           << getTheta().convertToDouble();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// RmsNormOp, LayerNormOp
//===----------------------------------------------------------------------===//

/// Verifies an optional per-channel `[D]` operand of a normalization.
static LogicalResult verifyNormParam(Operation *op, Value x, Value param,
                                     StringRef name) {
  if (!param)
    return success();
  if (failed(verifyElementType(op, param, name, getElementType(x), "x")))
    return failure();
  return verifyShape(op, param, name, "[D] (the last dim of x)",
                     {lastDimOf(x)});
}

static LogicalResult verifyEps(Operation *op, double eps) {
  if (eps >= 0.0 && std::isfinite(eps))
    return success();
  return op->emitOpError("expects eps to be non-negative and finite, got ")
         << eps;
}

LogicalResult RmsNormOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  results.push_back(adaptor.getX().getType());
  return success();
}

LogicalResult RmsNormOp::verify() {
  if (failed(verifyRankAtLeastOne(*this, getX(), "x")) ||
      failed(verifyNormParam(*this, getX(), getWeight(), "weight")))
    return failure();
  return verifyEps(*this, getEps().convertToDouble());
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  results.push_back(adaptor.getX().getType());
  return success();
}

LogicalResult LayerNormOp::verify() {
  if (failed(verifyRankAtLeastOne(*this, getX(), "x")) ||
      failed(verifyNormParam(*this, getX(), getWeight(), "weight")) ||
      failed(verifyNormParam(*this, getX(), getBias(), "bias")))
    return failure();
  return verifyEps(*this, getEps().convertToDouble());
}

/// Verifies LoRA operands `a`, `b`, `ids` and `scale` applied to `x`
/// (docs/Spec.md, weft.lora); `names` spell the operands as the op does.
/// Returns the out-features N of `b` through `n`.
static LogicalResult verifyLoraOperands(Operation *op, Value x, Value a,
                                        Value b, Value ids, double scale,
                                        ArrayRef<StringRef> names, int64_t &n) {
  StringRef aName = names[0], bName = names[1], idsName = names[2];
  Type elementType = getElementType(x);
  if (failed(verifyElementType(op, a, aName, elementType, "x")) ||
      failed(verifyElementType(op, b, bName, elementType, "x")))
    return failure();
  int64_t rankA = getShape(a).size(), rankB = getShape(b).size();
  if (rankA != rankB || (rankA != 2 && rankA != 3))
    return op->emitOpError("expects ")
           << aName << " and " << bName
           << " to both have rank 2 (single adapter) or 3 (multi-adapter), "
              "got "
           << rankA << " and " << rankB;
  bool multi = rankA == 3;
  if (multi) {
    if (failed(verifyCompatibleDims(op, dimOf(a, 0), dimOf(b, 0),
                                    aName + " and " + bName +
                                        " to hold the same number of "
                                        "adapters")))
      return failure();
    if (!ids)
      return op->emitOpError("expects ")
             << idsName << " with the multi-adapter form";
    ArrayRef<int64_t> xs = getShape(x), idsShape = getShape(ids);
    bool perRow = idsShape.size() == 1 && !xs.empty() &&
                  areDimsCompatible(idsShape[0], xs[0]);
    bool perToken =
        succeeded(mlir::verifyCompatibleShape(idsShape, xs.drop_back()));
    if (!perRow && !perToken)
      return op->emitOpError("expects ")
             << idsName << " of shape [B] = [" << formatDim(xs[0])
             << "] or x's leading dims " << formatShape(xs.drop_back())
             << ", got " << formatShape(idsShape);
  } else if (ids) {
    return op->emitOpError("expects ")
           << idsName << " only with the multi-adapter form (rank-3 " << aName
           << " and " << bName << ")";
  }
  int64_t offset = multi ? 1 : 0;
  if (failed(verifyCompatibleDims(op, dimOf(a, offset), dimOf(b, offset + 1),
                                  aName + " [r, K] and " + bName +
                                      " [N, r] to have the same rank r")) ||
      failed(verifyCompatibleDims(op, lastDimOf(x), dimOf(a, offset + 1),
                                  "the last dim of x to match the "
                                  "in-features of " +
                                      aName)))
    return failure();
  if (!std::isfinite(scale))
    return op->emitOpError("expects a finite scale");
  n = dimOf(b, offset);
  return success();
}

/// Verifies the optional LoRA operands fused into a linear-like op whose
/// weight has `n` out-features.
template <typename OpTy>
static LogicalResult verifyFusedLora(OpTy op, int64_t n) {
  if (!op.getLoraA()) {
    if (op.getLoraB() || op.getLoraIds() || op.getLoraScale())
      return op.emitOpError("expects lora_b, lora_ids and lora_scale only "
                            "together with lora_a");
    return success();
  }
  if (!op.getLoraB())
    return op.emitOpError("expects lora_b together with lora_a");
  if (failed(verifyRankAtLeastOne(op, op.getX(), "x")))
    return failure();
  int64_t loraN;
  if (failed(verifyLoraOperands(op, op.getX(), op.getLoraA(), op.getLoraB(),
                                op.getLoraIds(), op.getEffectiveLoraScale(),
                                {"lora_a", "lora_b", "lora_ids"}, loraN)))
    return failure();
  return verifyCompatibleDims(op, loraN, n,
                              "the out-features of lora_b to match the "
                              "out-features of the weight");
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  Value x = adaptor.getX();
  results.push_back(RankedTensorType::get(
      withLastDim(getShape(x), dimOf(adaptor.getWeight(), 0)),
      getElementType(x)));
  return success();
}

LogicalResult LinearOp::verify() {
  Operation *op = *this;
  Value x = getX(), weight = getWeight();
  if (failed(verifyRankAtLeastOne(op, x, "x")) ||
      failed(verifyElementType(op, weight, "weight", getElementType(x), "x")))
    return failure();
  if (failed(verifyCompatibleDims(op, lastDimOf(x), dimOf(weight, 1),
                                  "the last dim of x to match the in-features "
                                  "(dim 1) of weight")))
    return failure();
  if (failed(verifyEpilogueOperands(op, x, getBias(), getResidual(),
                                    dimOf(weight, 0), getType().getShape())))
    return failure();
  return verifyFusedLora(*this, dimOf(weight, 0));
}

//===----------------------------------------------------------------------===//
// GatedLinearOp
//===----------------------------------------------------------------------===//

LogicalResult GatedLinearOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location>,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &results) {
  Value x = adaptor.getX();
  int64_t n = mergeDims(dimOf(adaptor.getGateWeight(), 0),
                        dimOf(adaptor.getUpWeight(), 0));
  results.push_back(
      RankedTensorType::get(withLastDim(getShape(x), n), getElementType(x)));
  return success();
}

LogicalResult GatedLinearOp::verify() {
  Operation *op = *this;
  Value x = getX(), gate = getGateWeight(), up = getUpWeight();
  Type elementType = getElementType(x);
  if (failed(verifyRankAtLeastOne(op, x, "x")) ||
      failed(verifyElementType(op, gate, "gate_weight", elementType, "x")) ||
      failed(verifyElementType(op, up, "up_weight", elementType, "x")))
    return failure();
  if (failed(verifyCompatibleDims(op, lastDimOf(x), dimOf(gate, 1),
                                  "the last dim of x to match the in-features "
                                  "(dim 1) of gate_weight")))
    return failure();
  return verifyShape(op, up, "up_weight", "[N, K] (the shape of gate_weight)",
                     getShape(gate));
}

//===----------------------------------------------------------------------===//
// QLinearOp
//===----------------------------------------------------------------------===//

unsigned QLinearOp::getBits() {
  return getQweight().getType().getElementType().getIntOrFloatBitWidth();
}

int64_t QLinearOp::getNumGroups() {
  int64_t k = getQweight().getType().getDimSize(1);
  int64_t groupSize = getGroupSize();
  return groupSize == -1 ? 1 : k / groupSize;
}

LogicalResult QLinearOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  Value x = adaptor.getX();
  results.push_back(RankedTensorType::get(
      withLastDim(getShape(x), dimOf(adaptor.getQweight(), 0)),
      getElementType(x)));
  return success();
}

LogicalResult QLinearOp::verify() {
  Operation *op = *this;
  Value x = getX();
  if (failed(verifyRankAtLeastOne(op, x, "x")))
    return failure();
  RankedTensorType qweightType = getQweight().getType();
  if (!qweightType.hasStaticShape())
    return emitOpError("expects qweight to have a static shape, got ")
           << qweightType;
  int64_t n = qweightType.getDimSize(0), k = qweightType.getDimSize(1);
  if (getBits() == 4 && k % 2 != 0)
    return emitOpError("expects an even K for an i4 qweight (two values are "
                       "packed per byte), got ")
           << k;
  if (failed(verifyCompatibleDims(op, lastDimOf(x), k,
                                  "the last dim of x to match the in-features "
                                  "(dim 1) of qweight")))
    return failure();
  int64_t groupSize = getGroupSize();
  if (groupSize != -1 && (groupSize <= 0 || k % groupSize != 0))
    return emitOpError("expects group_size to be -1 or a positive divisor of "
                       "K (")
           << k << "), got " << groupSize;
  int64_t groups = groupSize == -1 ? 1 : k / groupSize;
  if (failed(verifyShape(op, getScales(), "scales", "[N, G]", {n, groups})))
    return failure();
  if (Value zeros = getZeros()) {
    if (failed(verifyElementType(op, zeros, "zeros",
                                 qweightType.getElementType(), "qweight")) ||
        failed(verifyShape(op, zeros, "zeros", "[N, G]", {n, groups})))
      return failure();
  }
  if (failed(verifyEpilogueOperands(op, x, getBias(), getResidual(), n,
                                    getType().getShape())))
    return failure();
  return verifyFusedLora(*this, n);
}

//===----------------------------------------------------------------------===//
// LoraOp
//===----------------------------------------------------------------------===//

int64_t LoraOp::getRank() {
  return getLoraA().getType().getDimSize(isMultiAdapter() ? 1 : 0);
}

LogicalResult LoraOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  Value x = adaptor.getX(), b = adaptor.getLoraB();
  int64_t rankB = getShape(b).size();
  results.push_back(RankedTensorType::get(
      withLastDim(getShape(x), dimOf(b, rankB - 2)), getElementType(x)));
  return success();
}

LogicalResult LoraOp::verify() {
  Operation *op = *this;
  if (failed(verifyRankAtLeastOne(op, getX(), "x")))
    return failure();
  int64_t n;
  return verifyLoraOperands(op, getX(), getLoraA(), getLoraB(), getIds(),
                            getScale().convertToDouble(),
                            {"lora_a", "lora_b", "ids"}, n);
}

//===----------------------------------------------------------------------===//
// SsmScanOp
//===----------------------------------------------------------------------===//

LogicalResult SsmScanOp::inferReturnTypes(MLIRContext *context,
                                          std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  Value x = adaptor.getX(), b = adaptor.getB();
  int64_t n = mergeDims(dimOf(b, 3), dimOf(adaptor.getC(), 3));
  if (getShape(adaptor.getA()).size() == 2)
    n = mergeDims(n, dimOf(adaptor.getA(), 1));
  results.push_back(x.getType());
  results.push_back(RankedTensorType::get(
      {dimOf(x, 0), dimOf(x, 2), dimOf(x, 3), n}, Float32Type::get(context)));
  return success();
}

LogicalResult SsmScanOp::verify() {
  Operation *op = *this;
  Value x = getX();
  Type elementType = getElementType(x);
  ArrayRef<int64_t> xs = getShape(x);
  int64_t batch = xs[0], len = xs[1], heads = xs[2], headDim = xs[3];
  for (auto [value, name] : {std::pair<Value, StringRef>{getDt(), "dt"},
                             {getB(), "B"},
                             {getC(), "C"}})
    if (failed(verifyElementType(op, value, name, elementType, "x")))
      return failure();
  if (failed(verifyShape(op, getDt(), "dt", "[B, L, H]", {batch, len, heads})))
    return failure();
  int64_t groups = dimOf(getB(), 2), n = dimOf(getB(), 3);
  if (failed(verifyShape(op, getB(), "B", "[B, L, G, N]",
                         {batch, len, groups, n})) ||
      failed(verifyShape(op, getC(), "C", "[B, L, G, N] (the shape of B)",
                         getShape(getB()))))
    return failure();
  if (!ShapedType::isDynamic(heads) && !ShapedType::isDynamic(groups) &&
      (groups == 0 || heads % groups != 0))
    return emitOpError("expects the number of heads (")
           << heads << ") to be a multiple of the number of groups (" << groups
           << ")";
  int64_t rankA = getA().getType().getRank();
  if (rankA == 1) {
    if (failed(verifyShape(op, getA(), "A", "[H]", {heads})))
      return failure();
  } else if (rankA == 2) {
    if (failed(verifyShape(op, getA(), "A", "[H, N]", {heads, n})))
      return failure();
  } else {
    return emitOpError("expects A of shape [H, N] or [H], got rank ") << rankA;
  }
  if (Value d = getD()) {
    int64_t rankD = getD().getType().getRank();
    if (rankD == 1
            ? failed(verifyShape(op, d, "D", "[H]", {heads}))
            : failed(verifyShape(op, d, "D", "[H, P]", {heads, headDim})))
      return failure();
  }
  if (Value z = getZ())
    if (failed(verifyElementType(op, z, "z", elementType, "x")) ||
        failed(verifyShape(op, z, "z", "[B, L, H, P] (the shape of x)", xs)))
      return failure();
  if (Value dtBias = getDtBias())
    if (failed(verifyShape(op, dtBias, "dt_bias", "[H]", {heads})))
      return failure();
  if (Value state = getInitialState())
    if (failed(verifyShape(op, state, "initial_state", "[B, H, P, N]",
                           {batch, heads, headDim, n})))
      return failure();
  if (std::optional<ArrayRef<double>> limit = getDtLimit())
    if (limit->size() != 2 || !((*limit)[0] <= (*limit)[1]))
      return emitOpError("expects dt_limit to be [lo, hi] with lo <= hi, got ")
             << limit->size() << " values";
  return success();
}

//===----------------------------------------------------------------------===//
// CausalConv1dOp
//===----------------------------------------------------------------------===//

LogicalResult CausalConv1dOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location>,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &results) {
  Value x = adaptor.getX();
  int64_t kernel = dimOf(adaptor.getWeight(), 1);
  int64_t stateLen = kernel >= 1 ? kernel - 1 : ShapedType::kDynamic;
  results.push_back(x.getType());
  results.push_back(RankedTensorType::get({dimOf(x, 0), stateLen, dimOf(x, 2)},
                                          getElementType(x)));
  return success();
}

LogicalResult CausalConv1dOp::verify() {
  Operation *op = *this;
  Value x = getX(), weight = getWeight();
  Type elementType = getElementType(x);
  ArrayRef<int64_t> xs = getShape(x);
  int64_t kernel = dimOf(weight, 1);
  if (ShapedType::isDynamic(kernel) || kernel < 1)
    return emitOpError("expects weight [C, K] to have a static K >= 1, got ")
           << formatShape(getShape(weight));
  if (failed(verifyElementType(op, weight, "weight", elementType, "x")) ||
      failed(verifyShape(op, weight, "weight", "[C, K]", {xs[2], kernel})))
    return failure();
  if (Value bias = getBias())
    if (failed(verifyElementType(op, bias, "bias", elementType, "x")) ||
        failed(verifyShape(op, bias, "bias", "[C]", {xs[2]})))
      return failure();
  if (Value state = getState())
    if (failed(verifyElementType(op, state, "state", elementType, "x")) ||
        failed(verifyShape(op, state, "state", "[B, K-1, C]",
                           {xs[0], kernel - 1, xs[2]})))
      return failure();
  Activation activation = getActivation();
  if (activation != Activation::none && activation != Activation::silu)
    return emitOpError("expects activation none or silu, got ")
           << stringifyActivation(activation);
  return success();
}
