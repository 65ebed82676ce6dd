// RUN: weft-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(gpu.module(weft-lower-bf16-mma-sync))' | FileCheck %s

// A bf16 m16n8k16 product becomes nvvm.mma.sync on the fragments' 32-bit
// registers (row i of A and of B, two bf16, is register i) with the f32
// accumulators as four scalars in row-major order, and the result vector
// is rebuilt from the four f32 of its struct. An f16 product is left to
// convert-nvgpu-to-nvvm.

// CHECK-LABEL: gpu.func @products
// CHECK-SAME:    (%[[A:.*]]: vector<4x2xbf16>, %[[B:.*]]: vector<2x2xbf16>, %[[C:.*]]: vector<2x2xf32>, %[[H:.*]]: vector<4x2xf16>, %[[HB:.*]]: vector<2x2xf16>)
// CHECK:         %[[A0:.*]] = vector.extract %[[A]][0] : vector<2xbf16> from vector<4x2xbf16>
// CHECK:         %[[W0:.*]] = vector.bitcast %[[A0]] : vector<2xbf16> to vector<1xi32>
// CHECK:         %[[R0:.*]] = vector.extract %[[W0]][0] : i32 from vector<1xi32>
// CHECK-COUNT-5: vector.bitcast {{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK:         %[[C00:.*]] = vector.extract %[[C]][0, 0]
// CHECK:         %[[C01:.*]] = vector.extract %[[C]][0, 1]
// CHECK:         %[[C10:.*]] = vector.extract %[[C]][1, 0]
// CHECK:         %[[C11:.*]] = vector.extract %[[C]][1, 1]
// CHECK:         %[[D:.*]] = nvvm.mma.sync A[%[[R0]], %{{.*}}, %{{.*}}, %{{.*}}] B[%{{.*}}, %{{.*}}] C[%[[C00]], %[[C01]], %[[C10]], %[[C11]]]
// CHECK-SAME:      layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>
// CHECK-SAME:      multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>
// CHECK-SAME:      shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-SAME:      -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:         %[[D0:.*]] = llvm.extractvalue %[[D]][0]
// CHECK:         %[[D3:.*]] = llvm.extractvalue %[[D]][3]
// CHECK:         %[[V:.*]] = vector.from_elements %[[D0]], %{{.*}}, %{{.*}}, %[[D3]] : vector<2x2xf32>
// CHECK:         %[[F:.*]] = nvgpu.mma.sync(%[[H]], %[[HB]], %[[V]])
// CHECK:         gpu.return %[[F]]
gpu.module @kernels {
  gpu.func @products(%a: vector<4x2xbf16>, %b: vector<2x2xbf16>, %c: vector<2x2xf32>, %h: vector<4x2xf16>, %hb: vector<2x2xf16>) -> vector<2x2xf32> {
    %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
    %e = nvgpu.mma.sync (%h, %hb, %d) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
    gpu.return %e : vector<2x2xf32>
  }
}

// -----

// Other bf16 shapes (m16n8k8 here) are an error rather than left to a
// lowering that cannot take them.
gpu.module @kernels {
  gpu.func @small(%a: vector<2x2xbf16>, %b: vector<1x2xbf16>, %c: vector<2x2xf32>) -> vector<2x2xf32> {
    // expected-error @below {{bf16 products are lowered as m16n8k16 with f32 accumulators (vector<2x2xf32>) only}}
    %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 8]} : (vector<2x2xbf16>, vector<1x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
    gpu.return %d : vector<2x2xf32>
  }
}
