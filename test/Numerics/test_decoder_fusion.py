# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""A decomposed Llama-style decoder block computes the same before and after
the fusion passes, both against a float64 numpy forward pass."""

import os

import numpy as np

import harness
import reference

RNG = np.random.default_rng()
HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = os.path.join(HERE, os.pardir, "Examples", "Inputs", "llama-block-decomposed.mlir")
B, S, DM, HQ, HKV, D, F, R = 2, 6, 32, 4, 2, 8, 48, 4
PASSES = ("--pass-pipeline=builtin.module(func.func(weft-fuse-lora,weft-fuse-attention,"
          "weft-fuse-gated-linear,weft-fuse-epilogues))")


def normal(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def forward(x, pos, p):
    """The block in float64: pre-norm attention with LoRA on q and v (scale
    2), RoPE, causal GQA attention, post-attention SwiGLU MLP, residuals."""
    h = reference.rms_norm(x, p["ln1.weight"], eps=1e-5)
    q = reference.linear(h, p["q_proj.weight"]) + reference.lora(
        h, p["q_proj.lora_a"], p["q_proj.lora_b"], 2.0)
    k = reference.linear(h, p["k_proj.weight"])
    v = reference.linear(h, p["v_proj.weight"]) + reference.lora(
        h, p["v_proj.lora_a"], p["v_proj.lora_b"], 2.0)
    q = reference.rope(q.reshape(B, S, HQ, D), pos)
    k = reference.rope(k.reshape(B, S, HKV, D), pos)
    v = v.reshape(B, S, HKV, D)
    scale = float(np.float32(0.353553385))
    o, _ = reference.attention(q, k, v, scale=scale, causal=True)
    h1 = x + reference.linear(o.reshape(B, S, HQ * D), p["o_proj.weight"])
    n2 = reference.rms_norm(h1, p["ln2.weight"], eps=1e-5)
    glu = reference.silu(reference.linear(n2, p["gate_proj.weight"])) * reference.linear(
        n2, p["up_proj.weight"])
    return h1 + reference.linear(glu, p["down_proj.weight"])


def test_decoder_block_fusion():
    with open(BLOCK) as f:
        program = f.read()
    fused = harness.optimize(program, PASSES)
    # The fused program is made of the fused ops (the lit test checks the
    # exact form).
    for op in ("weft.attention", "weft.gated_linear", " lora %", " residual %"):
        assert op in fused, (op, fused)
    for op in ("weft.softmax", "weft.matmul", "weft.lora", "weft.add", "weft.mul"):
        assert op not in fused, (op, fused)
    params = {
        "ln1.weight": 1.0 + normal(DM, scale=0.1),
        "ln2.weight": 1.0 + normal(DM, scale=0.1),
        "q_proj.weight": normal(HQ * D, DM, scale=DM**-0.5),
        "k_proj.weight": normal(HKV * D, DM, scale=DM**-0.5),
        "v_proj.weight": normal(HKV * D, DM, scale=DM**-0.5),
        "o_proj.weight": normal(DM, HQ * D, scale=(HQ * D) ** -0.5),
        "q_proj.lora_a": normal(R, DM, scale=DM**-0.5),
        "q_proj.lora_b": normal(HQ * D, R, scale=0.5 * R**-0.5),
        "v_proj.lora_a": normal(R, DM, scale=DM**-0.5),
        "v_proj.lora_b": normal(HKV * D, R, scale=0.5 * R**-0.5),
        "gate_proj.weight": normal(F, DM, scale=DM**-0.5),
        "up_proj.weight": normal(F, DM, scale=DM**-0.5),
        "down_proj.weight": normal(DM, F, scale=F**-0.5),
    }
    x = normal(B, S, DM)
    pos = np.stack([np.arange(S), np.arange(3, 3 + S)]).astype(np.int64)
    (unfused_out,) = harness.run(program, [x, pos], params, function="forward")
    (fused_out,) = harness.run(fused, [x, pos], params, function="forward")
    p64 = {name: value.astype(np.float64) for name, value in params.items()}
    expected = forward(x.astype(np.float64), pos, p64)
    # f32 throughout: about a dozen ops, reductions of length <= 48, O(1)
    # values; each op adds ~1e-7 relative error and rms_norm / softmax
    # amplify it by at most a few, so 1e-5 leaves a wide margin without
    # hiding a wrong term (a missing LoRA delta or mask is off by > 1e-2).
    harness.assert_close(unfused_out, expected, rtol=1e-5, atol=1e-5, what="unfused block")
    harness.assert_close(fused_out, expected, rtol=1e-5, atol=1e-5, what="fused block")
