// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-serialize-nested-parallel-loops))' | FileCheck %s

// A parallel loop inside a sequential loop becomes scf.for loops; the
// top-level parallel loop stays.
// CHECK-LABEL: func @scan_like
// CHECK:       scf.parallel (%[[I:.+]]) =
// CHECK:       scf.for %[[T:.+]] =
// CHECK-NOT:   scf.parallel
// CHECK:         scf.for %[[A:.+]] =
// CHECK-NEXT:      scf.for %[[B:.+]] =
// CHECK-NEXT:        memref.load %{{.+}}[%[[T]], %[[A]], %[[B]]]
func.func @scan_like(%m: memref<8x4x4xf32>, %out: memref<4x4xf32>, %top: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    memref.store %zero, %top[%i] : memref<16xf32>
    scf.reduce
  }
  scf.for %t = %c0 to %c8 step %c1 {
    scf.parallel (%a, %b) = (%c0, %c0) to (%c4, %c4) step (%c1, %c1) {
      %v = memref.load %m[%t, %a, %b] : memref<8x4x4xf32>
      memref.store %v, %out[%a, %b] : memref<4x4xf32>
      scf.reduce
    }
  }
  return
}

// -----

// Nested candidates (a reduction over dims 0 and 2 of a 4-D tensor: parallel
// loops interleaved with sequential ones) are serialized innermost first, so
// the outer loop's clone holds no parallel loop.
// CHECK-LABEL: func @interleaved
// CHECK-NOT:   scf.parallel
// CHECK:       scf.for %[[D0:.+]] =
// CHECK-NEXT:    scf.for %[[D1:.+]] =
// CHECK-NEXT:      scf.for %[[D2:.+]] =
// CHECK-NEXT:        scf.for %[[D3:.+]] =
// CHECK-NEXT:          memref.load %{{.+}}[%[[D0]], %[[D1]], %[[D2]], %[[D3]]]
// CHECK-NOT:   scf.parallel
func.func @interleaved(%x: memref<3x7x5x9xf32>, %acc: memref<7x9xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %c7 = arith.constant 7 : index
  %c9 = arith.constant 9 : index
  scf.for %d0 = %c0 to %c3 step %c1 {
    scf.parallel (%d1) = (%c0) to (%c7) step (%c1) {
      scf.for %d2 = %c0 to %c5 step %c1 {
        scf.parallel (%d3) = (%c0) to (%c9) step (%c1) {
          %v = memref.load %x[%d0, %d1, %d2, %d3] : memref<3x7x5x9xf32>
          %a = memref.load %acc[%d1, %d3] : memref<7x9xf32>
          %s = arith.addf %a, %v : f32
          memref.store %s, %acc[%d1, %d3] : memref<7x9xf32>
          scf.reduce
        }
      }
      scf.reduce
    }
  }
  return
}

// -----

// A parallel loop inside a parallel task (attention's block loops inside its
// (batch, head, query block) loop) becomes scf.for loops; the outer loop
// stays the one parallel region.
// CHECK-LABEL: func @parallel_in_parallel
// CHECK:       scf.parallel (%[[I:.+]]) =
// CHECK-NOT:   scf.parallel
// CHECK:         scf.for %[[J:.+]] =
// CHECK-NEXT:      memref.store %{{.+}}, %{{.+}}[%[[I]], %[[J]]]
func.func @parallel_in_parallel(%out: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      memref.store %zero, %out[%i, %j] : memref<4x8xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}
