//===- Passes.td - weft conversion passes ------------------*- tablegen -*-===//

#ifndef WEFT_CONVERSION_PASSES_TD
#define WEFT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertWeftToLinalgPass
    : Pass<"convert-weft-to-linalg"> {
  let summary = "lowers weft ops to linalg, tensor, scf, arith and math";
  let description = [{
    Rewrites every weft op of a function into upstream tensor-level dialects:
    structured ops (`linalg.generic` and named ops) for elementwise, contraction
    and reduction ops, `tensor` ops for shape manipulation, and `scf` loops
    where the computation is sequential. f16/bf16 ops compute in f32. An op
    without a lowering is an error (nothing is silently left behind).
    `weft.param` must have been bound to function arguments before (weft-compile
    does this), so it is reported as an error too.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
  let options = [
    Option<"ssmChunkSize", "ssm-chunk-size", "int64_t", /*default=*/"0",
           "lower ssm_scan with a scalar A in chunked (SSD) form, with "
           "chunks of this many steps (matrix products within a chunk, a "
           "sequential loop over chunks); 0 keeps the sequential scan">,
    Option<"attentionProducts", "attention-products", "bool",
           /*default=*/"false",
           "lower weft.attention as whole-tensor products (scores, softmax, "
           "product with V; the GPU pipeline's form) instead of parallel "
           "tasks over query blocks with an online softmax">,
    Option<"attentionBlocks", "attention-blocks", "bool",
           /*default=*/"false",
           "lower weft.attention as scf.forall loops mapped to GPU blocks, "
           "threads and warps (flash attention with block-local tiles, "
           "warp-level products of f16 16x16 tiles for tensor cores, split "
           "keys for few blocks); falls back to attention-products where the "
           "tiles do not fit a block's shared memory">,
    Option<"attentionRegisters", "attention-registers", "bool",
           /*default=*/"false",
           "lower weft.attention with its state in registers where that "
           "applies, as SIMT thread loops: at most 8 query rows per kv head "
           "(decoding) stream K and V into registers, 16 bytes per lane, with "
           "the keys split across blocks; f16 prefill (head dims multiples "
           "of 16 up to 128, enough blocks) FlashAttention-2 style, the "
           "warps keeping scores, softmax state and output rows as "
           "tensor-core fragments; elsewhere as attention-blocks">,
    Option<"blockSharedMemoryKiB", "block-shared-memory-kib", "int64_t",
           /*default=*/"46",
           "shared memory (KiB) a block of the thread-block forms may take: "
           "attention's tiles shrink to fit it, and with room for them its "
           "tensor-core tiles are 64 rows by 64 keys instead of 32 by 32; "
           "linear layers' tensor-core tiles (64 or 128 square) and K steps "
           "(32 to 128) are the largest that fit">,
    Option<"ssmBlocks", "ssm-blocks", "bool", /*default=*/"false",
           "lower ssm_scan as scf.forall loops mapped to GPU blocks and "
           "threads, one thread per state element of a [channels, N] tile in "
           "shared memory; falls back to ssm-per-channel where P or N is "
           "dynamic; takes precedence over ssm-per-channel and "
           "ssm-chunk-size">,
    Option<"ssmChunked", "ssm-chunked", "bool", /*default=*/"false",
           "lower the Mamba-2 ssm_scan (scalar A, f16 or bf16 x, B and C, "
           "P = 64, N a multiple of 16 up to 128) as SIMT thread loops that "
           "walk chunks of 64 steps with tensor-core products (SSD); "
           "elsewhere as ssm-blocks">,
    Option<"linearBlocks", "linear-blocks", "bool", /*default=*/"false",
           "lower weft.linear and weft.qlinear as scf.forall loops mapped to "
           "GPU blocks, threads and warps, the epilogue in the kernel: with "
           "up to 8 rows of x and a parameter weight, a SIMT kernel whose "
           "warps read their output channels' weights in 16-byte chunks "
           "(dequantized in registers); with f16 or bf16 x and more rows, "
           "output tiles of tensor-core products; with f16 or bf16 x and a "
           "dynamic number of rows, the rows choose between the two at run "
           "time; other layers keep the default form">,
    Option<"ssmPerChannel", "ssm-per-channel", "bool", /*default=*/"false",
           "lower ssm_scan with one task per (batch, head, channel) carrying "
           "a state row (the GPU pipeline's form) instead of one per (batch, "
           "head) carrying a [P, N] tile; takes precedence over "
           "ssm-chunk-size">,
  ];
}

#endif // WEFT_CONVERSION_PASSES_TD
