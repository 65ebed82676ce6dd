// RUN: weft-opt %s -split-input-file --weft-async-shared-copies | FileCheck %s

// A marked piece loaded where it exists, zeros elsewhere: one 16-byte copy
// that bypasses L1, zero-filled (srcElements 0, indices clamped to 0) where
// the condition fails; the index computation leaves the branch. The phase
// ends with a group and a wait that leaves one group pending.

// CHECK-LABEL: func.func @conditional_piece
// CHECK-SAME:    (%[[SRC:.*]]: memref<64x64xf16>, %[[N:.*]]: index)
// CHECK:         workgroup(%[[TILE:.*]] : memref<64x72xf16, #gpu.address_space<workgroup>>)
// CHECK:           %[[COL:.*]] = arith.muli
// CHECK:           %[[OK:.*]] = arith.cmpi slt
// CHECK-NOT:       scf.if
// CHECK:           %[[ROW:.*]] = arith.addi
// CHECK:           %[[SROW:.*]] = arith.select %[[OK]], %[[ROW]], %{{.*}} : index
// CHECK:           %[[SCOL:.*]] = arith.select %[[OK]], %[[COL]], %{{.*}} : index
// CHECK:           %[[COUNT:.*]] = arith.select %[[OK]], %{{.*}}, %{{.*}} : index
// CHECK:           nvgpu.device_async_copy %[[SRC]][%[[SROW]], %[[SCOL]]], %[[TILE]][%{{.*}}, %[[COL]]], 8, %[[COUNT]] {bypassL1}
// CHECK-NOT:       vector.store
// CHECK:           %[[GROUP:.*]] = nvgpu.device_async_create_group
// CHECK-NEXT:      nvgpu.device_async_wait %[[GROUP]] {numGroups = 1 : i32}
// CHECK-NEXT:      gpu.barrier
//                  Nothing pending when the block exits.
// CHECK-NEXT:      %[[LAST:.*]] = nvgpu.device_async_create_group
// CHECK-NEXT:      nvgpu.device_async_wait %[[LAST]] {numGroups = 0 : i32}
// CHECK-NEXT:      gpu.terminator
func.func @conditional_piece(%src: memref<64x64xf16>, %n: index) {
  %c1 = arith.constant 1 : index
  %zero = arith.constant dense<0.0> : vector<8xf16>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<64x72xf16, #gpu.address_space<workgroup>>) {
    %view = memref.memory_space_cast %tile : memref<64x72xf16, #gpu.address_space<workgroup>> to memref<64x72xf16>
    %c8 = arith.constant 8 : index
    %col = arith.muli %tx, %c8 : index
    %ok = arith.cmpi slt, %tx, %n : index
    %piece = scf.if %ok -> vector<8xf16> {
      %row = arith.addi %bx, %tx : index
      %v = vector.load %src[%row, %col] {alignment = 16 : i64} : memref<64x64xf16>, vector<8xf16>
      scf.yield %v : vector<8xf16>
    } else {
      scf.yield %zero : vector<8xf16>
    }
    vector.store %piece, %view[%tx, %col] {alignment = 16 : i64, weft.async_copy = 1 : i64} : memref<64x72xf16>, vector<8xf16>
    gpu.barrier
    gpu.terminator
  }
  return
}

// -----

// Shared rows aligned to 4 bytes only (padded by one word): four 4-byte
// copies, through L1. A phase inside a loop ends at the barrier after its
// scf.if (the thread guard); waiting for every group (0).

// CHECK-LABEL: func.func @narrow_pieces
// CHECK:         scf.for
// CHECK:           scf.if
// CHECK-COUNT-4:     nvgpu.device_async_copy %{{.*}}, 2 : memref<64x64xf16> to memref<64x66xf16, #gpu.address_space<workgroup>>
// CHECK-NOT:         bypassL1
// CHECK:           }
// CHECK-NEXT:      %[[GROUP:.*]] = nvgpu.device_async_create_group
// CHECK-NEXT:      nvgpu.device_async_wait %[[GROUP]] {numGroups = 0 : i32}
// CHECK-NEXT:      gpu.barrier
func.func @narrow_pieces(%src: memref<64x64xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<64x66xf16, #gpu.address_space<workgroup>>) {
    %view = memref.memory_space_cast %tile : memref<64x66xf16, #gpu.address_space<workgroup>> to memref<64x66xf16>
    scf.for %i = %c0 to %c4 step %c1 {
      %active = arith.cmpi ult, %tx, %c4 : index
      scf.if %active {
        %v = vector.load %src[%tx, %c0] {alignment = 16 : i64} : memref<64x64xf16>, vector<8xf16>
        vector.store %v, %view[%tx, %c0] {alignment = 4 : i64, weft.async_copy = 0 : i64} : memref<64x66xf16>, vector<8xf16>
      }
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// Plain stores stay: unmarked, converted on the way, unaligned (2 bytes),
// or without a barrier after them. No group is committed.

// CHECK-LABEL: func.func @plain_stores
// CHECK-NOT:     nvgpu.
// CHECK-COUNT-4: vector.store
// CHECK-NOT:     nvgpu.
// CHECK-NOT:     weft.async_copy
func.func @plain_stores(%src: memref<64x64xf16>, %wide: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<64x72xf16, #gpu.address_space<workgroup>>,
                       %f32tile : memref<64x64xf32, #gpu.address_space<workgroup>>) {
    %view = memref.memory_space_cast %tile : memref<64x72xf16, #gpu.address_space<workgroup>> to memref<64x72xf16>
    %fview = memref.memory_space_cast %f32tile : memref<64x64xf32, #gpu.address_space<workgroup>> to memref<64x64xf32>
    %v = vector.load %src[%tx, %c0] {alignment = 16 : i64} : memref<64x64xf16>, vector<8xf16>
    vector.store %v, %view[%tx, %c0] {alignment = 16 : i64} : memref<64x72xf16>, vector<8xf16>
    %w = arith.extf %v : vector<8xf16> to vector<8xf32>
    vector.store %w, %fview[%tx, %c0] {alignment = 16 : i64, weft.async_copy = 0 : i64} : memref<64x64xf32>, vector<8xf32>
    vector.store %v, %view[%tx, %c0] {alignment = 2 : i64, weft.async_copy = 0 : i64} : memref<64x72xf16>, vector<8xf16>
    gpu.barrier
    vector.store %v, %view[%tx, %c0] {alignment = 16 : i64, weft.async_copy = 0 : i64} : memref<64x72xf16>, vector<8xf16>
    gpu.terminator
  }
  return
}
