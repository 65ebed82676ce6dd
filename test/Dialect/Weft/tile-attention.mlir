// RUN: weft-opt %s -split-input-file -weft-tile="attention-tile-sizes=1,4,16" | FileCheck %s
// RUN: weft-opt %s -split-input-file -weft-tile="attention-tile-sizes=0,2,0" | FileCheck %s --check-prefix=INGROUP
// RUN: weft-opt %s -split-input-file -weft-tile="attention-tile-sizes=1,0,0 forall" | FileCheck %s --check-prefix=FORALL

// Causal GQA (Hq = 8, Hkv = 2): loops over batch rows, query heads (4, one
// kv head) and queries (16). The tile's kv_len keeps its queries aligned:
// max(Sk - Sq + i0 + size, 0).
// CHECK-LABEL: func @causal_gqa
// CHECK-SAME: (%[[Q:.+]]: tensor<2x?x8x16xf32>, %[[K:.+]]: tensor<2x?x2x16xf32>, %[[V:.+]]: tensor<2x?x2x16xf32>)
// CHECK: scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK: scf.for %[[H:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK: %[[SIZE:.+]] = affine.min
// CHECK: %[[KVH:.+]] = affine.apply #{{.+}}(%[[H]])
// CHECK: %[[QT:.+]] = tensor.extract_slice %[[Q]][%[[B]], %[[I]], %[[H]], 0] [1, %[[SIZE]], 4, 16]
// CHECK: %[[SHIFT:.+]] = affine.apply #{{.+}}()[%[[I]], %[[SIZE]], %{{.+}}]
// CHECK: %[[SK:.+]] = tensor.dim %[[K]], %{{.+}}
// CHECK: %[[VALID:.+]] = arith.addi %[[SK]], %[[SHIFT]]
// CHECK: %[[CAST:.+]] = arith.index_cast %[[VALID]] : index to i64
// CHECK: %[[CLAMP:.+]] = arith.maxsi %[[CAST]], %{{.+}} : i64
// CHECK: %[[LEN:.+]] = linalg.fill ins(%[[CLAMP]] : i64) outs(%{{.+}} : tensor<1xi64>)
// CHECK-DAG: %[[VT:.+]] = tensor.extract_slice %[[V]][%[[B]], 0, %[[KVH]], 0] [1, %{{.+}}, 1, 16]
// CHECK-DAG: %[[KT:.+]] = tensor.extract_slice %[[K]][%[[B]], 0, %[[KVH]], 0] [1, %{{.+}}, 1, 16]
// CHECK: %[[O:.+]], %[[L:.+]] = weft.attention %[[QT]], %[[KT]], %[[VT]] kv_len %[[LEN]] {causal, return_lse, window = 8 : i64} : (tensor<1x?x4x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1xi64>) -> (tensor<1x?x4x16xf32>, tensor<1x4x?xf32>)
// CHECK: tensor.insert_slice %[[O]] into %{{.+}}[%[[B]], %[[I]], %[[H]], 0] [1, %[[SIZE]], 4, 16]
// CHECK: tensor.insert_slice %[[L]] into %{{.+}}[%[[B]], %[[H]], %[[I]]] [1, 4, %[[SIZE]]]
// A tile of 2 query heads lies inside a group of 4: one kv head.
// INGROUP-LABEL: func @causal_gqa
// INGROUP: weft.attention {{.*}} : (tensor<2x?x2x16xf32>, tensor<2x?x1x16xf32>, tensor<2x?x1x16xf32>) -> (tensor<2x?x2x16xf32>, tensor<2x2x?xf32>)
// FORALL-LABEL: func @causal_gqa
// FORALL: scf.forall
// FORALL: weft.attention {{.*}} : (tensor<1x?x8x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>) -> (tensor<1x?x8x16xf32>, tensor<1x8x?xf32>)
// FORALL: scf.forall.in_parallel
func.func @causal_gqa(%q: tensor<2x?x8x16xf32>, %k: tensor<2x?x2x16xf32>, %v: tensor<2x?x2x16xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x?xf32>) {
  %o, %l = weft.attention %q, %k, %v {causal, window = 8, return_lse} : (tensor<2x?x8x16xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>) -> (tensor<2x?x8x16xf32>, tensor<2x8x?xf32>)
  return %o, %l : tensor<2x?x8x16xf32>, tensor<2x8x?xf32>
}

// -----

// Not causal: kv_len and the mask follow the batch and query tiles (the
// mask's broadcast head dim stays 1); no kv_len is made up.
// CHECK-LABEL: func @masked
// CHECK-SAME: (%[[Q:.+]]: tensor<?x?x8x16xf32>, %{{.+}}: tensor<?x?x8x16xf32>, %{{.+}}: tensor<?x?x8x16xf32>, %[[M:.+]]: tensor<?x1x?x?xf32>, %[[LEN:.+]]: tensor<?xi32>)
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[MT:.+]] = tensor.extract_slice %[[M]][%[[B:.+]], 0, %[[I:.+]], 0] [1, 1, %{{.+}}, %{{.+}}]
// CHECK-DAG: %[[LT:.+]] = tensor.extract_slice %[[LEN]][%[[B]]] [1] [1]
// CHECK: weft.attention %{{.+}}, %{{.+}}, %{{.+}} mask %[[MT]] kv_len %[[LT]] :
func.func @masked(%q: tensor<?x?x8x16xf32>, %k: tensor<?x?x8x16xf32>, %v: tensor<?x?x8x16xf32>, %m: tensor<?x1x?x?xf32>, %len: tensor<?xi32>) -> tensor<?x?x8x16xf32> {
  %o = weft.attention %q, %k, %v mask %m kv_len %len : (tensor<?x?x8x16xf32>, tensor<?x?x8x16xf32>, tensor<?x?x8x16xf32>, tensor<?x1x?x?xf32>, tensor<?xi32>) -> tensor<?x?x8x16xf32>
  return %o : tensor<?x?x8x16xf32>
}
