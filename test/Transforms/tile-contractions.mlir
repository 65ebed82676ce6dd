// RUN: weft-opt %s --weft-tile-contractions --split-input-file | FileCheck %s
// RUN: weft-opt %s --weft-tile-contractions="lanes=8 tile-m=2 tile-n=8 block-n=16" --split-input-file | FileCheck %s --check-prefix=OPTS
// RUN: not weft-opt %s --weft-tile-contractions="tile-m=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=ERR

// ERR: weft-tile-contractions: lanes, tile-m, tile-n, row-tile-n and min-blocks must be >= 1 and block-n >= tile-n

// x[8, 64] w[44, 64]: K viewed as 4 x 16 lanes; two column blocks (24 and 20)
// in an scf.forall; 4 x 4 register tiles whose 16 accumulators of 16 lanes
// are loop-carried vectors over the 4 chunks of K; the lanes are summed once
// per tile. The last block's columns beyond a multiple of 4 (none here, but
// the block size is dynamic) go one column at a time.

// CHECK-LABEL: func.func @linear_static(
// CHECK-DAG:     %[[ZEROS:.+]] = arith.constant dense<0.000000e+00> : vector<4x4x16xf32>
// CHECK-DAG:     %[[XL:.+]] = tensor.expand_shape %{{.+}} {{\[\[}}0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xf32> into tensor<8x4x16xf32>
// CHECK-DAG:     %[[WL:.+]] = tensor.expand_shape %{{.+}} {{\[\[}}0], [1, 2]] output_shape [44, 4, 16] : tensor<44x64xf32> into tensor<44x4x16xf32>
// CHECK:         scf.forall (%[[N0:.+]]) = (0) to (44) step (24)
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C4:.+]] iter_args
// CHECK:             scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C4]] iter_args
// CHECK:               %[[ACC:.+]] = scf.for %{{.+}} iter_args(%[[A:.+]] = %[[ZEROS]]) -> (vector<4x4x16xf32>)
// CHECK:                 %[[XV:.+]] = vector.transfer_read {{.+}} : tensor<4x1x16xf32>, vector<4x4x1x16xf32>
// CHECK:                 %[[WV:.+]] = vector.transfer_read {{.+}} : tensor<4x1x16xf32>, vector<4x4x1x16xf32>
// CHECK:                 %[[P:.+]] = arith.mulf %[[XV]], %[[WV]] : vector<4x4x1x16xf32>
// CHECK:                 %[[PC:.+]] = vector.shape_cast %[[P]]
// CHECK:                 %[[S:.+]] = arith.addf %[[A]], %[[PC]] : vector<4x4x16xf32>
// CHECK:                 scf.yield %[[S]] : vector<4x4x16xf32>
// CHECK:               vector.multi_reduction <add>, %[[ACC]], %{{.+}} [2] : vector<4x4x16xf32> to vector<4x4xf32>
// CHECK:               vector.transfer_write {{.+}} : vector<4x4xf32>, tensor<4x4xf32>
// CHECK:             scf.for
// CHECK:               scf.for {{.+}} -> (vector<4x1x16xf32>)
// CHECK:               vector.multi_reduction <add>, {{.+}} : vector<4x1x16xf32> to vector<4x1xf32>
// CHECK:           scf.forall.in_parallel
// CHECK-NOT:     linalg.

// OPTS-LABEL: func.func @linear_static(
// OPTS:         scf.forall (%{{.+}}) = (0) to (44) step (16)
// OPTS:           scf.for {{.+}} -> (vector<2x8x8xf32>)
// OPTS:             arith.mulf {{.+}} : vector<2x8x1x8xf32>

#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d1, d2)>
#y = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @linear_static(%x: tensor<8x64xf32>, %w: tensor<44x64xf32>) -> tensor<8x44xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<8x44xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<8x44xf32>) -> tensor<8x44xf32>
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<8x64xf32>, tensor<44x64xf32>) outs(%acc : tensor<8x44xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x44xf32>
  return %y : tensor<8x44xf32>
}

// -----

// Dynamic M: full 4-row tiles in the peeled main loop, the last rows one at a
// time (1 x 4 tiles). f16 inputs are widened in registers.

// CHECK-LABEL: func.func @linear_dynamic_m(
// CHECK:         %[[M:.+]] = tensor.dim %{{.+}}, %{{.+}} : tensor<?x16xf32>
// CHECK:         scf.forall (%{{.+}}) = (0) to (16) step (8)
// CHECK:           %[[FULL:.+]] = affine.apply #{{.+}}()[%[[M]]]
// CHECK:           scf.for %{{.+}} = %{{.+}} to %[[FULL]] step %{{.+}}
// CHECK:             scf.for {{.+}} -> (vector<4x4x16xf32>)
// CHECK:               vector.transfer_read {{.+}} : tensor<4x1x16xf16>, vector<4x4x1x16xf16>
// CHECK:               arith.extf {{.+}} : vector<4x4x1x16xf16> to vector<4x4x1x16xf32>
// CHECK:           scf.for %{{.+}} = %[[FULL]] to %[[M]] step
// CHECK:             scf.for %[[ROW:.+]] = %{{.+}} to %{{.+}} step %[[C1:.+]] iter_args
// CHECK:               scf.for {{.+}} -> (vector<1x4x16xf32>)
// CHECK:               vector.multi_reduction <add>, {{.+}} : vector<1x4x16xf32> to vector<1x4xf32>

#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d1, d2)>
#y = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @linear_dynamic_m(%x: tensor<?x32xf16>, %w: tensor<16x32xf16>, %acc: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x32xf16>, tensor<16x32xf16>) outs(%acc : tensor<?x16xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %af = arith.extf %a : f16 to f32
    %bf = arith.extf %b : f16 to f32
    %p = arith.mulf %af, %bf : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Two reduction loops (weft.qlinear int8: group, k in group): the scale is
// read once per group, the accumulators stay in registers over both loops.
// M = 1: 1 x 8 register tiles (row-tile-n); N = 16: two column blocks of 8.

// CHECK-LABEL: func.func @qlinear_gemv(
// The scale multiplies the sum of each group once, after the loop over it.
// CHECK-DAG:     %[[ZEROS:.+]] = arith.constant dense<0.000000e+00> : vector<1x8x16xf32>
// CHECK:         scf.forall (%{{.+}}) = (0) to (16) step (8)
// CHECK:           %[[G:.+]] = scf.for %{{.+}} iter_args(%[[GA:.+]] = %[[ZEROS]]) -> (vector<1x8x16xf32>)
// CHECK:             %[[S:.+]] = vector.transfer_read {{.+}} : tensor<8x1xf32>, vector<1x8x1x1x16xf32>
// CHECK:             %[[K:.+]] = scf.for %{{.+}} iter_args(%[[KA:.+]] = %[[ZEROS]]) -> (vector<1x8x16xf32>)
// CHECK:               vector.transfer_read {{.+}} : tensor<8x1x1x16xi8>, vector<1x8x1x1x16xi8>
// CHECK:               arith.extsi
// CHECK:               arith.sitofp
// CHECK:               %[[XQ:.+]] = arith.mulf
// CHECK:               %[[XQC:.+]] = vector.shape_cast %[[XQ]]
// CHECK:               arith.addf %[[KA]], %[[XQC]] : vector<1x8x16xf32>
// CHECK:             %[[KC:.+]] = vector.shape_cast %[[K]] : vector<1x8x16xf32> to vector<1x8x1x1x16xf32>
// CHECK:             %[[KS:.+]] = arith.mulf %[[KC]], %[[S]] : vector<1x8x1x1x16xf32>
// CHECK:             %[[KSC:.+]] = vector.shape_cast %[[KS]]
// CHECK:             %[[NEXT:.+]] = arith.addf %[[GA]], %[[KSC]] : vector<1x8x16xf32>
// CHECK:             scf.yield %[[NEXT]]
// CHECK:           vector.multi_reduction <add>, %[[G]], {{.+}} [2] : vector<1x8x16xf32> to vector<1x8xf32>

#x = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#q = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
#s = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
#y = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
func.func @qlinear_gemv(%x: tensor<1x2x32xf32>, %q: tensor<16x2x32xi8>, %scale: tensor<16x2xf32>, %acc: tensor<1x16xf32>) -> tensor<1x16xf32> {
  %y = linalg.generic {indexing_maps = [#x, #q, #s, #y], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %q, %scale : tensor<1x2x32xf32>, tensor<16x2x32xi8>, tensor<16x2xf32>) outs(%acc : tensor<1x16xf32>) {
  ^bb0(%a: f32, %b: i8, %sc: f32, %c: f32):
    %bi = arith.extsi %b : i8 to i32
    %bf = arith.sitofp %bi : i32 to f32
    %p = arith.mulf %a, %bf : f32
    %t = arith.mulf %p, %sc : f32
    %s = arith.addf %c, %t : f32
    linalg.yield %s : f32
  } -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// -----

// K = 40 is not a multiple of the 16 lanes: left alone.

// CHECK-LABEL: func.func @linear_k_not_lanes(
// CHECK-NOT:     scf.forall
// CHECK-NOT:     vector.
// CHECK:         linalg.generic

#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d1, d2)>
#y = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @linear_k_not_lanes(%x: tensor<4x40xf32>, %w: tensor<8x40xf32>, %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x40xf32>, tensor<8x40xf32>) outs(%acc : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// w read as w[k, n] (matmul without transpose_rhs): k is not its innermost
// dim, so lanes would not be contiguous: left alone.

// CHECK-LABEL: func.func @matmul_k_outer(
// CHECK-NOT:     scf.forall
// CHECK-NOT:     vector.
// CHECK:         linalg.generic

#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#y = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @matmul_k_outer(%x: tensor<4x32xf32>, %w: tensor<32x8xf32>, %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x32xf32>, tensor<32x8xf32>) outs(%acc : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A map that is not a projection of the loops (grouped-query attention reads
// key head h floordiv 4): linalg vectorization does not take it: left alone.

// CHECK-LABEL: func.func @gqa_scores(
// CHECK-NOT:     scf.forall
// CHECK-NOT:     vector.
// CHECK:         linalg.generic

#q = affine_map<(d0, d1, d2) -> (d0, d2)>
#k = affine_map<(d0, d1, d2) -> (d0 floordiv 4, d1, d2)>
#s = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @gqa_scores(%q: tensor<8x32xf32>, %k: tensor<2x8x32xf32>, %acc: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %y = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<8x32xf32>, tensor<2x8x32xf32>) outs(%acc : tensor<8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}
