// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(convert-weft-to-linalg),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},func.func(convert-linalg-to-loops),convert-scf-to-cf,expand-strided-metadata,lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=LLVM

// Half-split: channel d < R/2 pairs with d + R/2 and subtracts; the default
// frequency table theta^(-2i/R) is a constant.

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[POSMAP:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @rope_half_split(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<2x5x4x8xf32>, %[[POS:[a-zA-Z0-9]+]]: tensor<2x5xi64>)
// CHECK: %[[FREQ:.+]] = arith.constant dense<[1.000000e+00, 0.0376060307, 0.00141421356, 5.31829573E-5]> : tensor<4xf32>
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[POSMAP]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[X]], %[[POS]] : tensor<2x5x4x8xf32>, tensor<2x5xi64>) outs(%{{.+}} : tensor<2x5x4x8xf32>)
// CHECK: ^bb0(%[[SELF:.+]]: f32, %[[P:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[D:.+]] = linalg.index 3 : index
// CHECK: %[[HALF:.+]] = arith.constant 4 : index
// CHECK: %[[FIRST:.+]] = arith.cmpi ult, %[[D]], %[[HALF]]
// CHECK: %[[I:.+]] = arith.remui %[[D]], %[[HALF]]
// CHECK: %[[PARTNER:.+]] = arith.select %[[FIRST]]
// CHECK: %[[OTHER:.+]] = tensor.extract %[[X]][%{{.+}}, %{{.+}}, %{{.+}}, %[[PARTNER]]] : tensor<2x5x4x8xf32>
// CHECK: %[[F:.+]] = tensor.extract %[[FREQ]][%[[I]]] : tensor<4xf32>
// CHECK: %[[PF:.+]] = arith.sitofp %[[P]] : i64 to f32
// CHECK: %[[ANGLE:.+]] = arith.mulf %[[PF]], %[[F]] : f32
// CHECK: %[[COS:.+]] = math.cos %[[ANGLE]]
// CHECK: %[[SIN:.+]] = math.sin %[[ANGLE]]
// CHECK: %[[XC:.+]] = arith.mulf %[[SELF]], %[[COS]]
// CHECK: %[[OS:.+]] = arith.mulf %[[OTHER]], %[[SIN]]
// CHECK: %[[ADD:.+]] = arith.addf %[[XC]], %[[OS]]
// CHECK: %[[SUB:.+]] = arith.subf %[[XC]], %[[OS]]
// CHECK: %[[ROT:.+]] = arith.select %[[FIRST]], %[[SUB]], %[[ADD]] : f32
// CHECK: linalg.yield %[[ROT]] : f32
// CHECK: return %[[R]]
// LLVM-LABEL: llvm.func @rope_half_split(
func.func @rope_half_split(%x: tensor<2x5x4x8xf32>, %pos: tensor<2x5xi64>) -> tensor<2x5x4x8xf32> {
  %r = weft.rope %x, %pos {theta = 500000.0 : f64} : (tensor<2x5x4x8xf32>, tensor<2x5xi64>) -> tensor<2x5x4x8xf32>
  return %r : tensor<2x5x4x8xf32>
}

// -----

// Interleaved pairs 2i with 2i+1 (d xor 1); channels >= rotary_dim pass
// through, with their unused indices clamped in bounds. f16 computes in f32.

// CHECK-LABEL: func.func @rope_interleaved_partial_f16(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<?x?x2x10xf16>, %[[POS:[a-zA-Z0-9]+]]: tensor<?x?xi32>)
// CHECK: %[[FREQ:.+]] = arith.constant dense<[1.000000e+00, 0.0464158878, 0.0021544348]> : tensor<3xf32>
// CHECK-DAG: %[[B:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x2x10xf16>
// CHECK-DAG: %[[S:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x2x10xf16>
// CHECK: %[[INIT:.+]] = tensor.empty(%[[B]], %[[S]]) : tensor<?x?x2x10xf16>
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[POS]] : tensor<?x?x2x10xf16>, tensor<?x?xi32>) outs(%[[INIT]] : tensor<?x?x2x10xf16>)
// CHECK: %[[SELF:.+]] = arith.extf %{{.+}} : f16 to f32
// CHECK: %[[D:.+]] = linalg.index 3 : index
// CHECK: %[[I:.+]] = arith.divui %[[D]], %{{.+}}
// CHECK: %[[PARTNER:.+]] = arith.xori %[[D]], %{{.+}}
// CHECK: %[[ROTATED:.+]] = arith.cmpi ult, %[[D]], %[[SIX:.+]] : index
// CHECK: %[[ICLAMP:.+]] = arith.select %[[ROTATED]], %[[I]], %{{.+}} : index
// CHECK: %[[PCLAMP:.+]] = arith.select %[[ROTATED]], %[[PARTNER]], %[[D]] : index
// CHECK: tensor.extract %[[X]][%{{.+}}, %{{.+}}, %{{.+}}, %[[PCLAMP]]] : tensor<?x?x2x10xf16>
// CHECK: tensor.extract %[[FREQ]][%[[ICLAMP]]] : tensor<3xf32>
// CHECK: arith.sitofp %{{.+}} : i32 to f32
// CHECK: %[[ROT:.+]] = arith.select
// CHECK: %[[OUT:.+]] = arith.select %[[ROTATED]], %[[ROT]], %[[SELF]] : f32
// CHECK: %[[TRUNC:.+]] = arith.truncf %[[OUT]] : f32 to f16
// CHECK: linalg.yield %[[TRUNC]] : f16
// LLVM-LABEL: llvm.func @rope_interleaved_partial_f16(
func.func @rope_interleaved_partial_f16(%x: tensor<?x?x2x10xf16>, %pos: tensor<?x?xi32>) -> tensor<?x?x2x10xf16> {
  %r = weft.rope %x, %pos {rotary_dim = 6 : i64, interleaved} : (tensor<?x?x2x10xf16>, tensor<?x?xi32>) -> tensor<?x?x2x10xf16>
  return %r : tensor<?x?x2x10xf16>
}

// -----

// The inv_freq operand replaces the constant table.

// CHECK-LABEL: func.func @rope_inv_freq(
// CHECK-SAME: %[[X:[a-zA-Z0-9]+]]: tensor<1x?x2x8xbf16>, %[[POS:[a-zA-Z0-9]+]]: tensor<1x?xi64>, %[[FREQ:[a-zA-Z0-9]+]]: tensor<4xf32>)
// CHECK-NOT: arith.constant dense
// CHECK: linalg.generic
// CHECK: arith.extf %{{.+}} : bf16 to f32
// CHECK: tensor.extract %[[FREQ]][%{{.+}}] : tensor<4xf32>
// CHECK: arith.truncf %{{.+}} : f32 to bf16
// LLVM-LABEL: llvm.func @rope_inv_freq(
func.func @rope_inv_freq(%x: tensor<1x?x2x8xbf16>, %pos: tensor<1x?xi64>, %f: tensor<4xf32>) -> tensor<1x?x2x8xbf16> {
  %r = weft.rope %x, %pos inv_freq %f : (tensor<1x?x2x8xbf16>, tensor<1x?xi64>, tensor<4xf32>) -> tensor<1x?x2x8xbf16>
  return %r : tensor<1x?x2x8xbf16>
}
