// RUN: weft-opt %s --convert-weft-to-linalg=attention-blocks | FileCheck %s

// The thread-block form of weft.attention: the operands read through
// bufferization.to_buffer, a grid over (batch x kv head, query block, split)
// whose block-local tiles are allocated in the block, phases as loops over
// 256 threads (queries, K/V tile, scores, online softmax, P.V, results) or,
// for the two products of f16 tiles of whole 16x16 matrices, over 8 warps
// (warp-level vector.contract, tensor cores on the GPU), and with few blocks
// a second grid that merges the splits.

// Prefill, causal GQA (G = 2): 16 queries x 2 heads = 32 rows per block,
// 32-key tiles; 8 batch rows x 2 kv heads x 32 query blocks need no split.
// f16 Q, K, V and P tiles with rows padded to 72 and 40 elements (whole
// 16-byte units), f32 scores and accumulator. Two K and two V tiles: the
// first phase also loads the first key tile, and each key tile's first
// phase the next one into the other pair (the loop carries which pair is
// current), by stores marked as asynchronous copies that leave one group
// pending.
// CHECK-LABEL: func.func @prefill
// CHECK-DAG:     bufferization.to_buffer %arg0 read_only : tensor<8x512x4x64xf16> to memref<8x512x4x64xf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-DAG:     %[[OUT:.*]] = memref.alloc() : memref<8x512x4x64xf16>
// CHECK:         scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}}, %{{.*}}, 1) {
// CHECK:           memref.alloc() : memref<32x72xf16>
// CHECK-NEXT:      memref.alloc() : memref<32x40xf16>
// CHECK-COUNT-4:   memref.alloc() : memref<32x72xf16>
// CHECK-DAG:       memref.alloc() : memref<32x32xf32>
// CHECK-DAG:       memref.alloc() : memref<32x64xf32>
// CHECK:           scf.forall (%{{.*}}) in (256) {
// CHECK:             vector.transfer_write {{.*}} {in_bounds = [true], weft.async_copy = 1 : i64} : vector<8xf16>, memref<32x72xf16>
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:           scf.for {{.*}} iter_args(%[[FIRST:.*]] = %true) -> (i1)
// CHECK-COUNT-4:     arith.select %[[FIRST]], %{{.*}}, %{{.*}} : memref<32x72xf16>
// CHECK:             vector.transfer_write {{.*}} {in_bounds = [true], weft.async_copy = 1 : i64} : vector<8xf16>, memref<32x72xf16>
// CHECK:             } {mapping = [#gpu.thread<x>]}
// Q.K^T: per K step a 16x16 Q tile and, for each 8 columns of the warp's
// 16x16 score tile, 8 rows of K as they are ([n, k]); P.V reads V's [k, n]
// rows transposed.
// CHECK:             scf.forall (%{{.*}}) in (8) {
// CHECK:               vector.transfer_read {{.*}} {in_bounds = [true, true]} : memref<32x72xf16>, vector<16x16xf16>
// CHECK:               vector.transfer_read {{.*}} {in_bounds = [true, true]} : memref<32x72xf16>, vector<8x16xf16>
// CHECK:               vector.contract {{.*}} : vector<16x16xf32>, vector<8x16xf32> into vector<16x8xf32>
// CHECK:             } {mapping = [#gpu.warp<x>]}
// Three softmax phases between the products: the scores finished with
// their run maxima; the row maxima with the probabilities; the row sums
// with the accumulator's rescaling (only where a row's reference maximum
// moved).
// CHECK-COUNT-3:     } {mapping = [#gpu.thread<x>]}
// CHECK:             vector.transfer_read {{.*}} {in_bounds = [true, true], permutation_map = #{{.*}}} : memref<32x72xf16>, vector<8x16xf16>
// CHECK:             vector.contract {{.*}} : vector<16x16xf32>, vector<8x16xf32> into vector<16x8xf32>
// CHECK:             } {mapping = [#gpu.warp<x>]}
// CHECK:           }
// CHECK:           scf.forall (%{{.*}}) in (256) {
// CHECK:             arith.divf
// CHECK:             memref.store %{{.*}}, %[[OUT]]
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>, #gpu.block<y>, #gpu.block<z>]}
// CHECK-NOT:     scf.forall
// CHECK:         bufferization.to_tensor %[[OUT]] restrict writable
func.func @prefill(%q: tensor<8x512x4x64xf16>, %k: tensor<8x512x2x64xf16>, %v: tensor<8x512x2x64xf16>) -> tensor<8x512x4x64xf16> {
  %0 = weft.attention %q, %k, %v {causal} : (tensor<8x512x4x64xf16>, tensor<8x512x2x64xf16>, tensor<8x512x2x64xf16>) -> tensor<8x512x4x64xf16>
  return %0 : tensor<8x512x4x64xf16>
}

// Decode over 4096 keys with 8 kv heads: 8 blocks, so the 64 tiles of 64
// keys are split 32 ways and merged by a grid over (batch, query, head).
// CHECK-LABEL: func.func @decode
// CHECK-DAG:     %[[PART:.*]] = memref.alloc() : memref<32x1x1x32x128xf32>
// CHECK-DAG:     %[[MAX:.*]] = memref.alloc() : memref<32x1x32x1xf32>
// CHECK:         scf.forall (%{{.*}}, %{{.*}}, %[[SPLIT:.*]]) in (%{{.*}}, %{{.*}}, 32) {
// CHECK:           memref.store %{{.*}}, %[[PART]][%[[SPLIT]],
// CHECK:           memref.store %{{.*}}, %[[MAX]][%[[SPLIT]],
// CHECK:         } {mapping = [#gpu.block<x>, #gpu.block<y>, #gpu.block<z>]}
// CHECK:         scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (1, 1, 32) {
// CHECK:           scf.forall (%{{.*}}) in (128) {
// CHECK:             math.exp
// CHECK:             math.log
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>, #gpu.block<y>, #gpu.block<z>]}
func.func @decode(%q: tensor<1x1x32x128xf16>, %k: tensor<1x4096x8x128xf16>, %v: tensor<1x4096x8x128xf16>) -> (tensor<1x1x32x128xf16>, tensor<1x32x1xf32>) {
  %0, %1 = weft.attention %q, %k, %v {return_lse} : (tensor<1x1x32x128xf16>, tensor<1x4096x8x128xf16>, tensor<1x4096x8x128xf16>) -> (tensor<1x1x32x128xf16>, tensor<1x32x1xf32>)
  return %0, %1 : tensor<1x1x32x128xf16>, tensor<1x32x1xf32>
}

// Tiles that cannot fit a block's shared memory (f32, 64 query heads per kv
// head, D = 256) fall back to whole-tensor products.
// CHECK-LABEL: func.func @too_large
// CHECK-NOT:     scf.forall
// CHECK:         linalg.generic
func.func @too_large(%q: tensor<1x1x64x256xf32>, %k: tensor<1x100x1x256xf32>, %v: tensor<1x100x1x256xf32>) -> tensor<1x1x64x256xf32> {
  %0 = weft.attention %q, %k, %v : (tensor<1x1x64x256xf32>, tensor<1x100x1x256xf32>, tensor<1x100x1x256xf32>) -> tensor<1x1x64x256xf32>
  return %0 : tensor<1x1x64x256xf32>
}
