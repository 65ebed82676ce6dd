// RUN: weft-opt %s -weft-gpu-pipeline | FileCheck %s
// RUN: weft-opt %s -weft-gpu-pipeline="chip=sm_80 threads=128" | FileCheck %s --check-prefix=SM80

// One kernel per loop nest, embedded as PTX; host buffers come from the
// runtime's unified-memory allocator. The launches go to one stream, which
// the host waits for once, after the last (gpu-async-region).
// CHECK-LABEL: llvm.func @linear
// CHECK: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// CHECK-NOT: mgpuStreamSynchronize
// CHECK: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @linear_kernel::@linear_kernel
// CHECK-NOT: mgpuStreamSynchronize
// CHECK: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @linear_kernel_0::@linear_kernel
// CHECK-NOT: mgpuStreamSynchronize
// CHECK: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @linear_kernel_1::@linear_kernel
// CHECK-NEXT: llvm.call @mgpuStreamSynchronize(%[[STREAM]])
// CHECK-NOT: memref.
// CHECK: gpu.binary @linear_kernel{{ +}}[#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// CHECK-SAME: .target sm_90a
// CHECK: gpu.binary @linear_kernel_0
// CHECK-SAME: mul.rn.f32
// CHECK-SAME: add.rn.f32
// SM80: .target sm_80
// SM80: .maxntid 128, 1, 1
func.func @linear(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = weft.linear %x, %w bias %b {activation = #weft.activation<silu>} : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
