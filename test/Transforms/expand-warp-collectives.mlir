// RUN: weft-opt %s --split-input-file --verify-diagnostics --weft-expand-warp-collectives | FileCheck %s

// A shuffle becomes: the thread's value into a per-thread buffer, a barrier,
// the source lane's element (lane = thread mod 32, within the thread's
// warp; its own lane when the source is not valid), a second barrier.

// CHECK-LABEL: func.func @xor
// CHECK:         %[[X:.*]] = memref.alloc() : memref<64xf32>
// CHECK:         scf.forall (%[[T:.*]]) in (64) {
// CHECK:           %[[V:.*]] = memref.load
// CHECK:           %[[LANE:.*]] = arith.remui %[[T]], %[[C32:.*]] : index
// CHECK:           %[[WARP:.*]] = arith.subi %[[T]], %[[LANE]] : index
// CHECK:           %[[OFF:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK:           %[[WIDTH:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK:           %[[LAST:.*]] = arith.subi %[[WIDTH]], %{{.*}} : index
// CHECK:           %[[SRC:.*]] = arith.xori %[[LANE]], %[[OFF]] : index
// CHECK:           %[[OK:.*]] = arith.cmpi sle, %[[SRC]], %[[LAST]] : index
// CHECK:           %[[FROM:.*]] = arith.select %[[OK]], %[[SRC]], %[[LANE]] : index
// CHECK:           memref.store %[[V]], %[[X]][%[[T]]]
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      %[[I:.*]] = arith.addi %[[WARP]], %[[FROM]] : index
// CHECK-NEXT:      %[[R:.*]] = memref.load %[[X]][%[[I]]]
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      arith.select %[[OK]], %[[R]], %{{.*}} : f32
// CHECK:         memref.dealloc %[[X]]
// CHECK-NOT:     gpu.shuffle
func.func @xor(%in: memref<64xf32>, %out: memref<64xf32>) {
  %c1 = arith.constant 1 : i32
  %c32 = arith.constant 32 : i32
  %zero = arith.constant 0.0 : f32
  scf.forall (%b) in (1) {
    scf.forall (%t) in (64) {
      %v = memref.load %in[%t] : memref<64xf32>
      %r, %ok = gpu.shuffle xor %v, %c1, %c32 : f32
      %s = arith.select %ok, %r, %zero : f32
      memref.store %s, %out[%t] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// The other modes' source lanes: down (lane + offset, valid up to width - 1),
// up (lane - offset, valid from 32 - width) and idx (offset mod 32).

// The three exchanges share one buffer.
// CHECK-LABEL: func.func @modes
// CHECK-NEXT:    memref.alloca() : memref<32xi32>
// CHECK-NOT:     memref.alloca
// CHECK:         %[[LANE:.*]] = arith.remui
// CHECK:         %[[OFF:.*]] = arith.index_cast
// CHECK-NEXT:    %[[W:.*]] = arith.index_cast
// CHECK-NEXT:    arith.constant 1 : index
// CHECK-NEXT:    %[[LAST:.*]] = arith.subi %[[W]]
// CHECK-NEXT:    %[[DOWN:.*]] = arith.addi %[[LANE]], %[[OFF]] : index
// CHECK-NEXT:    arith.cmpi sle, %[[DOWN]], %[[LAST]] : index
// CHECK:         %[[LANE:.*]] = arith.remui
// CHECK:         %[[OFF:.*]] = arith.index_cast
// CHECK-NEXT:    %[[W:.*]] = arith.index_cast
// CHECK-NEXT:    arith.constant 1 : index
// CHECK-NEXT:    arith.subi %[[W]]
// CHECK-NEXT:    %[[UP:.*]] = arith.subi %[[LANE]], %[[OFF]] : index
// CHECK-NEXT:    %[[C32:.*]] = arith.constant 32 : index
// CHECK-NEXT:    %[[FIRST:.*]] = arith.subi %[[C32]], %[[W]] : index
// CHECK-NEXT:    arith.cmpi sle, %[[FIRST]], %[[UP]] : index
// CHECK:         %[[OFF:.*]] = arith.index_cast
// CHECK-NEXT:    %[[W:.*]] = arith.index_cast
// CHECK-NEXT:    arith.constant 1 : index
// CHECK-NEXT:    %[[LAST:.*]] = arith.subi %[[W]]
// CHECK-NEXT:    %[[C31:.*]] = arith.constant 31 : index
// CHECK-NEXT:    %[[IDX:.*]] = arith.andi %[[OFF]], %[[C31]] : index
// CHECK-NEXT:    arith.cmpi sle, %[[IDX]], %[[LAST]] : index
func.func @modes(%in: memref<32xi32>, %out: memref<3x32xi32>) {
  %c3 = arith.constant 3 : i32
  %c32 = arith.constant 32 : i32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.forall (%t) in (32) {
    %v = memref.load %in[%t] : memref<32xi32>
    %d, %dok = gpu.shuffle down %v, %c3, %c32 : i32
    %u, %uok = gpu.shuffle up %v, %c3, %c32 : i32
    %i, %iok = gpu.shuffle idx %v, %c3, %c32 : i32
    memref.store %d, %out[%c0, %t] : memref<3x32xi32>
    memref.store %u, %out[%c1, %t] : memref<3x32xi32>
    memref.store %i, %out[%c2, %t] : memref<3x32xi32>
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

// A tensor-core product: each lane scatters its A and B fragment elements
// (PTX's m16n8k16 layout) into its warp's dense f32 matrices, a barrier,
// each lane sums its four accumulator elements over k, a barrier.

// CHECK-LABEL: func.func @mma
// CHECK-DAG:     %[[B:.*]] = memref.alloc() : memref<2x16x8xf32>
// CHECK-DAG:     %[[A:.*]] = memref.alloc() : memref<2x16x16xf32>
// CHECK:         scf.forall (%[[T:.*]]) in (64) {
// CHECK:           %[[WARP:.*]] = arith.divui %[[T]], %{{.*}} : index
// CHECK-COUNT-8:   memref.store %{{.*}}, %[[A]][%[[WARP]], %{{.*}}, %{{.*}}] : memref<2x16x16xf32>
// CHECK-COUNT-4:   memref.store %{{.*}}, %[[B]][%[[WARP]], %{{.*}}, %{{.*}}] : memref<2x16x8xf32>
// CHECK-NEXT:      gpu.barrier
// CHECK-COUNT-4:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK:           gpu.barrier
// CHECK-NOT:       nvgpu.mma.sync
// CHECK:         } {mapping = [#gpu.thread<x>]}
func.func @mma(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %out: memref<64xvector<2x2xf32>>) {
  %c = arith.constant dense<0.0> : vector<2x2xf32>
  scf.forall (%blk) in (1) {
    scf.forall (%t) in (64) {
      %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      memref.store %d, %out[%t] : memref<64xvector<2x2xf32>>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @mma_tf32(%a: vector<4x1xf32>, %b: vector<2x1xf32>, %c: vector<2x2xf32>) {
  scf.forall (%t) in (32) {
    // expected-error @below {{the CPU runs only products of shape [16, 8, 16] with f16 or bf16 operands and f32 accumulators}}
    %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

// ldmatrix: each lane stores its address (the indices) per dim, a barrier;
// each lane reads element (g, 2t + j) (transposed: (2t + j, g)) of each 8x8
// matrix m at the address of lane 8 m + row, a barrier. The shared-memory
// view of the block-local buffer is gone.

// CHECK-LABEL: func.func @ldmatrix
// CHECK-DAG:     %[[I1:.*]] = memref.alloc() : memref<32xindex>
// CHECK-DAG:     %[[I0:.*]] = memref.alloc() : memref<32xindex>
// CHECK:         %[[TILE:.*]] = memref.alloc() : memref<16x24xf16>
// CHECK-NOT:     memory_space_cast
// CHECK:         scf.forall (%[[T:.*]]) in (32) {
// CHECK:           memref.store %{{.*}}, %[[I0]][%[[T]]]
// CHECK-NEXT:      memref.store %{{.*}}, %[[I1]][%[[T]]]
// CHECK-NEXT:      gpu.barrier
// CHECK-COUNT-8:   memref.load %[[TILE]][%{{.*}}, %{{.*}}] : memref<16x24xf16>
// CHECK:           gpu.barrier
// CHECK-NOT:       nvgpu.ldmatrix
// CHECK:         } {mapping = [#gpu.thread<x>]}
func.func @ldmatrix(%out: memref<32xvector<4x2xf16>>) {
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.forall (%b) in (1) {
    %tile = memref.alloc() : memref<16x24xf16>
    scf.forall (%t) in (32) {
      %shared = memref.memory_space_cast %tile : memref<16x24xf16> to memref<16x24xf16, #gpu.address_space<workgroup>>
      %r = arith.remui %t, %c16 : index
      %m = arith.divui %t, %c16 : index
      %col = arith.muli %m, %c8 : index
      %v = nvgpu.ldmatrix %shared[%r, %col] {numTiles = 4 : i32, transpose = true} : memref<16x24xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      memref.store %v, %out[%t] : memref<32xvector<4x2xf16>>
    } {mapping = [#gpu.thread<x>]}
    memref.dealloc %tile : memref<16x24xf16>
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @ldmatrix_of_shared_memory(%tile: memref<16x16xf16, #gpu.address_space<workgroup>>, %i: index) {
  scf.forall (%t) in (32) {
    // expected-error @below {{reads a buffer the CPU cannot: it must be a memref.memory_space_cast of a block-local buffer}}
    %v = nvgpu.ldmatrix %tile[%i, %i] {numTiles = 4 : i32, transpose = false} : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

func.func @partial_warp(%in: memref<48xf32>) {
  %c1 = arith.constant 1 : i32
  %c32 = arith.constant 32 : i32
  scf.forall (%t) in (48) {
    %v = memref.load %in[%t] : memref<48xf32>
    // expected-error @below {{is in a thread loop of 48 threads, not whole warps of 32}}
    %r, %ok = gpu.shuffle xor %v, %c1, %c32 : f32
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

func.func @outside_threads(%v: f32) -> f32 {
  %c1 = arith.constant 1 : i32
  %c32 = arith.constant 32 : i32
  // expected-error @below {{is not inside a loop over #gpu.thread ids}}
  %r, %ok = gpu.shuffle xor %v, %c1, %c32 : f32
  return %r : f32
}
