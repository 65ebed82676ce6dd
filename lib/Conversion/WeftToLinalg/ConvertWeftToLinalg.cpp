//===- ConvertWeftToLinalg.cpp - the convert-weft-to-linalg pass ----------===//

#include "weft/Conversion/Passes.h"
#include "weft/Conversion/WeftToLinalg/WeftToLinalg.h"
#include "weft/Dialect/Weft/IR/WeftDialect.h"
#include "weft/Dialect/Weft/IR/WeftOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::weft {
#define GEN_PASS_DEF_CONVERTWEFTTOLINALGPASS
#include "weft/Conversion/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

void weft::populateWeftToLinalgPatterns(RewritePatternSet &patterns,
                                        const WeftToLinalgForms &forms) {
  populateElementwiseToLinalgPatterns(patterns);
  populateContractionToLinalgPatterns(patterns, forms);
  populateNormalizationToLinalgPatterns(patterns);
  populateShapeToLinalgPatterns(patterns);
  populateAttentionToLinalgPatterns(patterns, forms);
  populateSequenceToLinalgPatterns(patterns, forms);
}

namespace {
struct ConvertWeftToLinalgPass
    : weft::impl::ConvertWeftToLinalgPassBase<ConvertWeftToLinalgPass> {
  using ConvertWeftToLinalgPassBase::ConvertWeftToLinalgPassBase;

  void runOnOperation() override {
    // Parameters have no tensor-level meaning: weft-compile binds them to
    // function arguments first.
    WalkResult params = getOperation()->walk([](ParamOp param) {
      param.emitOpError("must be bound to a function argument before "
                        "lowering; weft-compile does this (see "
                        "`weft-compile --emit=mlir`)");
      return WalkResult::interrupt();
    });
    if (params.wasInterrupted())
      return signalPassFailure();
    MLIRContext *context = &getContext();
    ConversionTarget target(*context);
    target.addIllegalDialect<WeftDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });

    RewritePatternSet patterns(context);
    WeftToLinalgForms forms;
    forms.ssmChunkSize = ssmChunkSize;
    forms.attentionProducts = attentionProducts;
    forms.attentionBlocks = attentionBlocks;
    forms.attentionRegisters = attentionRegisters;
    forms.ssmPerChannel = ssmPerChannel;
    forms.ssmBlocks = ssmBlocks;
    forms.ssmChunked = ssmChunked;
    forms.linearBlocks = linearBlocks;
    forms.blockSharedMemoryKiB = blockSharedMemoryKiB;
    populateWeftToLinalgPatterns(patterns, forms);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
