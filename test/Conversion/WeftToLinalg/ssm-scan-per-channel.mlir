// RUN: weft-opt %s --convert-weft-to-linalg=ssm-per-channel | FileCheck %s

// The GPU form of weft.ssm_scan: one task per (batch, head, channel), each
// carrying its state row [N] through the steps (updated in place) and reading
// it out with a scalar loop over N; the task's column of y and its state row
// are inserted into the results.

// CHECK-LABEL: func.func @mamba1
// CHECK:         scf.forall (%[[B:.*]], %[[H:.*]], %[[P:.*]]) in (2, 4, 3)
// CHECK:           %[[LOOP:.*]]:2 = scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[S:.*]] = %{{.*}}, %[[ROW:.*]] = %{{.*}}) -> (tensor<5xf32>, tensor<9xf32>)
// CHECK:             %[[NEXT:.*]] = linalg.generic {{.*}} outs(%[[S]] : tensor<5xf32>)
// CHECK:               math.exp
// CHECK:             %[[SUM:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (f32)
// CHECK:               tensor.extract %[[NEXT]]
// CHECK:             math.exp
// CHECK:             tensor.insert %{{.*}} into %[[ROW]][%[[T]]]
// CHECK:             scf.yield %[[NEXT]], %{{.*}} : tensor<5xf32>, tensor<9xf32>
// CHECK:           scf.forall.in_parallel
// CHECK:             tensor.parallel_insert_slice %[[LOOP]]#1 into %{{.*}}[%[[B]], 0, %[[H]], %[[P]]] [1, 9, 1, 1]
// CHECK:             tensor.parallel_insert_slice %[[LOOP]]#0 into %{{.*}}[%[[B]], %[[H]], %[[P]], 0] [1, 1, 1, 5]
func.func @mamba1(%x: tensor<2x9x4x3xf32>, %dt: tensor<2x9x4xf32>, %a: tensor<4x5xf32>, %bm: tensor<2x9x2x5xf32>, %cm: tensor<2x9x2x5xf32>, %z: tensor<2x9x4x3xf32>) -> (tensor<2x9x4x3xf32>, tensor<2x4x3x5xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %a, %bm, %cm z %z : (tensor<2x9x4x3xf32>, tensor<2x9x4xf32>, tensor<4x5xf32>, tensor<2x9x2x5xf32>, tensor<2x9x2x5xf32>, tensor<2x9x4x3xf32>) -> (tensor<2x9x4x3xf32>, tensor<2x4x3x5xf32>)
  return %y, %s : tensor<2x9x4x3xf32>, tensor<2x4x3x5xf32>
}
