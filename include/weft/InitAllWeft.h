//===- InitAllWeft.h - register weft dialects and passes --------*- C++ -*-===//
//
// One entry point per kind of registration, so tools and tests set up weft
// the same way.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_INITALLWEFT_H
#define WEFT_INITALLWEFT_H

#include "weft/Conversion/Passes.h"
#include "weft/Dialect/Weft/IR/WeftDialect.h"
#include "weft/Dialect/Weft/Transforms/Passes.h"
#include "weft/Dialect/Weft/Transforms/Transforms.h"
#include "weft/Pipelines/Pipelines.h"
#include "weft/Transforms/Passes.h"
#include "weft/Transforms/ThreadLoops.h"

#include "mlir/IR/DialectRegistry.h"

namespace mlir::weft {

/// Adds the weft dialect and the interfaces weft gives upstream ops to
/// `registry`.
inline void registerAllWeftDialects(DialectRegistry &registry) {
  registry.insert<WeftDialect>();
  registerTilingInterfaceExternalModels(registry);
  registerBarrierMemoryEffects(registry);
}

/// Registers weft's passes and pass pipelines with the global registry.
inline void registerAllWeftPasses() {
  registerWeftConversionPasses();
  registerWeftDialectPasses();
  registerWeftTransformsPasses();
  registerCpuPipeline();
  registerGpuPipeline();
}

} // namespace mlir::weft

#endif // WEFT_INITALLWEFT_H
