// RUN: not weft-opt %s -weft-tile="tile-sizes=0,-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: weft-tile: tile sizes must be >= 0, got -1
// RUN: not weft-opt %s -weft-tile="tile-sizes=0,4" 2>&1 | FileCheck %s --check-prefix=UNEVEN
// UNEVEN: error: 'weft.qlinear' op cannot be tiled by 4 along N = 30: the tile must divide N (quantized weights keep static shapes)

func.func @qlinear_uneven(%x: tensor<5x64xf32>, %q: tensor<30x64xi8>, %s: tensor<30x1xf32>) -> tensor<5x30xf32> {
  %y = weft.qlinear %x, %q, %s {group_size = -1} : (tensor<5x64xf32>, tensor<30x64xi8>, tensor<30x1xf32>) -> tensor<5x30xf32>
  return %y : tensor<5x30xf32>
}
