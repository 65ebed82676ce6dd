//===- AsyncCopies.h - tile loads that may run asynchronously ---*- C++ -*-===//
//
// The thread-block forms mark the shared-memory stores of the tiles they
// load from global memory with kAsyncCopyAttrName. On the CPU the mark means
// nothing; weft-async-shared-copies turns each marked store of a piece read
// from global memory into an asynchronous copy (cp.async), and at the end of
// the phase (before its barrier) commits the thread's copies as one group
// and waits until at most the attribute's value of groups is still pending.
// A phase that prefetches the next tile into a second buffer says 1: the
// previous group (the current tile) must have landed, the new one may still
// be in flight across the phases that read the current tile.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_TRANSFORMS_ASYNCCOPIES_H
#define WEFT_TRANSFORMS_ASYNCCOPIES_H

#include "llvm/ADT/StringRef.h"

namespace mlir::weft {

/// I64 attribute of a store of a tile piece: the copy may be asynchronous;
/// the value is the number of the thread's copy groups that may still be
/// pending at the end of the phase.
constexpr llvm::StringLiteral kAsyncCopyAttrName = "weft.async_copy";

} // namespace mlir::weft

#endif // WEFT_TRANSFORMS_ASYNCCOPIES_H
