// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(scf-forall-to-for,convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,convert-vector-to-llvm,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// K is transposed into f32 [B, Hkv, D, Sk padded to whole key blocks of 64]
// by a forall over (b, kv head, key block). One task per (b, h, query
// block) then runs the online softmax over the key blocks in [begin, end):
// end = min(Sk, kv_len[b], q0 + rows + L - Sq) (causal), begin = the window's
// first key rounded down to a block. The GQA kv head is h floordiv (Hq/Hkv).
// Q.K^T is a vector kernel (4 query rows x 64 keys); with Dv = 6 (not a
// multiple of 16) P.V is a linalg.generic over the keys below kv_len[b].

// CHECK-LABEL: func.func @attention_gqa_features(
// CHECK-SAME: %[[Q:[a-zA-Z0-9]+]]: tensor<2x5x4x8xf32>, %[[K:[a-zA-Z0-9]+]]: tensor<2x37x2x8xf32>, %[[V:[a-zA-Z0-9]+]]: tensor<2x37x2x6xf32>, %[[MASK:[a-zA-Z0-9]+]]: tensor<1x4x5x37xf32>, %[[LEN:[a-zA-Z0-9]+]]: tensor<2xi32>)
// CHECK: %[[KTZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<2x2x8x64xf32>)
// CHECK: %[[KT:.+]] = scf.forall (%[[TB:[a-z0-9_]+]], %[[TH:[a-z0-9_]+]], %{{.+}}) in (2, 2, 1) shared_outs(%[[KTOUT:[a-z0-9_]+]] = %[[KTZERO]]) -> (tensor<2x2x8x64xf32>)
// CHECK: %[[KTSLICE:.+]] = tensor.extract_slice %[[KTOUT]][%[[TB]], %[[TH]], 0, %[[TJ0:[a-z0-9_]+]]] [1, 1, 8, 37] [1, 1, 1, 1] : tensor<2x2x8x64xf32> to tensor<8x37xf32>
// CHECK: %[[KROWS:.+]] = tensor.extract_slice %[[K]][%[[TB]], %[[TJ0]], %[[TH]], 0] [1, 37, 1, 8] [1, 1, 1, 1] : tensor<2x37x2x8xf32> to tensor<37x8xf32>
// CHECK: %[[KTBLOCK:.+]] = linalg.generic {{.*}} ins(%[[KROWS]] : tensor<37x8xf32>) outs(%[[KTSLICE]] : tensor<8x37xf32>)
// CHECK: tensor.parallel_insert_slice %[[KTBLOCK]] into %[[KTOUT]][%[[TB]], %[[TH]], 0, %[[TJ0]]] [1, 1, 8, 37]
// CHECK: %[[RES:.+]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[QB:[a-z0-9_]+]]) in (2, 4, 1) shared_outs(%[[OUT:[a-z0-9_]+]] = %{{.+}}, %[[LSE:[a-z0-9_]+]] = %{{.+}}) -> (tensor<2x5x4x6xf32>, tensor<2x4x5xf32>)
// Causal: query blocks are visited 0, n-1, 1, n-2, ... (balanced threads).
// CHECK: arith.remui %[[QB]]
// CHECK: %[[Q0:.+]] = arith.muli %{{.+}}, %{{.+}} : index
// CHECK: %[[KVH:.+]] = arith.divui %[[H]], %{{.+}} : index
// q rows in f32, padded with zero rows to a multiple of 4.
// CHECK: %[[QZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<8x8xf32>)
// CHECK: tensor.extract_slice %[[Q]][%[[B]], %[[Q0]], %[[H]], 0] [1, 5, 1, 8]
// CHECK: %[[QTILE:.+]] = tensor.insert_slice %{{.+}} into %[[QZERO]][0, 0] [5, 8] [1, 1]
// CHECK: %[[LENB:.+]] = tensor.extract %[[LEN]][%[[B]]] : tensor<2xi32>
// CHECK: %[[VALID:.+]] = arith.index_cast %[[LENB]] : i32 to index
// CHECK: %[[END0:.+]] = arith.minsi %{{.+}}, %[[VALID]] : index
// CHECK: %[[END:.+]] = arith.minsi %[[END0]], %{{.+}} : index
// CHECK: arith.maxsi
// CHECK: %[[BEGIN:.+]] = arith.muli %{{.+}}, %{{.+}} : index
// CHECK: %[[LOOP:.+]]:3 = scf.for %[[J0:[a-z0-9_]+]] = %[[BEGIN]] to %[[END]] step %{{.+}} iter_args({{.*}}) -> (tensor<8xf32>, tensor<8xf32>, tensor<8x6xf32>)
// CHECK: %[[VB:.+]] = tensor.extract_slice %[[V]][%[[B]], %[[J0]], %[[KVH]], 0] [1, 37, 1, 6] [1, 1, 1, 1] : tensor<2x37x2x6xf32> to tensor<37x6xf32>
// CHECK: %[[KTB:.+]] = tensor.extract_slice %[[KT]][%[[B]], %[[KVH]], 0, %[[J0]]] [1, 1, 8, 64] [1, 1, 1, 1] : tensor<2x2x8x64xf32> to tensor<8x64xf32>
// CHECK: scf.for %[[R0:[a-z0-9_]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %{{.+}}) -> (tensor<8x64xf32>)
// CHECK: scf.for %[[D:[a-z0-9_]+]] = {{.*}} -> (vector<64xf32>, vector<64xf32>, vector<64xf32>, vector<64xf32>)
// CHECK: vector.transfer_read %[[KTB]][%[[D]], %{{.+}}], %{{.+}} {in_bounds = [true]} : tensor<8x64xf32>, vector<64xf32>
// CHECK: tensor.extract %[[QTILE]][%{{.+}}, %[[D]]]
// CHECK: vector.broadcast
// CHECK-COUNT-4: vector.fma {{.*}} : vector<64xf32>
// CHECK-COUNT-4: vector.transfer_write {{.*}} {in_bounds = [true]} : vector<64xf32>, tensor<8x64xf32>
// Keys 37..63 of the tile are padding: -inf.
// CHECK: %[[PAD:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<8x?xf32>)
// CHECK: %[[TILE:.+]] = tensor.insert_slice %[[PAD]] into %{{.+}}[0, 37] [8, %{{.+}}] [1, 1]
// CHECK: %[[MASKB:.+]] = tensor.extract_slice %[[MASK]][0, %[[H]], %[[Q0]], %[[J0]]] [1, 1, 5, 37] [1, 1, 1, 1] : tensor<1x4x5x37xf32> to tensor<5x37xf32>
// CHECK: %[[VISIBLE:.+]] = tensor.extract_slice %[[TILE]][0, 0] [5, 37] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[MASKB]] : tensor<5x37xf32>) outs(%[[VISIBLE]] : tensor<5x37xf32>)
// CHECK: math.tanh
// CHECK: arith.addf
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.cmpi slt, %{{.+}}, %[[VALID]]
// CHECK: arith.cmpi sle
// CHECK: arith.cmpi slt
// CHECK: arith.select
// CHECK: %[[SCORES:.+]] = tensor.insert_slice %{{.+}} into %[[TILE]][0, 0] [5, 37] [1, 1]
// CHECK: %[[ROWMAX:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[SCORES]] : tensor<8x64xf32>) outs(%{{.+}} : tensor<8xf32>)
// CHECK: arith.maximumf
// CHECK: %[[ALPHA:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %[[ROWMAX]] : tensor<8xf32>, tensor<8xf32>)
// exp of the (non-positive) shifted scores in vectorizable f32 ops, 0 below -87.
// CHECK: math.floor
// CHECK: arith.shli
// CHECK: arith.bitcast
// CHECK: %[[P:.+]] = linalg.generic {{.*}} outs(%[[SCORES]] : tensor<8x64xf32>)
// CHECK: math.floor
// CHECK: %[[LNEW:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[P]] : tensor<8x64xf32>)
// Only keys below kv_len[b] are read from V.
// CHECK: %[[COUNT0:.+]] = arith.minsi
// CHECK: %[[COUNT:.+]] = arith.maxsi %[[COUNT0]]
// CHECK: %[[PUSED:.+]] = tensor.extract_slice %[[P]][0, 0] [8, %[[COUNT]]] [1, 1]
// CHECK: %[[VUSED:.+]] = tensor.extract_slice %[[VB]][0, 0] [%[[COUNT]], 6] [1, 1]
// CHECK: %[[ACCNEW:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PUSED]], %[[VUSED]] : tensor<8x?xf32>, tensor<?x6xf32>)
// CHECK: scf.yield %{{.+}}, %[[LNEW]], %[[ACCNEW]]
// CHECK: %[[ACCROWS:.+]] = tensor.extract_slice %[[LOOP]]#2[0, 0] [5, 6] [1, 1]
// CHECK: %[[OUTROWS:.+]] = tensor.extract_slice %[[OUT]][%[[B]], %[[Q0]], %[[H]], 0] [1, 5, 1, 6] [1, 1, 1, 1] : tensor<2x5x4x6xf32> to tensor<5x6xf32>
// CHECK: %[[OUTBLOCK:.+]] = linalg.generic {{.*}} ins(%[[ACCROWS]], %{{.+}} : tensor<5x6xf32>, tensor<5xf32>) outs(%[[OUTROWS]] : tensor<5x6xf32>)
// CHECK: arith.divf
// CHECK: %[[LSEBLOCK:.+]] = linalg.generic
// CHECK: math.log
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[OUTBLOCK]] into %[[OUT]][%[[B]], %[[Q0]], %[[H]], 0] [1, 5, 1, 6] [1, 1, 1, 1]
// CHECK-NEXT: tensor.parallel_insert_slice %[[LSEBLOCK]] into %[[LSE]][%[[B]], %[[H]], %[[Q0]]] [1, 1, 5] [1, 1, 1]
// CHECK: return %[[RES]]#0, %[[RES]]#1
// LLVM-LABEL: llvm.func @attention_gqa_features(
func.func @attention_gqa_features(%q: tensor<2x5x4x8xf32>, %k: tensor<2x37x2x8xf32>, %v: tensor<2x37x2x6xf32>, %mask: tensor<1x4x5x37xf32>, %len: tensor<2xi32>) -> (tensor<2x5x4x6xf32>, tensor<2x4x5xf32>) {
  %o, %lse = weft.attention %q, %k, %v mask %mask kv_len %len {causal, window = 7 : i64, softcap = 30.0 : f32, return_lse} : (tensor<2x5x4x8xf32>, tensor<2x37x2x8xf32>, tensor<2x37x2x6xf32>, tensor<1x4x5x37xf32>, tensor<2xi32>) -> (tensor<2x5x4x6xf32>, tensor<2x4x5xf32>)
  return %o, %lse : tensor<2x5x4x6xf32>, tensor<2x4x5xf32>
}

// -----

// Dynamic batch, query and key lengths: ceil(Sq / 64) query blocks of
// min(64, Sq - q0) rows padded to a multiple of 4, key blocks of
// min(64, Sk - j0) with -inf in the padding keys. Dv = 64: P.V is a vector
// kernel (4 rows x 64 channels) reading f16 rows of V widened to f32.

// CHECK-LABEL: func.func @attention_dynamic_f16(
// CHECK-SAME: %[[Q:[a-zA-Z0-9]+]]: tensor<?x?x8x64xf16>, %[[K:[a-zA-Z0-9]+]]: tensor<?x?x2x64xf16>, %[[V:[a-zA-Z0-9]+]]: tensor<?x?x2x64xf16>)
// CHECK: %[[KT:.+]] = scf.forall {{.*}} -> (tensor<?x2x64x?xf32>)
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: %[[NQB:.+]] = arith.ceildivui %{{.+}}, %{{.+}} : index
// CHECK: scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}}, 8, %[[NQB]]) shared_outs({{.*}}) -> (tensor<?x?x8x64xf16>)
// CHECK: %[[ROWS:.+]] = arith.minsi
// CHECK: arith.ceildivui %[[ROWS]]
// CHECK: scf.for %[[J0:[a-z0-9_]+]] = {{.*}} -> (tensor<?xf32>, tensor<?xf32>, tensor<?x64xf32>)
// CHECK: %[[BLOCK:.+]] = arith.minsi
// CHECK: tensor.extract_slice %[[V]][%{{.+}}, %[[J0]], %{{.+}}, 0] [1, %[[BLOCK]], 1, 64] [1, 1, 1, 1] : tensor<?x?x2x64xf16> to tensor<?x64xf16>
// CHECK: vector.fma
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x?xf32>)
// Causal without kv_len: j0 + j + Sq <= q0 + i + Sk.
// CHECK: arith.constant 1.250000e-01 : f32
// CHECK: arith.cmpi sle
// CHECK: scf.for %{{.+}} = {{.*}} -> (tensor<?x64xf32>)
// CHECK: scf.for {{.*}} -> (tensor<?x64xf32>)
// CHECK: scf.for {{.*}} -> (vector<64xf32>, vector<64xf32>, vector<64xf32>, vector<64xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<?x64xf16>, vector<64xf16>
// CHECK: arith.extf %{{.+}} : vector<64xf16> to vector<64xf32>
// CHECK-COUNT-4: vector.fma
// CHECK: arith.truncf %{{.+}} : f32 to f16
// LLVM-LABEL: llvm.func @attention_dynamic_f16(
func.func @attention_dynamic_f16(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16> {
  %o = weft.attention %q, %k, %v {causal} : (tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16>
  return %o : tensor<?x?x8x64xf16>
}

// -----

// Decoding (static Sq = 1 < 4): no K^T pass; one task per (batch, kv
// head) whose rows are its G query heads (here G = 1: one row, kernels one
// row at a time), q and the mask read per row with tensor.extract; the
// scores are dot products over d with the rows of K. A static key length
// that is a multiple of the key block keeps the blocks whole (no padding
// keys); a mask with size-1 batch and head dims broadcasts; without causal or
// kv_len every key block is visited. Dv = 16: vector<16xf32> rows in P.V.

// CHECK-LABEL: func.func @attention_static_blocks(
// CHECK-SAME: %[[Q:[a-zA-Z0-9]+]]: tensor<1x1x4x16xf32>, %[[K:[a-zA-Z0-9]+]]: tensor<1x128x4x16xf32>, %[[V:[a-zA-Z0-9]+]]: tensor<1x128x4x16xf32>, %[[MASK:[a-zA-Z0-9]+]]: tensor<1x1x1x128xf32>)
// CHECK-NOT: tensor<1x4x16x128xf32>
// CHECK: scf.forall (%{{.+}}, %[[KVH:[a-z0-9_]+]], %{{.+}}) in (1, 4, 1)
// CHECK-NOT: arith.remui %{{.+}}, %c2
// CHECK: %[[QROWS:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<1x16xf32>)
// CHECK: tensor.extract %[[Q]]
// CHECK: %[[QTILE:.+]] = tensor.insert_slice %[[QROWS]]
// CHECK: scf.for %[[J0:[a-z0-9_]+]] = %{{.+}} to %{{.+}} step
// CHECK-NOT: arith.minsi
// CHECK: tensor.extract_slice %[[V]][%{{.+}}, %[[J0]], %[[KVH]], 0] [1, 64, 1, 16] [1, 1, 1, 1] : tensor<1x128x4x16xf32> to tensor<64x16xf32>
// CHECK: %[[KB:.+]] = tensor.extract_slice %[[K]][%{{.+}}, %[[J0]], %[[KVH]], 0] [1, 64, 1, 16] [1, 1, 1, 1] : tensor<1x128x4x16xf32> to tensor<64x16xf32>
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x64xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[QTILE]], %[[KB]] : tensor<1x16xf32>, tensor<64x16xf32>) outs(%[[ZERO]] : tensor<1x64xf32>)
// CHECK-NOT: tensor<1x?xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.+}} : tensor<1x64xf32>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: tensor.extract %[[MASK]]
// CHECK-NOT: arith.select
// CHECK: linalg.yield
// CHECK: scf.for {{.*}} -> (vector<16xf32>)
// CHECK: vector.fma
// LLVM-LABEL: llvm.func @attention_static_blocks(
func.func @attention_static_blocks(%q: tensor<1x1x4x16xf32>, %k: tensor<1x128x4x16xf32>, %v: tensor<1x128x4x16xf32>, %mask: tensor<1x1x1x128xf32>) -> tensor<1x1x4x16xf32> {
  %o = weft.attention %q, %k, %v mask %mask {scale = 0.5 : f32} : (tensor<1x1x4x16xf32>, tensor<1x128x4x16xf32>, tensor<1x128x4x16xf32>, tensor<1x1x1x128xf32>) -> tensor<1x1x4x16xf32>
  return %o : tensor<1x1x4x16xf32>
}

// -----

// Decoding with GQA (Hq = 8, Hkv = 2, Sq = 1): tasks over (batch, kv head),
// 4 rows each (query heads 4 kvh .. 4 kvh + 3), gathered into the task's
// [Sq, 4, Dv] and [4, Sq] blocks and written back with one insert each.

// CHECK-LABEL: func.func @attention_decode_gqa(
// CHECK-SAME: %[[Q:[a-zA-Z0-9]+]]: tensor<?x1x8x32xf32>
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[KVH:[a-z0-9_]+]], %{{.+}}) in (%{{.+}}, 2, 1) shared_outs(%[[OUT:[a-z0-9_]+]] = %{{.+}}, %[[LSE:[a-z0-9_]+]] = %{{.+}})
// CHECK: linalg.generic {{.*}} outs(%{{.+}} : tensor<4x32xf32>)
// CHECK: %[[R:.+]] = linalg.index 0 : index
// CHECK: arith.remui %[[R]], %{{.+}} : index
// CHECK: arith.muli %[[KVH]], %{{.+}} : index
// CHECK: arith.divui %[[R]], %{{.+}} : index
// CHECK: tensor.extract %[[Q]]
// CHECK: scf.for {{.*}} -> (tensor<4xf32>, tensor<4xf32>, tensor<4x32xf32>)
// CHECK: scf.for {{.*}} -> (vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>)
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %{{.+}} into %[[OUT]][%[[B]], 0, %{{.+}}, 0] [1, 1, 4, 32] [1, 1, 1, 1] : tensor<1x4x32xf32> into tensor<?x1x8x32xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %{{.+}} into %[[LSE]][%[[B]], %{{.+}}, 0] [1, 4, 1] [1, 1, 1] : tensor<4x1xf32> into tensor<?x8x1xf32>
// CHECK-NEXT: }
// LLVM-LABEL: llvm.func @attention_decode_gqa(
func.func @attention_decode_gqa(%q: tensor<?x1x8x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>, %len: tensor<?xi64>) -> (tensor<?x1x8x32xf32>, tensor<?x8x1xf32>) {
  %o, %lse = weft.attention %q, %k, %v kv_len %len {return_lse} : (tensor<?x1x8x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>, tensor<?xi64>) -> (tensor<?x1x8x32xf32>, tensor<?x8x1xf32>)
  return %o, %lse : tensor<?x1x8x32xf32>, tensor<?x8x1xf32>
}
