// Every user-facing error of weft-quantize, and what the pass leaves alone.
// Parameters are drawn from the IR without its comments (the CHECK lines).
// RUN: grep -v '^//' %s > %t.input.mlir
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft random-params %t.input.mlir -o %t.safetensors
// RUN: %python -c "import sys; sys.path.insert(0, '%weft_src_root/python'); from weft import safetensors; import numpy as np; safetensors.save('%t.wrong.safetensors', {'a.weight': np.zeros((8, 64), np.float16)}); safetensors.save('%t.huge.safetensors', {'a.weight': np.full((8, 64), 1.0e7, np.float32)}); safetensors.save('%t.taken.safetensors', {'a.weight': np.ones((8, 64), np.float32), 'a.qweight': np.ones((8, 64), np.int8)})"

// RUN: not weft-opt %s -weft-quantize="params-out=%t.out.safetensors" 2>&1 | FileCheck %s --check-prefix=NO-PARAMS
// NO-PARAMS: error: weft-quantize needs the 'params' option (the input and output safetensors archives)
// RUN: not weft-opt %s -weft-quantize="params=%t.safetensors" 2>&1 | FileCheck %s --check-prefix=NO-OUT
// NO-OUT: error: weft-quantize needs the 'params-out' option
// RUN: not weft-opt %s -weft-quantize="params=%t.missing.safetensors params-out=%t.out.safetensors" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: weft-quantize: {{.*}}missing.safetensors: cannot read: No such file or directory
// RUN: not weft-opt %s -weft-quantize="params=%s params-out=%t.out.safetensors" 2>&1 | FileCheck %s --check-prefix=NOT-ARCHIVE
// NOT-ARCHIVE: error: weft-quantize: {{.*}}quantize-errors.mlir: invalid header length
// RUN: not weft-opt %s -weft-quantize="params=%t.wrong.safetensors params-out=%t.out.safetensors" 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: error: weft-quantize: parameter 'a.weight' is F16[8, 64], expected f32[8, 64] in archive '{{.*}}wrong.safetensors'
// RUN: not weft-opt %s -weft-quantize="params=%t.wrong.safetensors params-out=%t.out.safetensors include=b.*" 2>&1 | FileCheck %s --check-prefix=ABSENT
// ABSENT: error: weft-quantize: parameter 'b.weight' is not in archive '{{.*}}wrong.safetensors'
// RUN: not weft-opt %s -weft-quantize="bits=8 scales-type=f16 params=%t.huge.safetensors params-out=%t.out.safetensors include=a.*" 2>&1 | FileCheck %s --check-prefix=OVERFLOW
// OVERFLOW: error: weft-quantize: cannot quantize 'a.weight': row 0, group 0: the scale is not finite in F16
// RUN: not weft-opt %s -weft-quantize="params=%t.taken.safetensors params-out=%t.out.safetensors include=a.*" 2>&1 | FileCheck %s --check-prefix=TAKEN
// TAKEN: error: weft-quantize: cannot name a quantized tensor of 'a.weight': 'a.qweight' is already in the archive
// RUN: not weft-opt %s -weft-quantize="bits=3 params=%t.safetensors params-out=%t.out.safetensors" 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: error: weft-quantize: bits must be 8 or 4, got 3
// RUN: not weft-opt %s -weft-quantize="group-size=0 params=%t.safetensors params-out=%t.out.safetensors" 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: error: weft-quantize: group-size must be positive or -1, got 0
// RUN: not weft-opt %s -weft-quantize="scales-type=f64 params=%t.safetensors params-out=%t.out.safetensors" 2>&1 | FileCheck %s --check-prefix=SCALES
// SCALES: error: weft-quantize: scales-type must be f32, f16 or bf16, got 'f64'
// RUN: not weft-opt %s -weft-quantize="include=[z- params=%t.safetensors params-out=%t.out.safetensors" 2>&1 | FileCheck %s --check-prefix=GLOB
// GLOB: error: weft-quantize: invalid pattern '[z-':
// The output archive cannot be written.
// RUN: not weft-opt %s -weft-quantize="params=%t.safetensors params-out=%t.nodir/out.safetensors" 2>&1 | FileCheck %s --check-prefix=WRITE
// WRITE: error: weft-quantize: {{.*}}nodir/out.safetensors: cannot write:

// With weights of 1e7 the int8 scale 1e7 / 127 overflows f16.
func.func @f(%x: tensor<2x64xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %a = weft.param "a.weight" : tensor<8x64xf32>
  %b = weft.param "b.weight" : tensor<8x64xf32>
  %ya = weft.linear %x, %a : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %yb = weft.linear %x, %b : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  return %ya, %yb : tensor<2x8xf32>, tensor<2x8xf32>
}
