// Parameters are drawn from the IR without its comments (the CHECK lines).
// RUN: grep -v '^//' %s > %t.input.mlir
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft random-params %t.input.mlir -o %t.safetensors
// RUN: weft-opt %s -weft-quantize="params=%t.safetensors params-out=%t.int8.safetensors exclude=lm_head.* report=%t.int8.json" 2>%t.int8.err | FileCheck %s --check-prefix=INT8
// RUN: FileCheck %s --check-prefix=SUMMARY < %t.int8.err
// RUN: FileCheck %s --check-prefix=REPORT < %t.int8.json
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft show-params %t.int8.safetensors | FileCheck %s --check-prefix=ARCHIVE8
// RUN: weft-opt %s -weft-quantize="bits=4 group-size=32 symmetric=false scales-type=f16 include=*.proj.weight,*shared* params=%t.safetensors params-out=%t.int4.safetensors" 2>%t.int4.err | FileCheck %s --check-prefix=INT4
// RUN: FileCheck %s --check-prefix=WARN < %t.int4.err
// RUN: env PYTHONPATH=%weft_src_root/python %python -m weft show-params %t.int4.safetensors | FileCheck %s --check-prefix=ARCHIVE4

// A plain linear layer: int8, per channel, symmetric, f32 scales.
// INT8-LABEL: func @plain
// INT8-SAME: (%[[X:.+]]: tensor<?x?x64xf32>)
// INT8-DAG: %[[Q:.+]] = weft.param "a.proj.qweight" : tensor<48x64xi8>
// INT8-DAG: %[[S:.+]] = weft.param "a.proj.scales" : tensor<48x1xf32>
// INT8: %[[Y:.+]] = weft.qlinear %[[X]], %[[Q]], %[[S]] {group_size = -1 : i64} : (tensor<?x?x64xf32>, tensor<48x64xi8>, tensor<48x1xf32>) -> tensor<?x?x48xf32>
// INT8-NEXT: return %[[Y]]
// INT8-NOT: a.proj.weight

// int4, group 32, asymmetric, f16 scales: zero points appear.
// INT4-LABEL: func @plain
// INT4-DAG: %[[Q:.+]] = weft.param "a.proj.qweight" : tensor<48x64xi4>
// INT4-DAG: %[[S:.+]] = weft.param "a.proj.scales" : tensor<48x2xf16>
// INT4-DAG: %[[Z:.+]] = weft.param "a.proj.zeros" : tensor<48x2xi4>
// INT4: weft.qlinear %{{.+}}, %[[Q]], %[[S]] zeros %[[Z]] {group_size = 32 : i64} : (tensor<?x?x64xf32>, tensor<48x64xi4>, tensor<48x2xf16>, tensor<48x2xi4>) -> tensor<?x?x48xf32>
func.func @plain(%x: tensor<?x?x64xf32>) -> tensor<?x?x48xf32> {
  %w = weft.param "a.proj.weight" : tensor<48x64xf32>
  %y = weft.linear %x, %w : (tensor<?x?x64xf32>, tensor<48x64xf32>) -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}

// The epilogue (bias, residual, activation) is kept; the bias stays float.
// INT8-LABEL: func @epilogue
// INT8-SAME: (%[[X:.+]]: tensor<4x64xf16>, %[[R:.+]]: tensor<4x16xf16>)
// INT8: %[[B:.+]] = weft.param "b.proj.bias" : tensor<16xf16>
// INT8: weft.qlinear %[[X]], %{{.+}}, %{{.+}} bias %[[B]] residual %[[R]] {activation = #weft.activation<silu>, group_size = -1 : i64} : (tensor<4x64xf16>, tensor<16x64xi8>, tensor<16x1xf32>, tensor<16xf16>, tensor<4x16xf16>) -> tensor<4x16xf16>
func.func @epilogue(%x: tensor<4x64xf16>, %r: tensor<4x16xf16>) -> tensor<4x16xf16> {
  %w = weft.param "b.proj.weight" : tensor<16x64xf16>
  %b = weft.param "b.proj.bias" : tensor<16xf16>
  %y = weft.linear %x, %w bias %b residual %r {activation = #weft.activation<silu>} : (tensor<4x64xf16>, tensor<16x64xf16>, tensor<16xf16>, tensor<4x16xf16>) -> tensor<4x16xf16>
  return %y : tensor<4x16xf16>
}

// A weight shared by two layers is quantized once; a weight that is a
// function argument, and an excluded weight, stay float.
// INT8-LABEL: func @shared
// INT8-COUNT-2: weft.qlinear %{{.+}}, %{{.+}}, %{{.+}} {group_size = -1 : i64} : (tensor<2x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>)
// INT8: weft.linear
// INT8: %[[HEAD:.+]] = weft.param "lm_head.weight" : tensor<8x64xf32>
// INT8: weft.linear %{{.+}}, %[[HEAD]]
func.func @shared(%x: tensor<2x64xf32>, %w_arg: tensor<8x64xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %w = weft.param "c.shared.weight" : tensor<8x64xf32>
  %y0 = weft.linear %x, %w : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %y1 = weft.linear %x, %w : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %y2 = weft.linear %x, %w_arg : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  %head = weft.param "lm_head.weight" : tensor<8x64xf32>
  %y3 = weft.linear %x, %head : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  return %y0, %y1, %y2, %y3 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// K = 48 is not a multiple of 32: left in float with a warning under int4
// group 32; int8 per channel quantizes it.
// INT8-LABEL: func @odd_groups
// INT8: weft.qlinear
// INT4-LABEL: func @odd_groups
// INT4: weft.linear
// WARN: warning: weft-quantize: left 'd.proj.weight' in float: K = 48 is not a multiple of the group size 32
func.func @odd_groups(%x: tensor<2x48xf32>) -> tensor<2x8xf32> {
  %w = weft.param "d.proj.weight" : tensor<8x48xf32>
  %y = weft.linear %x, %w : (tensor<2x48xf32>, tensor<8x48xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// SUMMARY: weft-quantize: int8 symmetric, group size -1, f32 scales
// SUMMARY-NEXT: weight shape weight err output err row bound
// SUMMARY-NEXT: a.proj.weight 48x64 {{[0-9.]+e-[0-9]+}} {{[0-9.]+e-[0-9]+}} {{[0-9.]+e-[0-9]+}}

// REPORT: "bits": 8,
// REPORT: "layers": [
// REPORT: "output_error_bound":
// REPORT: "output_rel_error":
// REPORT: "qweight": "a.proj.qweight",
// REPORT: "scales": "a.proj.scales",
// REPORT: "status": "quantized",
// REPORT: "weight": "a.proj.weight",
// REPORT: "weight_rel_error":

// The output archive holds exactly what the module references.
// ARCHIVE8:      a.proj.qweight I8[48, 64]
// ARCHIVE8-NEXT: a.proj.scales F32[48, 1]
// ARCHIVE8-NEXT: b.proj.bias F16[16]
// ARCHIVE8-NEXT: b.proj.qweight I8[16, 64]
// ARCHIVE8-NEXT: b.proj.scales F32[16, 1]
// ARCHIVE8-NEXT: c.shared.qweight I8[8, 64]
// ARCHIVE8-NEXT: c.shared.scales F32[8, 1]
// ARCHIVE8-NEXT: d.base.qweight I8[16, 64]
// ARCHIVE8-NEXT: d.base.scales F32[16, 1]
// ARCHIVE8-NEXT: d.lora_a F32[4, 64]
// ARCHIVE8-NEXT: d.lora_b F32[16, 4]
// ARCHIVE8-NEXT: d.proj.qweight I8[8, 48]
// ARCHIVE8-NEXT: d.proj.scales F32[8, 1]
// ARCHIVE8-NEXT: lm_head.weight F32[8, 64]
// ARCHIVE8-EMPTY:

// ARCHIVE4:      a.proj.qweight U8[48, 32]
// ARCHIVE4-NEXT: a.proj.scales F16[48, 2]
// ARCHIVE4-NEXT: a.proj.zeros U8[48, 1]
// ARCHIVE4-NEXT: b.proj.bias F16[16]
// ARCHIVE4-NEXT: b.proj.qweight U8[16, 32]
// ARCHIVE4-NEXT: b.proj.scales F16[16, 2]
// ARCHIVE4-NEXT: b.proj.zeros U8[16, 1]
// ARCHIVE4-NEXT: c.shared.qweight U8[8, 32]
// ARCHIVE4-NEXT: c.shared.scales F16[8, 2]
// ARCHIVE4-NEXT: c.shared.zeros U8[8, 1]
// ARCHIVE4-NEXT: d.base.weight F32[16, 64]
// ARCHIVE4-NEXT: d.lora_a F32[4, 64]
// ARCHIVE4-NEXT: d.lora_b F32[16, 4]
// ARCHIVE4-NEXT: d.proj.weight F32[8, 48]
// ARCHIVE4-NEXT: lm_head.weight F32[8, 64]
// ARCHIVE4-EMPTY:

// A fused LoRA delta stays on the quantized layer, in float.
// INT8-LABEL: func @lora_fused
// INT8-DAG: %[[A:.+]] = weft.param "d.lora_a" : tensor<4x64xf32>
// INT8-DAG: %[[B:.+]] = weft.param "d.lora_b" : tensor<16x4xf32>
// INT8: weft.qlinear %{{.+}}, %{{.+}}, %{{.+}} lora %[[A]], %[[B]] {group_size = -1 : i64, lora_scale = 2.000000e+00 : f32}
func.func @lora_fused(%x: tensor<4x64xf32>) -> tensor<4x16xf32> {
  %w = weft.param "d.base.weight" : tensor<16x64xf32>
  %a = weft.param "d.lora_a" : tensor<4x64xf32>
  %b = weft.param "d.lora_b" : tensor<16x4xf32>
  %y = weft.linear %x, %w lora %a, %b {lora_scale = 2.0 : f32} : (tensor<4x64xf32>, tensor<16x64xf32>, tensor<4x64xf32>, tensor<16x4xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
