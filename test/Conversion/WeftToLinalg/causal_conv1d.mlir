// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// xp = [state; x] along the sequence; the convolution reads xp[b, t + k, c];
// new_state is the last K-1 rows of xp.

// CHECK-DAG: #[[XPMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 + d3, d2)>
// CHECK-DAG: #[[WMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[OUTMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[BIASMAP:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @conv_state_silu(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<2x7x5xf32>, %[[W:[a-zA-Z0-9]+]]: tensor<5x4xf32>, %[[B:[a-zA-Z0-9]+]]: tensor<5xf32>, %[[ST:[a-zA-Z0-9]+]]: tensor<2x3x5xf32>)
// CHECK: %[[XP0:.+]] = tensor.empty() : tensor<2x10x5xf32>
// CHECK: %[[XP1:.+]] = tensor.insert_slice %[[ST]] into %[[XP0]][0, 0, 0] [2, 3, 5] [1, 1, 1]
// CHECK: %[[XP:.+]] = tensor.insert_slice %[[X]] into %[[XP1]][0, 3, 0] [2, 7, 5] [1, 1, 1]
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x7x5xf32>)
// CHECK: %[[ACC:.+]] = linalg.generic {indexing_maps = [#[[XPMAP]], #[[WMAP]], #[[OUTMAP]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[XP]], %[[W]] : tensor<2x10x5xf32>, tensor<5x4xf32>) outs(%[[ZERO]] : tensor<2x7x5xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[Y:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[BIASMAP]], #[[ID3]]], {{.*}} ins(%[[ACC]], %[[B]] : tensor<2x7x5xf32>, tensor<5xf32>)
// CHECK: %[[SUM:.+]] = arith.addf
// CHECK: arith.negf %[[SUM]]
// CHECK: math.exp
// CHECK: arith.mulf %[[SUM]]
// CHECK: %[[NS:.+]] = tensor.extract_slice %[[XP]][0, 7, 0] [2, 3, 5] [1, 1, 1] : tensor<2x10x5xf32> to tensor<2x3x5xf32>
// CHECK: return %[[Y]], %[[NS]]
// LLVM-LABEL: llvm.func @conv_state_silu(
func.func @conv_state_silu(%x: tensor<2x7x5xf32>, %w: tensor<5x4xf32>, %b: tensor<5xf32>, %st: tensor<2x3x5xf32>) -> (tensor<2x7x5xf32>, tensor<2x3x5xf32>) {
  %y, %ns = weft.causal_conv1d %x, %w bias %b state %st {activation = #weft.activation<silu>} : (tensor<2x7x5xf32>, tensor<5x4xf32>, tensor<5xf32>, tensor<2x3x5xf32>) -> (tensor<2x7x5xf32>, tensor<2x3x5xf32>)
  return %y, %ns : tensor<2x7x5xf32>, tensor<2x3x5xf32>
}

// -----

// Without state the history is zeros; dynamic B and L; f16 accumulates in
// f32 and is rounded once.

// CHECK-DAG: #[[XPMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 + d3, d2)>
// CHECK-LABEL: func.func @conv_dynamic_f16_no_state(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<?x?x6xf16>, %[[W:[a-zA-Z0-9]+]]: tensor<6x4xf16>)
// CHECK-DAG: %[[B:.+]] = tensor.dim %[[X]], %[[C0:.+]] : tensor<?x?x6xf16>
// CHECK-DAG: %[[L:.+]] = tensor.dim %[[X]], %[[C1:.+]] : tensor<?x?x6xf16>
// CHECK: %[[PADLEN:.+]] = arith.addi %[[L]], %{{.+}} : index
// CHECK: %[[XP0:.+]] = tensor.empty(%[[B]], %[[PADLEN]]) : tensor<?x?x6xf16>
// CHECK: %[[ZEROS:.+]] = linalg.fill ins(%{{.+}} : f16) outs(%{{.+}} : tensor<?x3x6xf16>)
// CHECK: %[[XP1:.+]] = tensor.insert_slice %[[ZEROS]] into %[[XP0]][0, 0, 0] [%[[B]], 3, 6] [1, 1, 1]
// CHECK: %[[XP:.+]] = tensor.insert_slice %[[X]] into %[[XP1]][0, 3, 0]
// CHECK: %[[ACC:.+]] = linalg.generic {indexing_maps = [#[[XPMAP]], {{.*}} ins(%[[XP]], %[[W]] : tensor<?x?x6xf16>, tensor<6x4xf16>) outs(%{{.+}} : tensor<?x?x6xf32>)
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: %[[Y:.+]] = linalg.generic {{.*}} ins(%[[ACC]] : tensor<?x?x6xf32>) outs(%{{.+}} : tensor<?x?x6xf16>)
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: %[[NS:.+]] = tensor.extract_slice %[[XP]][0, %[[L]], 0] [%[[B]], 3, 6] [1, 1, 1] : tensor<?x?x6xf16> to tensor<?x3x6xf16>
// CHECK: return %[[Y]], %[[NS]]
// LLVM-LABEL: llvm.func @conv_dynamic_f16_no_state(
func.func @conv_dynamic_f16_no_state(%x: tensor<?x?x6xf16>, %w: tensor<6x4xf16>) -> (tensor<?x?x6xf16>, tensor<?x3x6xf16>) {
  %y, %ns = weft.causal_conv1d %x, %w : (tensor<?x?x6xf16>, tensor<6x4xf16>) -> (tensor<?x?x6xf16>, tensor<?x3x6xf16>)
  return %y, %ns : tensor<?x?x6xf16>, tensor<?x3x6xf16>
}

// -----

// K = 1: no history, the convolution reads x directly and new_state is empty.

// CHECK-LABEL: func.func @conv_kernel_one(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<1x?x4xf32>, %[[W:[a-zA-Z0-9]+]]: tensor<4x1xf32>)
// CHECK-NOT: tensor.insert_slice
// CHECK: %[[Y:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[W]] : tensor<1x?x4xf32>, tensor<4x1xf32>)
// CHECK: %[[NS:.+]] = tensor.empty() : tensor<1x0x4xf32>
// CHECK: return %[[Y]], %[[NS]]
// LLVM-LABEL: llvm.func @conv_kernel_one(
func.func @conv_kernel_one(%x: tensor<1x?x4xf32>, %w: tensor<4x1xf32>) -> (tensor<1x?x4xf32>, tensor<1x0x4xf32>) {
  %y, %ns = weft.causal_conv1d %x, %w : (tensor<1x?x4xf32>, tensor<4x1xf32>) -> (tensor<1x?x4xf32>, tensor<1x0x4xf32>)
  return %y, %ns : tensor<1x?x4xf32>, tensor<1x0x4xf32>
}
