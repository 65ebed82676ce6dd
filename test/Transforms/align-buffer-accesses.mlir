// RUN: weft-opt %s -split-input-file -weft-align-buffer-accesses | FileCheck %s

// Chunks of 16 bytes at row n * 4096 + c * 32 + t (t a loop over multiples
// of 64 from 0): every term is a multiple of 32 i8 values, so the reads are
// 16-byte aligned; the transfer becomes an aligned vector.load.
// CHECK-LABEL: func @aligned
// CHECK-SAME:  (%[[W:.+]]: memref<64x4096xi8>
// CHECK:       scf.for %[[T:.+]] =
// CHECK:         %[[K:.+]] = arith.addi
// CHECK:         vector.load %[[W]][%{{.+}}, %[[K]]] {alignment = 16 : i64} : memref<64x4096xi8>, vector<16xi8>
// CHECK:         vector.load %[[W]][%{{.+}}, %[[K]]] {alignment = 16 : i64} : memref<64x4096xi8>, vector<32xi8>
func.func @aligned(%w: memref<64x4096xi8>, %n: index, %c: index) -> (vector<16xi8>, vector<32xi8>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %zero = arith.constant 0 : i8
  %v0 = arith.constant dense<0> : vector<16xi8>
  %u0 = arith.constant dense<0> : vector<32xi8>
  %r:2 = scf.for %t = %c0 to %c4096 step %c64 iter_args(%a = %v0, %b = %u0) -> (vector<16xi8>, vector<32xi8>) {
    %chunk = arith.muli %c, %c32 : index
    %k = arith.addi %t, %chunk : index
    %v = vector.transfer_read %w[%n, %k], %zero {in_bounds = [true]} : memref<64x4096xi8>, vector<16xi8>
    %u = vector.load %w[%n, %k] : memref<64x4096xi8>, vector<32xi8>
    scf.yield %v, %u : vector<16xi8>, vector<32xi8>
  }
  return %r#0, %r#1 : vector<16xi8>, vector<32xi8>
}

// -----

// Smaller alignments: an offset only known to be a multiple of 8 bytes
// (c * 8), a read of 8 bytes, a row of 4100 bytes (a multiple of 4). Left
// alone: a read that may be out of bounds, and a view.
// CHECK-LABEL: func @unaligned
// CHECK:       vector.load %{{.+}} {alignment = 8 : i64} : memref<64x4096xi8>, vector<16xi8>
// CHECK:       vector.load %{{.+}} {alignment = 8 : i64} : memref<64x4096xi8>, vector<8xi8>
// CHECK:       vector.load %{{.+}} {alignment = 4 : i64} : memref<8x4100xi8>, vector<16xi8>
// CHECK:       vector.transfer_read %{{.+}} : memref<64x4096xi8>, vector<16xi8>
// CHECK:       vector.transfer_read %{{.+}} : memref<64x4095xi8, strided<[4096, 1], offset: 1>>, vector<16xi8>
// CHECK-NOT:   alignment
// CHECK:       return
func.func @unaligned(%w: memref<64x4096xi8>, %odd: memref<8x4100xi8>, %n: index, %c: index) -> (vector<16xi8>, vector<8xi8>, vector<16xi8>, vector<16xi8>, vector<16xi8>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0 : i8
  %k = arith.muli %c, %c8 : index
  %a = vector.transfer_read %w[%n, %k], %zero {in_bounds = [true]} : memref<64x4096xi8>, vector<16xi8>
  %b = vector.transfer_read %w[%n, %c0], %zero {in_bounds = [true]} : memref<64x4096xi8>, vector<8xi8>
  %d = vector.transfer_read %odd[%n, %c0], %zero {in_bounds = [true]} : memref<8x4100xi8>, vector<16xi8>
  %e = vector.transfer_read %w[%n, %c0], %zero : memref<64x4096xi8>, vector<16xi8>
  %view = memref.subview %w[0, 1] [64, 4095] [1, 1] : memref<64x4096xi8> to memref<64x4095xi8, strided<[4096, 1], offset: 1>>
  %f = vector.transfer_read %view[%n, %c0], %zero {in_bounds = [true]} : memref<64x4095xi8, strided<[4096, 1], offset: 1>>, vector<16xi8>
  return %a, %b, %d, %e, %f : vector<16xi8>, vector<8xi8>, vector<16xi8>, vector<16xi8>, vector<16xi8>
}

// -----

// Dynamic leading dims: the strides still have the static inner sizes
// (8 x 64 f16, 1 KiB) as divisors. A host allocation is aligned like an
// argument; a read at a multiple of 4 f16 values is aligned to 8 bytes.
// CHECK-LABEL: func @dynamic_and_allocated
// CHECK:       vector.load %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<?x?x8x64xf16>, vector<8xf16>
// CHECK:       vector.load %{{.+}}[%{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<?x64xf16>, vector<8xf16>
// CHECK:       vector.load %{{.+}}[%{{.+}}, %{{.+}}] {alignment = 8 : i64} : memref<?x64xf16>, vector<8xf16>
func.func @dynamic_and_allocated(%k: memref<?x?x8x64xf16>, %b: index, %s: index, %h: index, %p: index, %n: index) -> (vector<8xf16>, vector<8xf16>, vector<8xf16>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f16
  %d = arith.muli %p, %c8 : index
  %a = vector.transfer_read %k[%b, %s, %h, %d], %zero {in_bounds = [true]} : memref<?x?x8x64xf16>, vector<8xf16>
  %buffer = memref.alloc(%n) : memref<?x64xf16>
  %e = vector.transfer_read %buffer[%s, %d], %zero {in_bounds = [true]} : memref<?x64xf16>, vector<8xf16>
  %q = arith.muli %p, %c4 : index
  %f = vector.transfer_read %buffer[%s, %q], %zero {in_bounds = [true]} : memref<?x64xf16>, vector<8xf16>
  return %a, %e, %f : vector<8xf16>, vector<8xf16>, vector<8xf16>
}

// -----

// Shared memory, through the generic view weft-map-forall-to-gpu gives it
// (aligned to 32 bytes by weft-align-workgroup-memory): a 16-byte piece of
// a row of 72 f16 values at a column that is a multiple of 8 is one aligned
// store; a pair of f32 at an even column (an affine.apply, as the mma.sync
// conversion computes lanes' columns) is 8-byte aligned, at any column
// only 4-byte aligned (left as it is); a piece at an odd column stays a
// transfer.
// CHECK-LABEL: func @shared_tiles
// CHECK:       %[[VIEW:.*]] = memref.memory_space_cast
// CHECK:       vector.store %{{.+}}, %[[VIEW]][%{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<64x72xf16>, vector<8xf16>
// CHECK:       vector.load %{{.+}}[%{{.+}}, %{{.+}}] {alignment = 8 : i64} : memref<16x64xf32>, vector<2xf32>
// CHECK:       vector.store %{{.+}}, %{{.+}}[%{{.+}}, %{{.+}}] : memref<16x64xf32>, vector<2xf32>
// CHECK:       vector.transfer_write %{{.+}}, %[[VIEW]]
func.func @shared_tiles(%piece: vector<8xf16>, %row: index, %p: index) {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%u = %c1, %v = %c1, %w = %c1)
             workgroup(%tile : memref<64x72xf16, #gpu.address_space<workgroup>>,
                       %acc : memref<16x64xf32, #gpu.address_space<workgroup>>) {
    %view = memref.memory_space_cast %tile : memref<64x72xf16, #gpu.address_space<workgroup>> to memref<64x72xf16>
    %accView = memref.memory_space_cast %acc : memref<16x64xf32, #gpu.address_space<workgroup>> to memref<16x64xf32>
    %column = arith.muli %p, %c8 : index
    vector.transfer_write %piece, %view[%row, %column] {in_bounds = [true]} : vector<8xf16>, memref<64x72xf16>
    %even = affine.apply affine_map<(d0)[s0] -> ((d0 mod 4) * 2 + s0 * 16)>(%p)[%row]
    %pair = vector.load %accView[%row, %even] : memref<16x64xf32>, vector<2xf32>
    vector.store %pair, %accView[%row, %p] : memref<16x64xf32>, vector<2xf32>
    %odd = arith.addi %column, %c1 : index
    vector.transfer_write %piece, %view[%row, %odd] {in_bounds = [true]} : vector<8xf16>, memref<64x72xf16>
    gpu.terminator
  }
  return
}

// -----

// A generic view of dynamic shared memory: views at multiples of 16 bytes
// are aligned like the buffer (16 bytes); one 8 bytes in is not.
// CHECK-LABEL: func @dynamic_shared_views
// CHECK:       vector.store %{{.+}}, %{{.+}}[%{{.+}}] {alignment = 16 : i64} : memref<1024xf16>, vector<8xf16>
// CHECK:       vector.transfer_write
func.func @dynamic_shared_views(%piece: vector<8xf16>, %p: index) {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c128 = arith.constant 128 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%u = %c1, %v = %c1, %w = %c1) {
    %base = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
    %a = memref.view %base[%c128][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<1024xf16, #gpu.address_space<workgroup>>
    %b = memref.view %base[%c8][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<1024xf16, #gpu.address_space<workgroup>>
    %va = memref.memory_space_cast %a : memref<1024xf16, #gpu.address_space<workgroup>> to memref<1024xf16>
    %vb = memref.memory_space_cast %b : memref<1024xf16, #gpu.address_space<workgroup>> to memref<1024xf16>
    %column = arith.muli %p, %c8 : index
    vector.transfer_write %piece, %va[%column] {in_bounds = [true]} : vector<8xf16>, memref<1024xf16>
    vector.transfer_write %piece, %vb[%column] {in_bounds = [true]} : vector<8xf16>, memref<1024xf16>
    gpu.terminator
  }
  return
}

// -----

// Double buffering: a generic view of a select between two shared buffers
// is aligned like them (a select with a view 8 bytes in is not), and an
// index selected between two multiples of 8 is a multiple of 8 (between a
// multiple of 8 and 0 as well: a clamped index). The store keeps its
// weft.async_copy mark.
// CHECK-LABEL: func @double_buffers
// CHECK:       vector.store %{{.+}}, %{{.+}}[%{{.+}}] {alignment = 16 : i64, weft.async_copy = 1 : i64} : memref<1024xf16>, vector<8xf16>
// CHECK:       vector.store %{{.+}}, %{{.+}}[%{{.+}}] {alignment = 16 : i64} : memref<1024xf16>, vector<8xf16>
// CHECK:       vector.transfer_write
func.func @double_buffers(%piece: vector<8xf16>, %p: index, %first: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c128 = arith.constant 128 : index
  %c2176 = arith.constant 2176 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%u = %c1, %v = %c1, %w = %c1) {
    %base = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
    %a = memref.view %base[%c128][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<1024xf16, #gpu.address_space<workgroup>>
    %b = memref.view %base[%c2176][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<1024xf16, #gpu.address_space<workgroup>>
    %odd = memref.view %base[%c8][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<1024xf16, #gpu.address_space<workgroup>>
    %cur = arith.select %first, %a, %b : memref<1024xf16, #gpu.address_space<workgroup>>
    %bad = arith.select %first, %a, %odd : memref<1024xf16, #gpu.address_space<workgroup>>
    %vcur = memref.memory_space_cast %cur : memref<1024xf16, #gpu.address_space<workgroup>> to memref<1024xf16>
    %vbad = memref.memory_space_cast %bad : memref<1024xf16, #gpu.address_space<workgroup>> to memref<1024xf16>
    %column = arith.muli %p, %c8 : index
    %other = arith.addi %column, %c8 : index
    %picked = arith.select %first, %column, %other : index
    %clamped = arith.select %first, %column, %c0 : index
    vector.transfer_write %piece, %vcur[%picked] {in_bounds = [true], weft.async_copy = 1 : i64} : vector<8xf16>, memref<1024xf16>
    vector.transfer_write %piece, %vcur[%clamped] {in_bounds = [true]} : vector<8xf16>, memref<1024xf16>
    vector.transfer_write %piece, %vbad[%column] {in_bounds = [true]} : vector<8xf16>, memref<1024xf16>
    gpu.terminator
  }
  return
}

// -----

// A single element is accessed with its natural alignment (what lets a
// 4-byte value be copied asynchronously); that of a 2-byte one is left
// as it is too, never more than the element's.
// CHECK-LABEL: func @single_elements
// CHECK:       vector.load %{{.+}}[%{{.+}}] {alignment = 4 : i64} : memref<64xf32>, vector<1xf32>
// CHECK:       vector.load %{{.+}}[%{{.+}}] {alignment = 2 : i64} : memref<64xf16>, vector<1xf16>
func.func @single_elements(%a: memref<64xf32>, %h: memref<64xf16>, %i: index) -> (vector<1xf32>, vector<1xf16>) {
  %pa = arith.constant 0.0 : f32
  %ph = arith.constant 0.0 : f16
  %x = vector.transfer_read %a[%i], %pa {in_bounds = [true]} : memref<64xf32>, vector<1xf32>
  %y = vector.transfer_read %h[%i], %ph {in_bounds = [true]} : memref<64xf16>, vector<1xf16>
  return %x, %y : vector<1xf32>, vector<1xf16>
}
