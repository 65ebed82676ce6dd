//===- FuseAttention.cpp - decomposed attention into weft.attention -------===//
//
// Raises softmax(scale * Q K^T + mask) V, written with matmul, mul/div,
// add and softmax on [B, H, S, D] operands, into one weft.attention on
// [B, S, H, D] operands. The transposes between the two layouts are created
// and left to the transpose folder, which cancels them against the
// transposes the decomposed form already has.
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/ShapeUtils.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTFUSEATTENTIONPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

/// [B, S, H, D] <-> [B, H, S, D] (the permutation is its own inverse).
constexpr int64_t kSwapSeqAndHeads[] = {0, 2, 1, 3};

/// The op of type OpTy defining `value` when `value` has no other use, so
/// that the op disappears with the fusion.
template <typename OpTy> OpTy getSoleUseProducer(Value value) {
  auto op = value.getDefiningOp<OpTy>();
  return op && value.hasOneUse() ? op : OpTy();
}

/// The transpose defining `value` when it applies `perm`.
TransposeOp getTranspose(Value value, ArrayRef<int64_t> perm) {
  auto op = value.getDefiningOp<TransposeOp>();
  return op && op.getPermutation() == perm ? op : TransposeOp();
}

/// The value of a splat float constant whose dims are all 1, so that
/// broadcasting it against the scores changes no shape.
std::optional<double> getScalarConstant(Value value) {
  DenseFPElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  if (!llvm::all_of(attr.getType().getShape(),
                    [](int64_t d) { return d == 1; }))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// True for a constant `[..., Sq, Sk]` mask that adds 0 where key `j` is
/// visible to query `i` under weft.attention's bottom-right causal rule
/// (`j <= i + Sk - Sq`) and -inf or the lowest finite value of its type
/// elsewhere. Requires `Sk >= Sq`, so that every query sees a key: rows
/// without one would give NaN (or a uniform average) unfused but zeros fused.
bool isCausalMask(Value mask, int64_t sq, int64_t sk) {
  DenseFPElementsAttr attr;
  if (ShapedType::isDynamic(sq) || ShapedType::isDynamic(sk) || sk < sq ||
      !matchPattern(mask, m_Constant(&attr)))
    return false;
  ArrayRef<int64_t> shape = attr.getType().getShape();
  if (shape.size() < 2 || shape[shape.size() - 2] != sq || shape.back() != sk)
    return false;
  const llvm::fltSemantics &semantics =
      cast<FloatType>(attr.getElementType()).getFloatSemantics();
  APFloat lowest = APFloat::getLargest(semantics, /*Negative=*/true);
  int64_t index = 0;
  for (APFloat value : attr.getValues<APFloat>()) {
    int64_t col = index % sk, row = (index / sk) % sq;
    ++index;
    bool visible = col <= row + (sk - sq);
    bool hidden = (value.isInfinity() && value.isNegative()) ||
                  value.compare(lowest) == APFloat::cmpEqual;
    if (visible ? !value.isZero() : !hidden)
      return false;
  }
  return true;
}

/// The unrepeated kv tensor behind a repeat_kv expansion along `headAxis` of
/// a rank-4 tensor: reshape(concat(r, ..., r) along headAxis + 1) where
/// r = reshape(src) inserts a unit dim after the head axis. Row-major
/// reshapes make head `h` of the result head `h / g` of `src` (g copies),
/// which is weft.attention's GQA rule. Null when `value` is not one.
Value stripRepeatedHeads(Value value, int64_t headAxis) {
  auto outer = value.getDefiningOp<ReshapeOp>();
  if (!outer)
    return {};
  auto concat = outer.getInput().getDefiningOp<ConcatOp>();
  if (!concat || static_cast<int64_t>(concat.getAxis()) != headAxis + 1)
    return {};
  Value piece = concat.getInputs().front();
  if (!llvm::all_equal(concat.getInputs()))
    return {};
  auto inner = piece.getDefiningOp<ReshapeOp>();
  if (!inner)
    return {};
  Value src = inner.getInput();
  ArrayRef<int64_t> srcShape = getShape(src);
  if (srcShape.size() != 4 || ShapedType::isDynamic(srcShape[headAxis]))
    return {};
  int64_t copies = concat.getInputs().size();
  SmallVector<int64_t> unitShape(srcShape);
  unitShape.insert(unitShape.begin() + headAxis + 1, 1);
  SmallVector<int64_t> repeatedShape(srcShape);
  repeatedShape[headAxis] *= copies;
  if (getShape(piece) != ArrayRef<int64_t>(unitShape) ||
      getShape(value) != ArrayRef<int64_t>(repeatedShape))
    return {};
  return src;
}

/// A k or v operand of the attention, as the decomposed form gives it: a
/// tensor in [B, H, S, D] layout (`bhsd`) or in [B, S, H, D] layout.
struct KvOperand {
  Value value;
  bool bhsd;

  /// Shape in [B, S, H, D] layout.
  SmallVector<int64_t> getBshdShape() const {
    ArrayRef<int64_t> shape = getShape(value);
    if (!bhsd)
      return SmallVector<int64_t>(shape);
    return {shape[0], shape[2], shape[1], shape[3]};
  }
};

/// The kv operand behind `value` ([B, H, S, D]) with any repeat_kv
/// expansion removed, looking through a transpose from [B, S, H, D].
KvOperand stripKvExpansion(KvOperand operand) {
  if (!operand.bhsd) {
    if (Value src = stripRepeatedHeads(operand.value, /*headAxis=*/2))
      return {src, false};
    return operand;
  }
  if (Value src = stripRepeatedHeads(operand.value, /*headAxis=*/1))
    return {src, true};
  if (TransposeOp transpose = getTranspose(operand.value, kSwapSeqAndHeads))
    if (Value src = stripRepeatedHeads(transpose.getInput(), /*headAxis=*/2))
      return {src, false};
  return operand;
}

/// True when two batch dims are the same extent: equal static sizes, or both
/// dynamic (the decomposed program reads them as one batch).
bool isSameBatch(int64_t lhs, int64_t rhs) { return lhs == rhs; }

/// matmul(softmax(scale * matmul(q, k^T) + mask, axis = last), v) ->
/// weft.attention on [B, S, H, D] operands.
struct RaiseAttention : OpRewritePattern<MatmulOp> {
  RaiseAttention(MLIRContext *context, bool detectCausal)
      : OpRewritePattern<MatmulOp>(context), detectCausal(detectCausal) {}

  LogicalResult matchAndRewrite(MatmulOp pv,
                                PatternRewriter &rewriter) const override {
    if (pv.getTransposeLhs() || pv.getTransposeRhs() ||
        pv.getType().getRank() != 4)
      return rewriter.notifyMatchFailure(pv, "not a rank-4 P V product");
    Type elementType = getElementType(pv.getResult());
    // f16/bf16 models may take the softmax in f32 (HF's
    // `softmax(s, dtype=float32).to(dtype)`): cast(softmax(cast(s))). The
    // attention op computes its softmax in f32 anyway.
    Value probs = peelCast(pv.getLhs(), elementType);
    auto softmax = getSoleUseProducer<SoftmaxOp>(probs);
    if (!softmax || softmax.getAxis() != 3)
      return rewriter.notifyMatchFailure(pv, "P is not a last-axis softmax");
    Value scores = softmax.getInput(), mask;
    if (probs != pv.getLhs()) {
      scores = peelCast(scores, elementType);
      if (scores == softmax.getInput() || getElementType(scores) != elementType)
        return rewriter.notifyMatchFailure(pv, "f32 softmax without casts");
    }
    auto scoresType = cast<RankedTensorType>(scores.getType());

    // Optional additive mask, then optional scale, then Q K^T.
    if (auto add = getSoleUseProducer<AddOp>(scores)) {
      for (auto [lhs, rhs] : {std::pair{add.getLhs(), add.getRhs()},
                              {add.getRhs(), add.getLhs()}}) {
        if (lhs.getType() != scoresType || !matchScores(lhs))
          continue;
        scores = lhs;
        mask = rhs;
        break;
      }
      if (!mask)
        return rewriter.notifyMatchFailure(pv, "add is not scores + mask");
    }
    double scale = 1.0;
    MatmulOp qk = matchScores(scores, &scale);
    if (!qk)
      return rewriter.notifyMatchFailure(pv, "no scaled Q K^T product");

    // Q in [B, H, S, D], possibly scaled before the product (q * c);
    // K as [B, H, S, D] (transpose flag or an explicit [0, 1, 3, 2]
    // transpose) or [B, S, H, D] (a [0, 2, 3, 1] transpose).
    Value q = peelScalarScale(qk.getLhs(), &scale);
    if (!std::isfinite(scale) || scale == 0.0 ||
        !std::isfinite(static_cast<float>(scale)) ||
        static_cast<float>(scale) == 0.0f)
      return rewriter.notifyMatchFailure(pv, "scale is zero or not finite");
    KvOperand k;
    if (qk.getTransposeRhs()) {
      k = {qk.getRhs(), true};
    } else if (TransposeOp t = getTranspose(qk.getRhs(), {0, 1, 3, 2})) {
      k = {t.getInput(), true};
    } else if (TransposeOp t = getTranspose(qk.getRhs(), {0, 2, 3, 1})) {
      k = {t.getInput(), false};
    } else {
      return rewriter.notifyMatchFailure(pv, "K is not transposed");
    }
    KvOperand v{pv.getRhs(), true};
    if (getShape(q).size() != 4 || getShape(k.value).size() != 4 ||
        getShape(v.value).size() != 4)
      return rewriter.notifyMatchFailure(pv, "q, k and v must have rank 4");
    // Remove repeat_kv expansions only when both k and v have one with the
    // same number of kv heads; otherwise use the expanded tensors.
    KvOperand kStripped = stripKvExpansion(k), vStripped = stripKvExpansion(v);
    if (kStripped.value != k.value && vStripped.value != v.value &&
        kStripped.getBshdShape()[2] == vStripped.getBshdShape()[2]) {
      k = kStripped;
      v = vStripped;
    }

    // Shapes, in [B, S, H, D] layout.
    ArrayRef<int64_t> qBhsd = getShape(q);
    SmallVector<int64_t> qs = {qBhsd[0], qBhsd[2], qBhsd[1], qBhsd[3]};
    SmallVector<int64_t> ks = k.getBshdShape(), vs = v.getBshdShape();
    for (Value value : {q, k.value, v.value})
      if (getElementType(value) != elementType)
        return rewriter.notifyMatchFailure(pv, "mixed element types");
    if (!isSameBatch(qs[0], ks[0]) || !isSameBatch(qs[0], vs[0]))
      return rewriter.notifyMatchFailure(pv, "q, k and v batch sizes differ");
    if (ShapedType::isDynamic(qs[2]) || ShapedType::isDynamic(qs[3]) ||
        ShapedType::isDynamic(ks[2]) || ShapedType::isDynamic(vs[3]) ||
        ks[2] != vs[2] || ks[2] == 0 || qs[2] % ks[2] != 0 || qs[3] != ks[3] ||
        ks[1] != vs[1])
      return rewriter.notifyMatchFailure(pv, "head counts or dims mismatch");
    SmallVector<int64_t> outShape = {qs[0], qs[2], qs[1], vs[3]};
    if (pv.getType().getShape() != ArrayRef<int64_t>(outShape))
      return rewriter.notifyMatchFailure(pv, "result is not [B, Hq, Sq, Dv]");

    // The mask: causal, or an operand of shape [B|1, Hq|1, Sq, Sk].
    bool causal = false;
    if (mask) {
      if (getElementType(mask) != elementType)
        return rewriter.notifyMatchFailure(pv, "mask element type differs");
      if (detectCausal && isCausalMask(mask, qs[1], ks[1])) {
        causal = true;
        mask = Value();
      } else if (failed(
                     checkMaskShape(getShape(mask), scoresType.getShape()))) {
        return rewriter.notifyMatchFailure(pv, "mask is not [B|1, Hq|1, Sq, "
                                               "Sk]");
      }
    }

    Location loc = pv.getLoc();
    auto toBshd = [&](Value value) -> Value {
      return TransposeOp::create(rewriter, loc, value, kSwapSeqAndHeads);
    };
    Value qBshdValue = toBshd(q);
    Value kBshdValue = k.bhsd ? toBshd(k.value) : k.value;
    Value vBshdValue = v.bhsd ? toBshd(v.value) : v.value;
    if (mask && getShape(mask).size() < 4) {
      SmallVector<int64_t> shape(4 - getShape(mask).size(), 1);
      llvm::append_range(shape, getShape(mask));
      mask = ReshapeOp::create(rewriter, loc,
                               RankedTensorType::get(shape, elementType), mask);
    }
    auto attention = AttentionOp::create(
        rewriter, loc, qBshdValue, kBshdValue, vBshdValue, mask,
        /*kv_len=*/Value(), rewriter.getF32FloatAttr(scale), causal,
        /*window=*/IntegerAttr(), /*softcap=*/FloatAttr(),
        /*return_lse=*/false);
    rewriter.replaceOpWithNewOp<TransposeOp>(pv, attention.getOutput(),
                                             kSwapSeqAndHeads);
    return success();
  }

private:
  /// The input of the weft.cast defining `value` when it has no other use
  /// and converts between `from` (f16 or bf16) and f32, in either direction;
  /// `value` otherwise.
  static Value peelCast(Value value, Type from) {
    auto castOp = getSoleUseProducer<CastOp>(value);
    if (!castOp)
      return value;
    Type in = getElementType(castOp.getInput()),
         out = getElementType(castOp.getResult());
    bool widening = out.isF32() && in == from && (in.isF16() || in.isBF16());
    bool narrowing = in.isF32() && out == from && (out.isF16() || out.isBF16());
    return widening || narrowing ? castOp.getInput() : value;
  }

  /// The value that `value` scales: `v` for mul(v, c), mul(c, v) or
  /// div(v, c) with c a scalar constant and no other use of the result, which
  /// multiplies `*factor` by c (or 1 / c). `value` itself otherwise.
  static Value peelScalarScale(Value value, double *factor) {
    if (auto mul = getSoleUseProducer<MulOp>(value)) {
      for (auto [lhs, rhs] : {std::pair{mul.getLhs(), mul.getRhs()},
                              {mul.getRhs(), mul.getLhs()}}) {
        std::optional<double> c = getScalarConstant(rhs);
        if (!c || lhs.getType() != value.getType())
          continue;
        *factor *= *c;
        return lhs;
      }
    } else if (auto div = getSoleUseProducer<DivOp>(value)) {
      std::optional<double> c = getScalarConstant(div.getRhs());
      if (c && div.getLhs().getType() == value.getType()) {
        *factor /= *c;
        return div.getLhs();
      }
    }
    return value;
  }

  /// The Q K^T matmul behind `value`: the matmul itself or its product with a
  /// scalar constant (peelScalarScale), with no other use. Multiplies
  /// `*scale` by the factor applied.
  static MatmulOp matchScores(Value value, double *scale = nullptr) {
    double factor = 1.0;
    auto qk = getSoleUseProducer<MatmulOp>(peelScalarScale(value, &factor));
    if (!qk || qk.getTransposeLhs())
      return {};
    if (scale)
      *scale *= factor;
    return qk;
  }

  /// An additive mask that weft.attention can take: rank 2 to 4, and its
  /// last two dims not broadcast (the add checked that it broadcasts to the
  /// scores; dynamic dims never broadcast, and leading dims of 1 or the full
  /// size are what attention's mask allows). Masks of rank < 4 must be
  /// static: they are reshaped to rank 4.
  static LogicalResult checkMaskShape(ArrayRef<int64_t> mask,
                                      ArrayRef<int64_t> scores) {
    if (mask.size() < 2 || mask.size() > 4)
      return failure();
    if (mask.size() < 4 && ShapedType::isDynamicShape(mask))
      return failure();
    for (int64_t d : {1, 2}) {
      int64_t dim = mask[mask.size() - d];
      if (dim == 1 && scores[4 - d] != 1)
        return failure();
    }
    return success();
  }

  bool detectCausal;
};

struct WeftFuseAttentionPass
    : weft::impl::WeftFuseAttentionPassBase<WeftFuseAttentionPass> {
  using WeftFuseAttentionPassBase::WeftFuseAttentionPassBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseAttentionPatterns(patterns, detectCausal);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void weft::populateFuseAttentionPatterns(RewritePatternSet &patterns,
                                         bool detectCausal) {
  patterns.add<RaiseAttention>(patterns.getContext(), detectCausal);
}
