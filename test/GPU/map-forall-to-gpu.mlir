// RUN: weft-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(weft-map-forall-to-gpu))' | FileCheck %s

// A grid of (n, 4) blocks; the block's threads are its largest thread loop
// (64), the buffer allocated in the block is shared memory, each thread loop
// is followed by a barrier and a smaller one runs on the first threads only.

// CHECK-LABEL: func.func @kernel
// CHECK-SAME:    (%[[IN:[a-z0-9_]+]]: memref<?x4x64xf32>, %[[N:[a-z0-9_]+]]: index, %[[OUT:[a-z0-9_]+]]: memref<?x4x64xf32>)
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK:         gpu.launch blocks(%[[BX:[a-z0-9_]+]], %[[BY:[a-z0-9_]+]], %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %[[N]], %{{[a-z0-9_]+}} = %[[C4]], %{{[a-z0-9_]+}} = %[[C1]])
// CHECK-SAME:      threads(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %[[C64]], %{{[a-z0-9_]+}} = %[[C1]], %{{[a-z0-9_]+}} = %[[C1]])
// CHECK-SAME:      workgroup(%[[TILE:[a-z0-9_]+]] : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK:         %[[T:.*]] = gpu.thread_id  x
// CHECK:         %[[X:.*]] = memref.load %[[IN]][%[[BX]], %[[BY]], %[[T]]]
// CHECK:         memref.store %[[X]], %[[TILE]][%[[T]]]
// CHECK:         gpu.barrier
// CHECK:         %[[T2:.*]] = gpu.thread_id  x
// CHECK:         arith.cmpi ult, %[[T2]]
// CHECK:         scf.if
// CHECK:           memref.load %[[TILE]]
// CHECK:           memref.store %{{.*}}, %[[OUT]][%[[BX]], %[[BY]], %[[T2]]]
// CHECK:         gpu.barrier
// CHECK-NOT:     memref.dealloc
// CHECK:         gpu.terminator
// CHECK-NOT:     scf.forall
func.func @kernel(%in: memref<?x4x64xf32>, %n: index, %out: memref<?x4x64xf32>) {
  scf.forall (%i, %j) in (%n, 4) {
    %tile = memref.alloc() : memref<64xf32>
    scf.forall (%t) in (64) {
      %x = memref.load %in[%i, %j, %t] : memref<?x4x64xf32>
      memref.store %x, %tile[%t] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
    scf.forall (%t) in (32) {
      %c63 = arith.constant 63 : index
      %r = arith.subi %c63, %t : index
      %x = memref.load %tile[%r] : memref<64xf32>
      memref.store %x, %out[%i, %j, %t] : memref<?x4x64xf32>
    } {mapping = [#gpu.thread<x>]}
    memref.dealloc %tile : memref<64xf32>
  } {mapping = [#gpu.block<x>, #gpu.block<y>]}
  return
}

// -----

// Loops without a GPU mapping are left alone.
// CHECK-LABEL: func.func @unmapped
// CHECK-NOT:     gpu.launch
// CHECK:         scf.forall
func.func @unmapped(%out: memref<8xf32>) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%i) in (8) {
    memref.store %zero, %out[%i] : memref<8xf32>
  }
  return
}

// -----

func.func @dynamic_threads(%out: memref<?xf32>, %n: index) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%i) in (4) {
    // expected-error @+1 {{thread and warp loops must be one-dimensional and normalized, with a static size}}
    scf.forall (%t) in (%n) {
      memref.store %zero, %out[%t] : memref<?xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @too_many_threads(%out: memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{2048 threads per block (at most 1024)}}
  scf.forall (%i) in (4) {
    scf.forall (%t) in (2048) {
      memref.store %zero, %out[%t] : memref<?xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @dynamic_shared(%out: memref<?xf32>, %n: index) {
  scf.forall (%i) in (4) {
    // expected-error @+1 {{a block-local buffer must have a static shape and identity layout}}
    %tile = memref.alloc(%n) : memref<?xf32>
    scf.forall (%t) in (32) {
      %x = memref.load %tile[%t] : memref<?xf32>
      memref.store %x, %out[%t] : memref<?xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @shared_view(%out: memref<?xf32>) {
  scf.forall (%i) in (4) {
    %tile = memref.alloc() : memref<64xf32>
    // expected-error @+1 {{a block-local buffer may only be loaded from, stored to or picked by a select between two of them}}
    %view = memref.subview %tile[0] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1]>>
    scf.forall (%t) in (32) {
      %x = memref.load %view[%t] : memref<32xf32, strided<[1]>>
      memref.store %x, %out[%t] : memref<?xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @duplicate_ids(%out: memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{block loop dims must map to distinct ids among x, y and z}}
  scf.forall (%i, %j) in (4, 4) {
    scf.forall (%t) in (32) {
      memref.store %zero, %out[%t] : memref<?xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>, #gpu.block<x>]}
  return
}

// -----

// Warp loops: 2 warps make a block of 64 threads. A warp-level m16n8k16
// product of f16 tiles read from shared memory, in a K loop, becomes
// tensor-core operations: ldmatrix for A ([m, k] rows, 4 matrices) and for B
// (read transposed from [k, n] rows: ldmatrix.trans, 2 matrices), mma.sync
// with the f32 accumulator carried by the loop in registers (2x2 per lane),
// and per-lane stores of its pairs to shared memory, through a generic view
// of the buffer (vector stores of shared memory go through one).
// CHECK-LABEL: func.func @warp_products
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK:         gpu.launch {{.*}} threads(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) in (%{{[a-z0-9_]+}} = %[[C64]],
// CHECK-SAME:      workgroup(%[[A:[a-z0-9_]+]] : memref<32x40xf16, #gpu.address_space<workgroup>>, %[[B:[a-z0-9_]+]] : memref<32x24xf16, #gpu.address_space<workgroup>>, %[[C:[a-z0-9_]+]] : memref<32x16xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[CVIEW:.*]] = memref.memory_space_cast %[[C]] : memref<32x16xf32, #gpu.address_space<workgroup>> to memref<32x16xf32>
// CHECK:           %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<2x2xf32>
// CHECK:           %[[SUM:.*]] = scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (vector<2x2xf32>)
// CHECK:             %[[LA:.*]] = nvgpu.ldmatrix %[[A]][{{.*}}] {numTiles = 4 : i32, transpose = false} : {{.*}} -> vector<4x2xf16>
// CHECK:             %[[LB:.*]] = nvgpu.ldmatrix %[[B]][{{.*}}] {numTiles = 2 : i32, transpose = true} : {{.*}} -> vector<2x2xf16>
// CHECK:             %[[D:.*]] = nvgpu.mma.sync(%[[LA]], %[[LB]], %[[ACC]]) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK:             scf.yield %[[D]]
// CHECK-COUNT-2:   vector.store %{{.*}}, %[[CVIEW]][{{.*}}] : memref<32x16xf32>, vector<2xf32>
// CHECK-NOT:     vector.contract
// CHECK:         gpu.barrier
func.func @warp_products(%out: memref<?xf32>) {
  scf.forall (%i) in (4) {
    %a = memref.alloc() : memref<32x40xf16>
    %b = memref.alloc() : memref<32x24xf16>
    %c = memref.alloc() : memref<32x16xf32>
    scf.forall (%w) in (2) {
      %c0 = arith.constant 0 : index
      %c16 = arith.constant 16 : index
      %c32 = arith.constant 32 : index
      %pad = arith.constant 0.0 : f16
      %m0 = affine.apply affine_map<(d0) -> (d0 * 16)>(%w)
      %zero = arith.constant dense<0.0> : vector<16x8xf32>
      %sum = scf.for %k = %c0 to %c32 step %c16 iter_args(%acc = %zero) -> vector<16x8xf32> {
        %ta = vector.transfer_read %a[%m0, %k], %pad {in_bounds = [true, true]} : memref<32x40xf16>, vector<16x16xf16>
        %tb = vector.transfer_read %b[%k, %c0], %pad {in_bounds = [true, true], permutation_map = affine_map<(d0, d1) -> (d1, d0)>} : memref<32x24xf16>, vector<8x16xf16>
        %ea = arith.extf %ta : vector<16x16xf16> to vector<16x16xf32>
        %eb = arith.extf %tb : vector<8x16xf16> to vector<8x16xf32>
        %p = vector.contract {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %ea, %eb, %acc : vector<16x16xf32>, vector<8x16xf32> into vector<16x8xf32>
        scf.yield %p : vector<16x8xf32>
      }
      vector.transfer_write %sum, %c[%m0, %c0] {in_bounds = [true, true]} : vector<16x8xf32>, memref<32x16xf32>
    } {mapping = [#gpu.warp<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// A product whose operands are not matrix loads (vector.load instead of
// vector.transfer_read) stays a vector.contract: an error, since every
// thread of the warp would compute it.
func.func @unconvertible_product(%a: memref<16x16xf16>) {
  scf.forall (%i) in (4) {
    %c = memref.alloc() : memref<16x16xf32>
    scf.forall (%w) in (1) {
      %c0 = arith.constant 0 : index
      %zero = arith.constant dense<0.0> : vector<16x16xf32>
      %t = vector.load %a[%c0, %c0] : memref<16x16xf16>, vector<16x16xf16>
      %e = arith.extf %t : vector<16x16xf16> to vector<16x16xf32>
      // expected-error @+1 {{a warp-level product could not be mapped to tensor cores}}
      %p = vector.contract {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %e, %e, %zero : vector<16x16xf32>, vector<16x16xf32> into vector<16x16xf32>
      vector.transfer_write %p, %c[%c0, %c0] {in_bounds = [true, true]} : vector<16x16xf32>, memref<16x16xf32>
    } {mapping = [#gpu.warp<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// Buffers of more than 48 KiB together (two of 32 KiB) are views of the
// block's dynamic shared memory at multiples of 128 bytes, and the launch
// asks for their size; a vector store to one goes through a generic view.
// CHECK-LABEL: func.func @dynamic_shared_memory
// CHECK:         %[[SIZE:.*]] = arith.constant 65536 : i32
// CHECK:         gpu.launch
// CHECK-SAME:      dynamic_shared_memory_size %[[SIZE]]
// CHECK-NOT:       workgroup(
// CHECK:           %[[BASE:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK-DAG:       %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:       %[[C32K:.*]] = arith.constant 32768 : index
// CHECK-DAG:       %[[A:.*]] = memref.view %[[BASE]][%[[C0]]][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8192xf32, #gpu.address_space<workgroup>>
// CHECK-DAG:       %[[B:.*]] = memref.view %[[BASE]][%[[C32K]]][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8192xf32, #gpu.address_space<workgroup>>
// CHECK:           %[[GENERIC:.*]] = memref.memory_space_cast %[[B]] : memref<8192xf32, #gpu.address_space<workgroup>> to memref<8192xf32>
// CHECK:           memref.store %{{.*}}, %[[A]]
// CHECK:           vector.transfer_write %{{.*}}, %[[GENERIC]]
func.func @dynamic_shared_memory(%out: memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %zeros = arith.constant dense<0.0> : vector<4xf32>
  scf.forall (%i) in (4) {
    %a = memref.alloc() : memref<8192xf32>
    %b = memref.alloc() : memref<8192xf32>
    scf.forall (%t) in (64) {
      memref.store %zero, %a[%t] : memref<8192xf32>
      vector.transfer_write %zeros, %b[%t] {in_bounds = [true]} : vector<4xf32>, memref<8192xf32>
      %x = memref.load %a[%t] : memref<8192xf32>
      memref.store %x, %out[%t] : memref<?xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// Double buffering: a loop picks one of two block-local buffers with a
// select each iteration; the select picks between their shared-memory
// versions, and vector accesses of its result go through a generic view.
// CHECK-LABEL: func.func @double_buffer
// CHECK:         gpu.launch
// CHECK-SAME:      workgroup(%[[A:.*]] : memref<256xf32, #gpu.address_space<workgroup>>, %[[B:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK:           scf.for {{.*}} iter_args(%[[FIRST:.*]] = %{{.*}}) -> (i1)
// CHECK:             %[[CUR:.*]] = arith.select %[[FIRST]], %[[A]], %[[B]] : memref<256xf32, #gpu.address_space<workgroup>>
// CHECK:             %[[GENERIC:.*]] = memref.memory_space_cast %[[CUR]] : memref<256xf32, #gpu.address_space<workgroup>> to memref<256xf32>
// CHECK:             vector.transfer_write %{{.*}}, %[[GENERIC]]
// CHECK:             gpu.barrier
// CHECK:             memref.load %[[CUR]]
func.func @double_buffer(%out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %true = arith.constant true
  %zeros = arith.constant dense<0.0> : vector<4xf32>
  scf.forall (%i) in (4) {
    %a = memref.alloc() : memref<256xf32>
    %b = memref.alloc() : memref<256xf32>
    %last = scf.for %k = %c0 to %c4 step %c1 iter_args(%first = %true) -> (i1) {
      %cur = arith.select %first, %a, %b : memref<256xf32>
      scf.forall (%t) in (64) {
        vector.transfer_write %zeros, %cur[%t] {in_bounds = [true]} : vector<4xf32>, memref<256xf32>
      } {mapping = [#gpu.thread<x>]}
      scf.forall (%t) in (64) {
        %x = memref.load %cur[%t] : memref<256xf32>
        memref.store %x, %out[%t] : memref<?xf32>
      } {mapping = [#gpu.thread<x>]}
      %flip = arith.xori %first, %true : i1
      scf.yield %flip : i1
    }
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// A SIMT thread loop keeps its barriers; a loop or conditional holding one
// also synchronizes before it, at the end of each iteration (or branch) and
// after it, as weft-split-thread-loops-at-barriers runs it on the CPU. No
// barrier is doubled.
// CHECK-LABEL: func.func @simt_barriers
// CHECK:         gpu.launch
// CHECK:           memref.store
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      scf.for
// CHECK-NEXT:        memref.store
// CHECK-NEXT:        gpu.barrier
// CHECK-NEXT:        memref.load
// CHECK-NEXT:        gpu.barrier
// CHECK-NEXT:      }
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      scf.if
// CHECK-NEXT:        gpu.barrier
// CHECK-NEXT:        memref.store
// CHECK-NEXT:        gpu.barrier
// CHECK-NEXT:      }
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      memref.store
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      gpu.terminator
func.func @simt_barriers(%out: memref<64xf32>, %n: index, %flag: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.forall (%b) in (2) {
    %s = memref.alloc() : memref<64xf32>
    scf.forall (%t) in (64) {
      memref.store %one, %s[%t] : memref<64xf32>
      scf.for %i = %c0 to %n step %c1 {
        memref.store %one, %s[%t] : memref<64xf32>
        gpu.barrier
        %x = memref.load %s[%i] : memref<64xf32>
      }
      scf.if %flag {
        gpu.barrier
        memref.store %one, %s[%t] : memref<64xf32>
      }
      memref.store %one, %out[%t] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @simt_loop_narrower_than_block(%out: memref<128xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%b) in (2) {
    scf.forall (%t) in (128) {
      memref.store %one, %out[%t] : memref<128xf32>
    } {mapping = [#gpu.thread<x>]}
    // expected-error @below {{a thread loop with barriers or shuffles must span the whole block (64 of 128 threads)}}
    scf.forall (%t) in (64) {
      gpu.barrier
      memref.store %one, %out[%t] : memref<128xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// A SIMT kernel's view of a block-local buffer as shared memory (for
// ldmatrix) becomes the workgroup buffer itself.
// CHECK-LABEL: func.func @shared_view
// CHECK:         gpu.launch
// CHECK-SAME:      workgroup(%[[TILE:.*]] : memref<16x16xf16, #gpu.address_space<workgroup>>)
// CHECK-NOT:       memory_space_cast
// CHECK:           nvgpu.ldmatrix %[[TILE]]
func.func @shared_view(%out: memref<32xvector<4x2xf16>>) {
  %c0 = arith.constant 0 : index
  scf.forall (%b) in (1) {
    %tile = memref.alloc() : memref<16x16xf16>
    scf.forall (%t) in (32) {
      %shared = memref.memory_space_cast %tile : memref<16x16xf16> to memref<16x16xf16, #gpu.address_space<workgroup>>
      %v = nvgpu.ldmatrix %shared[%c0, %c0] {numTiles = 4 : i32, transpose = false} : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      memref.store %v, %out[%t] : memref<32xvector<4x2xf16>>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}
