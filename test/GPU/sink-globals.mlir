// RUN: weft-opt %s -weft-sink-globals-into-kernels -gpu-kernel-outlining | FileCheck %s

// A constant table read inside a kernel becomes a global of the kernel's
// module; the host keeps its own use.

memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>

// CHECK-LABEL: func.func @scale
// CHECK:         %[[HOST:.*]] = memref.get_global @table
// CHECK:         gpu.launch_func @scale_kernel::@scale_kernel
// CHECK-SAME:      args(%{{.*}} : memref<4xf32>){{$}}
// CHECK:         memref.load %[[HOST]]
// CHECK:       gpu.module @scale_kernel
// CHECK:         gpu.func @scale_kernel
// CHECK:           memref.get_global @table
// CHECK:         memref.global "private" constant @table
func.func @scale(%out: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %table = memref.get_global @table : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %table[%tx] : memref<4xf32>
    memref.store %v, %out[%tx] : memref<4xf32>
    gpu.terminator
  }
  %first = memref.load %table[%c0] : memref<4xf32>
  return %first : f32
}
