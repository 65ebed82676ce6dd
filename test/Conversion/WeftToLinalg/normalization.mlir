// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// Sum of squares over the last dim into an f32 accumulator, then one
// elementwise generic; a static D is a constant.

// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @rms_norm_f32(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x512xf32>, %[[W:[a-zA-Z0-9_]+]]: tensor<512xf32>)
// CHECK:         %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[INIT:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:         %[[SS:.+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]] : tensor<?x?x512xf32>) outs(%[[INIT]] : tensor<?x?xf32>)
// CHECK-NEXT:    ^bb0(%[[V:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK-NEXT:      %[[SQ:.+]] = arith.mulf %[[V]], %[[V]] : f32
// CHECK-NEXT:      %[[NEW:.+]] = arith.addf %[[SQ]], %[[ACC]] : f32
// CHECK-NEXT:      linalg.yield %[[NEW]] : f32
// CHECK:         %[[D:.+]] = arith.constant 5.120000e+02 : f32
// CHECK:         %[[EPS:.+]] = arith.constant 9.99999997E-7 : f32
// CHECK:         %[[Y:.+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$COL]], #[[$ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[X]], %[[SS]], %[[W]] : tensor<?x?x512xf32>, tensor<?x?xf32>, tensor<512xf32>) outs(%{{.+}} : tensor<?x?x512xf32>)
// CHECK-NEXT:    ^bb0(%[[XV:.+]]: f32, %[[SSV:.+]]: f32, %[[WV:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT:      %[[MS:.+]] = arith.divf %[[SSV]], %[[D]] : f32
// CHECK-NEXT:      %[[MSE:.+]] = arith.addf %[[MS]], %[[EPS]] : f32
// CHECK-NEXT:      %[[INV:.+]] = math.rsqrt %[[MSE]] : f32
// CHECK-NEXT:      %[[N:.+]] = arith.mulf %[[XV]], %[[INV]] : f32
// CHECK-NEXT:      %[[R:.+]] = arith.mulf %[[N]], %[[WV]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @rms_norm_f32(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @rms_norm_f32(%x: tensor<?x?x512xf32>, %w: tensor<512xf32>) -> tensor<?x?x512xf32> {
  %0 = weft.rms_norm %x, %w {eps = 1.0e-06 : f64} : (tensor<?x?x512xf32>, tensor<512xf32>) -> tensor<?x?x512xf32>
  return %0 : tensor<?x?x512xf32>
}

// -----

// Rank-1 f16 with a dynamic D: the accumulator is rank 0 and D is read at run
// time; the result is rounded once.

// CHECK-DAG: #[[$SCALAR:.+]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @rms_norm_f16_dynamic_d(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?xf16>
// CHECK:         %[[SS:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[$SCALAR]]], iterator_types = ["reduction"]} ins(%[[X]] : tensor<?xf16>) outs(%{{.+}} : tensor<f32>)
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:         %[[DIM:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?xf16>
// CHECK:         %[[DI:.+]] = arith.index_castui %[[DIM]] : index to i64
// CHECK:         %[[D:.+]] = arith.uitofp %[[DI]] : i64 to f32
// CHECK:         linalg.generic {{.*}} ins(%[[X]], %[[SS]], %{{.+}} : tensor<?xf16>, tensor<f32>, tensor<?xf16>) outs(%{{.+}} : tensor<?xf16>)
// CHECK:           arith.divf %{{.+}}, %[[D]] : f32
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// LLVM-LABEL: llvm.func @rms_norm_f16_dynamic_d(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @rms_norm_f16_dynamic_d(%x: tensor<?xf16>, %w: tensor<?xf16>) -> tensor<?xf16> {
  %0 = weft.rms_norm %x, %w : (tensor<?xf16>, tensor<?xf16>) -> tensor<?xf16>
  return %0 : tensor<?xf16>
}

// -----

// Two reductions (sum, then squared deviations from the mean), then the
// normalisation with weight and bias.

// CHECK-LABEL: func.func @layer_norm_bf16(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<2x?x64xbf16>, %[[W:[a-zA-Z0-9_]+]]: tensor<64xbf16>, %[[B:[a-zA-Z0-9_]+]]: tensor<64xbf16>)
// CHECK:         %[[D:.+]] = arith.constant 6.400000e+01 : f32
// CHECK:         %[[SUM:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]] : tensor<2x?x64xbf16>) outs(%{{.+}} : tensor<2x?xf32>)
// CHECK:         %[[DEV:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[SUM]] : tensor<2x?x64xbf16>, tensor<2x?xf32>) outs(%{{.+}} : tensor<2x?xf32>)
// CHECK-NEXT:    ^bb0(%[[XV:.+]]: bf16, %[[SV:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK-NEXT:      %[[XF:.+]] = arith.extf %[[XV]] : bf16 to f32
// CHECK-NEXT:      %[[MEAN:.+]] = arith.divf %[[SV]], %[[D]] : f32
// CHECK-NEXT:      %[[DIFF:.+]] = arith.subf %[[XF]], %[[MEAN]] : f32
// CHECK-NEXT:      %[[SQ:.+]] = arith.mulf %[[DIFF]], %[[DIFF]] : f32
// CHECK-NEXT:      arith.addf %[[SQ]], %[[ACC]] : f32
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[SUM]], %[[DEV]], %[[W]], %[[B]] : {{.*}}) outs(%{{.+}} : tensor<2x?x64xbf16>)
// CHECK:           %[[INV:.+]] = math.rsqrt
// CHECK:           %[[C:.+]] = arith.subf
// CHECK:           %[[N:.+]] = arith.mulf %[[C]], %[[INV]] : f32
// CHECK:           %[[NW:.+]] = arith.mulf %[[N]], %{{.+}} : f32
// CHECK:           %[[NB:.+]] = arith.addf %[[NW]], %{{.+}} : f32
// CHECK:           arith.truncf %[[NB]] : f32 to bf16
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @layer_norm_bf16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @layer_norm_bf16(%x: tensor<2x?x64xbf16>, %w: tensor<64xbf16>, %b: tensor<64xbf16>) -> tensor<2x?x64xbf16> {
  %0 = weft.layer_norm %x weight %w bias %b : (tensor<2x?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>) -> tensor<2x?x64xbf16>
  return %0 : tensor<2x?x64xbf16>
}

// -----

// CHECK-LABEL: func.func @layer_norm_no_affine(
// CHECK:         linalg.generic
// CHECK:         linalg.generic
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<?x64xf32>, tensor<?xf32>, tensor<?xf32>) outs(%{{.+}} : tensor<?x64xf32>)
// CHECK:           %[[N:.+]] = arith.mulf
// CHECK-NEXT:      linalg.yield %[[N]] : f32
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @layer_norm_no_affine(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @layer_norm_no_affine(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = weft.layer_norm %x : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// Max (from -inf), then the sum of exp(x - max), then exp(x - max) / sum.

// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$RED:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @softmax_last(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<1x8x?x?xf32>)
// CHECK:         %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[MINIT:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<1x8x?xf32>)
// CHECK:         %[[MAX:.+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$RED]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]] : tensor<1x8x?x?xf32>) outs(%[[MINIT]] : tensor<1x8x?xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$RED]], #[[$RED]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]], %[[MAX]] : tensor<1x8x?x?xf32>, tensor<1x8x?xf32>) outs(%{{.+}} : tensor<1x8x?xf32>)
// CHECK-NEXT:    ^bb0(%[[XV:.+]]: f32, %[[MV:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK-NEXT:      %[[SH:.+]] = arith.subf %[[XV]], %[[MV]] : f32
// CHECK-NEXT:      %[[E:.+]] = math.exp %[[SH]] : f32
// CHECK-NEXT:      arith.addf %[[E]], %[[ACC]] : f32
// CHECK:         %[[Y:.+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$RED]], #[[$RED]], #[[$ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[X]], %[[MAX]], %[[SUM]] : {{.*}}) outs(%{{.+}} : tensor<1x8x?x?xf32>)
// CHECK:           %[[E2:.+]] = math.exp
// CHECK-NEXT:      %[[P:.+]] = arith.divf %[[E2]], %{{.+}} : f32
// CHECK-NEXT:      linalg.yield %[[P]] : f32
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @softmax_last(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @softmax_last(%x: tensor<1x8x?x?xf32>) -> tensor<1x8x?x?xf32> {
  %0 = weft.softmax %x {axis = 3} : tensor<1x8x?x?xf32>
  return %0 : tensor<1x8x?x?xf32>
}

// -----

// A middle axis: the reduced tensors drop dim 1, the reduction loop is d1.

// CHECK-DAG: #[[$RED:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @softmax_middle_f16(
// CHECK:         linalg.generic {indexing_maps = [#{{.+}}, #[[$RED]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.+}} : tensor<4x?x16xf16>) outs(%{{.+}} : tensor<4x16xf32>)
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// LLVM-LABEL: llvm.func @softmax_middle_f16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @softmax_middle_f16(%x: tensor<4x?x16xf16>) -> tensor<4x?x16xf16> {
  %0 = weft.softmax %x {axis = 1} : tensor<4x?x16xf16>
  return %0 : tensor<4x?x16xf16>
}

// -----

// f32 sum: the accumulator is the result.

// CHECK-DAG: #[[$RED:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @reduce_sum_f32(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x512xf32>)
// CHECK:         %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x512xf32>
// CHECK:         %[[E:.+]] = tensor.empty(%[[B]]) : tensor<?x512xf32>
// CHECK:         %[[INIT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E]] : tensor<?x512xf32>)
// CHECK:         %[[S:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[$RED]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[X]] : tensor<?x?x512xf32>) outs(%[[INIT]] : tensor<?x512xf32>)
// CHECK:           arith.addf
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[S]]
// LLVM-LABEL: llvm.func @reduce_sum_f32(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reduce_sum_f32(%x: tensor<?x?x512xf32>) -> tensor<?x512xf32> {
  %0 = weft.reduce <sum> %x {axes = array<i64: 1>} : (tensor<?x?x512xf32>) -> tensor<?x512xf32>
  return %0 : tensor<?x512xf32>
}

// -----

// mean: divide by the product of the reduced sizes (run time x static), round,
// then reinsert the unit dims with expand_shape.

// CHECK-LABEL: func.func @reduce_mean_keep_dims_f16(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x512xf16>)
// CHECK:         %[[S:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "reduction"]} ins(%[[X]] : tensor<?x?x512xf16>) outs(%{{.+}} : tensor<?xf32>)
// CHECK:         %[[S1:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x512xf16>
// CHECK:         %[[S1I:.+]] = arith.index_castui %[[S1]] : index to i64
// CHECK:         %[[S1F:.+]] = arith.uitofp %[[S1I]] : i64 to f32
// CHECK:         %[[S2F:.+]] = arith.constant 5.120000e+02 : f32
// CHECK:         %[[COUNT:.+]] = arith.mulf %[[S1F]], %[[S2F]] : f32
// CHECK:         %[[M:.+]] = linalg.generic {{.*}} ins(%[[S]] : tensor<?xf32>) outs(%{{.+}} : tensor<?xf16>)
// CHECK-NEXT:    ^bb0(%[[V:.+]]: f32, %{{.+}}: f16):
// CHECK-NEXT:      %[[MEAN:.+]] = arith.divf %[[V]], %[[COUNT]] : f32
// CHECK-NEXT:      %[[R:.+]] = arith.truncf %[[MEAN]] : f32 to f16
// CHECK-NEXT:      linalg.yield %[[R]] : f16
// CHECK:         %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x512xf16>
// CHECK:         %[[Y:.+]] = tensor.expand_shape %[[M]] {{\[\[}}0, 1, 2]] output_shape [%[[B]], 1, 1] : tensor<?xf16> into tensor<?x1x1xf16>
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @reduce_mean_keep_dims_f16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reduce_mean_keep_dims_f16(%x: tensor<?x?x512xf16>) -> tensor<?x1x1xf16> {
  %0 = weft.reduce <mean> %x {axes = array<i64: 1, 2>, keep_dims} : (tensor<?x?x512xf16>) -> tensor<?x1x1xf16>
  return %0 : tensor<?x1x1xf16>
}

// -----

// Reducing every dim gives a rank-0 accumulator.

// CHECK-DAG: #[[$SCALAR:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @reduce_max_all_bf16(
// CHECK:         %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:         linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<f32>)
// CHECK:         linalg.generic {indexing_maps = [#{{.+}}, #[[$SCALAR]]], iterator_types = ["reduction", "reduction"]}
// CHECK:           arith.maximumf
// CHECK:         linalg.generic {{.*}} outs(%{{.+}} : tensor<bf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to bf16
// LLVM-LABEL: llvm.func @reduce_max_all_bf16(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @reduce_max_all_bf16(%x: tensor<4x?xbf16>) -> tensor<bf16> {
  %0 = weft.reduce <max> %x {axes = array<i64: 0, 1>} : (tensor<4x?xbf16>) -> tensor<bf16>
  return %0 : tensor<bf16>
}

// -----

// One reduction generic with two outputs: running max (from -inf) and its i64
// index (from 0). A later index wins only when strictly greater, or on a tie
// with a smaller index; NaN counts as the largest value.

// CHECK-DAG: #[[$RED:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @argmax_f32(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<?x?x32000xf32>)
// CHECK:         %[[VINIT:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:         %[[ZERO:.+]] = arith.constant 0 : i64
// CHECK:         %[[IINIT:.+]] = linalg.fill ins(%[[ZERO]] : i64) outs(%{{.+}} : tensor<?x?xi64>)
// CHECK:         %[[R:.+]]:2 = linalg.generic {indexing_maps = [#{{.+}}, #[[$RED]], #[[$RED]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]] : tensor<?x?x32000xf32>) outs(%[[VINIT]], %[[IINIT]] : tensor<?x?xf32>, tensor<?x?xi64>)
// CHECK-NEXT:    ^bb0(%[[V:.+]]: f32, %[[BEST:.+]]: f32, %[[BI:.+]]: i64):
// CHECK-NEXT:      %[[IDX:.+]] = linalg.index 2 : index
// CHECK-NEXT:      %[[I:.+]] = arith.index_cast %[[IDX]] : index to i64
// CHECK-NEXT:      %[[EARLIER:.+]] = arith.cmpi slt, %[[I]], %[[BI]] : i64
// CHECK:           %[[ABOVE:.+]] = arith.cmpf ogt, %[[V]], %[[BEST]] : f32
// CHECK:           %[[GREATER:.+]] = arith.ori %[[ABOVE]], %{{.+}} : i1
// CHECK:           %[[EQ:.+]] = arith.cmpf oeq, %[[V]], %[[BEST]] : f32
// CHECK:           %[[TIE:.+]] = arith.ori %[[EQ]], %{{.+}} : i1
// CHECK-NEXT:      %[[TIEWIN:.+]] = arith.andi %[[TIE]], %[[EARLIER]] : i1
// CHECK-NEXT:      %[[TAKE:.+]] = arith.ori %[[GREATER]], %[[TIEWIN]] : i1
// CHECK-NEXT:      %[[NV:.+]] = arith.select %[[TAKE]], %[[V]], %[[BEST]] : f32
// CHECK-NEXT:      %[[NI:.+]] = arith.select %[[TAKE]], %[[I]], %[[BI]] : i64
// CHECK-NEXT:      linalg.yield %[[NV]], %[[NI]] : f32, i64
// CHECK:         return %[[R]]#1
// LLVM-LABEL: llvm.func @argmax_f32(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @argmax_f32(%x: tensor<?x?x32000xf32>) -> tensor<?x?xi64> {
  %0 = weft.argmax %x {axis = 2} : (tensor<?x?x32000xf32>) -> tensor<?x?xi64>
  return %0 : tensor<?x?xi64>
}

// -----

// Integers compare in their own type, from INT_MIN.

// CHECK-LABEL: func.func @argmax_i32_keep_dims(
// CHECK-SAME:    %[[X:[a-zA-Z0-9_]+]]: tensor<4x?xi32>)
// CHECK:         %[[MIN:.+]] = arith.constant -2147483648 : i32
// CHECK:         linalg.fill ins(%[[MIN]] : i32) outs(%{{.+}} : tensor<?xi32>)
// CHECK:         %[[R:.+]]:2 = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[X]] : tensor<4x?xi32>)
// CHECK:           arith.cmpi sgt, %{{.+}}, %{{.+}} : i32
// CHECK:           arith.cmpi eq, %{{.+}}, %{{.+}} : i32
// CHECK:         %[[N:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<4x?xi32>
// CHECK:         %[[Y:.+]] = tensor.expand_shape %[[R]]#1 {{\[\[}}0, 1]] output_shape [1, %[[N]]] : tensor<?xi64> into tensor<1x?xi64>
// CHECK:         return %[[Y]]
// LLVM-LABEL: llvm.func @argmax_i32_keep_dims(
// LLVM-NOT: {{ (weft|linalg|tensor|memref|bufferization|scf|arith|math|cf|func|affine)\.}}
func.func @argmax_i32_keep_dims(%x: tensor<4x?xi32>) -> tensor<1x?xi64> {
  %0 = weft.argmax %x {axis = 0, keep_dims} : (tensor<4x?xi32>) -> tensor<1x?xi64>
  return %0 : tensor<1x?xi64>
}
