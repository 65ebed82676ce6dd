// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// Mamba-2 form: the processed step dt' is computed once before the scan; the
// scan carries the f32 state [B,H,P,N] (initial_state) and y; head h reads
// group h floordiv (H/G) of B and C; y_t is written into its slice of y.

// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[HEAD3:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[HEAD2:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[BH:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-DAG: #[[BHP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[GROUP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 2, d3)>
// CHECK-DAG: #[[ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[DMAP:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @ssm_scan_mamba2(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<2x?x4x3xf32>, %[[DT:[a-zA-Z0-9]+]]: tensor<2x?x4xf32>, %[[A:[a-zA-Z0-9]+]]: tensor<4xf32>, %[[B:[a-zA-Z0-9]+]]: tensor<2x?x2x5xf32>, %[[C:[a-zA-Z0-9]+]]: tensor<2x?x2x5xf32>, %[[D:[a-zA-Z0-9]+]]: tensor<4xf32>, %[[Z:[a-zA-Z0-9]+]]: tensor<2x?x4x3xf32>, %[[DB:[a-zA-Z0-9]+]]: tensor<4xf32>, %[[S0:[a-zA-Z0-9]+]]: tensor<2x4x3x5xf32>)
// CHECK: %[[LEN:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<2x?x4x3xf32>
// CHECK: %[[DTP:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[HEAD3]], #[[ID3]]], {{.*}} ins(%[[DT]], %[[DB]] : tensor<2x?x4xf32>, tensor<4xf32>) outs(%{{.+}} : tensor<2x?x4xf32>)
// CHECK: arith.addf
// CHECK: math.log1p
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: %[[Y0:.+]] = tensor.empty(%[[LEN]]) : tensor<2x?x4x3xf32>
// CHECK: %[[LOOP:.+]]:2 = scf.for %[[T:.+]] = %{{.+}} to %[[LEN]] step %{{.+}} iter_args(%[[STATE:.+]] = %[[S0]], %[[Y:.+]] = %[[Y0]]) -> (tensor<2x4x3x5xf32>, tensor<2x?x4x3xf32>)
// CHECK: %[[DTT:.+]] = tensor.extract_slice %[[DTP]][0, %[[T]], 0] [2, 1, 4] [1, 1, 1] : tensor<2x?x4xf32> to tensor<2x4xf32>
// CHECK: %[[XT:.+]] = tensor.extract_slice %[[X]][0, %[[T]], 0, 0] [2, 1, 4, 3] [1, 1, 1, 1] : tensor<2x?x4x3xf32> to tensor<2x4x3xf32>
// CHECK: %[[BT:.+]] = tensor.extract_slice %[[B]][0, %[[T]], 0, 0] [2, 1, 2, 5] [1, 1, 1, 1] : tensor<2x?x2x5xf32> to tensor<2x2x5xf32>
// CHECK: %[[CT:.+]] = tensor.extract_slice %[[C]][0, %[[T]], 0, 0] [2, 1, 2, 5] [1, 1, 1, 1] : tensor<2x?x2x5xf32> to tensor<2x2x5xf32>
// CHECK: %[[DECAY:.+]] = linalg.generic {indexing_maps = [#[[ID2]], #[[HEAD2]], #[[ID2]]], {{.*}} ins(%[[DTT]], %[[A]] : tensor<2x4xf32>, tensor<4xf32>) outs(%{{.+}} : tensor<2x4xf32>)
// CHECK: math.exp
// CHECK: %[[NEWSTATE:.+]] = linalg.generic {indexing_maps = [#[[BH]], #[[BH]], #[[BHP]], #[[GROUP]], #[[ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[DECAY]], %[[DTT]], %[[XT]], %[[BT]] : {{.*}}) outs(%[[STATE]] : tensor<2x4x3x5xf32>)
// CHECK: ^bb0(%[[DECAYV:.+]]: f32, %[[DTV:.+]]: f32, %[[XV:.+]]: f32, %[[BV:.+]]: f32, %[[SV:.+]]: f32):
// CHECK: %[[DTX:.+]] = arith.mulf %[[DTV]], %[[XV]]
// CHECK: %[[INPUT:.+]] = arith.mulf %[[DTX]], %[[BV]]
// CHECK: %[[DECAYED:.+]] = arith.mulf %[[DECAYV]], %[[SV]]
// CHECK: arith.addf %[[DECAYED]], %[[INPUT]]
// CHECK: %[[YSLICE:.+]] = tensor.extract_slice %[[Y]][0, %[[T]], 0, 0] [2, 1, 4, 3] [1, 1, 1, 1] : tensor<2x?x4x3xf32> to tensor<2x4x3xf32>
// CHECK: %[[READOUT:.+]] = linalg.generic {indexing_maps = [#[[ID4]], #[[GROUP]], #[[BHP]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[NEWSTATE]], %[[CT]] : {{.*}}) outs(%{{.+}} : tensor<2x4x3xf32>)
// CHECK: %[[ZT:.+]] = tensor.extract_slice %[[Z]][0, %[[T]], 0, 0] [2, 1, 4, 3] [1, 1, 1, 1]
// CHECK: %[[YT:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]], #[[DMAP]], #[[ID3]], #[[ID3]]], {{.*}} ins(%[[READOUT]], %[[XT]], %[[D]], %[[ZT]] : {{.*}}) outs(%[[YSLICE]] : tensor<2x4x3xf32>)
// CHECK: math.exp
// CHECK: %[[YNEW:.+]] = tensor.insert_slice %[[YT]] into %[[Y]][0, %[[T]], 0, 0] [2, 1, 4, 3] [1, 1, 1, 1] : tensor<2x4x3xf32> into tensor<2x?x4x3xf32>
// CHECK: scf.yield %[[NEWSTATE]], %[[YNEW]]
// CHECK: return %[[LOOP]]#1, %[[LOOP]]#0
// LLVM-LABEL: llvm.func @ssm_scan_mamba2(
func.func @ssm_scan_mamba2(%x: tensor<2x?x4x3xf32>, %dt: tensor<2x?x4xf32>, %A: tensor<4xf32>, %B: tensor<2x?x2x5xf32>, %C: tensor<2x?x2x5xf32>, %D: tensor<4xf32>, %z: tensor<2x?x4x3xf32>, %db: tensor<4xf32>, %s0: tensor<2x4x3x5xf32>) -> (tensor<2x?x4x3xf32>, tensor<2x4x3x5xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db initial_state %s0 {dt_softplus, dt_limit = array<f64: 0.0, 0.5>} : (tensor<2x?x4x3xf32>, tensor<2x?x4xf32>, tensor<4xf32>, tensor<2x?x2x5xf32>, tensor<2x?x2x5xf32>, tensor<4xf32>, tensor<2x?x4x3xf32>, tensor<4xf32>, tensor<2x4x3x5xf32>) -> (tensor<2x?x4x3xf32>, tensor<2x4x3x5xf32>)
  return %y, %s : tensor<2x?x4x3xf32>, tensor<2x4x3x5xf32>
}

// -----

// Mamba-1 form (A[H, N], P = 1, G = 1), f16, no initial state: the state
// starts at zero, the decay is per (b, h, n), y is rounded to f16.

// CHECK-DAG: #[[ADECAY:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[BHN:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[GROUP0:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, 0, d3)>
// CHECK-LABEL: func.func @ssm_scan_mamba1_f16(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<?x?x6x1xf16>, %[[DT:[a-zA-Z0-9]+]]: tensor<?x?x6xf16>, %[[A:[a-zA-Z0-9]+]]: tensor<6x16xf32>
// CHECK: %[[DTP:.+]] = linalg.generic {{.*}} ins(%[[DT]] : tensor<?x?x6xf16>) outs(%{{.+}} : tensor<?x?x6xf32>)
// CHECK: arith.extf
// CHECK: %[[S0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x6x1x16xf32>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[STATE:.+]] = %[[S0]], %{{.+}} = %{{.+}}) -> (tensor<?x6x1x16xf32>, tensor<?x?x6x1xf16>)
// CHECK: %[[DECAY:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[ADECAY]], #{{.+}}], {{.*}} ins(%{{.+}}, %[[A]] : tensor<?x6xf32>, tensor<6x16xf32>) outs(%{{.+}} : tensor<?x6x16xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[BHN]], #{{.+}}, #{{.+}}, #[[GROUP0]], #{{.+}}], {{.*}} ins(%[[DECAY]], {{.*}}) outs(%[[STATE]] : tensor<?x6x1x16xf32>)
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: tensor.insert_slice
// LLVM-LABEL: llvm.func @ssm_scan_mamba1_f16(
func.func @ssm_scan_mamba1_f16(%x: tensor<?x?x6x1xf16>, %dt: tensor<?x?x6xf16>, %A: tensor<6x16xf32>, %B: tensor<?x?x1x16xf16>, %C: tensor<?x?x1x16xf16>, %D: tensor<6xf32>) -> (tensor<?x?x6x1xf16>, tensor<?x6x1x16xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D : (tensor<?x?x6x1xf16>, tensor<?x?x6xf16>, tensor<6x16xf32>, tensor<?x?x1x16xf16>, tensor<?x?x1x16xf16>, tensor<6xf32>) -> (tensor<?x?x6x1xf16>, tensor<?x6x1x16xf32>)
  return %y, %s : tensor<?x?x6x1xf16>, tensor<?x6x1x16xf32>
}

// -----

// Dynamic head and group counts: the group is computed from linalg.index and
// B and C are read with tensor.extract. Without D, z and dt processing, the
// f32 readout is reduced directly into the slice of y.

// CHECK-LABEL: func.func @ssm_scan_dynamic_heads(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<1x?x?x4xf32>, %[[DT:[a-zA-Z0-9]+]]: tensor<1x?x?xf32>, %[[A:[a-zA-Z0-9]+]]: tensor<?xf32>, %[[B:[a-zA-Z0-9]+]]: tensor<1x?x?x8xf32>, %[[C:[a-zA-Z0-9]+]]: tensor<1x?x?x8xf32>)
// CHECK: %[[G:.+]] = tensor.dim %[[B]], %{{.+}} : tensor<1x?x?x8xf32>
// CHECK: %[[PERGROUP:.+]] = arith.divui %{{.+}}, %[[G]] : index
// CHECK: scf.for
// CHECK: %[[BT:.+]] = tensor.extract_slice %[[B]]
// CHECK: %[[CT:.+]] = tensor.extract_slice %[[C]]
// CHECK: linalg.generic
// CHECK: ^bb0(%{{.+}}: f32, %{{.+}}: f32, %{{.+}}: f32, %{{.+}}: f32):
// CHECK: %[[HIDX:.+]] = linalg.index 1 : index
// CHECK: %[[GIDX:.+]] = arith.divui %[[HIDX]], %[[PERGROUP]] : index
// CHECK: tensor.extract %[[BT]][%{{.+}}, %[[GIDX]], %{{.+}}] : tensor<1x?x8xf32>
// CHECK: %[[YSLICE:.+]] = tensor.extract_slice
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[YSLICE]] : tensor<1x?x4xf32>)
// CHECK: %[[READOUT:.+]] = linalg.generic {{.*}} outs(%[[ZERO]] : tensor<1x?x4xf32>)
// CHECK: tensor.extract %[[CT]]
// CHECK: tensor.insert_slice %[[READOUT]]
// LLVM-LABEL: llvm.func @ssm_scan_dynamic_heads(
func.func @ssm_scan_dynamic_heads(%x: tensor<1x?x?x4xf32>, %dt: tensor<1x?x?xf32>, %A: tensor<?xf32>, %B: tensor<1x?x?x8xf32>, %C: tensor<1x?x?x8xf32>) -> (tensor<1x?x?x4xf32>, tensor<1x?x4x8xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C : (tensor<1x?x?x4xf32>, tensor<1x?x?xf32>, tensor<?xf32>, tensor<1x?x?x8xf32>, tensor<1x?x?x8xf32>) -> (tensor<1x?x?x4xf32>, tensor<1x?x4x8xf32>)
  return %y, %s : tensor<1x?x?x4xf32>, tensor<1x?x4x8xf32>
}
