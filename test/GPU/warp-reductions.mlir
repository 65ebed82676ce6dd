// RUN: weft-opt %s -split-input-file -weft-gpu-warp-reductions | FileCheck %s

// y[m, n] += sum_g sum_k x[m, g, k] * w[n, g, k] * s[n, g]: one warp per
// (m, n); the group loop runs in every lane, k is split across the lanes.

#x = affine_map<(m, n, g, k) -> (m, g, k)>
#w = affine_map<(m, n, g, k) -> (n, g, k)>
#s = affine_map<(m, n, g, k) -> (n, g)>
#y = affine_map<(m, n, g, k) -> (m, n)>

// CHECK-LABEL: func.func @grouped
// CHECK-SAME:    (%[[X:[^:]+]]: memref<?x2x128xf32>, %[[W:[^:]+]]: memref<64x2x128xf32>, %[[S:[^:]+]]: memref<64x2xf32>, %[[Y:[^:]+]]: memref<?x64xf32>)
// CHECK:         %[[M:.*]] = memref.dim %[[X]], %c0
// CHECK:         %[[TOTAL:.*]] = arith.muli %{{.*}}, %c64
// CHECK:         %[[BLOCKS:.*]] = arith.ceildivui %[[TOTAL]], %c8
// CHECK:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BLOCKS]], %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %[[TY:.*]], %{{.*}}) in (%{{.*}} = %c32, %{{.*}} = %c8, %{{.*}} = %c1
// CHECK:           scf.if
// CHECK:             %[[SUM:.*]] = scf.for %[[G:.*]] = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args
// CHECK:               scf.for %[[K:.*]] = %[[TX]] to %c128{{.*}} step %c32 iter_args
// CHECK:                 memref.load %[[X]]
// CHECK:                 memref.load %[[W]]
// CHECK:                 memref.load %[[S]]
// CHECK:                 arith.mulf
// CHECK:                 arith.mulf
// CHECK:                 arith.addf
// CHECK-COUNT-5:     gpu.shuffle  xor
// CHECK:             scf.if
// CHECK:               %[[INIT:.*]] = memref.load %[[Y]]
// CHECK:               %[[OUT:.*]] = arith.addf %[[INIT]]
// CHECK:               memref.store %[[OUT]], %[[Y]]
// CHECK-NOT:     linalg.generic
func.func @grouped(%x: memref<?x2x128xf32>, %w: memref<64x2x128xf32>, %s: memref<64x2xf32>, %y: memref<?x64xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #s, #y],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w, %s : memref<?x2x128xf32>, memref<64x2x128xf32>, memref<64x2xf32>)
      outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %out: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.mulf %0, %c : f32
    %2 = arith.addf %out, %1 : f32
    linalg.yield %2 : f32
  }
  return
}

// -----

// A max: lanes start from -inf and combine with arith.maximumf; the output's
// initial value joins once.

#in = affine_map<(i, j) -> (i, j)>
#out = affine_map<(i, j) -> (i)>

// CHECK-LABEL: func.func @row_max
// CHECK:         gpu.launch
// CHECK:           %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %[[NEG_INF]])
// CHECK:             arith.maximumf
// CHECK-COUNT-5:   gpu.shuffle  xor
// CHECK:           memref.load
// CHECK:           arith.maximumf
// CHECK:           memref.store
func.func @row_max(%x: memref<4x64xf32>, %y: memref<4xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.maximumf %out, %a : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Not a sum or a max (a product), and a sum inside a task: both stay.

#in = affine_map<(i, j) -> (i, j)>
#out = affine_map<(i, j) -> (i)>

// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     gpu.launch
// CHECK:         linalg.generic
// CHECK:         arith.mulf
// CHECK:         scf.forall
// CHECK:           linalg.generic
// CHECK:           arith.addf
func.func @left_alone(%x: memref<4x64xf32>, %y: memref<4xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = arith.mulf %out, %a : f32
    linalg.yield %0 : f32
  }
  scf.forall (%t) in (2) {
    linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
        ins(%x : memref<4x64xf32>) outs(%y : memref<4xf32>) {
    ^bb0(%a: f32, %out: f32):
      %0 = arith.addf %out, %a : f32
      linalg.yield %0 : f32
    }
  }
  return
}

// -----

// o[e] = sum_j p[j] * v[j, e]: the reduced dimension is not the last index
// of v, so lanes would read a column of v; one thread per output element
// (neighbours on neighbouring e) reads rows instead: not rewritten.

#p = affine_map<(e, j) -> (j)>
#v = affine_map<(e, j) -> (j, e)>
#o = affine_map<(e, j) -> (e)>

// CHECK-LABEL: func.func @strided_keys
// CHECK-NOT:     gpu.launch
// CHECK:         linalg.generic
func.func @strided_keys(%p: memref<64xf32>, %v: memref<64x128xf32>, %o: memref<128xf32>) {
  linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "reduction"]}
      ins(%p, %v : memref<64xf32>, memref<64x128xf32>) outs(%o : memref<128xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}
