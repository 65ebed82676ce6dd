// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// A static size-1 batch dim reads index 0; a missing one is dropped from the
// map. f32 accumulates in place: no epilogue.

// CHECK-DAG: #[[$LHS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d2, d4)>
// CHECK-DAG: #[[$RHS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d3)>
// CHECK-DAG: #[[$OUT:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @matmul_static_broadcast(
// CHECK-SAME:    %[[A:[a-zA-Z0-9_]+]]: tensor<3x1x4x5xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<6x5x7xf32>)
// CHECK:         %[[EMPTY:.+]] = tensor.empty() : tensor<3x6x4x7xf32>
// CHECK:         %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<3x6x4x7xf32>)
// CHECK:         %[[MM:.+]] = linalg.generic {indexing_maps = [#[[$LHS]], #[[$RHS]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[A]], %[[B]] : tensor<3x1x4x5xf32>, tensor<6x5x7xf32>) outs(%[[ACC]] : tensor<3x6x4x7xf32>)
// CHECK-NEXT:    ^bb0(%[[L:.+]]: f32, %[[R:.+]]: f32, %[[S:.+]]: f32):
// CHECK-NEXT:      %[[P:.+]] = arith.mulf %[[L]], %[[R]] : f32
// CHECK-NEXT:      %[[SUM:.+]] = arith.addf %[[S]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[SUM]] : f32
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[MM]]
// LLVM-LABEL: llvm.func @matmul_static_broadcast(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @matmul_static_broadcast(%a: tensor<3x1x4x5xf32>, %b: tensor<6x5x7xf32>) -> tensor<3x6x4x7xf32> {
  %0 = weft.matmul %a, %b : (tensor<3x1x4x5xf32>, tensor<6x5x7xf32>) -> tensor<3x6x4x7xf32>
  return %0 : tensor<3x6x4x7xf32>
}

// -----

// transpose_lhs swaps the roles of the last two dims of lhs: [K, M].

// CHECK-DAG: #[[$LHS:.+]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[$RHS:.+]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[$OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul_transpose_lhs(
// CHECK-SAME:    %[[A:[a-zA-Z0-9_]+]]: tensor<16x?xf32>
// CHECK:         %[[C1:.+]] = arith.constant 1 : index
// CHECK:         %[[M:.+]] = tensor.dim %[[A]], %[[C1]]
// CHECK:         tensor.empty(%[[M]]) : tensor<?x8xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[$LHS]], #[[$RHS]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// LLVM-LABEL: llvm.func @matmul_transpose_lhs(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @matmul_transpose_lhs(%a: tensor<16x?xf32>, %b: tensor<16x8xf32>) -> tensor<?x8xf32> {
  %0 = weft.matmul %a, %b {transpose_lhs} : (tensor<16x?xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// Dynamic batch dims may broadcast at run time: each operand is kept when its
// size equals the result's and broadcast (index 0) otherwise. f16 operands are
// widened in the body, accumulated in f32 and rounded once by an epilogue.

// CHECK-DAG: #[[$BCAST:.+]] = affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>
// CHECK-DAG: #[[$ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$Q:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[$K:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// CHECK-DAG: #[[$S:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @matmul_f16_dynamic_batch(
// CHECK-SAME:    %[[Q:[a-zA-Z0-9_]+]]: tensor<?x8x?x64xf16>, %[[K:[a-zA-Z0-9_]+]]: tensor<?x8x?x64xf16>)
// CHECK:         %[[QB:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<?x8x?x64xf16>
// CHECK:         %[[KB:.+]] = tensor.dim %[[K]], %{{.+}} : tensor<?x8x?x64xf16>
// CHECK:         %[[B:.+]] = arith.maxui %[[QB]], %[[KB]] : index
// CHECK:         %[[QSAME:.+]] = arith.cmpi eq, %{{.+}}, %[[B]] : index
// CHECK:         %[[QN:.+]] = scf.if %[[QSAME]] -> (tensor<?x8x?x64xf16>) {
// CHECK-NEXT:      scf.yield %[[Q]]
// CHECK-NEXT:    } else {
// CHECK:           %[[QE:.+]] = tensor.empty(%[[B]], %{{.+}}) : tensor<?x8x?x64xf16>
// CHECK:           %[[QC:.+]] = linalg.generic {indexing_maps = [#[[$BCAST]], #[[$ID4]]], {{.*}} ins(%[[Q]] : {{.*}}) outs(%[[QE]] :
// CHECK:           scf.yield %[[QC]]
// CHECK:         %[[KN:.+]] = scf.if
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x8x?x?xf32>)
// CHECK:         %[[MM:.+]] = linalg.generic {indexing_maps = [#[[$Q]], #[[$K]], #[[$S]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[QN]], %[[KN]] : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>) outs(%[[ACC]] : tensor<?x8x?x?xf32>)
// CHECK-NEXT:    ^bb0(%[[L:.+]]: f16, %[[R:.+]]: f16, %[[SUM:.+]]: f32):
// CHECK-NEXT:      %[[LF:.+]] = arith.extf %[[L]] : f16 to f32
// CHECK-NEXT:      %[[RF:.+]] = arith.extf %[[R]] : f16 to f32
// CHECK-NEXT:      %[[P:.+]] = arith.mulf %[[LF]], %[[RF]] : f32
// CHECK-NEXT:      arith.addf %[[SUM]], %[[P]] : f32
// CHECK:         %[[RES:.+]] = linalg.generic {{.*}} ins(%[[MM]] : tensor<?x8x?x?xf32>) outs(%{{.+}} : tensor<?x8x?x?xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[RES]]
// LLVM-LABEL: llvm.func @matmul_f16_dynamic_batch(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @matmul_f16_dynamic_batch(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>) -> tensor<?x8x?x?xf16> {
  %0 = weft.matmul %q, %k {transpose_rhs} : (tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>) -> tensor<?x8x?x?xf16>
  return %0 : tensor<?x8x?x?xf16>
}

// -----

// A plain f32 linear is the contraction alone.

// CHECK-DAG: #[[$X:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$W:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[$Y:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @linear_f32(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x16xf32>, %[[W:[a-zA-Z0-9_]+]]: tensor<32x16xf32>)
// CHECK:         %[[D0:.+]] = tensor.dim %[[X]], %{{.+}}
// CHECK:         %[[D1:.+]] = tensor.dim %[[X]], %{{.+}}
// CHECK:         %[[EMPTY:.+]] = tensor.empty(%[[D0]], %[[D1]]) : tensor<?x?x32xf32>
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[EMPTY]] :
// CHECK:         %[[Y:.+]] = linalg.generic {indexing_maps = [#[[$X]], #[[$W]], #[[$Y]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]], %[[W]] : tensor<?x?x16xf32>, tensor<32x16xf32>) outs(%[[ACC]] : tensor<?x?x32xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @linear_f32(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @linear_f32(%x: tensor<?x?x16xf32>, %w: tensor<32x16xf32>) -> tensor<?x?x32xf32> {
  %0 = weft.linear %x, %w : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// Epilogue order: bias, activation (silu), residual, then one rounding.

// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$N:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_bf16_epilogue(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x16xbf16>, %[[W:[a-zA-Z0-9_]+]]: tensor<32x16xbf16>, %[[B:[a-zA-Z0-9_]+]]: tensor<32xbf16>, %[[R:[a-zA-Z0-9_]+]]: tensor<?x32xbf16>)
// CHECK:         %[[ACC:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[W]] : {{.*}}) outs(%{{.+}} : tensor<?x32xf32>)
// CHECK:           arith.extf %{{.+}} : bf16 to f32
// CHECK:           arith.extf %{{.+}} : bf16 to f32
// CHECK:         %[[Y:.+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$N]], #[[$ID]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:        ins(%[[ACC]], %[[B]], %[[R]] : tensor<?x32xf32>, tensor<32xbf16>, tensor<?x32xbf16>) outs(%{{.+}} : tensor<?x32xbf16>)
// CHECK-NEXT:    ^bb0(%[[A:.+]]: f32, %[[BIAS:.+]]: bf16, %[[RES:.+]]: bf16, %{{.+}}: bf16):
// CHECK-NEXT:      %[[BIASF:.+]] = arith.extf %[[BIAS]] : bf16 to f32
// CHECK-NEXT:      %[[T:.+]] = arith.addf %[[A]], %[[BIASF]] : f32
// CHECK-NEXT:      %[[NEG:.+]] = arith.negf %[[T]] : f32
// CHECK-NEXT:      %[[E:.+]] = math.exp %[[NEG]] : f32
// CHECK:           %[[SIG:.+]] = arith.divf
// CHECK-NEXT:      %[[ACT:.+]] = arith.mulf %[[T]], %[[SIG]] : f32
// CHECK-NEXT:      %[[RESF:.+]] = arith.extf %[[RES]] : bf16 to f32
// CHECK-NEXT:      %[[OUT:.+]] = arith.addf %[[ACT]], %[[RESF]] : f32
// CHECK-NEXT:      %[[ROUND:.+]] = arith.truncf %[[OUT]] : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[ROUND]] : bf16
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @linear_bf16_epilogue(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @linear_bf16_epilogue(%x: tensor<?x16xbf16>, %w: tensor<32x16xbf16>, %b: tensor<32xbf16>, %r: tensor<?x32xbf16>) -> tensor<?x32xbf16> {
  %0 = weft.linear %x, %w bias %b residual %r {activation = #weft.activation<silu>} : (tensor<?x16xbf16>, tensor<32x16xbf16>, tensor<32xbf16>, tensor<?x32xbf16>) -> tensor<?x32xbf16>
  return %0 : tensor<?x32xbf16>
}

// -----

// Rank-1 x: the only loops are n and k.

// CHECK-DAG: #[[$X:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$W:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$Y:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @linear_f16_rank1_gelu(
// CHECK:         linalg.generic {indexing_maps = [#[[$X]], #[[$W]], #[[$Y]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:        outs(%{{.+}} : tensor<8xf32>)
// CHECK:         linalg.generic
// CHECK:           math.erf
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// LLVM-LABEL: llvm.func @linear_f16_rank1_gelu(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
// LLVM: llvm.call @erff(
func.func @linear_f16_rank1_gelu(%x: tensor<16xf16>, %w: tensor<8x16xf16>) -> tensor<8xf16> {
  %0 = weft.linear %x, %w {activation = #weft.activation<gelu>} : (tensor<16xf16>, tensor<8x16xf16>) -> tensor<8xf16>
  return %0 : tensor<8xf16>
}

// -----

// Symmetric int4, groups of 16 along K: loops (m0, m1, n, g, kb) with
// k = 16 g + kb; x and q are viewed as [..., 4, 16], so that every map is a
// projection of the loops, and the scale [n, g] is invariant in the innermost
// loop. The weight is dequantised in the body: the nibble shifted to the top
// of an i32 is the value times 2^28 (exact in f32), and 2^-28 joins the scale.

// CHECK-DAG: #[[$X:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// CHECK-DAG: #[[$Q:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d2, d3, d4)>
// CHECK-DAG: #[[$SCALE:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d2, d3)>
// CHECK-DAG: #[[$Y:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @qlinear_i4_symmetric_grouped(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x64xf32>, %[[Q:[a-zA-Z0-9_]+]]: tensor<32x64xi4>, %[[S:[a-zA-Z0-9_]+]]: tensor<32x4xf32>)
// CHECK:         %[[XE:.+]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2, 3]] output_shape [%{{.+}}, %{{.+}}, 4, 16] : tensor<?x?x64xf32> into tensor<?x?x4x16xf32>
// CHECK:         %[[QE:.+]] = tensor.expand_shape %[[Q]] {{\[\[}}0], [1, 2]] output_shape [32, 4, 16] : tensor<32x64xi4> into tensor<32x4x16xi4>
// CHECK:         %[[ACC:.+]] = linalg.fill
// CHECK:         %[[Y:.+]] = linalg.generic {indexing_maps = [#[[$X]], #[[$Q]], #[[$SCALE]], #[[$Y]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME:        ins(%[[XE]], %[[QE]], %[[S]] : tensor<?x?x4x16xf32>, tensor<32x4x16xi4>, tensor<32x4xf32>) outs(%[[ACC]] : tensor<?x?x32xf32>)
// CHECK-NEXT:    ^bb0(%[[XV:.+]]: f32, %[[QV:.+]]: i4, %[[SV:.+]]: f32, %[[SUM:.+]]: f32):
// CHECK-NEXT:      %[[QU:.+]] = arith.extui %[[QV]] : i4 to i32
// CHECK-NEXT:      %[[C28:.+]] = arith.constant 28 : i32
// CHECK-NEXT:      %[[QI:.+]] = arith.shli %[[QU]], %[[C28]] : i32
// CHECK-NEXT:      %[[TWO_M28:.+]] = arith.constant 3.7252903E-9 : f32
// CHECK-NEXT:      %[[SV2:.+]] = arith.mulf %[[SV]], %[[TWO_M28]] : f32
// CHECK-NEXT:      %[[QF:.+]] = arith.sitofp %[[QI]] : i32 to f32
// CHECK-NEXT:      %[[P:.+]] = arith.mulf %[[XV]], %[[QF]] : f32
// CHECK-NEXT:      %[[SCALED:.+]] = arith.mulf %[[P]], %[[SV2]] : f32
// CHECK-NEXT:      %[[NEW:.+]] = arith.addf %[[SUM]], %[[SCALED]] : f32
// CHECK-NEXT:      linalg.yield %[[NEW]] : f32
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @qlinear_i4_symmetric_grouped(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @qlinear_i4_symmetric_grouped(%x: tensor<?x?x64xf32>, %q: tensor<32x64xi4>, %s: tensor<32x4xf32>) -> tensor<?x?x32xf32> {
  %0 = weft.qlinear %x, %q, %s {group_size = 16 : i64} : (tensor<?x?x64xf32>, tensor<32x64xi4>, tensor<32x4xf32>) -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// Asymmetric int8, one group per row (group_size -1): one group of 64, so the
// scale and zero point are read at [n, 0] (g has one iteration); q and the
// zero point are zero-extended and subtracted in i32. x and q are viewed as
// [..., G, gs] so that every map is a projection of the loops.

// CHECK-DAG: #[[$XMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$QMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[$GROUP:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG: #[[$N:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @qlinear_i8_asymmetric_per_channel(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x64xf16>, %[[Q:[a-zA-Z0-9_]+]]: tensor<32x64xi8>, %[[S:[a-zA-Z0-9_]+]]: tensor<32x1xf16>, %[[Z:[a-zA-Z0-9_]+]]: tensor<32x1xi8>, %[[B:[a-zA-Z0-9_]+]]: tensor<32xf16>)
// CHECK:         %[[XE:.+]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2]] output_shape [%{{.+}}, 1, 64] : tensor<?x64xf16> into tensor<?x1x64xf16>
// CHECK:         %[[QE:.+]] = tensor.expand_shape %[[Q]] {{\[\[}}0], [1, 2]] output_shape [32, 1, 64] : tensor<32x64xi8> into tensor<32x1x64xi8>
// CHECK:         %[[ACC:.+]] = linalg.generic {indexing_maps = [#[[$XMAP]], #[[$QMAP]], #[[$GROUP]], #[[$GROUP]], #{{.+}}], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME:        ins(%[[XE]], %[[QE]], %[[S]], %[[Z]] : tensor<?x1x64xf16>, tensor<32x1x64xi8>, tensor<32x1xf16>, tensor<32x1xi8>) outs(%{{.+}} : tensor<?x32xf32>)
// CHECK-NEXT:    ^bb0(%[[XV:.+]]: f16, %[[QV:.+]]: i8, %[[SV:.+]]: f16, %[[ZV:.+]]: i8, %[[SUM:.+]]: f32):
// CHECK-NEXT:      %[[SF:.+]] = arith.extf %[[SV]] : f16 to f32
// CHECK-NEXT:      %[[QI:.+]] = arith.extui %[[QV]] : i8 to i32
// CHECK-NEXT:      %[[ZI:.+]] = arith.extui %[[ZV]] : i8 to i32
// CHECK-NEXT:      %[[D:.+]] = arith.subi %[[QI]], %[[ZI]] : i32
// CHECK-NEXT:      %[[DF:.+]] = arith.sitofp %[[D]] : i32 to f32
// CHECK-NEXT:      %[[XF:.+]] = arith.extf %[[XV]] : f16 to f32
// CHECK-NEXT:      %[[P:.+]] = arith.mulf %[[XF]], %[[DF]] : f32
// CHECK-NEXT:      %[[SCALED:.+]] = arith.mulf %[[P]], %[[SF]] : f32
// CHECK-NEXT:      arith.addf %[[SUM]], %[[SCALED]] : f32
// CHECK:         %[[Y:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[$N]], #{{.+}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:        ins(%[[ACC]], %[[B]] : tensor<?x32xf32>, tensor<32xf16>) outs(%{{.+}} : tensor<?x32xf16>)
// CHECK:           arith.maximumf
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @qlinear_i8_asymmetric_per_channel(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @qlinear_i8_asymmetric_per_channel(%x: tensor<?x64xf16>, %q: tensor<32x64xi8>, %s: tensor<32x1xf16>, %z: tensor<32x1xi8>, %b: tensor<32xf16>) -> tensor<?x32xf16> {
  %0 = weft.qlinear %x, %q, %s zeros %z bias %b {group_size = -1 : i64, activation = #weft.activation<relu>} : (tensor<?x64xf16>, tensor<32x64xi8>, tensor<32x1xf16>, tensor<32x1xi8>, tensor<32xf16>) -> tensor<?x32xf16>
  return %0 : tensor<?x32xf16>
}

// -----

// Single adapter: t = x A^T into f32 [..., r], then t B^T into f32 [..., N],
// then the scale.

// CHECK-DAG: #[[$LHS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[$W:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[$OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @lora_single(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x16xf32>, %[[A:[a-zA-Z0-9_]+]]: tensor<4x16xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<32x4xf32>)
// CHECK:         %[[T:.+]] = linalg.generic {indexing_maps = [#[[$LHS]], #[[$W]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]], %[[A]] : tensor<?x?x16xf32>, tensor<4x16xf32>) outs(%{{.+}} : tensor<?x?x4xf32>)
// CHECK:         %[[D:.+]] = linalg.generic {indexing_maps = [#[[$LHS]], #[[$W]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[T]], %[[B]] : tensor<?x?x4xf32>, tensor<32x4xf32>) outs(%{{.+}} : tensor<?x?x32xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}} ins(%[[D]] : tensor<?x?x32xf32>)
// CHECK:           %[[SCALE:.+]] = arith.constant 2.000000e+00 : f32
// CHECK:           arith.mulf %[[SCALE]], %{{.+}} : f32
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @lora_single(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @lora_single(%x: tensor<?x?x16xf32>, %a: tensor<4x16xf32>, %b: tensor<32x4xf32>) -> tensor<?x?x32xf32> {
  %0 = weft.lora %x, %a, %b {scale = 2.0 : f32} : (tensor<?x?x16xf32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// Multi-adapter, one id per batch row: ids is read at (d0); A[id] is read with
// tensor.extract only when 0 <= id < n_adapters (-1 and out-of-range ids give
// a zero term and never read the table). scale 1 and f32: no epilogue.

// CHECK-DAG: #[[$IDS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0)>
// CHECK-LABEL: func.func @lora_multi_per_row(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x16xf32>, %[[A:[a-zA-Z0-9_]+]]: tensor<3x4x16xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<3x32x4xf32>, %[[IDS:[a-zA-Z0-9_]+]]: tensor<?xi32>)
// CHECK:         %[[NA:.+]] = tensor.dim %[[A]], %{{.+}} : tensor<3x4x16xf32>
// CHECK:         %[[T:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[$IDS]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]], %[[IDS]] : tensor<?x?x16xf32>, tensor<?xi32>) outs(%{{.+}} : tensor<?x?x4xf32>)
// CHECK-NEXT:    ^bb0(%[[XV:.+]]: f32, %[[ID:.+]]: i32, %[[SUM:.+]]: f32):
// CHECK-NEXT:      %[[IDX:.+]] = arith.index_cast %[[ID]] : i32 to index
// CHECK-NEXT:      %[[C0:.+]] = arith.constant 0 : index
// CHECK-NEXT:      %[[GE:.+]] = arith.cmpi sge, %[[IDX]], %[[C0]] : index
// CHECK-NEXT:      %[[LT:.+]] = arith.cmpi slt, %[[IDX]], %[[NA]] : index
// CHECK-NEXT:      %[[VALID:.+]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK-NEXT:      %[[J:.+]] = linalg.index 2 : index
// CHECK-NEXT:      %[[K:.+]] = linalg.index 3 : index
// CHECK-NEXT:      %[[TERM:.+]] = scf.if %[[VALID]] -> (f32) {
// CHECK-NEXT:        %[[AV:.+]] = tensor.extract %[[A]][%[[IDX]], %[[J]], %[[K]]] : tensor<3x4x16xf32>
// CHECK-NEXT:        %[[P:.+]] = arith.mulf %[[XV]], %[[AV]] : f32
// CHECK-NEXT:        scf.yield %[[P]] : f32
// CHECK-NEXT:      } else {
// CHECK-NEXT:        %[[Z:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        scf.yield %[[Z]] : f32
// CHECK-NEXT:      }
// CHECK-NEXT:      %[[NEW:.+]] = arith.addf %[[SUM]], %[[TERM]] : f32
// CHECK-NEXT:      linalg.yield %[[NEW]] : f32
// CHECK:         %[[NB:.+]] = tensor.dim %[[B]], %{{.+}} : tensor<3x32x4xf32>
// CHECK:         %[[D:.+]] = linalg.generic {{.*}} ins(%[[T]], %[[IDS]] : tensor<?x?x4xf32>, tensor<?xi32>) outs(%{{.+}} : tensor<?x?x32xf32>)
// CHECK:           arith.cmpi slt, %{{.+}}, %[[NB]] : index
// CHECK:           tensor.extract %[[B]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[D]]
// LLVM-LABEL: llvm.func @lora_multi_per_row(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @lora_multi_per_row(%x: tensor<?x?x16xf32>, %a: tensor<3x4x16xf32>, %b: tensor<3x32x4xf32>, %ids: tensor<?xi32>) -> tensor<?x?x32xf32> {
  %0 = weft.lora %x, %a, %b ids %ids : (tensor<?x?x16xf32>, tensor<3x4x16xf32>, tensor<3x32x4xf32>, tensor<?xi32>) -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// Multi-adapter, one id per token: ids is read at the leading dims (d0, d1).

// CHECK-DAG: #[[$IDS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @lora_multi_per_token_f16(
// CHECK-SAME:    %[[IDS:[a-zA-Z0-9_]+]]: tensor<?x?xi64>)
// CHECK:         %[[T:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[$IDS]], #{{.+}}], {{.*}} ins(%{{.+}}, %[[IDS]] : tensor<?x?x16xf16>, tensor<?x?xi64>) outs(%{{.+}} : tensor<?x?x4xf32>)
// CHECK:           arith.index_cast %{{.+}} : i64 to index
// CHECK:           scf.if
// CHECK:             tensor.extract
// CHECK:             arith.extf
// CHECK:         %[[D:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[$IDS]], #{{.+}}], {{.*}} ins(%[[T]], %[[IDS]] : tensor<?x?x4xf32>, tensor<?x?xi64>) outs(%{{.+}} : tensor<?x?x32xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}} ins(%[[D]] : tensor<?x?x32xf32>) outs(%{{.+}} : tensor<?x?x32xf16>)
// CHECK:           arith.constant 5.000000e-01 : f32
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @lora_multi_per_token_f16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @lora_multi_per_token_f16(%x: tensor<?x?x16xf16>, %a: tensor<?x4x16xf16>, %b: tensor<?x32x4xf16>, %ids: tensor<?x?xi64>) -> tensor<?x?x32xf16> {
  %0 = weft.lora %x, %a, %b ids %ids {scale = 0.5 : f32} : (tensor<?x?x16xf16>, tensor<?x4x16xf16>, tensor<?x32x4xf16>, tensor<?x?xi64>) -> tensor<?x?x32xf16>
  return %0 : tensor<?x?x32xf16>
}

// -----

// gated_linear: the two contractions of weft.linear into f32 accumulators,
// then act(g) * u and the rounding in one epilogue.

// CHECK-DAG: #[[$X:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$W:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @gated_linear_f16(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x16xf16>, %[[WG:[a-zA-Z0-9_]+]]: tensor<8x16xf16>, %[[WU:[a-zA-Z0-9_]+]]: tensor<8x16xf16>)
// CHECK:         %[[G:.+]] = linalg.generic {indexing_maps = [#[[$X]], #[[$W]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]], %[[WG]] : tensor<?x16xf16>, tensor<8x16xf16>) outs(%{{.+}} : tensor<?x8xf32>)
// CHECK:         %[[U:.+]] = linalg.generic {indexing_maps = [#[[$X]], #[[$W]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]], %[[WU]] : tensor<?x16xf16>, tensor<8x16xf16>) outs(%{{.+}} : tensor<?x8xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}} ins(%[[G]], %[[U]] : tensor<?x8xf32>, tensor<?x8xf32>) outs(%{{.+}} : tensor<?x8xf16>)
// CHECK:           math.exp
// CHECK:           arith.mulf
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @gated_linear_f16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @gated_linear_f16(%x: tensor<?x16xf16>, %wg: tensor<8x16xf16>, %wu: tensor<8x16xf16>) -> tensor<?x8xf16> {
  %0 = weft.gated_linear %x, %wg, %wu : (tensor<?x16xf16>, tensor<8x16xf16>, tensor<8x16xf16>) -> tensor<?x8xf16>
  return %0 : tensor<?x8xf16>
}

// -----

// linear with a fused LoRA delta: the base contraction, t = x A^T, t *= scale,
// then the t B^T contraction accumulates into the base accumulator itself
// (its outs is the base result); the bias epilogue follows.

// CHECK-LABEL: func.func @linear_lora(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x16xf32>, %[[W:[a-zA-Z0-9_]+]]: tensor<32x16xf32>, %[[BIAS:[a-zA-Z0-9_]+]]: tensor<32xf32>, %[[A:[a-zA-Z0-9_]+]]: tensor<4x16xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<32x4xf32>)
// CHECK:         %[[BASE:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[W]] : tensor<?x16xf32>, tensor<32x16xf32>) outs(%{{.+}} : tensor<?x32xf32>)
// CHECK:         %[[T:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[A]] : tensor<?x16xf32>, tensor<4x16xf32>) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK:         %[[TS:.+]] = linalg.generic {{.*}} ins(%[[T]] : tensor<?x4xf32>) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK:           arith.constant 5.000000e-01 : f32
// CHECK:         %[[SUM:.+]] = linalg.generic {{.*}} ins(%[[TS]], %[[B]] : tensor<?x4xf32>, tensor<32x4xf32>) outs(%[[BASE]] : tensor<?x32xf32>)
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}} ins(%[[SUM]], %[[BIAS]] : tensor<?x32xf32>, tensor<32xf32>)
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @linear_lora(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @linear_lora(%x: tensor<?x16xf32>, %w: tensor<32x16xf32>, %bias: tensor<32xf32>, %a: tensor<4x16xf32>, %b: tensor<32x4xf32>) -> tensor<?x32xf32> {
  %0 = weft.linear %x, %w bias %bias lora %a, %b {lora_scale = 0.5 : f32} : (tensor<?x16xf32>, tensor<32x16xf32>, tensor<32xf32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

// qlinear with a multi-adapter delta (ids per row): the delta contraction
// reads B[id] in its body and accumulates into the dequantizing
// contraction's accumulator.

// CHECK-LABEL: func.func @qlinear_lora_multi(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<2x3x16xf32>, %[[Q:[a-zA-Z0-9_]+]]: tensor<8x16xi8>, %[[S:[a-zA-Z0-9_]+]]: tensor<8x1xf32>, %[[A:[a-zA-Z0-9_]+]]: tensor<2x4x16xf32>, %[[B:[a-zA-Z0-9_]+]]: tensor<2x8x4xf32>, %[[IDS:[a-zA-Z0-9_]+]]: tensor<2xi32>)
// CHECK:         %[[BASE:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<2x3x8xf32>)
// CHECK:           arith.sitofp
// CHECK:         %[[T:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[IDS]] : tensor<2x3x16xf32>, tensor<2xi32>) outs(%{{.+}} : tensor<2x3x4xf32>)
// CHECK:           tensor.extract %[[A]]
// CHECK:         %[[SUM:.+]] = linalg.generic {{.*}} ins(%[[T]], %[[IDS]] : tensor<2x3x4xf32>, tensor<2xi32>) outs(%[[BASE]] : tensor<2x3x8xf32>)
// CHECK:           tensor.extract %[[B]]
// CHECK:         return %[[SUM]]
// LLVM-LABEL: llvm.func @qlinear_lora_multi(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @qlinear_lora_multi(%x: tensor<2x3x16xf32>, %q: tensor<8x16xi8>, %s: tensor<8x1xf32>, %a: tensor<2x4x16xf32>, %b: tensor<2x8x4xf32>, %ids: tensor<2xi32>) -> tensor<2x3x8xf32> {
  %0 = weft.qlinear %x, %q, %s lora %a, %b lora_ids %ids {group_size = -1 : i64} : (tensor<2x3x16xf32>, tensor<8x16xi8>, tensor<8x1xf32>, tensor<2x4x16xf32>, tensor<2x8x4xf32>, tensor<2xi32>) -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}
