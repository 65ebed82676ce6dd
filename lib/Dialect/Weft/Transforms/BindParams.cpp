//===- BindParams.cpp - weft.param ops to function arguments --------------===//

#include "weft/Dialect/Weft/IR/WeftOps.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::weft {
#define GEN_PASS_DEF_WEFTBINDPARAMSPASS
#include "weft/Dialect/Weft/Transforms/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

LogicalResult weft::bindParamsToArguments(func::FuncOp func) {
  SmallVector<ParamOp> params;
  func.walk([&](ParamOp op) { params.push_back(op); });
  // Arguments bound before (weft-bind-params, then weft-compile) keep their
  // names.
  llvm::StringMap<BlockArgument> arguments;
  for (BlockArgument argument : func.getArguments())
    if (auto name = func.getArgAttrOfType<StringAttr>(argument.getArgNumber(),
                                                      kParamAttrName))
      arguments[name.getValue()] = argument;
  for (ParamOp param : params) {
    auto [it, inserted] = arguments.try_emplace(param.getName());
    if (inserted) {
      unsigned index = func.getNumArguments();
      if (failed(
              func.insertArgument(index, param.getType(), {}, param.getLoc())))
        return failure();
      func.setArgAttr(index, kParamAttrName, param.getNameAttr());
      it->second = func.getArgument(index);
    } else if (it->second.getType() != param.getType()) {
      return param.emitOpError("parameter '")
             << param.getName() << "' is used with two types, "
             << it->second.getType() << " and " << param.getType();
    }
    param.replaceAllUsesWith(it->second);
    param.erase();
  }
  return success();
}

namespace {
struct WeftBindParamsPass
    : weft::impl::WeftBindParamsPassBase<WeftBindParamsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal() &&
          failed(bindParamsToArguments(func)))
        return signalPassFailure();
  }
};
} // namespace
