// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-lower-strided-copies))' | FileCheck %s

// CHECK-LABEL: func @strided
// CHECK-SAME: (%[[A:.+]]: memref<4x8xf32>, %[[B:.+]]: memref<4x4xf32>)
// CHECK:       %[[SV:.+]] = memref.subview %[[A]]
// CHECK-NEXT:  linalg.copy ins(%[[SV]] : memref<4x4xf32, strided<[8, 1]>>) outs(%[[B]] : memref<4x4xf32>)
// CHECK-NOT:   memref.copy
func.func @strided(%a: memref<4x8xf32>, %b: memref<4x4xf32>) {
  %sv = memref.subview %a[0, 0] [4, 4] [1, 1] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 1]>>
  memref.copy %sv, %b : memref<4x4xf32, strided<[8, 1]>> to memref<4x4xf32>
  return
}

// -----

// Contiguous copies stay memref.copy (lowered to memcpy).
// CHECK-LABEL: func @contiguous
// CHECK:       memref.copy
// CHECK-NOT:   linalg.copy
func.func @contiguous(%a: memref<?x8xf32>, %b: memref<?x8xf32>, %c: memref<2x8xf32, strided<[8, 1], offset: 16>>, %d: memref<2x8xf32>) {
  memref.copy %a, %b : memref<?x8xf32> to memref<?x8xf32>
  memref.copy %c, %d : memref<2x8xf32, strided<[8, 1], offset: 16>> to memref<2x8xf32>
  return
}
