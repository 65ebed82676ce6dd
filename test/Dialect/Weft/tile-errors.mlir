// RUN: not weft-opt %s -split-input-file -weft-tile="tile-sizes=0,-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: weft-tile: tile sizes must be >= 0, got -1
// RUN: not weft-opt %s -split-input-file -weft-tile="target=gpu" 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: error: weft-tile: unknown target 'gpu' (expected cpu)
// RUN: not weft-opt %s -split-input-file -weft-tile="tile-sizes=0,4" 2>&1 | FileCheck %s --check-prefix=UNEVEN
// UNEVEN: error: 'weft.qlinear' op cannot be tiled by 4 along N = 30: the tile must divide N (quantized weights keep static shapes)
// RUN: not weft-opt %s -split-input-file -weft-tile="attention-tile-sizes=0,3" 2>&1 | FileCheck %s --check-prefix=HEADS
// HEADS: error: 'weft.attention' op cannot tile 8 query heads by 3: the tile must divide Hq and cover whole groups of 4 query heads per kv head or divide that group
// RUN: not weft-opt %s -split-input-file -weft-tile="attention-tile-sizes=0,0,0,16" 2>&1 | FileCheck %s --check-prefix=KEYS
// KEYS: error: 'weft.attention' op cannot tile keys: a block of keys cannot express the causal alignment (kv_len sets both the valid keys and the diagonal); only single-query causal attention without window tiles keys
// KEYS: error: 'weft.attention' op cannot tile keys: a mask may hide every visible key of a block, whose partial softmax is then undefined
// KEYS: error: 'weft.attention' op cannot tile keys: partial outputs would be rounded to f16 (key tiles need f32)
// RUN: not weft-opt %s -split-input-file -weft-tile="ssm-scan-tile-sizes=0,3,8" 2>&1 | FileCheck %s --check-prefix=SSM
// SSM: error: 'weft.ssm_scan' op cannot tile 8 heads by 3: the tile must divide H and cover whole groups of 4 heads or divide that group
// SSM: error: 'weft.ssm_scan' op cannot tile heads: H and G must be static
// RUN: not weft-opt %s -split-input-file -weft-tile="linear-tile-sizes=0,0,24" 2>&1 | FileCheck %s --check-prefix=KDIV
// KDIV: error: 'weft.linear' op cannot tile K by 24: the tile must divide K = 64
// RUN: not weft-opt %s -split-input-file -weft-tile="linear-tile-sizes=0,0,16" 2>&1 | FileCheck %s --check-prefix=KTILE
// KTILE: error: 'weft.qlinear' op cannot tile K by 16: the tile must be a multiple of group_size = 32
// KTILE: error: 'weft.linear' op cannot tile K by 16: partial sums would be rounded to f16 (K tiles need f32)
// RUN: not weft-opt %s -split-input-file -weft-tile="norm-tile-sizes=4" 2>&1 | FileCheck %s --check-prefix=WIDTH
// WIDTH: error: 'weft.rms_norm' op cannot be tiled: the last dim of the result must be static

// Defaults of target=cpu that an op cannot take are skipped, not errors.
// RUN: weft-opt %s -split-input-file -weft-tile="target=cpu" | FileCheck %s --check-prefix=CPU
// CPU-LABEL: func @norm_dynamic_width
// CPU-NOT: scf.forall
// CPU: weft.rms_norm
// CPU-LABEL: func @ssm_dynamic_heads
// CPU-NOT: scf.for
// CPU: weft.ssm_scan

func.func @qlinear_uneven(%x: tensor<5x64xf32>, %q: tensor<30x64xi8>, %s: tensor<30x1xf32>) -> tensor<5x30xf32> {
  %y = weft.qlinear %x, %q, %s {group_size = -1} : (tensor<5x64xf32>, tensor<30x64xi8>, tensor<30x1xf32>) -> tensor<5x30xf32>
  return %y : tensor<5x30xf32>
}

// -----

func.func @attention_causal(%q: tensor<2x?x8x16xf32>, %k: tensor<2x?x2x16xf32>, %v: tensor<2x?x2x16xf32>) -> tensor<2x?x8x16xf32> {
  %o = weft.attention %q, %k, %v {causal} : (tensor<2x?x8x16xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>) -> tensor<2x?x8x16xf32>
  return %o : tensor<2x?x8x16xf32>
}

// -----

func.func @attention_mask(%q: tensor<2x?x8x16xf32>, %k: tensor<2x?x2x16xf32>, %v: tensor<2x?x2x16xf32>, %m: tensor<1x1x?x?xf32>) -> tensor<2x?x8x16xf32> {
  %o = weft.attention %q, %k, %v mask %m : (tensor<2x?x8x16xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>, tensor<1x1x?x?xf32>) -> tensor<2x?x8x16xf32>
  return %o : tensor<2x?x8x16xf32>
}

// -----

func.func @attention_f16(%q: tensor<2x?x8x16xf16>, %k: tensor<2x?x2x16xf16>, %v: tensor<2x?x2x16xf16>) -> tensor<2x?x8x16xf16> {
  %o = weft.attention %q, %k, %v : (tensor<2x?x8x16xf16>, tensor<2x?x2x16xf16>, tensor<2x?x2x16xf16>) -> tensor<2x?x8x16xf16>
  return %o : tensor<2x?x8x16xf16>
}

// -----

func.func @ssm_groups(%x: tensor<2x?x8x4xf32>, %dt: tensor<2x?x8xf32>, %a: tensor<8xf32>, %bm: tensor<2x?x2x16xf32>, %cm: tensor<2x?x2x16xf32>) -> (tensor<2x?x8x4xf32>, tensor<2x8x4x16xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %a, %bm, %cm : (tensor<2x?x8x4xf32>, tensor<2x?x8xf32>, tensor<8xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>) -> (tensor<2x?x8x4xf32>, tensor<2x8x4x16xf32>)
  return %y, %s : tensor<2x?x8x4xf32>, tensor<2x8x4x16xf32>
}

// -----

func.func @norm_dynamic_width(%x: tensor<?x?xf32>, %g: tensor<?xf32>) -> tensor<?x?xf32> {
  %y = weft.rms_norm %x, %g : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

func.func @ssm_dynamic_heads(%x: tensor<2x?x?x4xf32>, %dt: tensor<2x?x?xf32>, %a: tensor<?xf32>, %bm: tensor<2x?x2x16xf32>, %cm: tensor<2x?x2x16xf32>) -> (tensor<2x?x?x4xf32>, tensor<2x?x4x16xf32>) {
  %y, %s = weft.ssm_scan %x, %dt, %a, %bm, %cm : (tensor<2x?x?x4xf32>, tensor<2x?x?xf32>, tensor<?xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>) -> (tensor<2x?x?x4xf32>, tensor<2x?x4x16xf32>)
  return %y, %s : tensor<2x?x?x4xf32>, tensor<2x?x4x16xf32>
}

// -----

func.func @linear_k(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x32xf32> {
  %y = weft.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @qlinear_groups(%x: tensor<5x128xf32>, %q: tensor<32x128xi4>, %s: tensor<32x4xf32>) -> tensor<5x32xf32> {
  %y = weft.qlinear %x, %q, %s {group_size = 32} : (tensor<5x128xf32>, tensor<32x128xi4>, tensor<32x4xf32>) -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}

// -----

func.func @linear_f16(%x: tensor<?x64xf16>, %w: tensor<32x64xf16>) -> tensor<?x32xf16> {
  %y = weft.linear %x, %w : (tensor<?x64xf16>, tensor<32x64xf16>) -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}
