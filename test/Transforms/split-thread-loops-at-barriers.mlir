// RUN: weft-opt %s --split-input-file --verify-diagnostics --weft-split-thread-loops-at-barriers | FileCheck %s

// A barrier at the top level: two thread loops. %w (a product) crosses the
// barrier through a per-thread buffer allocated in the block; %t1 (index
// arithmetic) is recomputed after it.

// CHECK-LABEL: func.func @top_level
// CHECK:         scf.forall (%{{.*}}) in (2) {
// CHECK-NEXT:      %[[W:.*]] = memref.alloc() : memref<64xf32>
// CHECK-NEXT:      %[[S:.*]] = memref.alloc() : memref<64xf32>
// CHECK-NEXT:      scf.forall (%[[T:.*]]) in (64) {
// CHECK-NEXT:        %[[V:.*]] = memref.load
// CHECK-NEXT:        %[[P:.*]] = arith.mulf %[[V]], %[[V]]
// CHECK-NEXT:        memref.store %[[P]], %[[W]][%[[T]]]
// CHECK-NEXT:        memref.store %[[P]], %[[S]][%[[T]]]
// CHECK-NEXT:      } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:      scf.forall (%[[T2:.*]]) in (64) {
// CHECK-DAG:         %[[T21:.*]] = arith.addi %[[T2]], %{{.*}} : index
// CHECK-DAG:         %[[P2:.*]] = memref.load %[[W]][%[[T2]]]
// CHECK:             %[[N:.*]] = arith.remui %[[T21]]
// CHECK-NEXT:        %[[X:.*]] = memref.load %[[S]][%[[N]]]
// CHECK-NEXT:        arith.addf %[[X]], %[[P2]]
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:      memref.dealloc %[[W]]
// CHECK-NOT:     gpu.barrier
func.func @top_level(%in: memref<64xf32>, %out: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.forall (%b) in (2) {
    %s = memref.alloc() : memref<64xf32>
    scf.forall (%t) in (64) {
      %v = memref.load %in[%t] : memref<64xf32>
      %w = arith.mulf %v, %v : f32
      %t1 = arith.addi %t, %c1 : index
      memref.store %w, %s[%t] : memref<64xf32>
      gpu.barrier
      %n = arith.remui %t1, %c64 : index
      %x = memref.load %s[%n] : memref<64xf32>
      %y = arith.addf %x, %w : f32
      memref.store %y, %out[%t] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
    memref.dealloc %s : memref<64xf32>
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// A barrier in a loop: the loop goes around thread loops, one per piece of
// its body; the iteration value lives in a per-thread buffer (stored before
// the loop, loaded in each piece that uses it, stored at the end of the
// iteration, loaded after the loop). The constant bound is hoisted out of
// the thread loop.

// CHECK-LABEL: func.func @loop
// CHECK-COUNT-2: memref.alloca() : memref<32xvector<4xf32>>
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    scf.forall (%[[T:.*]]) in (32) {
// CHECK-NEXT:      memref.store %{{.*}}, %[[ACC:.*]][%[[T]]]
// CHECK-NEXT:    } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:    scf.for %[[I:.*]] = %[[C0]] to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      scf.forall (%[[T1:.*]]) in (32) {
// CHECK-NEXT:        %[[A:.*]] = memref.load %[[ACC]][%[[T1]]]
// CHECK-NEXT:        %[[R:.*]] = vector.load %{{.*}}[%[[I]]]
// CHECK-NEXT:        %[[D:.*]] = arith.addf %[[A]], %[[R]]
// CHECK-NEXT:        memref.store %[[D]], %[[DOT:.*]][%[[T1]]]
// CHECK-NEXT:      } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:      scf.forall (%[[T2:.*]]) in (32) {
// CHECK-DAG:         %[[A2:.*]] = memref.load %[[ACC]][%[[T2]]]
// CHECK-DAG:         %[[D2:.*]] = memref.load %[[DOT]][%[[T2]]]
// CHECK:             %[[M:.*]] = arith.mulf %[[D2]], %[[A2]]
// CHECK-NEXT:        memref.store %[[M]], %[[ACC]][%[[T2]]]
// CHECK-NEXT:      } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.forall (%[[T3:.*]]) in (32) {
// CHECK-NEXT:      %[[F:.*]] = memref.load %[[ACC]][%[[T3]]]
// CHECK:           vector.store %[[F]]
func.func @loop(%in: memref<64xf32>, %out: memref<128xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant dense<0.0> : vector<4xf32>
  scf.forall (%t) in (32) {
    %c0 = arith.constant 0 : index
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> vector<4xf32> {
      %x = vector.load %in[%i] : memref<64xf32>, vector<4xf32>
      %d = arith.addf %acc, %x : vector<4xf32>
      gpu.barrier
      %m = arith.mulf %d, %acc : vector<4xf32>
      scf.yield %m : vector<4xf32>
    }
    %o = arith.muli %t, %c4 : index
    vector.store %r, %out[%o] : memref<128xf32>, vector<4xf32>
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

// i4 values (zero points of int4 weights) cross a barrier, spilled and as a
// loop's iteration value, in byte buffers: packed i4 buffers exist only for
// parameters. They are widened when stored and truncated when loaded.

// CHECK-LABEL: func.func @narrow_integers
// CHECK-COUNT-3: memref.alloca() : memref<32xi8>
// CHECK:         scf.forall (%[[T:.*]]) in (32) {
// CHECK-NEXT:      %[[Z:.*]] = memref.load %{{.*}}[%[[T]]] : memref<32xi4>
// CHECK-NEXT:      %[[ZW:.*]] = arith.extui %[[Z]] : i4 to i8
// CHECK-NEXT:      memref.store %[[ZW]], %[[SPILL:.*]][%[[T]]]
// CHECK:         scf.for %
// CHECK-NEXT:      scf.forall (%[[T1:.*]]) in (32) {
// CHECK-NEXT:        %[[A:.*]] = memref.load %[[ITER:.*]][%[[T1]]] : memref<32xi8>
// CHECK-NEXT:        %[[AN:.*]] = arith.trunci %[[A]] : i8 to i4
// CHECK-NEXT:        %[[B:.*]] = memref.load %[[SPILL]][%[[T1]]] : memref<32xi8>
// CHECK-NEXT:        %[[BN:.*]] = arith.trunci %[[B]] : i8 to i4
// CHECK-NEXT:        arith.addi %[[AN]], %[[BN]] : i4
// CHECK:             memref.store %{{.*}}, %[[ITER]][%{{.*}}] : memref<32xi8>
// CHECK-NEXT:      } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.forall (%[[T2:.*]]) in (32) {
// CHECK-NEXT:      %[[R:.*]] = memref.load %[[ITER]][%[[T2]]] : memref<32xi8>
// CHECK-NEXT:      %[[RN:.*]] = arith.trunci %[[R]] : i8 to i4
// CHECK-NEXT:      memref.store %[[RN]], %{{.*}}[%[[T2]]] : memref<32xi4>
func.func @narrow_integers(%zeros: memref<32xi4>, %out: memref<32xi4>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.forall (%t) in (32) {
    %z = memref.load %zeros[%t] : memref<32xi4>
    gpu.barrier
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> i4 {
      %s = arith.addi %acc, %z : i4
      gpu.barrier
      scf.yield %s : i4
    }
    memref.store %r, %out[%t] : memref<32xi4>
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

// A barrier in a conditional on a block id: the conditional goes around the
// thread loops; its result goes through a per-thread buffer.

// CHECK-LABEL: func.func @conditional
// CHECK:         %[[RES:.*]] = memref.alloc() : memref<16xf32>
// CHECK:         scf.if %{{.*}} {
// CHECK-NEXT:      scf.forall (%[[T:.*]]) in (16) {
// CHECK-NEXT:        memref.store %{{.*}}, %{{.*}}[%[[T]]]
// CHECK-NEXT:      } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:      scf.forall (%[[T1:.*]]) in (16) {
// CHECK:             memref.store %{{.*}}, %[[RES]][%[[T1]]]
// CHECK-NEXT:      } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:    } else {
// CHECK-NEXT:      scf.forall (%[[T2:.*]]) in (16) {
// CHECK-NEXT:        memref.store %{{.*}}, %[[RES]][%[[T2]]]
// CHECK-NEXT:      } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.forall (%[[T3:.*]]) in (16) {
// CHECK-NEXT:      %[[V:.*]] = memref.load %[[RES]][%[[T3]]]
// CHECK-NEXT:      memref.store %[[V]], %{{.*}}[%{{.*}}, %[[T3]]]
func.func @conditional(%out: memref<2x16xf32>) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  scf.forall (%b) in (2) {
    %s = memref.alloc() : memref<16xf32>
    %first = arith.cmpi eq, %b, %c0 : index
    scf.forall (%t) in (16) {
      %v = scf.if %first -> f32 {
        memref.store %one, %s[%t] : memref<16xf32>
        gpu.barrier
        %x = memref.load %s[%c0] : memref<16xf32>
        scf.yield %x : f32
      } else {
        scf.yield %one : f32
      }
      memref.store %v, %out[%b, %t] : memref<2x16xf32>
    } {mapping = [#gpu.thread<x>]}
    memref.dealloc %s : memref<16xf32>
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

func.func @thread_dependent_bound(%out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.forall (%t) in (64) {
    // expected-error @below {{holds a barrier but its bounds or condition depend on the thread (or on memory)}}
    scf.for %i = %c0 to %t step %c1 {
      memref.store %one, %out[%i] : memref<64xf32>
      gpu.barrier
    }
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

func.func @bound_from_memory(%out: memref<64xf32>, %n: memref<index>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.forall (%t) in (64) {
    %count = memref.load %n[] : memref<index>
    // expected-error @below {{holds a barrier but its bounds or condition depend on the thread (or on memory)}}
    scf.for %i = %c0 to %count step %c1 {
      gpu.barrier
    }
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

func.func @buffer_across_barrier(%out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  scf.forall (%t) in (64) {
    // expected-error @below {{defines a value of type 'memref<4xf32>' that is used across a barrier}}
    %mine = memref.alloca() : memref<4xf32>
    gpu.barrier
    %v = memref.load %mine[%c0] : memref<4xf32>
    memref.store %v, %out[%t] : memref<64xf32>
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

func.func @barrier_in_while(%out: memref<64xf32>) {
  %true = arith.constant true
  scf.forall (%t) in (64) {
    // expected-error @below {{holds a barrier, which the CPU can only run in scf.for and scf.if inside a thread loop}}
    scf.while : () -> () {
      gpu.barrier
      scf.condition(%true)
    } do {
      scf.yield
    }
  } {mapping = [#gpu.thread<x>]}
  return
}

// -----

func.func @barrier_outside_threads() {
  // expected-error @below {{is not inside a loop over #gpu.thread ids}}
  gpu.barrier
  return
}

// -----

func.func @dynamic_thread_count(%n: index) {
  // expected-error @below {{a thread loop with barriers or warp collectives needs static bounds from 0 with step 1}}
  scf.forall (%t) in (%n) {
    gpu.barrier
  } {mapping = [#gpu.thread<x>]}
  return
}
