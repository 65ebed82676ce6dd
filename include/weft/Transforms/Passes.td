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
    argument becomes a byte load, a shift and a truncation to `i4`; each
    in-bounds 1-D `vector.transfer_read` of 2L consecutive elements along an
    even last dim (weft-tile-contractions' lane chunks, which start at
    multiples of the lanes) becomes a load of L bytes whose low and high
    nibbles are interleaved; sign or zero extensions of the read are done on
    those i8 lanes (shifts, a mask), since LLVM scalarizes extensions of i4
    vectors. Other vector reads (one zero point broadcast over the lanes)
    are assembled from nibble loads. Views of the argument must have been
    folded into the accesses (`fold-memref-alias-ops`).
    This is how quantized weights cross the artifact boundary. Any other use
    of an `i4` buffer is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect"];
}

def WeftLowerStridedCopiesPass
    : Pass<"weft-lower-strided-copies", "::mlir::func::FuncOp"> {
  let summary = "turns memref.copy of strided buffers into linalg.copy";
  let description = [{
    `finalize-memref-to-llvm` lowers a `memref.copy` between buffers that are
    not both contiguous into a call to `memrefCopy` from MLIR's C runner
    utilities, which artifacts do not link. This pass rewrites such copies
    into `linalg.copy`, which the loop lowering turns into plain (and
    vectorizable) loops. Contiguous copies stay `memref.copy` (`memcpy`)
    unless `all` is set (the GPU pipeline sets it: a host `memcpy` would run
    on the CPU).
  }];
  let options = [
    Option<"all", "all", "bool", /*default=*/"false",
           "Rewrite contiguous copies too">,
  ];
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

def WeftMapParallelLoopsToGpuPass
    : Pass<"weft-map-parallel-loops-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "maps loop nests of a bufferized function onto GPU blocks and threads";
  let description = [{
    Prepares the loops that `convert-linalg-to-parallel-loops` produced for
    `convert-parallel-loops-to-gpu`, so that every loop nest that touches
    memory runs on the GPU:

    - an `scf.parallel` nested in another `scf.parallel` becomes sequential
      `scf.for` loops (one level of parallelism is mapped);
    - each outermost `scf.parallel` (one not nested in another) has its
      innermost dimension tiled by `threads`; the tile loop goes to thread x,
      the last three dimensions of the outer loop go to block x, y and z, and
      any further dimensions run sequentially inside the kernel;
    - an outermost `scf.for` / `scf.while` nest that contains no
      `scf.parallel` (a full reduction, a scan) is wrapped in a one-block,
      one-thread parallel loop. Sequential loops that contain parallel loops
      stay on the host: they only compute bounds and launch kernels.

    The result carries `mapping` attributes for `convert-parallel-loops-to-gpu`.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256",
           "Threads per block (tile size of the innermost parallel dimension)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def WeftGpuWarpReductionsPass
    : Pass<"weft-gpu-warp-reductions", "::mlir::func::FuncOp"> {
  let summary = "runs sum and max reductions (contractions, softmax rows) one warp per output element";
  let description = [{
    For the GPU: a bufferized `linalg.generic` whose loops are parallel
    dimensions followed by reduction dimensions, with one f32 output that the
    body updates as `out + f(inputs)` or `max(out, f(inputs))` (every
    contraction weft lowers: linear, qlinear with in-register
    dequantization, LoRA, matmul, attention's scores and product with V;
    norms' sums; softmax maxima and sums), becomes a `gpu.launch` in which each warp computes one output
    element: its 32 lanes stride through the innermost reduction dimension
    (contiguous in memory, so the loads coalesce), outer reduction dimensions
    (qlinear groups) loop in every lane, and a butterfly of `gpu.shuffle xor`
    combines the lanes. `warps` warps share a block. Only reductions whose
    innermost reduction dimension is the last (contiguous) index of every
    input it indexes are rewritten; the others (attention's product with V,
    which reduces over the rows of V) keep one thread per output element,
    neighbouring threads reading neighbouring elements. The one-thread-per-element
    loops that `weft-map-parallel-loops-to-gpu` would otherwise make read
    weight rows with a stride of a whole row between neighbouring threads.

    Generics inside `scf.forall` tasks (attention, scans) are left alone:
    those tasks become kernels as a whole.
  }];
  let options = [
    Option<"warps", "warps", "int64_t", /*default=*/"8",
           "Warps (output elements) per block">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect"
  ];
}

def WeftMapForallToGpuPass
    : Pass<"weft-map-forall-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "maps scf.forall loops over GPU blocks and threads to gpu.launch";
  let description = [{
    Kernels written as two levels of `scf.forall` (the outer loop mapped to
    `#gpu.block<x/y/z>`, inner one-dimensional loops of a static size mapped
    to `#gpu.thread<x>`, such as `convert-weft-to-linalg{attention-blocks}`
    writes) become one `gpu.launch` each:

    * the outer loop's sizes are the grid, its induction variables the block
      ids; the block has as many threads as the largest inner loop;
    * buffers of a static shape allocated directly in the outer loop's body
      are the block's shared memory (workgroup attributions of the launch);
      their deallocations are dropped;
    * inner loops are mapped to threads (`#gpu.thread<x>`) or warps
      (`#gpu.warp<x>`, 32 threads each) by upstream's
      `mapNestedForallToThreadsImpl`, with a barrier after each;
    * warp-level `vector.contract`s of the m16n8k16 shape ([m, k] x [n, k]
      f16 operands read with `vector.transfer_read`, an f32 accumulator)
      become tensor-core operations (upstream's
      `convertVectorToNVVMCompatibleMMASync`): `nvgpu.ldmatrix` for operands
      in shared memory (transposing for B read from [k, n] rows),
      `nvgpu.mma.sync` with the accumulator in registers across K loops,
      per-lane loads and stores of accumulators; f16 -> f32 operand
      extensions are folded into the mixed-precision product. The
      conversion runs on the smallest op holding a product and the reads,
      loops and writes of its values (a warp's tile); index arithmetic there
      must be `affine.apply`, since MLIR 22's conversion fails on integer
      `arith` ops it finds. A product that is not converted is an error.

    Outer loops must be normalized (lower bound 0, step 1), without results,
    of at most three dimensions. Other scf.forall loops are left alone.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def WeftReverseGpuLoopsPass
    : Pass<"weft-reverse-gpu-loops", "::mlir::func::FuncOp"> {
  let summary = "runs loops over GPU blocks, warps and threads backwards (a race check on the CPU)";
  let description = [{
    On the CPU, the thread-block kernels' `scf.forall` loops over
    `#gpu.block`, `#gpu.warp` and `#gpu.thread` ids run their iterations one
    after the other, in order. A phase in which one thread reads what
    another writes (a missing barrier: a race on the GPU) may then still
    give the right answer, because the writer happens to come first. This
    pass makes every such loop visit its ids last to first (each induction
    variable `i` of a loop from `lb` to `ub` by `step` is replaced by
    `last - (i - lb)`, `last` its final value), so that the writer comes
    second. A race-free kernel gives bit for bit the same results in either
    order; `weft-cpu-pipeline{reverse-gpu-loops}` and `weft-compile
    --reverse-gpu-loops` run it, and the numerical tests compare both
    orders. Loops with other mappings or none are left alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def WeftSplitThreadLoopsAtBarriersPass
    : Pass<"weft-split-thread-loops-at-barriers", "::mlir::func::FuncOp"> {
  let summary = "runs SIMT kernels with barriers on the CPU";
  let description = [{
    A kernel may be written SIMT-style: one `scf.forall` over `#gpu.thread`
    ids whose body synchronizes with `gpu.barrier`, also inside `scf.for`
    loops and `scf.if` conditionals whose bounds and conditions are the same
    for every thread of the block. The GPU runs it as written. The CPU runs
    a thread loop one thread after the other, so this pass cuts the loop at
    each barrier into consecutive thread loops (a barrier in a loop or a
    conditional takes it out of the threads, each iteration then running the
    pieces of its body in turn). A value defined before a barrier and used
    after it is recomputed after it when that is cheap and pure (constants,
    index arithmetic, views), and otherwise stored in a buffer of one element
    per thread (scalars and vectors, integers narrower than a byte widened
    to bytes; other values are an error), as are the
    iteration values of such loops and the results of such conditionals.
    The buffers are allocated once per block. A barrier under control flow
    that depends on the thread or on memory, in other region ops, or outside
    a thread loop is an error, as are thread loops without static bounds.
    The CPU pipeline runs this pass (and `weft-expand-warp-collectives` before
    it); the race check (`weft-reverse-gpu-loops`) then applies to the
    pieces.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def WeftExpandWarpCollectivesPass
    : Pass<"weft-expand-warp-collectives", "::mlir::func::FuncOp"> {
  let summary = "turns warp collectives into exchanges through memory (for the CPU)";
  let description = [{
    The lanes of a warp exchange values in `gpu.shuffle`, in tensor-core
    products (`nvgpu.mma.sync`, whose operands are spread over the lanes in
    fragments) and in matrix loads (`nvgpu.ldmatrix`, whose rows' addresses
    come from different lanes than their elements go to). On the CPU a warp's lanes are iterations of a thread loop
    (x a multiple of 32 threads; lane = linear thread id mod 32), so this
    pass rewrites each of these ops inside a loop over `#gpu.thread` ids
    into stores to buffers of the block, a `gpu.barrier`, each thread's loads
    of what it needs, and a second barrier (the buffers are then free for
    the next exchange); `weft-split-thread-loops-at-barriers` then runs the
    loop on the CPU.

    * `gpu.shuffle`: each thread stores its value in a buffer of one element
      per thread and loads its source lane's element. The source lane and
      the `valid` result are those of the `shfl.sync` that upstream's NVVM
      lowering emits (lanes 0 to width - 1, no segments); a lane whose source
      is not valid gets its own value, as on the GPU.
    * `nvgpu.mma.sync` of shape [16, 8, 16] with f16 or bf16 operands and
      f32 accumulators (on the GPU, bf16 goes through
      `weft-lower-bf16-mma-sync`): each
      lane writes its A and B fragment elements (PTX's
      m16n8k16 layout) into its warp's dense 16x16 and 16x8 f32 matrices, and
      computes its four accumulator elements as f32 sums over k in order.
      The GPU's rounding inside the product may differ in the last bits.
    * `nvgpu.ldmatrix` of 8x8 matrices of 16-bit elements (plain or
      transposed): each lane stores its address (the indices), then reads
      its fragment elements at the addresses of the lanes that own the rows
      (PTX's layout). The source must be a `memref.memory_space_cast` of a
      block-local buffer to shared memory (which `weft-map-forall-to-gpu`
      folds away on the GPU); the cast is dropped here.

    Every thread of the block must reach each of these ops, a stronger
    condition than the GPU's (the lanes of a warp). Other shapes and types of
    `nvgpu.mma.sync` are an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def WeftLowerBf16MmaSyncPass
    : Pass<"weft-lower-bf16-mma-sync", "::mlir::gpu::GPUModuleOp"> {
  let summary = "lowers bf16 nvgpu.mma.sync to nvvm.mma.sync";
  let description = [{
    `convert-nvgpu-to-nvvm` lowers `nvgpu.mma.sync` with f16, tf32, f64 and
    integer operands, but not bf16 ("failed to deduce operand PTX types"),
    although PTX has `mma.sync.m16n8k16.row.col.f32.bf16.bf16.f32` (sm_80
    and later). This pass writes an m16n8k16 product of bf16 fragments
    (A `vector<4x2xbf16>`, B `vector<2x2xbf16>`, f32 accumulators
    `vector<2x2xf32>`) as `nvvm.mma.sync` on the fragments' 32-bit registers
    (two bf16 each) and rebuilds the accumulator vector from its result.
    Other products are left to `convert-nvgpu-to-nvvm`. Run it before
    `convert-vector-to-llvm`.
  }];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::vector::VectorDialect"];
}

def WeftAlignWorkgroupMemoryPass
    : Pass<"weft-align-workgroup-memory", "::mlir::gpu::GPUModuleOp"> {
  let summary = "aligns the shared-memory buffers of kernels";
  let description = [{
    Gives every workgroup attribution of the kernels `llvm.align =
    alignment` (bytes), unless it has a larger one. Tensor-core loads
    (`ldmatrix`) read 16-byte rows and the thread-block kernels' tiles are
    laid out for 16- and 32-byte units; the default alignment of a buffer is
    only that of its element type. Run it
    after `gpu-kernel-outlining`, before `convert-gpu-to-nvvm`.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"32",
           "alignment in bytes (a power of two)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def WeftAlignBufferAccessesPass
    : Pass<"weft-align-buffer-accesses", "::mlir::ModuleOp"> {
  let summary = "marks the alignment of vector loads and stores of buffers";
  let description = [{
    For buffers whose alignment is known: function arguments and host
    `memref.alloc`s (the CUDA runtime allocates them aligned to at least 256
    bytes), and the generic views (`memref.memory_space_cast`) of a
    `gpu.launch`'s shared memory that `weft-map-forall-to-gpu` makes
    (`weft-align-workgroup-memory` aligns it to 32 bytes). Every 1-D vector
    load or store of such a buffer with a row-major layout gets the largest
    alignment up to 16 bytes that divides both its size and its provable
    linear offset, when that is more than the element's (an in-bounds
    `vector.transfer_read` / `transfer_write` becomes such a `vector.load` /
    `store`), so that a 16-byte access becomes one 16-byte load or store
    instead of one per element. The proof follows the index arithmetic:
    constants, sums, products, quotients by divisors, and loop induction
    variables whose start and step are multiples; a stride has the product
    of the static sizes inside it as a divisor. Run it after
    `weft-pack-int4-buffers`, before `gpu-kernel-outlining`; the CPU
    pipeline does not run it, since parameters there are read from a
    mapping at any offset.
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect"];
}

def WeftAsyncSharedCopiesPass
    : Pass<"weft-async-shared-copies", "::mlir::ModuleOp"> {
  let summary = "loads marked tile pieces into shared memory with cp.async";
  let description = [{
    The thread-block kernels load their tiles in pieces of up to 16 bytes,
    each read from global memory and stored to shared memory, and mark the
    stores `weft.async_copy = N` (weft/Transforms/AsyncCopies.h). In the
    `gpu.launch` bodies that `weft-map-forall-to-gpu` made, this pass turns
    each marked `vector.store` to a generic view of shared memory whose
    value is a `vector.load` (or an `scf.if` yielding one, and zeros
    otherwise) into `nvgpu.device_async_copy` ops: the piece goes from
    global to shared memory without passing through registers, zero-filled
    where the condition fails (`srcElements` 0, the source indices then
    clamped to 0). Copies are as wide as both accesses' alignment allows
    (4, 8 or 16 bytes; run `weft-align-buffer-accesses` first); 16-byte
    copies bypass L1. Before the barrier that ends the store's phase, every
    thread commits its copies as one group
    (`nvgpu.device_async_create_group`) and waits until at most N groups are
    pending (`nvgpu.device_async_wait`): 0 makes the tile complete at the
    barrier, 1 lets a prefetch of the next tile run on across the phases
    that read the current one. A kernel with such copies waits for all of
    them before it exits. Stores that do not match (unaligned pieces,
    converted values) stay synchronous.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::nvgpu::NVGPUDialect"];
}

def WeftSinkGlobalsIntoKernelsPass
    : Pass<"weft-sink-globals-into-kernels", "::mlir::ModuleOp"> {
  let summary = "makes constant globals that kernels read device globals";
  let description = [{
    A `memref.get_global` outside a `gpu.launch` whose result the kernel body
    uses would hand the kernel the address of a host global, which the GPU
    cannot read. This pass clones the `memref.get_global` into every launch
    body that uses it, so that `gpu-kernel-outlining` copies the global into
    the kernel's `gpu.module` (constant tables such as RoPE frequencies).
    Run it after `convert-parallel-loops-to-gpu`, before outlining.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def WeftFuseElementwiseProducersPass
    : Pass<"weft-fuse-elementwise-producers", "::mlir::func::FuncOp"> {
  let summary = "fuses elementwise linalg producers into consumers that read each element once";
  let description = [{
    Tensor-level fusion of `linalg.generic` producers into their consumers
    (upstream's elementwise fusion patterns, reshape propagation and folding),
    with one rule on top: a producer is fused only when its single use is read
    through a permutation of the consumer's loops, so that every produced
    element is computed exactly once. Fusing into a consumer that broadcasts
    the operand (a contraction reads `x[i, k]` once per output column `j`, a
    broadcasting add reads `b[j]` once per row) would recompute the producer
    (an activation with an `exp`, a dequantization) for every use: SwiGLU's
    `silu(gate) * up` fused into the down projection made it 30x slower.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def WeftTileContractionsPass
    : Pass<"weft-tile-contractions", "::mlir::func::FuncOp"> {
  let summary = "register-blocked, vectorized contractions over a contiguous K";
  let description = [{
    Rewrites every f32-accumulating `linalg.generic` contraction whose last
    loop `k` is a reduction that is the innermost dim of each input that
    reads it, with a static size that is a multiple of `lanes` (weft.linear,
    weft.qlinear, weft.matmul with `transpose_rhs`, weft.lora with one
    adapter, attention's score product where heads map one to one), whose
    input maps are projections of the loops, and whose body adds one term of
    plain arithmetic to the accumulator:

    1. split reduction: `k = ko * lanes + l` with `l` parallel and the last
       loop (so vectorization never moves the lane dim), so that
       `P[..., m, n, l] = sum_ko x[..., m, ko, l] * w[n, ko, l]` and then
       `C[..., m, n] = sum_l P[..., m, n, l]` (like upstream
       `splitReduction`, which takes one reduction loop only; weft.qlinear
       has two, the group and k within it);
    2. tiling of `C` with its producers fused: an `scf.forall` over blocks
       of at most `block-n` output columns (at least `min-blocks` blocks
       where N allows, so that every thread has work), then `scf.for`
       register tiles of `tile-m` x `tile-n` outputs, then `scf.for` loops
       over the other reductions and `ko` (TilingInterface,
       `tileConsumerAndFuseProducersUsingSCF`, `tileUsingSCF`);
    3. peeling of the register-tile loops, so that full tiles have static
       shapes; the last partial tile of `m` or `n` is tiled again by 1 along
       that dim, so that every tile is static and nothing needs masks;
    4. `linalg` vectorization of every tile and hoisting of the accumulator
       transfers out of the `ko` loop: `tile-m * tile-n` accumulators of
       `lanes` f32 stay in registers over all of `K`, and every load is a
       contiguous chunk of a row of `x` or of `w` (w[N, K] needs no packing);
    5. a factor that is invariant in a reduction loop (the qlinear scale,
       one per group) multiplies the loop's sum once after it instead of
       every term in it.

    `P` never reaches memory: its tiles are read back from the vector values
    that were written. Other contractions and other ops are left alone.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"16",
           "f32 lanes of a vector register (16 for AVX-512)">,
    Option<"tileM", "tile-m", "int64_t", /*default=*/"4",
           "rows of the register tile">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"4",
           "columns of the register tile">,
    Option<"rowTileN", "row-tile-n", "int64_t", /*default=*/"8",
           "columns of the register tile when x has one row (M = 1)">,
    Option<"blockN", "block-n", "int64_t", /*default=*/"64",
           "output columns per parallel task (at most)">,
    Option<"minBlocks", "min-blocks", "int64_t", /*default=*/"2",
           "parallel tasks to make at least, where N allows (the threads)">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // WEFT_TRANSFORMS_PASSES_TD
