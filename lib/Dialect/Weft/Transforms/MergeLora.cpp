//===- MergeLora.cpp - LoRA adapters into base weights --------------------===//
//
// add(linear(x, W), lora(x, A, B)) -> linear(x, W + scale * B A), with the
// merged weight written to the output archive.
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/ParamStore.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTMERGELORAPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr StringLiteral kPassName = "weft-merge-lora";

/// A base layer with its adapter: add(linear, lora) over the same x.
struct AdaptedLayer {
  AddOp add;
  LinearOp linear;
  LoraOp lora;
  ParamOp weight, loraA, loraB;
};

/// The adapted layer that `add` computes, if it is one the pass can merge.
std::optional<AdaptedLayer> matchAdaptedLayer(AddOp add) {
  for (auto [base, delta] :
       {std::pair{add.getLhs(), add.getRhs()}, {add.getRhs(), add.getLhs()}}) {
    auto linear = base.getDefiningOp<LinearOp>();
    auto lora = delta.getDefiningOp<LoraOp>();
    if (!linear || !lora || !linear->hasOneUse() || !lora->hasOneUse() ||
        linear.getX() != lora.getX() ||
        linear.getActivation() != Activation::none ||
        add.getType() != linear.getType() || lora.getType() != linear.getType())
      continue;
    AdaptedLayer layer{add,
                       linear,
                       lora,
                       linear.getWeight().getDefiningOp<ParamOp>(),
                       lora.getLoraA().getDefiningOp<ParamOp>(),
                       lora.getLoraB().getDefiningOp<ParamOp>()};
    if (layer.weight && layer.loraA && layer.loraB)
      return layer;
  }
  return std::nullopt;
}

/// `<prefix>.merged.weight` for `<prefix>.weight`, `<name>.merged` otherwise.
std::string getMergedName(StringRef weight) {
  StringRef prefix = weight;
  if (prefix.consume_back(".weight"))
    return (prefix + ".merged.weight").str();
  return (weight + ".merged").str();
}

struct WeftMergeLoraPass
    : weft::impl::WeftMergeLoraPassBase<WeftMergeLoraPass> {
  using WeftMergeLoraPassBase::WeftMergeLoraPassBase;

  void runOnOperation() override;

private:
  /// Computes W' into `store` and returns its name.
  FailureOr<std::string> merge(ParamStore &store, AdaptedLayer layer);
};

FailureOr<std::string> WeftMergeLoraPass::merge(ParamStore &store,
                                                AdaptedLayer layer) {
  LoraOp lora = layer.lora;
  int64_t index = lora.isMultiAdapter() ? adapter : -1;
  int64_t adapters =
      lora.isMultiAdapter() ? lora.getLoraA().getType().getDimSize(0) : 1;
  if (index >= adapters)
    return lora.emitError()
           << kPassName << ": adapter " << index
           << " is out of range: the lora holds " << adapters << " adapters";
  FailureOr<std::vector<float>> w = store.readFloats(layer.weight);
  FailureOr<std::vector<float>> a = store.readFloats(layer.loraA);
  FailureOr<std::vector<float>> b = store.readFloats(layer.loraB);
  if (failed(w) || failed(a) || failed(b))
    return failure();

  auto weightType = cast<RankedTensorType>(layer.weight.getType());
  int64_t n = weightType.getDimSize(0), k = weightType.getDimSize(1);
  int64_t r = lora.getRank();
  // Adapter `index` of the stacked form starts at row index * r (A) and
  // index * N (B); the single form is adapter 0.
  const float *aData = a->data() + std::max<int64_t>(index, 0) * r * k;
  const float *bData = b->data() + std::max<int64_t>(index, 0) * n * r;
  double scale = lora.getScale().convertToDouble();
  std::vector<float> merged(n * k);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      double delta = 0;
      for (int64_t i = 0; i < r; ++i)
        delta += double(bData[row * r + i]) * double(aData[i * k + col]);
      merged[row * k + col] =
          static_cast<float>(double((*w)[row * k + col]) + scale * delta);
    }

  StringRef dtype = getFloatDtype(weightType.getElementType());
  std::string bytes = encodeFloats(merged, dtype);
  std::string name = getMergedName(layer.weight.getName());
  if (std::optional<StringRef> existing = store.getAdded(name)) {
    if (*existing == bytes)
      return name; // the same merge, seen from another use
    return lora.emitError()
           << kPassName << ": cannot name the merged weight of '"
           << layer.weight.getName() << "': '" << name
           << "' is already taken by another merge";
  }
  if (store.isNameTaken(name))
    return lora.emitError()
           << kPassName << ": cannot name the merged weight of '"
           << layer.weight.getName() << "': '" << name
           << "' is already in the archive";
  store.add(name, dtype, {n, k}, std::move(bytes));
  llvm::json::Object record{{"base", layer.weight.getName()},
                            {"lora_a", layer.loraA.getName()},
                            {"lora_b", layer.loraB.getName()},
                            {"scale", scale},
                            {"adapter", index}};
  store.setMetadata(
      "weft.merged." + name,
      llvm::formatv("{0}", llvm::json::Value(std::move(record))).str());
  return name;
}

void WeftMergeLoraPass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<ParamStore> store =
      ParamStore::open(module, kPassName, params, paramsOut);
  if (failed(store))
    return signalPassFailure();

  SmallVector<AdaptedLayer> layers;
  module.walk([&](AddOp add) {
    std::optional<AdaptedLayer> layer = matchAdaptedLayer(add);
    // Multi-adapter loras stay for serving unless an adapter is chosen.
    if (layer && (!layer->lora.isMultiAdapter() || adapter >= 0))
      layers.push_back(*layer);
  });
  for (AdaptedLayer layer : layers) {
    FailureOr<std::string> name = merge(*store, layer);
    if (failed(name))
      return signalPassFailure();
    LinearOp linear = layer.linear;
    OpBuilder builder(linear);
    Value weight = ParamOp::create(builder, linear.getLoc(),
                                   layer.weight.getType(), *name);
    Value merged = LinearOp::create(builder, linear.getLoc(), linear.getType(),
                                    linear.getX(), weight, linear.getBias(),
                                    linear.getResidual(), Activation::none);
    layer.add.replaceAllUsesWith(merged);
    layer.add.erase();
    linear.erase();
    layer.lora.erase();
    for (ParamOp param : {layer.weight, layer.loraA, layer.loraB})
      if (param->use_empty())
        param.erase();
  }
  if (failed(store->write(module)))
    return signalPassFailure();
}

} // namespace
