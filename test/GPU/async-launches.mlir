// RUN: weft-opt %s --gpu-async-region | FileCheck %s

// weft-gpu-pipeline makes launches asynchronous (upstream's gpu-async-region)
// and relies on it to wait before the host touches memory: buffers are
// unified memory, and the host may read what a kernel wrote (a kv_len, a
// loop bound) or allocate between launches.

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @fill(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }

  // CHECK-LABEL: func.func @host_reads_after_kernels
  // CHECK:         %[[T0:.*]] = gpu.wait async
  // CHECK:         %[[T1:.*]] = gpu.launch_func async [%[[T0]]] @kernels::@fill
  // CHECK:         %[[T2:.*]] = gpu.launch_func async [%[[T1]]] @kernels::@fill
  // CHECK:         gpu.wait [%[[T2]]]
  // CHECK-NEXT:    memref.load
  // CHECK:         %[[T3:.*]] = gpu.wait async
  // CHECK:         %[[T4:.*]] = gpu.launch_func async [%[[T3]]] @kernels::@fill
  // CHECK:         gpu.wait [%[[T4]]]
  // CHECK-NEXT:    memref.alloc
  // CHECK:         return
  func.func @host_reads_after_kernels(%m: memref<4xf32>) -> (f32, memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    %v = memref.load %m[%c0] : memref<4xf32>
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    %n = memref.alloc() : memref<4xf32>
    return %v, %n : f32, memref<4xf32>
  }
}
