// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(scf-forall-to-for,convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,convert-vector-to-llvm,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg{ssm-chunk-size=8}))' | FileCheck %s --check-prefix=SSD

// Mamba-2 form, small head dim (P = 3 < 16): the processed step dt' is
// computed once before the scan; one task per (b, h) copies its rows of x to
// a contiguous f32 [L, P], carries its f32 state tile [P, N] (initial_state,
// copied into its slice of final_state) and the readouts [L, P]; head h reads
// group h floordiv (H/G) of B and C; the epilogue (D, z) runs over all steps
// after the scan and writes the task's rows of y.

// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[HEAD3:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @ssm_scan_mamba2(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<2x?x4x3xf32>, %[[DT:[a-zA-Z0-9]+]]: tensor<2x?x4xf32>, %[[A:[a-zA-Z0-9]+]]: tensor<4xf32>, %[[B:[a-zA-Z0-9]+]]: tensor<2x?x2x5xf32>, %[[C:[a-zA-Z0-9]+]]: tensor<2x?x2x5xf32>, %[[D:[a-zA-Z0-9]+]]: tensor<4xf32>, %[[Z:[a-zA-Z0-9]+]]: tensor<2x?x4x3xf32>, %[[DB:[a-zA-Z0-9]+]]: tensor<4xf32>, %[[S0:[a-zA-Z0-9]+]]: tensor<2x4x3x5xf32>)
// CHECK: %[[LEN:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<2x?x4x3xf32>
// CHECK: %[[DTP:.+]] = linalg.generic {indexing_maps = [#[[ID3]], #[[HEAD3]], #[[ID3]]], {{.*}} ins(%[[DT]], %[[DB]] : tensor<2x?x4xf32>, tensor<4xf32>) outs(%{{.+}} : tensor<2x?x4xf32>)
// CHECK: arith.addf
// CHECK: math.log1p
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: %[[PERGROUP:.+]] = arith.divui
// CHECK: %[[RES:.+]]:2 = scf.forall (%[[BI:[a-z0-9_]+]], %[[HI:[a-z0-9_]+]]) in (2, 4) shared_outs(%[[YOUT:[a-z0-9_]+]] = %{{.+}}, %[[SOUT:[a-z0-9_]+]] = %{{.+}}) -> (tensor<2x?x4x3xf32>, tensor<2x4x3x5xf32>)
// CHECK: %[[GI:.+]] = arith.divui %[[HI]], %[[PERGROUP]]
// CHECK: %[[XSEQ:.+]] = tensor.extract_slice %[[X]][%[[BI]], 0, %[[HI]], 0] [1, %[[LEN]], 1, 3] [1, 1, 1, 1] : tensor<2x?x4x3xf32> to tensor<?x3xf32>
// CHECK: %[[XROWS:.+]] = linalg.generic {{.*}} ins(%[[XSEQ]] : tensor<?x3xf32>) outs(%{{.+}} : tensor<?x3xf32>)
// CHECK: %[[STILE:.+]] = tensor.extract_slice %[[SOUT]][%[[BI]], %[[HI]], 0, 0] [1, 1, 3, 5] [1, 1, 1, 1] : tensor<2x4x3x5xf32> to tensor<3x5xf32>
// CHECK: %[[SINIT:.+]] = tensor.extract_slice %[[S0]][%[[BI]], %[[HI]], 0, 0] [1, 1, 3, 5]
// CHECK: %[[STATE0:.+]] = linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]]], {{.*}} ins(%[[SINIT]] : tensor<3x5xf32>) outs(%[[STILE]] : tensor<3x5xf32>)
// CHECK: %[[AH:.+]] = tensor.extract %[[A]][%[[HI]]] : tensor<4xf32>
// CHECK: %[[YSEQ:.+]] = tensor.extract_slice %[[YOUT]][%[[BI]], 0, %[[HI]], 0] [1, %[[LEN]], 1, 3]
// CHECK: %[[LOOP:.+]]:2 = scf.for %[[T:[a-z0-9_]+]] = %{{.+}} to %[[LEN]] step %{{.+}} iter_args(%[[STATE:[a-z0-9_]+]] = %[[STATE0]], %[[READOUTS:[a-z0-9_]+]] = %{{.+}}) -> (tensor<3x5xf32>, tensor<?x3xf32>)
// CHECK: %[[DTV:.+]] = tensor.extract %[[DTP]][%[[BI]], %[[T]], %[[HI]]] : tensor<2x?x4xf32>
// CHECK: %[[DA:.+]] = arith.mulf %[[DTV]], %[[AH]]
// CHECK: %[[DECAY:.+]] = math.exp %[[DA]]
// CHECK: %[[BT:.+]] = tensor.extract_slice %[[B]][%[[BI]], %[[T]], %[[GI]], 0] [1, 1, 1, 5] [1, 1, 1, 1] : tensor<2x?x2x5xf32> to tensor<5xf32>
// CHECK: %[[CT:.+]] = tensor.extract_slice %[[C]][%[[BI]], %[[T]], %[[GI]], 0] [1, 1, 1, 5] [1, 1, 1, 1] : tensor<2x?x2x5xf32> to tensor<5xf32>
// CHECK: %[[XT:.+]] = tensor.extract_slice %[[XROWS]][%[[T]], 0] [1, 3] [1, 1] : tensor<?x3xf32> to tensor<3xf32>
// CHECK: %[[NEWSTATE:.+]] = linalg.generic {indexing_maps = [#[[ROW]], #[[COL]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[XT]], %[[BT]] : tensor<3xf32>, tensor<5xf32>) outs(%[[STATE]] : tensor<3x5xf32>)
// CHECK: ^bb0(%[[XV:.+]]: f32, %[[BV:.+]]: f32, %[[SV:.+]]: f32):
// CHECK: %[[DTX:.+]] = arith.mulf %[[DTV]], %[[XV]]
// CHECK: %[[INPUT:.+]] = arith.mulf %[[DTX]], %[[BV]]
// CHECK: %[[DECAYED:.+]] = arith.mulf %[[DECAY]], %[[SV]]
// CHECK: arith.addf %[[DECAYED]], %[[INPUT]]
// CHECK: %[[ROWT:.+]] = tensor.extract_slice %[[READOUTS]][%[[T]], 0] [1, 3] [1, 1]
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[ROWT]] : tensor<3xf32>)
// CHECK: %[[READOUT:.+]] = linalg.generic {indexing_maps = [#[[ID2]], #[[COL]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[NEWSTATE]], %[[CT]] : tensor<3x5xf32>, tensor<5xf32>) outs(%[[ZERO]] : tensor<3xf32>)
// CHECK: %[[RNEW:.+]] = tensor.insert_slice %[[READOUT]] into %[[READOUTS]][%[[T]], 0] [1, 3] [1, 1]
// CHECK: scf.yield %[[NEWSTATE]], %[[RNEW]]
// CHECK: %[[DH:.+]] = tensor.extract %[[D]][%[[HI]]] : tensor<4xf32>
// CHECK: %[[ZSEQ:.+]] = tensor.extract_slice %[[Z]][%[[BI]], 0, %[[HI]], 0] [1, %[[LEN]], 1, 3]
// CHECK: %[[YBLOCK:.+]] = linalg.generic {{.*}} ins(%[[LOOP]]#1, %[[XROWS]], %[[ZSEQ]] : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>) outs(%[[YSEQ]] : tensor<?x3xf32>)
// CHECK: arith.mulf %[[DH]]
// CHECK: math.exp
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[YBLOCK]] into %[[YOUT]][%[[BI]], 0, %[[HI]], 0] [1, %[[LEN]], 1, 3]
// CHECK-NEXT: tensor.parallel_insert_slice %[[LOOP]]#0 into %[[SOUT]][%[[BI]], %[[HI]], 0, 0] [1, 1, 3, 5]
// CHECK: return %[[RES]]#0, %[[RES]]#1
// LLVM-LABEL: llvm.func @ssm_scan_mamba2(
func.func @ssm_scan_mamba2(%x: tensor<2x?x4x3xf32>, %dt: tensor<2x?x4xf32>, %A: tensor<4xf32>, %B: tensor<2x?x2x5xf32>, %C: tensor<2x?x2x5xf32>, %D: tensor<4xf32>, %z: tensor<2x?x4x3xf32>, %db: tensor<4xf32>, %s0: tensor<2x4x3x5xf32>) -> (tensor<2x?x4x3xf32>, tensor<2x4x3x5xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db initial_state %s0 {dt_softplus, dt_limit = array<f64: 0.0, 0.5>} : (tensor<2x?x4x3xf32>, tensor<2x?x4xf32>, tensor<4xf32>, tensor<2x?x2x5xf32>, tensor<2x?x2x5xf32>, tensor<4xf32>, tensor<2x?x4x3xf32>, tensor<4xf32>, tensor<2x4x3x5xf32>) -> (tensor<2x?x4x3xf32>, tensor<2x4x3x5xf32>)
  return %y, %s : tensor<2x?x4x3xf32>, tensor<2x4x3x5xf32>
}

// -----

// Mamba-1 form (A[H, N], P = 1, G = 1), f16, no initial state: the state
// tile starts at zero, the decay is a row over n per step, y is rounded to
// f16 in the epilogue.

// With ssm-chunk-size the A[H, N] form keeps the sequential scan.
// SSD-LABEL: func.func @ssm_scan_mamba1_f16(
// SSD: scf.for {{.*}} step %c1{{.*}} -> (tensor<1x16xf32>, tensor<?x1xf32>)
// CHECK-LABEL: func.func @ssm_scan_mamba1_f16(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<?x?x6x1xf16>, %[[DT:[a-zA-Z0-9]+]]: tensor<?x?x6xf16>, %[[A:[a-zA-Z0-9]+]]: tensor<6x16xf32>
// CHECK: %[[DTP:.+]] = linalg.generic {{.*}} ins(%[[DT]] : tensor<?x?x6xf16>) outs(%{{.+}} : tensor<?x?x6xf32>)
// CHECK: arith.extf
// CHECK: scf.forall (%{{.+}}, %[[HI:[a-z0-9_]+]]) in (%{{.+}}, 6)
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: %[[S0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x16xf32>)
// CHECK: %[[AROW:.+]] = tensor.extract_slice %[[A]][%[[HI]], 0] [1, 16] [1, 1] : tensor<6x16xf32> to tensor<16xf32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[STATE:[a-z0-9_]+]] = %[[S0]], %{{.+}} = %{{.+}}) -> (tensor<1x16xf32>, tensor<?x1xf32>)
// CHECK: %[[DECAY:.+]] = linalg.generic {{.*}} ins(%[[AROW]] : tensor<16xf32>) outs(%{{.+}} : tensor<16xf32>)
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %[[DECAY]] : tensor<1xf32>, tensor<16xf16>, tensor<16xf32>) outs(%[[STATE]] : tensor<1x16xf32>)
// CHECK: tensor.insert_slice
// CHECK: scf.yield
// CHECK: arith.truncf %{{.+}} : f32 to f16
// LLVM-LABEL: llvm.func @ssm_scan_mamba1_f16(
func.func @ssm_scan_mamba1_f16(%x: tensor<?x?x6x1xf16>, %dt: tensor<?x?x6xf16>, %A: tensor<6x16xf32>, %B: tensor<?x?x1x16xf16>, %C: tensor<?x?x1x16xf16>, %D: tensor<6xf32>) -> (tensor<?x?x6x1xf16>, tensor<?x6x1x16xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D : (tensor<?x?x6x1xf16>, tensor<?x?x6xf16>, tensor<6x16xf32>, tensor<?x?x1x16xf16>, tensor<?x?x1x16xf16>, tensor<6xf32>) -> (tensor<?x?x6x1xf16>, tensor<?x6x1x16xf32>)
  return %y, %s : tensor<?x?x6x1xf16>, tensor<?x6x1x16xf32>
}

// -----

// Dynamic head and group counts: the task's group is h / (H / G) computed at
// run time. Without D, z and dt processing, the epilogue only copies the
// readouts into y.

// CHECK-LABEL: func.func @ssm_scan_dynamic_heads(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<1x?x?x4xf32>, %[[DT:[a-zA-Z0-9]+]]: tensor<1x?x?xf32>, %[[A:[a-zA-Z0-9]+]]: tensor<?xf32>, %[[B:[a-zA-Z0-9]+]]: tensor<1x?x?x8xf32>, %[[C:[a-zA-Z0-9]+]]: tensor<1x?x?x8xf32>)
// CHECK: %[[G:.+]] = tensor.dim %[[B]], %{{.+}} : tensor<1x?x?x8xf32>
// CHECK: %[[PERGROUP:.+]] = arith.divui %{{.+}}, %[[G]] : index
// CHECK: scf.forall (%[[BI:[a-z0-9_]+]], %[[HI:[a-z0-9_]+]]) in (1, %{{.+}})
// CHECK: %[[GI:.+]] = arith.divui %[[HI]], %[[PERGROUP]] : index
// CHECK: scf.for
// CHECK: tensor.extract %[[DT]]
// CHECK: tensor.extract_slice %[[B]][%[[BI]], %{{.+}}, %[[GI]], 0] [1, 1, 1, 8]
// CHECK: tensor.extract_slice %[[C]][%[[BI]], %{{.+}}, %[[GI]], 0] [1, 1, 1, 8]
// CHECK: scf.yield
// CHECK: linalg.generic {{.*}} ins(%{{.+}} : tensor<?x4xf32>) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT: linalg.yield %[[IN]] : f32
// LLVM-LABEL: llvm.func @ssm_scan_dynamic_heads(
func.func @ssm_scan_dynamic_heads(%x: tensor<1x?x?x4xf32>, %dt: tensor<1x?x?xf32>, %A: tensor<?xf32>, %B: tensor<1x?x?x8xf32>, %C: tensor<1x?x?x8xf32>) -> (tensor<1x?x?x4xf32>, tensor<1x?x4x8xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C : (tensor<1x?x?x4xf32>, tensor<1x?x?xf32>, tensor<?xf32>, tensor<1x?x?x8xf32>, tensor<1x?x?x8xf32>) -> (tensor<1x?x?x4xf32>, tensor<1x?x4x8xf32>)
  return %y, %s : tensor<1x?x?x4xf32>, tensor<1x?x4x8xf32>
}

// -----

// Head dim P = 16 (a multiple of the vector width): x rows are copied as
// vectors; the state tile is [N, P], initial_state is transposed into it and
// the final tile back. Pairs of steps share one scf.for over n of
// vector<16xf32> rows,
//   row = decay_s * row + B_s[n] * (dt'_s * x_s);  y_s += C_s[n] * row,
// with y_s in registers and one load and store of each row; an odd last step
// runs alone. Without D or z, y_s goes straight into the task's rows of y.

// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[TR:.+]] = affine_map<(d0, d1) -> (d1, d0)>
// With ssm-chunk-size=8 (scalar A): an scf.for over chunks of
// min(8, L - t0) steps carrying the [N, P] tile and the readouts: cum_i (a
// masked prefix sum), C B^T, the decay-weighted lower-triangular weights,
// y = exp(cum) C S + M X into the chunk's readout rows, then the new tile.
// SSD-LABEL: func.func @ssm_scan_vector_rows(
// SSD: scf.for %[[T0:[a-z0-9_]+]] = %{{.+}} to %{{.+}} step %c8{{.*}} iter_args(%[[S:[a-z0-9_]+]] = %{{.+}}, %[[R:[a-z0-9_]+]] = %{{.+}}) -> (tensor<8x16xf32>, tensor<?x16xf32>)
// SSD: %[[COUNT:.+]] = arith.minsi
// SSD: %[[CUM:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<?xf32>) outs(%{{.+}} : tensor<?xf32>)
// SSD: arith.cmpi ule
// SSD: %[[CB:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<?x8xf32>, tensor<?x8xf32>) outs(%{{.+}} : tensor<?x?xf32>)
// SSD: %[[M:.+]] = linalg.generic {{.*}} ins(%[[CUM]], %[[CUM]], %{{.+}}, %[[CB]] : {{.*}}) outs(%{{.+}} : tensor<?x?xf32>)
// SSD: math.exp
// SSD: %[[CS:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.+}}, %[[S]] : tensor<?x8xf32>, tensor<8x16xf32>) outs(%{{.+}} : tensor<?x16xf32>)
// SSD: %[[Y:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[M]], %{{.+}} : tensor<?x?xf32>, tensor<?x16xf32>)
// SSD: tensor.insert_slice %[[Y]] into %[[R]][%[[T0]], 0] [%[[COUNT]], 16] [1, 1]
// SSD: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<?x8xf32>, tensor<?xf32>, tensor<?x16xf32>) outs(%{{.+}} : tensor<8x16xf32>)
// CHECK-LABEL: func.func @ssm_scan_vector_rows(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<1x?x2x16xf32>, %{{.+}}: tensor<1x?x2xf32>, %{{.+}}: tensor<2xf32>, %[[B:[a-zA-Z0-9]+]]: tensor<1x?x1x8xf32>, %[[C:[a-zA-Z0-9]+]]: tensor<1x?x1x8xf32>, %[[S0:[a-zA-Z0-9]+]]: tensor<1x2x16x8xf32>)
// CHECK: scf.forall ({{.*}}) in (1, 2) shared_outs(%[[YOUT:[a-z0-9_]+]] = %{{.+}}, %{{.+}} = %{{.+}})
// CHECK: %[[XSEQ:.+]] = tensor.extract_slice %[[X]]
// CHECK: %[[XROWS:.+]] = scf.for {{.*}} -> (tensor<?x16xf32>)
// CHECK: vector.transfer_read %[[XSEQ]]
// CHECK: vector.transfer_write
// CHECK: %[[STILE:.+]] = tensor.extract_slice %{{.+}} : tensor<1x2x16x8xf32> to tensor<16x8xf32>
// CHECK: %[[SINIT:.+]] = tensor.extract_slice %[[S0]]
// CHECK: %[[STATE0:.+]] = linalg.generic {indexing_maps = [#[[TR]], #[[ID2]]], {{.*}} ins(%[[SINIT]] : tensor<16x8xf32>) outs(%{{.+}} : tensor<8x16xf32>)
// CHECK: %[[YSEQ:.+]] = tensor.extract_slice %[[YOUT]]
// CHECK: %[[PAIRSEND:.+]] = arith.muli
// CHECK: %[[PAIRS:.+]]:2 = scf.for %[[T:[a-z0-9_]+]] = %{{.+}} to %[[PAIRSEND]] step %{{.+}} iter_args(%[[STATE:[a-z0-9_]+]] = %[[STATE0]], %[[Y:[a-z0-9_]+]] = %[[YSEQ]]) -> (tensor<8x16xf32>, tensor<?x16xf32>)
// CHECK: %[[BT:.+]] = tensor.extract_slice %[[B]][%{{.+}}, %[[T]], %{{.+}}, 0]
// CHECK: %[[CT:.+]] = tensor.extract_slice %[[C]][%{{.+}}, %[[T]], %{{.+}}, 0]
// CHECK: %[[T1:.+]] = arith.addi %[[T]], %{{.+}} : index
// CHECK: %[[BT1:.+]] = tensor.extract_slice %[[B]][%{{.+}}, %[[T1]], %{{.+}}, 0]
// CHECK: %[[CT1:.+]] = tensor.extract_slice %[[C]][%{{.+}}, %[[T1]], %{{.+}}, 0]
// CHECK: %[[XT:.+]] = vector.transfer_read %[[XROWS]][%[[T]], %{{.+}}], %{{.+}} {in_bounds = [true]} : tensor<?x16xf32>, vector<16xf32>
// CHECK: %[[DTX:.+]] = arith.mulf %{{.+}}, %[[XT]] : vector<16xf32>
// CHECK: %[[DECAY:.+]] = vector.broadcast %{{.+}} : f32 to vector<16xf32>
// CHECK: %[[XT1:.+]] = vector.transfer_read %[[XROWS]][%[[T1]], %{{.+}}]
// CHECK: %[[DTX1:.+]] = arith.mulf %{{.+}}, %[[XT1]] : vector<16xf32>
// CHECK: %[[DECAY1:.+]] = vector.broadcast %{{.+}} : f32 to vector<16xf32>
// CHECK: %[[NLOOP:.+]]:3 = scf.for %[[N:[a-z0-9_]+]] = {{.*}} iter_args(%[[TILE:[a-z0-9_]+]] = %[[STATE]], %[[Y0:[a-z0-9_]+]] = %{{.+}}, %[[Y1:[a-z0-9_]+]] = %{{.+}}) -> (tensor<8x16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[OLD:.+]] = vector.transfer_read %[[TILE]][%[[N]], %{{.+}}], %{{.+}} {in_bounds = [true]} : tensor<8x16xf32>, vector<16xf32>
// CHECK: %[[BN:.+]] = tensor.extract %[[BT]][%[[N]]] : tensor<8xf32>
// CHECK: %[[CN:.+]] = tensor.extract %[[CT]][%[[N]]] : tensor<8xf32>
// CHECK: %[[DECAYED:.+]] = arith.mulf %[[DECAY]], %[[OLD]] : vector<16xf32>
// CHECK: %[[BSPLAT:.+]] = vector.broadcast %[[BN]] : f32 to vector<16xf32>
// CHECK: %[[ROW:.+]] = vector.fma %[[BSPLAT]], %[[DTX]], %[[DECAYED]] : vector<16xf32>
// CHECK: %[[CSPLAT:.+]] = vector.broadcast %[[CN]] : f32 to vector<16xf32>
// CHECK: %[[YNEW:.+]] = vector.fma %[[CSPLAT]], %[[ROW]], %[[Y0]] : vector<16xf32>
// CHECK: %[[BN1:.+]] = tensor.extract %[[BT1]][%[[N]]] : tensor<8xf32>
// CHECK: %[[CN1:.+]] = tensor.extract %[[CT1]][%[[N]]] : tensor<8xf32>
// CHECK: %[[DECAYED1:.+]] = arith.mulf %[[DECAY1]], %[[ROW]] : vector<16xf32>
// CHECK: %[[ROW1:.+]] = vector.fma %{{.+}}, %[[DTX1]], %[[DECAYED1]] : vector<16xf32>
// CHECK: %[[YNEW1:.+]] = vector.fma %{{.+}}, %[[ROW1]], %[[Y1]] : vector<16xf32>
// CHECK: %[[TILENEW:.+]] = vector.transfer_write %[[ROW1]], %[[TILE]][%[[N]], %{{.+}}] {in_bounds = [true]} : vector<16xf32>, tensor<8x16xf32>
// CHECK: scf.yield %[[TILENEW]], %[[YNEW]], %[[YNEW1]]
// CHECK: %[[YW:.+]] = vector.transfer_write %[[NLOOP]]#1, %[[Y]][%[[T]], %{{.+}}] {in_bounds = [true]} : vector<16xf32>, tensor<?x16xf32>
// CHECK: vector.transfer_write %[[NLOOP]]#2, %[[YW]][%[[T1]], %{{.+}}]
// The last step of an odd length.
// CHECK: %[[LAST:.+]]:2 = scf.for %{{.+}} = %[[PAIRSEND]] to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %[[PAIRS]]#0, %{{.+}} = %[[PAIRS]]#1)
// CHECK: scf.for {{.*}} -> (tensor<8x16xf32>, vector<16xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[TR]], #[[ID2]]], {{.*}} ins(%[[LAST]]#0 : tensor<8x16xf32>) outs(%[[STILE]] : tensor<16x8xf32>)
// CHECK: tensor.parallel_insert_slice %[[LAST]]#1 into %[[YOUT]]
// LLVM-LABEL: llvm.func @ssm_scan_vector_rows(
func.func @ssm_scan_vector_rows(%x: tensor<1x?x2x16xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>, %B: tensor<1x?x1x8xf32>, %C: tensor<1x?x1x8xf32>, %s0: tensor<1x2x16x8xf32>) -> (tensor<1x?x2x16xf32>, tensor<1x2x16x8xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C initial_state %s0 : (tensor<1x?x2x16xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x?x2x16xf32>, tensor<1x2x16x8xf32>)
  return %y, %s : tensor<1x?x2x16xf32>, tensor<1x2x16x8xf32>
}
