//===- LoopUtils.h - loop helpers shared by weft's passes -------*- C++ -*-===//

#ifndef WEFT_TRANSFORMS_LOOPUTILS_H
#define WEFT_TRANSFORMS_LOOPUTILS_H

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::weft {

/// Replaces `loop`, which must have no reductions, by a nest of scf.for loops
/// running its iterations in order.
void serializeParallelLoop(scf::ParallelOp loop);

} // namespace mlir::weft

#endif // WEFT_TRANSFORMS_LOOPUTILS_H
