// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// A gather: each result element reads table[id, d] with tensor.extract.

// CHECK-DAG: #[[$IDS:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @embedding_f16(
// CHECK-SAME:    %[[T:[a-zA-Z0-9_]+]]: tensor<32000x64xf16>, %[[IDS:[a-zA-Z0-9_]+]]: tensor<?x?xi64>)
// CHECK:         %[[D0:.+]] = tensor.dim %[[IDS]], %{{.+}} : tensor<?x?xi64>
// CHECK:         %[[D1:.+]] = tensor.dim %[[IDS]], %{{.+}} : tensor<?x?xi64>
// CHECK:         %[[E:.+]] = tensor.empty(%[[D0]], %[[D1]]) : tensor<?x?x64xf16>
// CHECK:         %[[Y:.+]] = linalg.generic {indexing_maps = [#[[$IDS]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[IDS]] : tensor<?x?xi64>) outs(%[[E]] : tensor<?x?x64xf16>)
// CHECK-NEXT:    ^bb0(%[[ID:.+]]: i64, %{{.+}}: f16):
// CHECK-NEXT:      %[[ROW:.+]] = arith.index_cast %[[ID]] : i64 to index
// CHECK-NEXT:      %[[COL:.+]] = linalg.index 2 : index
// CHECK-NEXT:      %[[V:.+]] = tensor.extract %[[T]][%[[ROW]], %[[COL]]] : tensor<32000x64xf16>
// CHECK-NEXT:      linalg.yield %[[V]] : f16
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @embedding_f16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @embedding_f16(%t: tensor<32000x64xf16>, %ids: tensor<?x?xi64>) -> tensor<?x?x64xf16> {
  %0 = weft.embedding %t, %ids : (tensor<32000x64xf16>, tensor<?x?xi64>) -> tensor<?x?x64xf16>
  return %0 : tensor<?x?x64xf16>
}

// -----

// Rank-0 ids: one row; D comes from the table.

// CHECK-DAG: #[[$IDS:.+]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @embedding_rank0_ids(
// CHECK-SAME:    %[[T:[a-zA-Z0-9_]+]]: tensor<16x?xf32>, %[[IDS:[a-zA-Z0-9_]+]]: tensor<i32>)
// CHECK:         %[[D:.+]] = tensor.dim %[[T]], %{{.+}} : tensor<16x?xf32>
// CHECK:         %[[E:.+]] = tensor.empty(%[[D]]) : tensor<?xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[$IDS]], #{{.+}}], iterator_types = ["parallel"]} ins(%[[IDS]] : tensor<i32>) outs(%[[E]] : tensor<?xf32>)
// CHECK:           arith.index_cast %{{.+}} : i32 to index
// LLVM-LABEL: llvm.func @embedding_rank0_ids(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @embedding_rank0_ids(%t: tensor<16x?xf32>, %ids: tensor<i32>) -> tensor<?xf32> {
  %0 = weft.embedding %t, %ids : (tensor<16x?xf32>, tensor<i32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// The dynamic prefix is kept; only the static trailing dims are regrouped.

// CHECK-LABEL: func.func @reshape_split_heads(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x512xf32>)
// CHECK:         %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x512xf32>
// CHECK:         %[[S:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x512xf32>
// CHECK:         %[[Y:.+]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2, 3]] output_shape [%[[B]], %[[S]], 8, 64] : tensor<?x?x512xf32> into tensor<?x?x8x64xf32>
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @reshape_split_heads(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reshape_split_heads(%x: tensor<?x?x512xf32>) -> tensor<?x?x8x64xf32> {
  %0 = weft.reshape %x : tensor<?x?x512xf32> -> tensor<?x?x8x64xf32>
  return %0 : tensor<?x?x8x64xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_merge_heads(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x8x64xbf16>)
// CHECK:         %[[Y:.+]] = tensor.collapse_shape %[[X]] {{\[\[}}0], [1], [2, 3]] : tensor<?x?x8x64xbf16> into tensor<?x?x512xbf16>
// CHECK-NOT:     tensor.expand_shape
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @reshape_merge_heads(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reshape_merge_heads(%x: tensor<?x?x8x64xbf16>) -> tensor<?x?x512xbf16> {
  %0 = weft.reshape %x : tensor<?x?x8x64xbf16> -> tensor<?x?x512xbf16>
  return %0 : tensor<?x?x512xbf16>
}

// -----

// Neither side refines the other: collapse the trailing dims into one, then
// expand.

// CHECK-LABEL: func.func @reshape_regroup(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x4x6xi4>)
// CHECK:         %[[C:.+]] = tensor.collapse_shape %[[X]] {{\[\[}}0], [1, 2]] : tensor<?x4x6xi4> into tensor<?x24xi4>
// CHECK:         %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x4x6xi4>
// CHECK:         %[[Y:.+]] = tensor.expand_shape %[[C]] {{\[\[}}0], [1, 2]] output_shape [%[[B]], 3, 8] : tensor<?x24xi4> into tensor<?x3x8xi4>
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @reshape_regroup(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reshape_regroup(%x: tensor<?x4x6xi4>) -> tensor<?x3x8xi4> {
  %0 = weft.reshape %x : tensor<?x4x6xi4> -> tensor<?x3x8xi4>
  return %0 : tensor<?x3x8xi4>
}

// -----

// CHECK-LABEL: func.func @reshape_static(
// CHECK:         %[[C:.+]] = tensor.collapse_shape %{{.+}} {{\[\[}}0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK:         tensor.expand_shape %[[C]] {{\[\[}}0, 1]] output_shape [4, 6] : tensor<24xf32> into tensor<4x6xf32>
// LLVM-LABEL: llvm.func @reshape_static(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reshape_static(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %0 = weft.reshape %x : tensor<2x3x4xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// No static trailing dims on the input: the unit dims join the last prefix dim.

// CHECK-LABEL: func.func @reshape_add_unit_dims(
// CHECK:         tensor.expand_shape %{{.+}} {{\[\[}}0], [1, 2, 3]] output_shape [%{{.+}}, %{{.+}}, 1, 1] : tensor<?x?xi1> into tensor<?x?x1x1xi1>
// LLVM-LABEL: llvm.func @reshape_add_unit_dims(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reshape_add_unit_dims(%x: tensor<?x?xi1>) -> tensor<?x?x1x1xi1> {
  %0 = weft.reshape %x : tensor<?x?xi1> -> tensor<?x?x1x1xi1>
  return %0 : tensor<?x?x1x1xi1>
}

// -----

// CHECK-LABEL: func.func @reshape_to_scalar(
// CHECK:         tensor.collapse_shape %{{.+}} [] : tensor<1x1xi64> into tensor<i64>
// LLVM-LABEL: llvm.func @reshape_to_scalar(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reshape_to_scalar(%x: tensor<1x1xi64>) -> tensor<i64> {
  %0 = weft.reshape %x : tensor<1x1xi64> -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

// CHECK-LABEL: func.func @transpose(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<1x?x8x64xf32>)
// CHECK:         %[[S:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<1x?x8x64xf32>
// CHECK:         %[[E:.+]] = tensor.empty(%[[S]]) : tensor<1x8x?x64xf32>
// CHECK:         %[[Y:.+]] = linalg.transpose ins(%[[X]] : tensor<1x?x8x64xf32>) outs(%[[E]] : tensor<1x8x?x64xf32>) permutation = [0, 2, 1, 3]
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @transpose(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @transpose(%x: tensor<1x?x8x64xf32>) -> tensor<1x8x?x64xf32> {
  %0 = weft.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x?x8x64xf32>) -> tensor<1x8x?x64xf32>
  return %0 : tensor<1x8x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @concat(
// CHECK-SAME:    %[[A:[a-zA-Z0-9_]+]]: tensor<1x3x64xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<1x?x64xf32>, %[[C:[a-zA-Z0-9_]+]]: tensor<1x5x64xf32>)
// CHECK:         %[[Y:.+]] = tensor.concat dim(1) %[[A]], %[[B]], %[[C]] : (tensor<1x3x64xf32>, tensor<1x?x64xf32>, tensor<1x5x64xf32>) -> tensor<1x?x64xf32>
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @concat(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @concat(%a: tensor<1x3x64xf32>, %b: tensor<1x?x64xf32>, %c: tensor<1x5x64xf32>) -> tensor<1x?x64xf32> {
  %0 = weft.concat %a, %b, %c {axis = 1} : (tensor<1x3x64xf32>, tensor<1x?x64xf32>, tensor<1x5x64xf32>) -> tensor<1x?x64xf32>
  return %0 : tensor<1x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @concat_more_static_result(
// CHECK:         %[[Y:.+]] = tensor.concat dim(1) %{{.+}}, %{{.+}} : (tensor<?x3xi8>, tensor<2x4xi8>) -> tensor<2x7xi8>
// CHECK:         return %[[Y]] : tensor<2x7xi8>
// LLVM-LABEL: llvm.func @concat_more_static_result(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @concat_more_static_result(%a: tensor<?x3xi8>, %b: tensor<2x4xi8>) -> tensor<2x7xi8> {
  %0 = weft.concat %a, %b {axis = 1} : (tensor<?x3xi8>, tensor<2x4xi8>) -> tensor<2x7xi8>
  return %0 : tensor<2x7xi8>
}

// -----

// CHECK-LABEL: func.func @concat_single(
// CHECK-SAME:    %[[A:[a-zA-Z0-9_]+]]: tensor<?x3xf32>)
// CHECK-NEXT:    return %[[A]]
// LLVM-LABEL: llvm.func @concat_single(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @concat_single(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %0 = weft.concat %a {axis = 0} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

// CHECK-LABEL: func.func @slice(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x768xf32>)
// CHECK:         %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x768xf32>
// CHECK:         %[[S:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x768xf32>
// CHECK:         %[[Y:.+]] = tensor.extract_slice %[[X]][0, 0, 0] [%[[B]], %[[S]], 512] [1, 1, 1] : tensor<?x?x768xf32> to tensor<?x?x512xf32>
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @slice(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @slice(%x: tensor<?x?x768xf32>) -> tensor<?x?x512xf32> {
  %0 = weft.slice %x {axis = 2, start = 0, end = 512} : (tensor<?x?x768xf32>) -> tensor<?x?x512xf32>
  return %0 : tensor<?x?x512xf32>
}

// -----

// The step is the stride; the sliced dim has its static count even though the
// input dim is dynamic.

// CHECK-LABEL: func.func @slice_step_dynamic_axis(
// CHECK:         tensor.extract_slice %{{.+}}[0, 1, 0] [2, 3, 4] [1, 3, 1] : tensor<2x?x4xf16> to tensor<2x3x4xf16>
// LLVM-LABEL: llvm.func @slice_step_dynamic_axis(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @slice_step_dynamic_axis(%x: tensor<2x?x4xf16>) -> tensor<2x3x4xf16> {
  %0 = weft.slice %x {axis = 1, start = 1, end = 8, step = 3} : (tensor<2x?x4xf16>) -> tensor<2x3x4xf16>
  return %0 : tensor<2x3x4xf16>
}

// -----

// CHECK-LABEL: func.func @cast_f32_to_bf16(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x512xf32>)
// CHECK:         %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x512xf32>
// CHECK:         %[[E:.+]] = tensor.empty(%[[B]]) : tensor<?x512xbf16>
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x512xf32>) outs(%[[E]] : tensor<?x512xbf16>)
// CHECK-NEXT:    ^bb0(%[[V:.+]]: f32, %{{.+}}: bf16):
// CHECK-NEXT:      %[[R:.+]] = arith.truncf %[[V]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[R]] : bf16
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @cast_f32_to_bf16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_f32_to_bf16(%x: tensor<?x512xf32>) -> tensor<?x512xbf16> {
  %0 = weft.cast %x : tensor<?x512xf32> -> tensor<?x512xbf16>
  return %0 : tensor<?x512xbf16>
}

// -----

// CHECK-LABEL: func.func @cast_f16_to_bf16(
// CHECK:         %[[W:.+]] = arith.extf %{{.+}} : f16 to f32
// CHECK-NEXT:    %[[R:.+]] = arith.truncf %[[W]] : f32 to bf16
// LLVM-LABEL: llvm.func @cast_f16_to_bf16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_f16_to_bf16(%x: tensor<4xf16>) -> tensor<4xbf16> {
  %0 = weft.cast %x : tensor<4xf16> -> tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// -----

// CHECK-LABEL: func.func @cast_bf16_to_f32(
// CHECK:         arith.extf %{{.+}} : bf16 to f32
// LLVM-LABEL: llvm.func @cast_bf16_to_f32(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_bf16_to_f32(%x: tensor<4xbf16>) -> tensor<4xf32> {
  %0 = weft.cast %x : tensor<4xbf16> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @cast_f32_to_i64(
// CHECK:         arith.fptosi %{{.+}} : f32 to i64
// LLVM-LABEL: llvm.func @cast_f32_to_i64(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_f32_to_i64(%x: tensor<4xf32>) -> tensor<4xi64> {
  %0 = weft.cast %x : tensor<4xf32> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// Narrow integer results: truncate toward zero into i32, keep the low bits.

// CHECK-LABEL: func.func @cast_f16_to_i4(
// CHECK:         %[[I:.+]] = arith.fptosi %{{.+}} : f16 to i32
// CHECK-NEXT:    arith.trunci %[[I]] : i32 to i4
// LLVM-LABEL: llvm.func @cast_f16_to_i4(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_f16_to_i4(%x: tensor<4xf16>) -> tensor<4xi4> {
  %0 = weft.cast %x : tensor<4xf16> -> tensor<4xi4>
  return %0 : tensor<4xi4>
}

// -----

// CHECK-LABEL: func.func @cast_i32_to_f16(
// CHECK:         arith.sitofp %{{.+}} : i32 to f16
// LLVM-LABEL: llvm.func @cast_i32_to_f16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_i32_to_f16(%x: tensor<4xi32>) -> tensor<4xf16> {
  %0 = weft.cast %x : tensor<4xi32> -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// i1 is read as 0/1 (unsigned).

// CHECK-LABEL: func.func @cast_i1_to_f32(
// CHECK:         arith.uitofp %{{.+}} : i1 to f32
// LLVM-LABEL: llvm.func @cast_i1_to_f32(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_i1_to_f32(%x: tensor<4xi1>) -> tensor<4xf32> {
  %0 = weft.cast %x : tensor<4xi1> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @cast_i1_to_i32(
// CHECK:         arith.extui %{{.+}} : i1 to i32
// LLVM-LABEL: llvm.func @cast_i1_to_i32(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_i1_to_i32(%x: tensor<4xi1>) -> tensor<4xi32> {
  %0 = weft.cast %x : tensor<4xi1> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @cast_i8_to_i64(
// CHECK:         arith.extsi %{{.+}} : i8 to i64
// LLVM-LABEL: llvm.func @cast_i8_to_i64(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_i8_to_i64(%x: tensor<4xi8>) -> tensor<4xi64> {
  %0 = weft.cast %x : tensor<4xi8> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// The result may be more static than the input.

// CHECK-LABEL: func.func @cast_i64_to_i32(
// CHECK:         %[[E:.+]] = tensor.empty() : tensor<4xi32>
// CHECK:         linalg.generic {{.*}} ins(%{{.+}} : tensor<?xi64>) outs(%[[E]] : tensor<4xi32>)
// CHECK:           arith.trunci %{{.+}} : i64 to i32
// LLVM-LABEL: llvm.func @cast_i64_to_i32(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @cast_i64_to_i32(%x: tensor<?xi64>) -> tensor<4xi32> {
  %0 = weft.cast %x : tensor<?xi64> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}
