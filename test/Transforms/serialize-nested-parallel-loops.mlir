// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-serialize-nested-parallel-loops))' | FileCheck %s

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
