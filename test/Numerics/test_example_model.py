# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""The bundled example model (examples/hybrid_block.mlir) end to end.

Weights come from python/weft/params.py (as in scripts/run-example.sh, but a
fresh seed every run); the reference forward pass composes the per-op numpy
references, following the IR op by op.
"""

import os

import numpy as np

import harness
import reference as ref
from weft import params as weft_params

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                       "examples", "hybrid_block.mlir")


def forward(p, ids, positions, linear=None):
    """The logits; `linear(weight_name, x)` computes the plain (float) linear
    layers when given, x W^T with W = p[weight_name] otherwise."""
    f = {name: v.astype(np.float64) for name, v in p.items() if v.dtype == np.float32}
    lin = linear or (lambda name, x: ref.linear(x, f[name]))
    h0 = ref.embedding(f["model.embed_tokens.weight"], ids)
    batch, seq = ids.shape

    # Layer 0: attention with a LoRA adapter on q_proj and an int4 o_proj.
    x0 = ref.rms_norm(h0, f["model.layers.0.input_layernorm.weight"])
    q = lin("model.layers.0.self_attn.q_proj.weight", x0) + ref.lora(
        x0, f["model.layers.0.self_attn.q_proj.lora_A.weight"],
        f["model.layers.0.self_attn.q_proj.lora_B.weight"], scale=2.0)
    k = lin("model.layers.0.self_attn.k_proj.weight", x0)
    v = lin("model.layers.0.self_attn.v_proj.weight", x0)
    q = ref.rope(q.reshape(batch, seq, 4, 16), positions)
    k = ref.rope(k.reshape(batch, seq, 2, 16), positions)
    attn, _ = ref.attention(q, k, v.reshape(batch, seq, 2, 16), causal=True)
    prefix = "model.layers.0.self_attn.o_proj."
    qweight = weft_params.unpack_int4(p[prefix + "qweight"], signed=False, length=64)
    zeros = weft_params.unpack_int4(p[prefix + "qzeros"], signed=False, length=2)
    o = ref.qlinear(attn.reshape(batch, seq, 64), qweight, f[prefix + "scales"], 32,
                    zeros=zeros)
    h1 = h0 + o
    x1 = ref.rms_norm(h1, f["model.layers.0.post_attention_layernorm.weight"])
    gate = lin("model.layers.0.mlp.gate_proj.weight", x1)
    up = lin("model.layers.0.mlp.up_proj.weight", x1)
    h2 = h1 + lin("model.layers.0.mlp.down_proj.weight", ref.silu(gate) * up)

    # Layer 1: Mamba-2.
    x2 = ref.rms_norm(h2, f["model.layers.1.norm.weight"])
    zxbcdt = lin("model.layers.1.mixer.in_proj.weight", x2)
    z, xbc, dt = zxbcdt[..., :128], zxbcdt[..., 128:288], zxbcdt[..., 288:296]
    xbc, _ = ref.causal_conv1d(xbc, f["model.layers.1.mixer.conv1d.weight"],
                               f["model.layers.1.mixer.conv1d.bias"], activation="silu")
    xs = xbc[..., :128].reshape(batch, seq, 8, 16)
    bm = xbc[..., 128:144].reshape(batch, seq, 1, 16)
    cm = xbc[..., 144:160].reshape(batch, seq, 1, 16)
    y, _ = ref.ssm_scan(xs, dt, f["model.layers.1.mixer.A"], bm, cm,
                        d=f["model.layers.1.mixer.D"], z=z.reshape(batch, seq, 8, 16),
                        dt_bias=f["model.layers.1.mixer.dt_bias"], dt_softplus=True)
    y = ref.rms_norm(y.reshape(batch, seq, 128), f["model.layers.1.mixer.norm.weight"])
    h3 = h2 + lin("model.layers.1.mixer.out_proj.weight", y)

    hf = ref.rms_norm(h3, f["model.norm.weight"])
    return lin("lm_head.weight", hf)


def test_example_model_matches_numpy():
    with open(EXAMPLE) as source:
        program = source.read()
    rng = np.random.default_rng()
    params = weft_params.random_params(program, seed=int(rng.integers(1 << 30)))
    batch, seq = 2, 13
    ids = rng.integers(0, 256, size=(batch, seq), dtype=np.int64)
    positions = np.tile(np.arange(seq, dtype=np.int64), (batch, 1))
    (logits,) = harness.run(program, [ids, positions], params)
    expected = forward(params, ids, positions)
    # f32 through ~10 dependent layers (norms, dot products of length <= 296,
    # a 13-step scan): relative 1e-4 of the logits' scale, as for real models.
    scale = float(np.abs(expected).max())
    harness.assert_close(logits, expected, rtol=1e-4, atol=1e-4 * scale, what="logits")
    # After the fusion passes (the q_proj LoRA moves into its linear, the
    # SwiGLU MLP becomes weft.gated_linear, epilogues fold): same logits.
    fused = harness.optimize(program, "--pass-pipeline=builtin.module(func.func("
                             "weft-fuse-lora,weft-fuse-attention,weft-fuse-gated-linear,"
                             "weft-fuse-epilogues))")
    assert "weft.gated_linear" in fused and " lora %" in fused, fused
    (fused_logits,) = harness.run(fused, [ids, positions], params)
    harness.assert_close(fused_logits, expected, rtol=1e-4, atol=1e-4 * scale,
                         what="fused logits")
