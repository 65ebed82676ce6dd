// RUN: weft-opt %s -split-input-file -weft-pack-int4-buffers -verify-diagnostics | FileCheck %s

// The argument becomes the flat packed bytes; the element at row-major index
// e = n * 16 + k is nibble e % 2 of byte e / 2.
// CHECK-LABEL: func @load_nibble
// CHECK-SAME: (%[[W:.+]]: memref<32xi8>, %[[N:.+]]: index, %[[K:.+]]: index) -> i4
// CHECK:       %[[C16:.+]] = arith.constant 16 : index
// CHECK:       %[[ROW:.+]] = arith.muli %[[N]], %[[C16]] : index
// CHECK:       %[[E:.+]] = arith.addi %[[ROW]], %[[K]] : index
// CHECK:       %[[C2:.+]] = arith.constant 2 : index
// CHECK:       %[[EB:.+]] = arith.divui %[[E]], %[[C2]] : index
// CHECK:       %[[BYTE:.+]] = memref.load %[[W]][%[[EB]]] : memref<32xi8>
// CHECK:       %[[ODD:.+]] = arith.remui %[[E]], %[[C2]] : index
// CHECK:       %[[C4:.+]] = arith.constant 4 : index
// CHECK:       %[[SH:.+]] = arith.muli %[[ODD]], %[[C4]] : index
// CHECK:       %[[SH8:.+]] = arith.index_castui %[[SH]] : index to i8
// CHECK:       %[[V:.+]] = arith.shrui %[[BYTE]], %[[SH8]] : i8
// CHECK:       %[[NIB:.+]] = arith.trunci %[[V]] : i8 to i4
// CHECK:       return %[[NIB]]
func.func @load_nibble(%w: memref<4x16xi4>, %n: index, %k: index) -> i4 {
  %v = memref.load %w[%n, %k] : memref<4x16xi4>
  return %v : i4
}

// -----

// An odd last dim has no per-row byte boundary: the flat form holds
// ceil(4 * 3 / 2) = 6 bytes and rows share bytes.
// CHECK-LABEL: func @odd_last_dim
// CHECK-SAME: (%[[W:.+]]: memref<6xi8>, %[[N:.+]]: index, %[[K:.+]]: index) -> i4
// CHECK:       %[[C3:.+]] = arith.constant 3 : index
// CHECK:       %[[ROW:.+]] = arith.muli %[[N]], %[[C3]] : index
// CHECK:       %[[E:.+]] = arith.addi %[[ROW]], %[[K]] : index
// CHECK:       arith.divui %[[E]]
// CHECK:       memref.load %[[W]][%{{.+}}] : memref<6xi8>
func.func @odd_last_dim(%w: memref<4x3xi4>, %n: index, %k: index) -> i4 {
  %v = memref.load %w[%n, %k] : memref<4x3xi4>
  return %v : i4
}

// -----

// 16 nibbles from an even element of an even last dim: 8 bytes from byte
// e / 2, low nibbles (even elements) interleaved with high nibbles.
// CHECK-LABEL: func @read_lane_chunk
// CHECK-SAME: (%[[W:.+]]: memref<32xi8>, %[[N:.+]]: index) -> vector<16xi4>
// CHECK:       %[[C16:.+]] = arith.constant 16 : index
// CHECK:       %[[E:.+]] = arith.addi %{{.+}}, %{{.+}} : index
// CHECK:       %[[EB:.+]] = arith.divui %[[E]], %{{.+}} : index
// CHECK:       %[[BYTES:.+]] = vector.load %[[W]][%[[EB]]] : memref<32xi8>, vector<8xi8>
// CHECK:       %[[C4:.+]] = arith.constant dense<4> : vector<8xi8>
// CHECK:       %[[HIGH:.+]] = arith.shrui %[[BYTES]], %[[C4]] : vector<8xi8>
// CHECK:       %[[BOTH:.+]] = vector.interleave %[[BYTES]], %[[HIGH]] : vector<8xi8> -> vector<16xi8>
// CHECK:       %[[NIB:.+]] = arith.trunci %[[BOTH]] : vector<16xi8> to vector<16xi4>
// CHECK:       return %[[NIB]]
func.func @read_lane_chunk(%w: memref<4x16xi4>, %n: index) -> vector<16xi4> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0 : i4
  %v = vector.transfer_read %w[%n, %c0], %pad {in_bounds = [true]} : memref<4x16xi4>, vector<16xi4>
  return %v : vector<16xi4>
}

// -----

// One element (a zero point broadcast over the lanes): one nibble load per
// element.
// CHECK-LABEL: func @read_one
// CHECK-SAME: (%[[W:.+]]: memref<2xi8>, %[[N:.+]]: index) -> vector<1xi4>
// CHECK:       %[[BYTE:.+]] = memref.load %[[W]][%{{.+}}] : memref<2xi8>
// CHECK:       %[[V:.+]] = arith.shrui %[[BYTE]], %{{.+}} : i8
// CHECK:       %[[NIB:.+]] = arith.trunci %[[V]] : i8 to i4
// CHECK:       %[[VEC:.+]] = vector.from_elements %[[NIB]] : vector<1xi4>
// CHECK:       return %[[VEC]]
func.func @read_one(%w: memref<4x1xi4>, %n: index) -> vector<1xi4> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0 : i4
  %v = vector.transfer_read %w[%n, %c0], %pad {in_bounds = [true]} : memref<4x1xi4>, vector<1xi4>
  return %v : vector<1xi4>
}

// -----

func.func @read_out_of_bounds(%w: memref<4x16xi4>, %n: index) -> vector<16xi4> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0 : i4
  // expected-error @+1 {{'vector.transfer_read' op uses i4 argument 0 in a way that has no packed form}}
  %v = vector.transfer_read %w[%n, %c0], %pad : memref<4x16xi4>, vector<16xi4>
  return %v : vector<16xi4>
}

// -----

// Other arguments are untouched.
// CHECK-LABEL: func @other_args
// CHECK-SAME: (%{{.+}}: memref<4xf32>, %{{.+}}: memref<2x2xi8>)
func.func @other_args(%a: memref<4xf32>, %b: memref<2x2xi8>) {
  return
}

// -----

// expected-error @+1 {{i4 argument 0 must have a static, row-major shape, got 'memref<?x4xi4>'}}
func.func @dynamic_shape(%w: memref<?x4xi4>) {
  return
}

// -----

func.func @store(%w: memref<4x4xi4>, %v: i4) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.store' op uses i4 argument 0 in a way that has no packed form (only loads and in-bounds 1-D vector reads along the last dim do)}}
  memref.store %v, %w[%c0, %c0] : memref<4x4xi4>
  return
}

// -----

func.func @alloc() {
  // expected-error @+1 {{'memref.alloc' op creates an i4 buffer; i4 tensors are supported only as parameters}}
  %0 = memref.alloc() : memref<4xi4>
  return
}
