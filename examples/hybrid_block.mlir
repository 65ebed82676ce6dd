// A small hybrid language model in weft IR: one attention layer and one
// Mamba-2 layer, as in Jamba-style hybrids. Weights are external parameters.
//
//   hidden 64, vocab 256
//   layer 0 (attention): RMSNorm, Q/K/V projections with GQA (4 query heads,
//     2 kv heads, head dim 16), a LoRA adapter (rank 8) on q_proj, RoPE,
//     causal attention, an int4 (group 32) quantized o_proj, residual;
//     RMSNorm, SwiGLU MLP (intermediate 128), residual
//   layer 1 (Mamba-2): RMSNorm, in_proj -> (z, xBC, dt), causal conv1d (K=4)
//     with SiLU on xBC, selective scan (8 heads of 16, state 16, 1 group),
//     gated RMSNorm, out_proj, residual
//   final RMSNorm, lm_head -> logits
//
// Batch and sequence length are dynamic.

func.func @forward(%ids: tensor<?x?xi64>, %positions: tensor<?x?xi64>) -> tensor<?x?x256xf32> {
  %embed = weft.param "model.embed_tokens.weight" : tensor<256x64xf32>
  %h0 = weft.embedding %embed, %ids : (tensor<256x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>

  // ---- layer 0: attention ----
  %ln0 = weft.param "model.layers.0.input_layernorm.weight" : tensor<64xf32>
  %x0 = weft.rms_norm %h0, %ln0 {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>

  %wq = weft.param "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
  %lora_a = weft.param "model.layers.0.self_attn.q_proj.lora_A.weight" : tensor<8x64xf32>
  %lora_b = weft.param "model.layers.0.self_attn.q_proj.lora_B.weight" : tensor<64x8xf32>
  %q_base = weft.linear %x0, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %q_delta = weft.lora %x0, %lora_a, %lora_b {scale = 2.0 : f32} : (tensor<?x?x64xf32>, tensor<8x64xf32>, tensor<64x8xf32>) -> tensor<?x?x64xf32>
  %q_flat = weft.add %q_base, %q_delta : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>

  %wk = weft.param "model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf32>
  %wv = weft.param "model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf32>
  %k_flat = weft.linear %x0, %wk : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %v_flat = weft.linear %x0, %wv : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>

  %q_heads = weft.reshape %q_flat : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k_heads = weft.reshape %k_flat : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %v = weft.reshape %v_flat : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %q = weft.rope %q_heads, %positions {theta = 10000.0 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?xi64>) -> tensor<?x?x4x16xf32>
  %k = weft.rope %k_heads, %positions {theta = 10000.0 : f64} : (tensor<?x?x2x16xf32>, tensor<?x?xi64>) -> tensor<?x?x2x16xf32>

  %attn = weft.attention %q, %k, %v {causal} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  %attn_flat = weft.reshape %attn : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>

  // o_proj: int4, group size 32, asymmetric; the residual add is a separate op.
  %wo_q = weft.param "model.layers.0.self_attn.o_proj.qweight" : tensor<64x64xi4>
  %wo_s = weft.param "model.layers.0.self_attn.o_proj.scales" : tensor<64x2xf32>
  %wo_z = weft.param "model.layers.0.self_attn.o_proj.qzeros" : tensor<64x2xi4>
  %o = weft.qlinear %attn_flat, %wo_q, %wo_s zeros %wo_z {group_size = 32} : (tensor<?x?x64xf32>, tensor<64x64xi4>, tensor<64x2xf32>, tensor<64x2xi4>) -> tensor<?x?x64xf32>
  %h1 = weft.add %h0, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>

  // SwiGLU MLP.
  %ln1 = weft.param "model.layers.0.post_attention_layernorm.weight" : tensor<64xf32>
  %x1 = weft.rms_norm %h1, %ln1 {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %wg = weft.param "model.layers.0.mlp.gate_proj.weight" : tensor<128x64xf32>
  %wu = weft.param "model.layers.0.mlp.up_proj.weight" : tensor<128x64xf32>
  %wd = weft.param "model.layers.0.mlp.down_proj.weight" : tensor<64x128xf32>
  %gate = weft.linear %x1, %wg : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
  %up = weft.linear %x1, %wu : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
  %gate_act = weft.silu %gate : tensor<?x?x128xf32>
  %glu = weft.mul %gate_act, %up : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %down = weft.linear %glu, %wd : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  %h2 = weft.add %h1, %down : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>

  // ---- layer 1: Mamba-2 ----
  %ln2 = weft.param "model.layers.1.norm.weight" : tensor<64xf32>
  %x2 = weft.rms_norm %h2, %ln2 {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %w_in = weft.param "model.layers.1.mixer.in_proj.weight" : tensor<296x64xf32>
  %zxbcdt = weft.linear %x2, %w_in : (tensor<?x?x64xf32>, tensor<296x64xf32>) -> tensor<?x?x296xf32>
  %z_flat = weft.slice %zxbcdt {axis = 2, start = 0, end = 128} : (tensor<?x?x296xf32>) -> tensor<?x?x128xf32>
  %xbc = weft.slice %zxbcdt {axis = 2, start = 128, end = 288} : (tensor<?x?x296xf32>) -> tensor<?x?x160xf32>
  %dt = weft.slice %zxbcdt {axis = 2, start = 288, end = 296} : (tensor<?x?x296xf32>) -> tensor<?x?x8xf32>

  %conv_w = weft.param "model.layers.1.mixer.conv1d.weight" : tensor<160x4xf32>
  %conv_b = weft.param "model.layers.1.mixer.conv1d.bias" : tensor<160xf32>
  %xbc_conv, %conv_state = weft.causal_conv1d %xbc, %conv_w bias %conv_b {activation = #weft.activation<silu>} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>) -> (tensor<?x?x160xf32>, tensor<?x3x160xf32>)

  %xs_flat = weft.slice %xbc_conv {axis = 2, start = 0, end = 128} : (tensor<?x?x160xf32>) -> tensor<?x?x128xf32>
  %b_flat = weft.slice %xbc_conv {axis = 2, start = 128, end = 144} : (tensor<?x?x160xf32>) -> tensor<?x?x16xf32>
  %c_flat = weft.slice %xbc_conv {axis = 2, start = 144, end = 160} : (tensor<?x?x160xf32>) -> tensor<?x?x16xf32>
  %xs = weft.reshape %xs_flat : tensor<?x?x128xf32> -> tensor<?x?x8x16xf32>
  %z = weft.reshape %z_flat : tensor<?x?x128xf32> -> tensor<?x?x8x16xf32>
  %bm = weft.reshape %b_flat : tensor<?x?x16xf32> -> tensor<?x?x1x16xf32>
  %cm = weft.reshape %c_flat : tensor<?x?x16xf32> -> tensor<?x?x1x16xf32>

  %a = weft.param "model.layers.1.mixer.A" : tensor<8xf32>
  %d = weft.param "model.layers.1.mixer.D" : tensor<8xf32>
  %dt_bias = weft.param "model.layers.1.mixer.dt_bias" : tensor<8xf32>
  %y, %ssm_state = weft.ssm_scan %xs, %dt, %a, %bm, %cm D %d z %z dt_bias %dt_bias {dt_softplus} : (tensor<?x?x8x16xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x16xf32>, tensor<?x?x1x16xf32>, tensor<8xf32>, tensor<?x?x8x16xf32>, tensor<8xf32>) -> (tensor<?x?x8x16xf32>, tensor<?x8x16x16xf32>)

  %y_flat = weft.reshape %y : tensor<?x?x8x16xf32> -> tensor<?x?x128xf32>
  %gn = weft.param "model.layers.1.mixer.norm.weight" : tensor<128xf32>
  %y_norm = weft.rms_norm %y_flat, %gn {eps = 1.0e-5 : f64} : (tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  %w_out = weft.param "model.layers.1.mixer.out_proj.weight" : tensor<64x128xf32>
  %h3 = weft.linear %y_norm, %w_out residual %h2 : (tensor<?x?x128xf32>, tensor<64x128xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>

  // ---- head ----
  %lnf = weft.param "model.norm.weight" : tensor<64xf32>
  %hf = weft.rms_norm %h3, %lnf {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %w_head = weft.param "lm_head.weight" : tensor<256x64xf32>
  %logits = weft.linear %hf, %w_head : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  return %logits : tensor<?x?x256xf32>
}
