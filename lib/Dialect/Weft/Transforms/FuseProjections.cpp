//===- FuseProjections.cpp - horizontal fusion of linear layers -----------===//
//
// Linear layers that read the same input become one wider linear layer on
// the concatenated weights, followed by slices (Q/K/V, gate/up).
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/ParamStore.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

#include "llvm/ADT/StringExtras.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTFUSEPROJECTIONSPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr StringLiteral kPassName = "weft-fuse-projections";

/// A linear or qlinear without activation, residual or LoRA whose weight
/// tensors (weight, or qweight, scales and zeros) and bias are all weft.params.
struct Projection {
  Operation *op;
  Value x;
  SmallVector<ParamOp> weights; // rows concatenate along N
  ParamOp bias;                 // null when there is none
  int64_t groupSize = 0;        // qlinear only
};

/// `value`'s defining weft.param, or null.
ParamOp getParam(Value value) {
  return value ? value.getDefiningOp<ParamOp>() : ParamOp();
}

std::optional<Projection> getProjection(Operation *op) {
  if (!isa<LinearOp, QLinearOp>(op))
    return std::nullopt;
  Projection projection{op, op->getOperand(0), {}, {}};
  SmallVector<Value> weights;
  Value bias;
  if (auto linear = dyn_cast<LinearOp>(op)) {
    // A LoRA delta belongs to one layer's rows; it does not fuse.
    if (linear.getResidual() || linear.getLoraA() ||
        linear.getActivation() != Activation::none)
      return std::nullopt;
    weights = {linear.getWeight()};
    bias = linear.getBias();
  } else if (auto qlinear = dyn_cast<QLinearOp>(op)) {
    if (qlinear.getResidual() || qlinear.getLoraA() ||
        qlinear.getActivation() != Activation::none)
      return std::nullopt;
    weights = {qlinear.getQweight(), qlinear.getScales()};
    if (Value zeros = qlinear.getZeros())
      weights.push_back(zeros);
    bias = qlinear.getBias();
    projection.groupSize = qlinear.getGroupSize();
  } else {
    return std::nullopt;
  }
  for (Value weight : weights) {
    ParamOp param = getParam(weight);
    if (!param)
      return std::nullopt;
    projection.weights.push_back(param);
  }
  projection.bias = getParam(bias);
  if (bias && !projection.bias)
    return std::nullopt;
  return projection;
}

/// Everything but N of a weight-like tensor type.
bool haveSameRowType(Type lhs, Type rhs) {
  auto l = cast<RankedTensorType>(lhs), r = cast<RankedTensorType>(rhs);
  return l.getElementType() == r.getElementType() &&
         l.getShape().drop_front() == r.getShape().drop_front();
}

/// Whether `a` and `b` can be computed by one wider op.
bool canFuse(Projection a, Projection b) {
  if (a.op->getName() != b.op->getName() || a.x != b.x ||
      a.op->getBlock() != b.op->getBlock() ||
      a.weights.size() != b.weights.size() || !a.bias != !b.bias ||
      a.groupSize != b.groupSize)
    return false;
  auto aType = cast<RankedTensorType>(a.op->getResult(0).getType());
  auto bType = cast<RankedTensorType>(b.op->getResult(0).getType());
  if (aType.getElementType() != bType.getElementType())
    return false;
  for (auto [wa, wb] : llvm::zip(a.weights, b.weights))
    if (!haveSameRowType(ParamOp(wa).getType(), ParamOp(wb).getType()))
      return false;
  return !a.bias || haveSameRowType(a.bias.getType(), b.bias.getType());
}

/// The name of concatenated params: the common prefix and suffix (cut at
/// dots) around the differing middles joined by '+'.
std::string getFusedName(ArrayRef<StringRef> names) {
  if (names.empty())
    return "";
  StringRef first = names.front();
  size_t prefix = first.size(), suffix = first.size();
  for (StringRef name : names.drop_front()) {
    size_t p = 0;
    while (p < std::min(prefix, name.size()) && name[p] == first[p])
      ++p;
    prefix = p;
    size_t s = 0;
    while (s < std::min(suffix, name.size()) &&
           name[name.size() - 1 - s] == first[first.size() - 1 - s])
      ++s;
    suffix = s;
  }
  // Whole dot-separated components only.
  size_t dot = first.substr(0, prefix).rfind('.');
  prefix = dot == StringRef::npos ? 0 : dot + 1;
  size_t suffixDot = first.take_back(suffix).find('.');
  suffix = suffixDot == StringRef::npos ? 0 : suffix - suffixDot;
  std::string fused = first.take_front(prefix).str();
  for (auto [i, name] : llvm::enumerate(names)) {
    if (prefix + suffix >= name.size())
      return llvm::join(names, "+"); // no distinct middles to join
    fused += (i ? "+" : "") + name.drop_front(prefix).drop_back(suffix).str();
  }
  return fused + first.take_back(suffix).str();
}

struct WeftFuseProjectionsPass
    : weft::impl::WeftFuseProjectionsPassBase<WeftFuseProjectionsPass> {
  using WeftFuseProjectionsPassBase::WeftFuseProjectionsPassBase;

  void runOnOperation() override;

private:
  /// Concatenates the params in `slot` of `group` along N into the store;
  /// returns the new param, or null when their archive dtypes differ.
  FailureOr<ParamOp> concatenate(ParamStore &store, OpBuilder &builder,
                                 ArrayRef<ParamOp> params);
  LogicalResult fuse(ParamStore &store, ArrayRef<Projection> group);
};

FailureOr<ParamOp>
WeftFuseProjectionsPass::concatenate(ParamStore &store, OpBuilder &builder,
                                     ArrayRef<ParamOp> params) {
  ParamOp front = params.front();
  SmallVector<StringRef> names;
  std::string bytes;
  const ArchiveTensor *first = nullptr;
  int64_t rows = 0, archiveRows = 0;
  for (ParamOp param : params) {
    FailureOr<const ArchiveTensor *> tensor = store.lookup(param);
    if (failed(tensor))
      return failure();
    if (first && (*tensor)->dtype != first->dtype)
      return ParamOp();
    first = first ? first : *tensor;
    names.push_back(param.getName());
    bytes.append((*tensor)->data.begin(), (*tensor)->data.end());
    rows += cast<RankedTensorType>(param.getType()).getDimSize(0);
    archiveRows += (*tensor)->shape.front();
  }
  std::string name = getFusedName(names);
  if (std::optional<StringRef> existing = store.getAdded(name)) {
    if (*existing != bytes)
      return front.emitError()
             << kPassName << ": cannot name the fused tensor: '" << name
             << "' is already taken by another fusion";
  } else if (store.isNameTaken(name)) {
    return front.emitError() << kPassName << ": cannot name the fused tensor: '"
                             << name << "' is already in the archive";
  } else {
    SmallVector<int64_t> shape(first->shape);
    shape.front() = archiveRows;
    store.add(name, first->dtype, shape, std::move(bytes));
  }
  auto type = cast<RankedTensorType>(front.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.front() = rows;
  return ParamOp::create(builder, front.getLoc(), type.clone(shape), name);
}

LogicalResult WeftFuseProjectionsPass::fuse(ParamStore &store,
                                            ArrayRef<Projection> group) {
  Operation *first = group.front().op;
  OpBuilder builder(first);
  SmallVector<Value> weights;
  SmallVector<SmallVector<ParamOp>> slots(group.front().weights.size());
  for (const Projection &projection : group)
    for (auto [slot, param] : llvm::enumerate(projection.weights))
      slots[slot].push_back(param);
  if (group.front().bias) {
    slots.emplace_back();
    for (const Projection &projection : group)
      slots.back().push_back(projection.bias);
  }
  SmallVector<Value> fusedParams;
  for (ArrayRef<ParamOp> params : slots) {
    FailureOr<ParamOp> param = concatenate(store, builder, params);
    if (failed(param))
      return failure();
    if (!*param) {
      // Archive dtypes differ (I8 beside U8): leave the group alone. The
      // params created so far have no users.
      for (Value value : fusedParams)
        value.getDefiningOp()->erase();
      return success();
    }
    fusedParams.push_back(*param);
  }

  auto firstType = cast<RankedTensorType>(first->getResult(0).getType());
  int64_t n = 0;
  for (const Projection &projection : group)
    n += cast<RankedTensorType>(projection.op->getResult(0).getType())
             .getShape()
             .back();
  SmallVector<int64_t> shape(firstType.getShape());
  shape.back() = n;
  auto fusedType = firstType.clone(shape);
  Location loc = builder.getFusedLoc(llvm::to_vector(llvm::map_range(
      group, [](const Projection &p) { return p.op->getLoc(); })));
  Value bias = group.front().bias ? fusedParams.back() : Value();
  Value fused;
  if (isa<LinearOp>(first)) {
    fused = LinearOp::create(builder, loc, fusedType, group.front().x,
                             fusedParams[0], bias, Value(), Activation::none);
  } else {
    Value zeros = group.front().weights.size() == 3 ? fusedParams[2] : Value();
    fused =
        QLinearOp::create(builder, loc, fusedType, group.front().x,
                          fusedParams[0], fusedParams[1], zeros, bias, Value(),
                          group.front().groupSize, Activation::none);
  }

  // All slices first: the builder inserts before `first`, erased below.
  int64_t axis = firstType.getRank() - 1, start = 0;
  SmallVector<Value> slices;
  for (const Projection &projection : group) {
    Operation *op = projection.op;
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    int64_t end = start + type.getShape().back();
    slices.push_back(SliceOp::create(builder, op->getLoc(), type, fused, axis,
                                     start, end, /*step=*/1));
    start = end;
  }
  for (auto [projection, slice] : llvm::zip(group, slices)) {
    Projection copy = projection;
    copy.op->getResult(0).replaceAllUsesWith(slice);
    copy.op->erase();
    for (ParamOp param : copy.weights)
      if (param->use_empty())
        param.erase();
    if (copy.bias && copy.bias->use_empty())
      copy.bias.erase();
  }
  return success();
}

void WeftFuseProjectionsPass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<ParamStore> store =
      ParamStore::open(module, kPassName, params, paramsOut);
  if (failed(store))
    return signalPassFailure();

  // Groups in block order; each projection joins the first group it fits.
  SmallVector<SmallVector<Projection>> groups;
  module.walk([&](Operation *op) {
    std::optional<Projection> projection = getProjection(op);
    if (!projection)
      return;
    for (SmallVector<Projection> &group : groups)
      if (canFuse(group.front(), *projection)) {
        group.push_back(*projection);
        return;
      }
    groups.push_back({*projection});
  });
  for (ArrayRef<Projection> group : groups)
    if (group.size() > 1 && failed(fuse(*store, group)))
      return signalPassFailure();
  if (failed(store->write(module)))
    return signalPassFailure();
}

} // namespace
