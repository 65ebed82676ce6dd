// RUN: weft-opt %s --weft-reverse-gpu-loops --canonicalize | FileCheck %s

// Every induction variable of a loop over GPU blocks, warps or threads is
// replaced by last - (i - lb); other loops keep their order.

// CHECK-LABEL: func.func @phases
// CHECK-SAME:    (%[[BUF:.*]]: memref<64xf32>, %[[N:.*]]: index)
// CHECK-DAG:     %[[C34:.*]] = arith.constant 34 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C7:.*]] = arith.constant 7 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         scf.forall (%[[B0:.*]], %[[B1:.*]]) in (%[[N]], 4)
//                  A dynamic size: the last id is n - 1.
// CHECK:           %[[LAST:.*]] = arith.subi %[[N]], %[[C1]] : index
// CHECK:           %[[RB0:.*]] = arith.subi %[[LAST]], %[[B0]] : index
// CHECK:           %[[RB1:.*]] = arith.subi %[[C3]], %[[B1]] : index
//                  Ids 2, 7, ..., 32 visited from 32 down.
// CHECK:           scf.forall (%[[T:.*]]) = (2) to (37) step (5)
// CHECK:             %[[RT:.*]] = arith.subi %[[C34]], %[[T]] : index
// CHECK:             memref.store %{{.*}}, %[[BUF]][%[[RT]]]
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:           scf.forall (%[[W:.*]]) in (8)
// CHECK:             %[[RW:.*]] = arith.subi %[[C7]], %[[W]] : index
// CHECK:             memref.store %{{.*}}, %[[BUF]][%[[RW]]]
// CHECK:           } {mapping = [#gpu.warp<x>]}
// CHECK:           memref.store %{{.*}}, %[[BUF]][%[[RB1]]]
// CHECK:           memref.store %{{.*}}, %[[BUF]][%[[RB0]]]
// CHECK:         } {mapping = [#gpu.block<y>, #gpu.block<x>]}
// CHECK:         scf.forall (%[[I:.*]]) in (8) {
// CHECK-NEXT:      memref.store %{{.*}}, %[[BUF]][%[[I]]]
func.func @phases(%buf: memref<64xf32>, %n: index) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%b0, %b1) in (%n, 4) {
    scf.forall (%t) = (2) to (37) step (5) {
      %v = arith.index_cast %t : index to i64
      %f = arith.sitofp %v : i64 to f32
      memref.store %f, %buf[%t] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
    scf.forall (%w) in (8) {
      memref.store %zero, %buf[%w] : memref<64xf32>
    } {mapping = [#gpu.warp<x>]}
    memref.store %zero, %buf[%b1] : memref<64xf32>
    memref.store %zero, %buf[%b0] : memref<64xf32>
  } {mapping = [#gpu.block<y>, #gpu.block<x>]}
  scf.forall (%i) in (8) {
    %one = arith.constant 1.0 : f32
    memref.store %one, %buf[%i] : memref<64xf32>
  }
  return
}
