// RUN: weft-opt %s --convert-weft-to-linalg=attention-products | FileCheck %s

// The GPU form of weft.attention: scores as one contraction over D (GQA through
// h floordiv G), scale / softcap / visibility as one elementwise op, row max
// and sum reductions over the keys, the product with V as a contraction over
// the keys, the division, and lse = m + log(Z).

// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d4)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1 floordiv 2, d4)>
// CHECK-DAG: #[[V:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d4, d2 floordiv 2, d3)>
// CHECK-LABEL: func.func @gqa
// CHECK:         %[[S:.*]] = linalg.generic {indexing_maps = [#[[Q]], #[[K]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         %[[T:.*]] = linalg.generic {{.*}} ins(%[[S]]
// CHECK:           math.tanh
// CHECK:           tensor.extract %{{.*}}[%{{.*}}] : tensor<2xi32>
// CHECK:           arith.cmpi slt
// CHECK:           arith.cmpi sle
// CHECK:           arith.select %{{.*}}, %{{.*}}, %cst{{.*}} : f32
// CHECK:         %[[M:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}} ins(%[[T]]
// CHECK:           arith.maximumf
// CHECK:         %[[P:.*]] = linalg.generic {{.*}} ins(%[[T]], %[[M]]
// CHECK:           math.exp
// CHECK:         %[[Z:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}} ins(%[[P]]
// CHECK:           arith.addf
// CHECK:         %[[O:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[V]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[P]], %arg2
// CHECK:         %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[O]], %[[Z]]
// CHECK:           arith.divf
// CHECK:           arith.truncf
// CHECK:         %[[LSE:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[Z]]
// CHECK:           math.log
// CHECK:         return %[[OUT]], %[[LSE]]
func.func @gqa(%q: tensor<2x?x4x16xf16>, %k: tensor<2x?x2x16xf16>, %v: tensor<2x?x2x8xf16>, %len: tensor<2xi32>) -> (tensor<2x?x4x8xf16>, tensor<2x4x?xf32>) {
  %o, %lse = weft.attention %q, %k, %v kv_len %len {causal, window = 3 : i64, softcap = 30.0 : f32, return_lse} : (tensor<2x?x4x16xf16>, tensor<2x?x2x16xf16>, tensor<2x?x2x8xf16>, tensor<2xi32>) -> (tensor<2x?x4x8xf16>, tensor<2x4x?xf32>)
  return %o, %lse : tensor<2x?x4x8xf16>, tensor<2x4x?xf32>
}
