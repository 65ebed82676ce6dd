// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// Online softmax over key blocks: m, l, acc are loop-carried; the GQA kv head
// is `h floordiv (Hq / Hkv)` in the indexing maps of k and v.

// CHECK-DAG: #[[QMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d4)>
// CHECK-DAG: #[[KMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1 floordiv 2, d4)>
// CHECK-DAG: #[[SMAP5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[MASKMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>
// CHECK-DAG: #[[LENMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0)>
// CHECK-DAG: #[[ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[ROWMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ACCROW:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1)>
// CHECK-DAG: #[[PMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d3)>
// CHECK-DAG: #[[VMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d2 floordiv 2, d4)>
// CHECK-DAG: #[[ACCMAP5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-LABEL: func.func @attention_gqa_features(
// CHECK-SAME: %[[Q:[a-zA-Z0-9]+]]: tensor<2x5x4x8xf32>, %[[K:[a-zA-Z0-9]+]]: tensor<2x37x2x8xf32>, %[[V:[a-zA-Z0-9]+]]: tensor<2x37x2x6xf32>, %[[MASK:[a-zA-Z0-9]+]]: tensor<1x4x5x37xf32>, %[[LEN:[a-zA-Z0-9]+]]: tensor<2xi32>)
// CHECK-DAG: %[[SK:.+]] = arith.constant 37 : index
// CHECK-DAG: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[M0:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<2x4x5xf32>)
// CHECK: %[[L0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x4x5xf32>)
// CHECK: %[[ACC0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x5x4x6xf32>)
// CHECK: %[[STEP:.+]] = arith.constant 64 : index
// CHECK: %[[LOOP:.+]]:3 = scf.for %[[J0:.+]] = %{{.+}} to %[[SK]] step %[[STEP]] iter_args(%[[M:.+]] = %[[M0]], %[[L:.+]] = %[[L0]], %[[ACC:.+]] = %[[ACC0]]) -> (tensor<2x4x5xf32>, tensor<2x4x5xf32>, tensor<2x5x4x6xf32>)
// CHECK: %[[KB:.+]] = tensor.extract_slice %[[K]][0, %[[J0]], 0, 0] [2, 37, 2, 8] [1, 1, 1, 1]
// CHECK: %[[VB:.+]] = tensor.extract_slice %[[V]][0, %[[J0]], 0, 0] [2, 37, 2, 6] [1, 1, 1, 1]
// CHECK: %[[QK:.+]] = linalg.generic {indexing_maps = [#[[QMAP]], #[[KMAP]], #[[SMAP5]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[Q]], %[[KB]] : {{.*}}) outs(%{{.+}} : tensor<2x4x5x37xf32>)
// CHECK: %[[MASKB:.+]] = tensor.extract_slice %[[MASK]][0, 0, 0, %[[J0]]] [1, 4, 5, 37] [1, 1, 1, 1]
// CHECK: %[[S:.+]] = linalg.generic {indexing_maps = [#[[MASKMAP]], #[[LENMAP]], #[[ID4]]], {{.*}} ins(%[[MASKB]], %[[LEN]] : {{.*}}) outs(%[[QK]] : tensor<2x4x5x37xf32>)
// CHECK: math.tanh
// CHECK: arith.addf
// CHECK: linalg.index 2
// CHECK: linalg.index 3
// CHECK: arith.index_cast
// CHECK: arith.cmpi slt
// CHECK: arith.cmpi sle
// CHECK: arith.cmpi slt
// CHECK: arith.select %{{.+}}, %{{.+}}, %[[NEGINF]]
// CHECK: %[[ROWMAX:.+]] = linalg.generic {indexing_maps = [#[[ID4]], #[[ROWMAP]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[S]] : {{.*}})
// CHECK: arith.maximumf
// CHECK: %[[ALPHA:.+]] = linalg.generic {{.*}} ins(%[[M]], %[[ROWMAX]] : {{.*}})
// CHECK: math.exp
// CHECK: %[[MNEW:.+]] = linalg.generic {{.*}} ins(%[[ROWMAX]] : {{.*}}) outs(%[[M]] : {{.*}})
// CHECK: %[[P:.+]] = linalg.generic {{.*}} ins(%[[MNEW]] : {{.*}}) outs(%[[S]] : {{.*}})
// CHECK: math.exp
// CHECK: %[[LSCALED:.+]] = linalg.generic {{.*}} ins(%[[ALPHA]] : {{.*}}) outs(%[[L]] : {{.*}})
// CHECK: %[[LNEW:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[P]] : {{.*}}) outs(%[[LSCALED]] : {{.*}})
// Values past kv_len[b] are read as zeros (the cache padding may hold NaN).
// CHECK: %[[VVALID:.+]] = linalg.generic {indexing_maps = [#[[LENMAP]], #[[ID4]], #[[ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[LEN]], %[[VB]] : tensor<2xi32>, tensor<2x37x2x6xf32>) outs(%{{.+}} : tensor<2x37x2x6xf32>)
// CHECK: linalg.index 1
// CHECK: arith.addi %{{.+}}, %[[J0]]
// CHECK: arith.index_cast
// CHECK: arith.cmpi slt
// CHECK: arith.select
// CHECK: %[[ACCSCALED:.+]] = linalg.generic {indexing_maps = [#[[ACCROW]], #[[ID4]]], {{.*}} ins(%[[ALPHA]] : {{.*}}) outs(%[[ACC]] : {{.*}})
// CHECK: %[[ACCNEW:.+]] = linalg.generic {indexing_maps = [#[[PMAP]], #[[VMAP]], #[[ACCMAP5]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[P]], %[[VVALID]] : {{.*}}) outs(%[[ACCSCALED]] : {{.*}})
// CHECK: scf.yield %[[MNEW]], %[[LNEW]], %[[ACCNEW]]
// CHECK: %[[OUT:.+]] = linalg.generic {indexing_maps = [#[[ID4]], #[[ACCROW]], #[[ID4]]], {{.*}} ins(%[[LOOP]]#2, %[[LOOP]]#1 : {{.*}}) outs(%{{.+}} : tensor<2x5x4x6xf32>)
// CHECK: arith.cmpf oeq
// CHECK: arith.divf
// CHECK: arith.select
// CHECK: %[[LSE:.+]] = linalg.generic {{.*}} ins(%[[LOOP]]#0, %[[LOOP]]#1 : {{.*}}) outs(%{{.+}} : tensor<2x4x5xf32>)
// CHECK: math.log
// CHECK: arith.select %{{.+}}, %{{.+}}, %{{.+}} : f32
// CHECK: return %[[OUT]], %[[LSE]]
// LLVM-LABEL: llvm.func @attention_gqa_features(
func.func @attention_gqa_features(%q: tensor<2x5x4x8xf32>, %k: tensor<2x37x2x8xf32>, %v: tensor<2x37x2x6xf32>, %mask: tensor<1x4x5x37xf32>, %len: tensor<2xi32>) -> (tensor<2x5x4x6xf32>, tensor<2x4x5xf32>) {
  %o, %lse = weft.attention %q, %k, %v mask %mask kv_len %len {causal, window = 7 : i64, softcap = 30.0 : f32, return_lse} : (tensor<2x5x4x8xf32>, tensor<2x37x2x8xf32>, tensor<2x37x2x6xf32>, tensor<1x4x5x37xf32>, tensor<2xi32>) -> (tensor<2x5x4x6xf32>, tensor<2x4x5xf32>)
  return %o, %lse : tensor<2x5x4x6xf32>, tensor<2x4x5xf32>
}

// -----

// Dynamic batch, query and key lengths: the last key block is shorter
// (min(64, Sk - j0)); f16 is widened to f32 and the output rounded once.

// CHECK-DAG: #[[KMAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1 floordiv 4, d4)>
// CHECK-LABEL: func.func @attention_dynamic_f16(
// CHECK-SAME: %[[Q:[a-zA-Z0-9]+]]: tensor<?x?x8x64xf16>, %[[K:[a-zA-Z0-9]+]]: tensor<?x?x2x64xf16>, %[[V:[a-zA-Z0-9]+]]: tensor<?x?x2x64xf16>)
// CHECK-DAG: %[[B:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<?x?x8x64xf16>
// CHECK-DAG: %[[SQ:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<?x?x8x64xf16>
// CHECK-DAG: %[[SK:.+]] = tensor.dim %[[K]], %{{.+}} : tensor<?x?x2x64xf16>
// CHECK: %[[STEP:.+]] = arith.constant 64 : index
// CHECK: scf.for %[[J0:.+]] = %{{.+}} to %[[SK]] step %[[STEP]] iter_args({{.*}}) -> (tensor<?x8x?xf32>, tensor<?x8x?xf32>, tensor<?x?x8x64xf32>)
// CHECK: %[[REM:.+]] = arith.subi %[[SK]], %[[J0]]
// CHECK: %[[BLOCK:.+]] = arith.minsi %[[REM]], %[[STEP]]
// CHECK: %[[KB:.+]] = tensor.extract_slice %[[K]][0, %[[J0]], 0, 0] [%[[B]], %[[BLOCK]], 2, 64] [1, 1, 1, 1] : tensor<?x?x2x64xf16> to tensor<?x?x2x64xf16>
// CHECK: tensor.empty(%[[B]], %[[SQ]], %[[BLOCK]]) : tensor<?x8x?x?xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[KMAP]], #{{.+}}], {{.*}} ins(%[[Q]], %[[KB]] : tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>) outs(%{{.+}} : tensor<?x8x?x?xf32>)
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: arith.extf %{{.+}} : f16 to f32
// Causal without kv_len: j0 + j + Sq <= i + Sk.
// CHECK: arith.constant 1.250000e-01 : f32
// CHECK: arith.addi %{{.+}}, %[[SK]]
// CHECK: arith.addi %{{.+}}, %[[SQ]]
// CHECK: arith.cmpi sle
// CHECK: scf.yield
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: -> tensor<?x?x8x64xf16>
// LLVM-LABEL: llvm.func @attention_dynamic_f16(
func.func @attention_dynamic_f16(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16> {
  %o = weft.attention %q, %k, %v {causal} : (tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16>
  return %o : tensor<?x?x8x64xf16>
}

// -----

// A static key length that is a multiple of the block keeps the blocks
// static; a mask with size-1 batch and head dims broadcasts; without causal
// or kv_len no visibility test is emitted.

// CHECK-DAG: #[[MASKMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>
// CHECK-LABEL: func.func @attention_static_blocks(
// CHECK-SAME: %[[Q:[a-zA-Z0-9]+]]: tensor<1x1x4x16xf32>, %[[K:[a-zA-Z0-9]+]]: tensor<1x128x4x16xf32>, %[[V:[a-zA-Z0-9]+]]: tensor<1x128x4x16xf32>, %[[MASK:[a-zA-Z0-9]+]]: tensor<1x1x1x128xf32>)
// CHECK: scf.for %[[J0:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK-NOT: arith.minsi
// CHECK: tensor.extract_slice %[[K]][0, %[[J0]], 0, 0] [1, 64, 4, 16] [1, 1, 1, 1] : tensor<1x128x4x16xf32> to tensor<1x64x4x16xf32>
// CHECK: %[[MASKB:.+]] = tensor.extract_slice %[[MASK]][0, 0, 0, %[[J0]]] [1, 1, 1, 64]
// CHECK: linalg.generic {indexing_maps = [#[[MASKMAP]], #{{.+}}], {{.*}} ins(%[[MASKB]] : tensor<1x1x1x64xf32>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK-NOT: linalg.index
// CHECK: linalg.yield
// LLVM-LABEL: llvm.func @attention_static_blocks(
func.func @attention_static_blocks(%q: tensor<1x1x4x16xf32>, %k: tensor<1x128x4x16xf32>, %v: tensor<1x128x4x16xf32>, %mask: tensor<1x1x1x128xf32>) -> tensor<1x1x4x16xf32> {
  %o = weft.attention %q, %k, %v mask %mask {scale = 0.5 : f32} : (tensor<1x1x4x16xf32>, tensor<1x128x4x16xf32>, tensor<1x128x4x16xf32>, tensor<1x1x1x128xf32>) -> tensor<1x1x4x16xf32>
  return %o : tensor<1x1x4x16xf32>
}
