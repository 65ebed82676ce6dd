// RUN: weft-opt %s -weft-map-parallel-loops-to-gpu -split-input-file -verify-diagnostics | FileCheck %s
// RUN: weft-opt %s -weft-map-parallel-loops-to-gpu=threads=64 -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=T64

// The innermost dim is tiled by the thread count; the tile loop goes to
// thread x, the outer loop's last three dims to blocks x/y/z, and a fourth
// outer dim runs sequentially.
// CHECK-LABEL: func @rank4
// CHECK: scf.parallel
// CHECK: affine.min #{{.*}}(%c256
// CHECK: scf.parallel
// CHECK: memref.store
// CHECK: mapping = [#gpu.loop_dim_map<processor = sequential{{.*}}, #gpu.loop_dim_map<processor = sequential{{.*}}, #gpu.loop_dim_map<processor = sequential{{.*}}, #gpu.loop_dim_map<processor = thread_x
// CHECK: mapping = [#gpu.loop_dim_map<processor = sequential{{.*}}, #gpu.loop_dim_map<processor = block_z{{.*}}, #gpu.loop_dim_map<processor = block_y{{.*}}, #gpu.loop_dim_map<processor = block_x
// T64-LABEL: func @rank4
// T64: affine.min #{{.*}}(%c64
func.func @rank4(%m: memref<2x3x4x1000xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c1000 = arith.constant 1000 : index
  scf.parallel (%a, %b, %c, %d) = (%c0, %c0, %c0, %c0) to (%c2, %c3, %c4, %c1000) step (%c1, %c1, %c1, %c1) {
    memref.store %v, %m[%a, %b, %c, %d] : memref<2x3x4x1000xf32>
  }
  return
}

// -----

// A parallel loop inside another one runs sequentially in its thread.
// CHECK-LABEL: func @nested
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK-NOT: scf.parallel
// CHECK: memref.store
func.func @nested(%m: memref<8x16xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
      memref.store %v, %m[%i, %j] : memref<8x16xf32>
    }
  }
  return
}

// -----

// A sequential nest without parallel loops (a scan, a full reduction) runs in
// a one-thread kernel; a sequential loop around parallel loops stays on the
// host and launches them; a lone store is moved into a one-thread kernel.
// CHECK-LABEL: func @sequential
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c1{{.*}})
// CHECK-NEXT: scf.for
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK: scf.for
// CHECK-NEXT: scf.parallel
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c1{{.*}})
// CHECK-NEXT: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
func.func @sequential(%m: memref<64xf32>, %s: memref<f32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.for %i = %c1 to %c64 step %c1 {
    %p = arith.subi %i, %c1 : index
    %a = memref.load %m[%p] : memref<64xf32>
    %b = memref.load %m[%i] : memref<64xf32>
    %c = arith.addf %a, %b : f32
    memref.store %c, %m[%i] : memref<64xf32>
  }
  scf.for %i = %c0 to %c64 step %c1 {
    scf.parallel (%j) = (%c0) to (%c64) step (%c1) {
      memref.store %v, %m[%j] : memref<64xf32>
    }
  }
  memref.store %v, %s[] : memref<f32>
  return
}
