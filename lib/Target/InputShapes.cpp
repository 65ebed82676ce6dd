//===- InputShapes.cpp - what compiled code assumes about dynamic dims ----===//
//
// A dynamic dim of an input may not be free: the lowered code indexes two
// inputs with the same loop (the dynamic batch of x and of ids), or an input
// with a loop sized by a parameter. Called with sizes that break such a tie,
// the code reads out of bounds. This analysis finds the ties on the linalg
// form of the module, so the manifest can state them and the runtime can
// reject such inputs before the call.
//
// Every tie comes from a construct whose semantics require it: an operand of
// a linalg op indexed by a loop dim has that loop's extent, a result has its
// init's shape, a tensor.empty sized by tensor.dim has that size, and loop-
// carried tensors keep their shape. Constructs the analysis does not know tie
// nothing, so it may miss requirements but never invents one.
//
//===----------------------------------------------------------------------===//

#include "weft/Conversion/Passes.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Target/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/EquivalenceClasses.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

/// Union-find over tensor dims, loop dims and constant sizes.
class DimTies {
public:
  /// Dim `dim` of tensor `value`; a static dim is tied to its size.
  int tensorDim(Value value, int64_t dim) {
    int id = getId({value.getAsOpaquePointer(), dim});
    auto type = cast<RankedTensorType>(value.getType());
    if (!type.isDynamicDim(dim))
      tie(id, constant(type.getDimSize(dim)));
    return id;
  }
  int loopDim(Operation *op, int64_t dim) { return getId({op, dim}); }
  int constant(int64_t size) { return getId({&constantTag, size}); }

  void tie(int a, int b) { classes.unionSets(a, b); }
  void tieShapes(Value a, Value b) {
    auto typeA = dyn_cast<RankedTensorType>(a.getType());
    auto typeB = dyn_cast<RankedTensorType>(b.getType());
    if (!typeA || !typeB || typeA.getRank() != typeB.getRank())
      return;
    for (int64_t d = 0; d < typeA.getRank(); ++d)
      tie(tensorDim(a, d), tensorDim(b, d));
  }

  int leader(int id) { return classes.getLeaderValue(id); }
  /// The constant size in `id`'s class, if any.
  std::optional<int64_t> getConstant(int id) {
    int root = leader(id);
    for (auto &[key, other] : ids)
      if (key.first == &constantTag && leader(other) == root)
        return key.second;
    return std::nullopt;
  }

private:
  using Key = std::pair<const void *, int64_t>;
  int getId(Key key) {
    auto [it, inserted] = ids.try_emplace(key, ids.size());
    if (inserted)
      classes.insert(it->second);
    return it->second;
  }

  char constantTag = 0;
  std::map<Key, int> ids;
  llvm::EquivalenceClasses<int> classes;
};

/// A loop that runs over dim `e` of U (its bound is tensor.dim U, e) and
/// slices another tensor at its induction variable on dim `d` walks both
/// along the same axis: the lowering of a sequence (a scan's steps, the key
/// blocks of attention) reads every tensor of that sequence this way.
void tieSlicedByLoop(scf::ForOp loop, DimTies &ties) {
  auto bound = loop.getUpperBound().getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> boundDim =
      bound ? bound.getConstantIndex() : std::nullopt;
  if (!boundDim || !isa<RankedTensorType>(bound.getSource().getType()))
    return;
  int axis = ties.tensorDim(bound.getSource(), *boundDim);
  Value iv = loop.getInductionVar();
  auto tieAt = [&](Value sliced, ArrayRef<OpFoldResult> offsets) {
    if (!isa<RankedTensorType>(sliced.getType()))
      return;
    for (auto [d, offset] : llvm::enumerate(offsets))
      if (dyn_cast_if_present<Value>(offset) == iv)
        ties.tie(ties.tensorDim(sliced, d), axis);
  };
  loop.getBody()->walk([&](Operation *op) {
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
      tieAt(slice.getSource(), slice.getMixedOffsets());
    else if (auto insert = dyn_cast<tensor::InsertSliceOp>(op))
      tieAt(insert.getDest(), insert.getMixedOffsets());
  });
}

void collectTies(func::FuncOp func, DimTies &ties) {
  func.walk([&](Operation *op) {
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      if (!linalgOp.hasPureTensorSemantics())
        return;
      for (OpOperand &operand : op->getOpOperands()) {
        if (!isa<RankedTensorType>(operand.get().getType()))
          continue;
        AffineMap map = linalgOp.getMatchingIndexingMap(&operand);
        for (auto [dim, expr] : llvm::enumerate(map.getResults()))
          if (auto loop = dyn_cast<AffineDimExpr>(expr))
            ties.tie(ties.tensorDim(operand.get(), dim),
                     ties.loopDim(op, loop.getPosition()));
      }
      for (auto [result, init] :
           llvm::zip(op->getResults(), linalgOp.getDpsInits()))
        ties.tieShapes(result, init);
      return;
    }
    if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
      unsigned next = 0;
      for (int64_t d = 0; d < empty.getType().getRank(); ++d) {
        if (!empty.getType().isDynamicDim(d))
          continue;
        Value size = empty.getDynamicSizes()[next++];
        auto dimOp = size.getDefiningOp<tensor::DimOp>();
        std::optional<int64_t> index =
            dimOp ? dimOp.getConstantIndex() : std::nullopt;
        if (index && isa<RankedTensorType>(dimOp.getSource().getType()))
          ties.tie(ties.tensorDim(empty, d),
                   ties.tensorDim(dimOp.getSource(), *index));
      }
      return;
    }
    if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      ties.tieShapes(cast.getSource(), cast.getResult());
      return;
    }
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      tieSlicedByLoop(loop, ties);
      auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
      for (auto [init, arg, yielded, result] :
           llvm::zip(loop.getInitArgs(), loop.getRegionIterArgs(),
                     yield.getOperands(), loop.getResults())) {
        ties.tieShapes(init, arg);
        ties.tieShapes(init, yielded);
        ties.tieShapes(init, result);
      }
    }
  });
}

/// Ties the weft ops' shape rules imply (Spec.md): what a lowering may read
/// through loops whose bounds the analysis of the linalg form cannot follow.
void collectWeftTies(func::FuncOp func, DimTies &ties) {
  auto tieDim = [&](Value a, int64_t da, Value b, int64_t db) {
    auto typeA =
        dyn_cast_if_present<RankedTensorType>(a ? a.getType() : Type());
    auto typeB =
        dyn_cast_if_present<RankedTensorType>(b ? b.getType() : Type());
    if (typeA && typeB && da < typeA.getRank() && db < typeB.getRank())
      ties.tie(ties.tensorDim(a, da), ties.tensorDim(b, db));
  };
  // Right-aligned dims of `operand` and `result` (numpy broadcasting); a
  // dynamic operand dim never broadcasts, so it equals the result's.
  auto tieBroadcast = [&](Value operand, Value result) {
    auto in = dyn_cast<RankedTensorType>(operand.getType());
    auto out = dyn_cast<RankedTensorType>(result.getType());
    if (!in || !out || in.getRank() > out.getRank())
      return;
    int64_t shift = out.getRank() - in.getRank();
    for (int64_t d = 0; d < in.getRank(); ++d)
      if (in.isDynamicDim(d))
        tieDim(operand, d, result, d + shift);
  };
  func.walk([&](Operation *op) {
    if (isa<AddOp, SubOp, MulOp, DivOp>(op) ||
        op->hasTrait<OpTrait::Elementwise>() || isa<CastOp>(op)) {
      for (Value operand : op->getOperands())
        tieBroadcast(operand, op->getResult(0));
    } else if (auto attention = dyn_cast<AttentionOp>(op)) {
      tieDim(attention.getK(), 1, attention.getV(), 1);
      tieDim(attention.getQ(), 0, attention.getK(), 0);
      tieDim(attention.getK(), 0, attention.getV(), 0);
      tieDim(attention.getKvLen(), 0, attention.getQ(), 0);
    } else if (auto scan = dyn_cast<SsmScanOp>(op)) {
      for (Value operand :
           {scan.getDt(), scan.getB(), scan.getC(), scan.getZ()}) {
        tieDim(operand, 0, scan.getX(), 0);
        tieDim(operand, 1, scan.getX(), 1);
      }
      tieDim(scan.getInitialState(), 0, scan.getX(), 0);
    } else if (auto conv = dyn_cast<CausalConv1dOp>(op)) {
      tieDim(conv.getState(), 0, conv.getX(), 0);
    } else if (auto rope = dyn_cast<RopeOp>(op)) {
      tieDim(rope.getPositions(), 0, rope.getX(), 0);
      tieDim(rope.getPositions(), 1, rope.getX(), 1);
    }
  });
}

/// Equalities between dims of a function's arguments, gathered from
/// several analyses of different forms of the function.
class ArgumentTies {
public:
  /// Adds what `ties` says about the arguments of `func`.
  void add(func::FuncOp func, DimTies &ties) {
    std::map<int, int> firstOfClass;
    for (BlockArgument arg : func.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type)
        continue;
      for (int64_t d = 0; d < type.getRank(); ++d) {
        int id = ties.tensorDim(arg, d);
        int key = getKey(arg.getArgNumber(), d);
        if (std::optional<int64_t> size = ties.getConstant(id))
          constants[key] = *size;
        auto [it, inserted] = firstOfClass.try_emplace(ties.leader(id), key);
        if (!inserted)
          classes.unionSets(it->second, key);
      }
    }
  }

  int leader(unsigned arg, int64_t dim) {
    return classes.getLeaderValue(getKey(arg, dim));
  }
  std::optional<int64_t> getConstant(unsigned arg, int64_t dim) {
    int root = leader(arg, dim);
    for (auto [key, size] : constants)
      if (classes.getLeaderValue(key) == root)
        return size;
    return std::nullopt;
  }

private:
  int getKey(unsigned arg, int64_t dim) {
    int key = static_cast<int>(arg) * 64 + static_cast<int>(dim);
    classes.insert(key);
    return key;
  }
  llvm::EquivalenceClasses<int> classes;
  std::map<int, int64_t> constants;
};

} // namespace

LogicalResult weft::inferInputShapes(ModuleOp module, Manifest &manifest) {
  OwningOpRef<ModuleOp> lowered = module.clone();
  PassManager pm(module.getContext());
  pm.addNestedPass<func::FuncOp>(createConvertWeftToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(pm.run(*lowered)))
    return failure();

  for (FunctionSignature &signature : manifest.functions) {
    auto func = module.lookupSymbol<func::FuncOp>(signature.name);
    auto loweredFunc = lowered->lookupSymbol<func::FuncOp>(signature.name);
    if (!func || !loweredFunc)
      continue;
    ArgumentTies arguments;
    DimTies weftTies, linalgTies;
    collectWeftTies(func, weftTies);
    arguments.add(func, weftTies);
    collectTies(loweredFunc, linalgTies);
    arguments.add(loweredFunc, linalgTies);
    // Dims of distinct inputs in one class share a symbol.
    std::map<int, std::vector<std::pair<size_t, size_t>>> members;
    for (auto [i, input] : llvm::enumerate(signature.inputs)) {
      input.dimSymbols.assign(input.shape.size(), "");
      for (auto [d, size] : llvm::enumerate(input.shape)) {
        if (size != ShapedType::kDynamic && size != -1)
          continue;
        if (std::optional<int64_t> constant = arguments.getConstant(i, d)) {
          input.shape[d] = *constant;
          continue;
        }
        members[arguments.leader(i, d)].push_back({i, d});
      }
    }
    int next = 0;
    for (auto &[leader, dims] : members) {
      if (dims.size() < 2)
        continue;
      std::string symbol = "s" + std::to_string(next++);
      for (auto [i, d] : dims)
        signature.inputs[i].dimSymbols[d] = symbol;
    }
  }
  return success();
}
