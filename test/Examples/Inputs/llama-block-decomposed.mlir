// A Llama-style decoder block in decomposed form: separate Q/K/V linears,
// LoRA adapters on q and v as weft.lora + weft.add, attention as plain
// matmuls, a constant causal mask and softmax, repeat_kv for GQA
// (4 query heads, 2 kv heads), SwiGLU as linear/silu/linear/mul, and
// residual adds. The fusion passes turn it into weft.linear (with LoRA
// operands and residual epilogues), weft.attention and weft.gated_linear
// (test/Examples/llama-block-fusion.test, test/Numerics/test_decoder_fusion.py).
func.func @forward(%x: tensor<2x6x32xf32>, %pos: tensor<2x6xi64>) -> tensor<2x6x32xf32> {
  %ln1 = weft.param "ln1.weight" : tensor<32xf32>
  %ln2 = weft.param "ln2.weight" : tensor<32xf32>
  %wq = weft.param "q_proj.weight" : tensor<32x32xf32>
  %wk = weft.param "k_proj.weight" : tensor<16x32xf32>
  %wv = weft.param "v_proj.weight" : tensor<16x32xf32>
  %wo = weft.param "o_proj.weight" : tensor<32x32xf32>
  %aq = weft.param "q_proj.lora_a" : tensor<4x32xf32>
  %bq = weft.param "q_proj.lora_b" : tensor<32x4xf32>
  %av = weft.param "v_proj.lora_a" : tensor<4x32xf32>
  %bv = weft.param "v_proj.lora_b" : tensor<16x4xf32>
  %wg = weft.param "gate_proj.weight" : tensor<48x32xf32>
  %wu = weft.param "up_proj.weight" : tensor<48x32xf32>
  %wd = weft.param "down_proj.weight" : tensor<32x48xf32>
  %scale = arith.constant dense<0.353553385> : tensor<f32>
  %mask = arith.constant dense<[[0.0, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<6x6xf32>

  %h = weft.rms_norm %x, %ln1 {eps = 1.0e-05 : f64} : (tensor<2x6x32xf32>, tensor<32xf32>) -> tensor<2x6x32xf32>
  %q0 = weft.linear %h, %wq : (tensor<2x6x32xf32>, tensor<32x32xf32>) -> tensor<2x6x32xf32>
  %dq = weft.lora %h, %aq, %bq {scale = 2.0 : f32} : (tensor<2x6x32xf32>, tensor<4x32xf32>, tensor<32x4xf32>) -> tensor<2x6x32xf32>
  %q = weft.add %q0, %dq : (tensor<2x6x32xf32>, tensor<2x6x32xf32>) -> tensor<2x6x32xf32>
  %k = weft.linear %h, %wk : (tensor<2x6x32xf32>, tensor<16x32xf32>) -> tensor<2x6x16xf32>
  %v0 = weft.linear %h, %wv : (tensor<2x6x32xf32>, tensor<16x32xf32>) -> tensor<2x6x16xf32>
  %dv = weft.lora %h, %av, %bv {scale = 2.0 : f32} : (tensor<2x6x32xf32>, tensor<4x32xf32>, tensor<16x4xf32>) -> tensor<2x6x16xf32>
  %v = weft.add %dv, %v0 : (tensor<2x6x16xf32>, tensor<2x6x16xf32>) -> tensor<2x6x16xf32>
  %q4 = weft.reshape %q : tensor<2x6x32xf32> -> tensor<2x6x4x8xf32>
  %k4 = weft.reshape %k : tensor<2x6x16xf32> -> tensor<2x6x2x8xf32>
  %v4 = weft.reshape %v : tensor<2x6x16xf32> -> tensor<2x6x2x8xf32>
  %qr = weft.rope %q4, %pos : (tensor<2x6x4x8xf32>, tensor<2x6xi64>) -> tensor<2x6x4x8xf32>
  %kr = weft.rope %k4, %pos : (tensor<2x6x2x8xf32>, tensor<2x6xi64>) -> tensor<2x6x2x8xf32>

  %qt = weft.transpose %qr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x6x4x8xf32>) -> tensor<2x4x6x8xf32>
  %kt = weft.transpose %kr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x6x2x8xf32>) -> tensor<2x2x6x8xf32>
  %vt = weft.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x6x2x8xf32>) -> tensor<2x2x6x8xf32>
  %k5 = weft.reshape %kt : tensor<2x2x6x8xf32> -> tensor<2x2x1x6x8xf32>
  %kc = weft.concat %k5, %k5 {axis = 2} : (tensor<2x2x1x6x8xf32>, tensor<2x2x1x6x8xf32>) -> tensor<2x2x2x6x8xf32>
  %kx = weft.reshape %kc : tensor<2x2x2x6x8xf32> -> tensor<2x4x6x8xf32>
  %v5 = weft.reshape %vt : tensor<2x2x6x8xf32> -> tensor<2x2x1x6x8xf32>
  %vc = weft.concat %v5, %v5 {axis = 2} : (tensor<2x2x1x6x8xf32>, tensor<2x2x1x6x8xf32>) -> tensor<2x2x2x6x8xf32>
  %vx = weft.reshape %vc : tensor<2x2x2x6x8xf32> -> tensor<2x4x6x8xf32>
  %s = weft.matmul %qt, %kx {transpose_rhs} : (tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>) -> tensor<2x4x6x6xf32>
  %ss = weft.mul %s, %scale : (tensor<2x4x6x6xf32>, tensor<f32>) -> tensor<2x4x6x6xf32>
  %sm = weft.add %ss, %mask : (tensor<2x4x6x6xf32>, tensor<6x6xf32>) -> tensor<2x4x6x6xf32>
  %p = weft.softmax %sm {axis = 3} : tensor<2x4x6x6xf32>
  %o = weft.matmul %p, %vx : (tensor<2x4x6x6xf32>, tensor<2x4x6x8xf32>) -> tensor<2x4x6x8xf32>
  %ot = weft.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x6x8xf32>) -> tensor<2x6x4x8xf32>
  %o2 = weft.reshape %ot : tensor<2x6x4x8xf32> -> tensor<2x6x32xf32>
  %attn = weft.linear %o2, %wo : (tensor<2x6x32xf32>, tensor<32x32xf32>) -> tensor<2x6x32xf32>
  %h1 = weft.add %x, %attn : (tensor<2x6x32xf32>, tensor<2x6x32xf32>) -> tensor<2x6x32xf32>

  %n2 = weft.rms_norm %h1, %ln2 {eps = 1.0e-05 : f64} : (tensor<2x6x32xf32>, tensor<32xf32>) -> tensor<2x6x32xf32>
  %gate = weft.linear %n2, %wg : (tensor<2x6x32xf32>, tensor<48x32xf32>) -> tensor<2x6x48xf32>
  %act = weft.silu %gate : tensor<2x6x48xf32>
  %up = weft.linear %n2, %wu : (tensor<2x6x32xf32>, tensor<48x32xf32>) -> tensor<2x6x48xf32>
  %glu = weft.mul %act, %up : (tensor<2x6x48xf32>, tensor<2x6x48xf32>) -> tensor<2x6x48xf32>
  %down = weft.linear %glu, %wd : (tensor<2x6x48xf32>, tensor<32x48xf32>) -> tensor<2x6x32xf32>
  %out = weft.add %h1, %down : (tensor<2x6x32xf32>, tensor<2x6x32xf32>) -> tensor<2x6x32xf32>
  return %out : tensor<2x6x32xf32>
}
