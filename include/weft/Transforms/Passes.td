//===- Passes.td - weft code generation passes -------------*- tablegen -*-===//
//
// Passes over upstream dialects that weft's pipelines need.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_TRANSFORMS_PASSES_TD
#define WEFT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def WeftPackInt4BuffersPass
    : Pass<"weft-pack-int4-buffers", "::mlir::ModuleOp"> {
  let summary = "stores i4 function arguments packed, two values per byte";
  let description = [{
    Rewrites every `i4` memref function argument (static shape, row-major)
    into the flat packed bytes of the artifact ABI (docs/Runtime.md):
    `memref<ceil(numel/2)xi8>`, row-major element `e` in byte `e/2`, even `e`
    in the low nibble. For an even last dim this is byte for byte the
    per-row packing of docs/Quantization.md. Each `memref.load` from such an
    argument becomes a byte load, a shift and a truncation to `i4`.
    This is how quantized weights cross the artifact boundary. Any other use
    of an `i4` buffer is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def WeftLowerStridedCopiesPass
    : Pass<"weft-lower-strided-copies", "::mlir::func::FuncOp"> {
  let summary = "turns memref.copy of strided buffers into linalg.copy";
  let description = [{
    `finalize-memref-to-llvm` lowers a `memref.copy` between buffers that are
    not both contiguous into a call to `memrefCopy` from MLIR's C runner
    utilities, which artifacts do not link. This pass rewrites such copies
    into `linalg.copy`, which the loop lowering turns into plain (and
    vectorizable) loops. Contiguous copies stay `memref.copy` (`memcpy`).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def WeftSerializeNestedParallelLoopsPass
    : Pass<"weft-serialize-nested-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "keeps parallel loops nested in other loops on one thread";
  let description = [{
    Rewrites every `scf.parallel` nested in an `scf.for`, `scf.while` or
    another `scf.parallel` into nested `scf.for` loops, so that only loops at
    the top level of a function become OpenMP parallel regions. A parallel
    region inside a sequential loop (the step of a scan, one key block of
    attention) forks and joins threads at every iteration, which costs more
    than it gains on small steps; one inside a parallel task (attention's
    (batch, head, query block) loop) has no threads left to use.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

#endif // WEFT_TRANSFORMS_PASSES_TD
