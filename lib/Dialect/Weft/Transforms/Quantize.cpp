//===- Quantize.cpp - weight-only quantization of linear layers -----------===//
//
// weft.linear with a weft.param weight -> weft.qlinear with quantized params
// written to the output archive, and a report of the errors introduced.
//
//===----------------------------------------------------------------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/ParamStore.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"
#include "weft/Support/Quantization.h"

#include "mlir/IR/Builders.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTQUANTIZEPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr StringLiteral kPassName = "weft-quantize";

/// What happened to one weight (shared by all the layers that use it).
struct LayerReport {
  std::string weight;
  int64_t n = 0, k = 0;
  unsigned layers = 0;
  std::string skipReason; // empty when quantized
  std::string qweight, scales, zeros;
  QuantizationError error;
};

/// The params that replace one quantized weight.
struct QuantizedParams {
  std::string qweight, scales, zeros;
  RankedTensorType qweightType, scalesType;
};

/// Whether a weight name is selected by the include / exclude globs.
class WeightFilter {
public:
  LogicalResult init(ModuleOp module, ArrayRef<std::string> include,
                     ArrayRef<std::string> exclude) {
    for (auto [patterns, globs] :
         {std::pair{include, &includes}, std::pair{exclude, &excludes}})
      for (const std::string &pattern : patterns) {
        llvm::Expected<llvm::GlobPattern> glob =
            llvm::GlobPattern::create(pattern);
        if (!glob)
          return emitError(module.getLoc())
                 << kPassName << ": invalid pattern '" << pattern
                 << "': " << llvm::toString(glob.takeError());
        globs->push_back(std::move(*glob));
      }
    return success();
  }

  bool isSelected(StringRef name) const {
    auto matches = [&](const llvm::GlobPattern &glob) {
      return glob.match(name);
    };
    return (includes.empty() || llvm::any_of(includes, matches)) &&
           llvm::none_of(excludes, matches);
  }

private:
  SmallVector<llvm::GlobPattern> includes, excludes;
};

/// The archive name of a quantized tensor: `<prefix>.<part>` for a weight
/// named `<prefix>.weight`, `<name>.<part>` otherwise.
std::string getQuantizedName(StringRef weight, StringRef part) {
  StringRef prefix = weight;
  if (!prefix.consume_back(".weight"))
    return (weight + "." + part).str();
  return (prefix + "." + part).str();
}

struct WeftQuantizePass : weft::impl::WeftQuantizePassBase<WeftQuantizePass> {
  using WeftQuantizePassBase::WeftQuantizePassBase;

  void runOnOperation() override;

private:
  LogicalResult checkOptions(ModuleOp module);
  /// Quantizes the weight of `param` into `store` (once per name) and returns
  /// its params, or null with a report entry when the layer is skipped.
  FailureOr<const QuantizedParams *> quantize(ParamStore &store, ParamOp param,
                                              LinearOp linear);
  void replace(LinearOp linear, const QuantizedParams &params);
  LogicalResult writeReport(ModuleOp module, const ParamStore &store);
  void printSummary(llvm::raw_ostream &os);

  QuantizationScheme scheme;
  std::vector<LayerReport> reports;
  llvm::StringMap<size_t> reportIndex;
  llvm::StringMap<QuantizedParams> quantized;
};

LogicalResult WeftQuantizePass::checkOptions(ModuleOp module) {
  if (bits != 4 && bits != 8)
    return emitError(module.getLoc())
           << kPassName << ": bits must be 8 or 4, got "
           << static_cast<unsigned>(bits);
  if (groupSize != -1 && groupSize <= 0)
    return emitError(module.getLoc())
           << kPassName << ": group-size must be positive or -1, got "
           << static_cast<int64_t>(groupSize);
  std::string dtype = StringRef(scalesType).upper();
  if (dtype != "F32" && dtype != "F16" && dtype != "BF16")
    return emitError(module.getLoc())
           << kPassName << ": scales-type must be f32, f16 or bf16, got '"
           << StringRef(scalesType) << "'";
  scheme = {bits, groupSize, symmetric, dtype};
  return success();
}

FailureOr<const QuantizedParams *>
WeftQuantizePass::quantize(ParamStore &store, ParamOp param, LinearOp linear) {
  StringRef name = param.getName();
  auto [index, isNew] = reportIndex.try_emplace(name, reports.size());
  if (isNew)
    reports.emplace_back();
  LayerReport &report = reports[index->second];
  ++report.layers;
  if (!isNew) {
    auto it = quantized.find(name);
    return it == quantized.end() ? nullptr : &it->second;
  }

  auto type = cast<RankedTensorType>(param.getType());
  int64_t n = type.getDimSize(0), k = type.getDimSize(1);
  report.weight = name.str();
  report.n = n;
  report.k = k;
  int64_t length = scheme.getGroupLength(k);
  if (k % length != 0)
    report.skipReason = "K = " + std::to_string(k) +
                        " is not a multiple of the group size " +
                        std::to_string(length);
  else if (bits == 4 && k % 2 != 0)
    report.skipReason = "K = " + std::to_string(k) +
                        " is odd and int4 packs two values per byte";
  if (!report.skipReason.empty()) {
    linear.emitWarning() << kPassName << ": left '" << name
                         << "' in float: " << report.skipReason;
    return nullptr;
  }

  FailureOr<std::vector<float>> weight = store.readFloats(param);
  if (failed(weight))
    return failure();
  llvm::Expected<QuantizedWeight> q = quantizeWeight(*weight, n, k, scheme);
  if (!q)
    return linear.emitError() << kPassName << ": cannot quantize '" << name
                              << "': " << llvm::toString(q.takeError());
  report.error = measureQuantizationError(*weight, q->dequantize(length), n, k,
                                          errorRows, seed);

  QuantizedParams params;
  params.qweight = getQuantizedName(name, "qweight");
  params.scales = getQuantizedName(name, "scales");
  if (!symmetric)
    params.zeros = getQuantizedName(name, "zeros");
  for (StringRef newName : {params.qweight, params.scales, params.zeros})
    if (!newName.empty() && store.isNameTaken(newName))
      return linear.emitError()
             << kPassName << ": cannot name a quantized tensor of '" << name
             << "': '" << newName << "' is already in the archive";

  MLIRContext *context = linear.getContext();
  Type intType = IntegerType::get(context, bits);
  params.qweightType = RankedTensorType::get({n, k}, intType);
  Type scaleType = scheme.scalesDtype == "F32" ? Type(Float32Type::get(context))
                   : scheme.scalesDtype == "F16"
                       ? Type(Float16Type::get(context))
                       : Type(BFloat16Type::get(context));
  params.scalesType = RankedTensorType::get({n, q->groups}, scaleType);
  auto packedWidth = [&](int64_t length) {
    return bits == 4 ? (length + 1) / 2 : length;
  };
  // Symmetric int8 values are signed (I8); everything else is stored as U8.
  StringRef qweightDtype = bits == 8 && symmetric ? "I8" : "U8";
  store.add(params.qweight, qweightDtype, {n, packedWidth(k)},
            packIntegers(q->values, n, k, bits));
  store.add(params.scales, scheme.scalesDtype, {n, q->groups},
            encodeFloats(q->scales, scheme.scalesDtype));
  if (!symmetric)
    store.add(params.zeros, "U8", {n, packedWidth(q->groups)},
              packIntegers(q->zeros, n, q->groups, bits));
  report.qweight = params.qweight;
  report.scales = params.scales;
  report.zeros = params.zeros;
  return &(quantized[name] = std::move(params));
}

void WeftQuantizePass::replace(LinearOp linear, const QuantizedParams &params) {
  OpBuilder builder(linear);
  Location loc = linear.getLoc();
  Value qweight =
      ParamOp::create(builder, loc, params.qweightType, params.qweight);
  Value scales =
      ParamOp::create(builder, loc, params.scalesType, params.scales);
  Value zeros;
  if (!params.zeros.empty()) {
    auto zerosType = RankedTensorType::get(params.scalesType.getShape(),
                                           params.qweightType.getElementType());
    zeros = ParamOp::create(builder, loc, zerosType, params.zeros);
  }
  Value result =
      QLinearOp::create(builder, loc, linear.getType(), linear.getX(), qweight,
                        scales, zeros, linear.getBias(), linear.getResidual(),
                        groupSize, linear.getActivation());
  // A fused LoRA delta stays on the layer, in float.
  if (linear.getLoraA()) {
    auto qlinear = result.getDefiningOp<QLinearOp>();
    qlinear.getLoraAMutable().assign(linear.getLoraA());
    qlinear.getLoraBMutable().assign(linear.getLoraB());
    if (Value ids = linear.getLoraIds())
      qlinear.getLoraIdsMutable().assign(ids);
    qlinear.setLoraScaleAttr(linear.getLoraScaleAttr());
  }
  Operation *weight = linear.getWeight().getDefiningOp();
  linear.replaceAllUsesWith(result);
  linear.erase();
  if (weight->use_empty())
    weight->erase();
}

LogicalResult WeftQuantizePass::writeReport(ModuleOp module,
                                            const ParamStore &store) {
  llvm::json::Array layers;
  for (const LayerReport &report : reports) {
    llvm::json::Object layer{
        {"weight", report.weight},
        {"shape", llvm::json::Array{report.n, report.k}},
        {"uses", report.layers},
        {"status", report.skipReason.empty() ? "quantized" : "skipped"}};
    if (!report.skipReason.empty()) {
      layer["reason"] = report.skipReason;
    } else {
      layer["qweight"] = report.qweight;
      layer["scales"] = report.scales;
      if (!report.zeros.empty())
        layer["zeros"] = report.zeros;
      layer["weight_rel_error"] = report.error.weightRelError;
      layer["output_rel_error"] = report.error.outputRelError;
      layer["output_error_bound"] = report.error.outputErrorBound;
    }
    layers.push_back(std::move(layer));
  }
  llvm::json::Object document{
      {"bits", static_cast<int64_t>(bits)},
      {"group_size", static_cast<int64_t>(groupSize)},
      {"symmetric", static_cast<bool>(symmetric)},
      {"scales_type", StringRef(scheme.scalesDtype).lower()},
      {"params", store.getInputPath()},
      {"params_out", store.getOutputPath()},
      {"error_rows", static_cast<int64_t>(errorRows)},
      {"seed", static_cast<int64_t>(seed)},
      {"layers", std::move(layers)}};
  std::error_code ec;
  llvm::raw_fd_ostream os(report, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return emitError(module.getLoc()) << kPassName << ": cannot write report '"
                                      << report << "': " << ec.message();
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(document))) << "\n";
  return success();
}

void WeftQuantizePass::printSummary(llvm::raw_ostream &os) {
  os << kPassName << ": int" << bits << " "
     << (symmetric ? "symmetric" : "asymmetric") << ", group size " << groupSize
     << ", " << StringRef(scheme.scalesDtype).lower() << " scales\n";
  os << llvm::format("  %-48s %11s %10s %10s %10s\n", "weight", "shape",
                     "weight err", "output err", "row bound");
  for (const LayerReport &report : reports) {
    std::string shape =
        std::to_string(report.n) + "x" + std::to_string(report.k);
    if (!report.skipReason.empty()) {
      os << llvm::format("  %-48s %11s skipped: ", report.weight.c_str(),
                         shape.c_str())
         << report.skipReason << "\n";
      continue;
    }
    os << llvm::format("  %-48s %11s %10.3e %10.3e %10.3e\n",
                       report.weight.c_str(), shape.c_str(),
                       report.error.weightRelError, report.error.outputRelError,
                       report.error.outputErrorBound);
  }
}

void WeftQuantizePass::runOnOperation() {
  ModuleOp module = getOperation();
  // The pass object may run again (another module, another pipeline run).
  reports.clear();
  reportIndex.clear();
  quantized.clear();
  WeightFilter filter;
  if (failed(checkOptions(module)) ||
      failed(filter.init(module, *include, *exclude)))
    return signalPassFailure();
  FailureOr<ParamStore> store =
      ParamStore::open(module, kPassName, params, paramsOut);
  if (failed(store))
    return signalPassFailure();

  SmallVector<LinearOp> linears;
  module.walk([&](LinearOp linear) {
    auto param = linear.getWeight().getDefiningOp<ParamOp>();
    if (param && filter.isSelected(param.getName()))
      linears.push_back(linear);
  });
  for (LinearOp linear : linears) {
    auto param = linear.getWeight().getDefiningOp<ParamOp>();
    FailureOr<const QuantizedParams *> params = quantize(*store, param, linear);
    if (failed(params))
      return signalPassFailure();
    if (*params)
      replace(linear, **params);
  }

  if (failed(store->write(module)) ||
      (!report.empty() && failed(writeReport(module, *store))))
    return signalPassFailure();
  printSummary(llvm::errs());
}

} // namespace
