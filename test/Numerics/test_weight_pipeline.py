# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""The passes that rewrite weights chained on the bundled example model:
weft-merge-lora, then weft-fuse-projections, then (optionally) weft-quantize,
each reading the archive the previous one wrote."""

import json
import os
import subprocess
import tempfile

import numpy as np
import pytest

import harness
import reference as ref
from test_example_model import EXAMPLE, forward
from test_quantize_example import dequantized_weights
from weft import params as weft_params
from weft import safetensors

RNG = np.random.default_rng()


def run_pipeline(program, params, directory, quantize):
    archives = [os.path.join(directory, f"{i}.safetensors") for i in range(4)]
    safetensors.save(archives[0], params)
    report = os.path.join(directory, "report.json")
    passes = [f"weft-merge-lora{{params={archives[0]} params-out={archives[1]}}}",
              f"weft-fuse-projections{{params={archives[1]} params-out={archives[2]}}}"]
    if quantize:
        passes.append(f"weft-quantize{{bits=8 params={archives[2]} "
                      f"params-out={archives[3]} report={report}}}")
    ir = harness.optimize(program, f"--pass-pipeline=builtin.module({','.join(passes)})")
    tensors, metadata = safetensors.load(archives[-1] if quantize else archives[2])
    quant_report = None
    if quantize:
        with open(report) as f:
            quant_report = json.load(f)
    return ir, tensors, metadata, quant_report


@pytest.mark.parametrize("quantize", [False, True])
def test_merged_fused_example_model(quantize):
    with open(EXAMPLE) as source:
        program = source.read()
    params = weft_params.random_params(program, seed=int(RNG.integers(1 << 30)))
    with tempfile.TemporaryDirectory(prefix="weft-weight-pipeline-") as directory:
        ir, tensors, metadata, report = run_pipeline(program, params, directory, quantize)
    # The adapter is merged; Q/K/V and gate/up are one layer each.
    assert "weft.lora" not in ir, ir
    assert ir.count("weft.slice") == 6 + 3 + 2, ir
    assert "weft.merged.model.layers.0.self_attn.q_proj.merged.weight" in metadata

    batch, seq = 2, 9
    ids = RNG.integers(0, 256, size=(batch, seq), dtype=np.int64)
    positions = np.tile(np.arange(seq, dtype=np.int64), (batch, 1))
    (logits,) = harness.run(ir, [ids, positions], tensors)

    # Reference: the original model with W_q + 2 B A in place of the adapter
    # (and, when quantized, each layer's rows from the dequantized fused
    # weights).
    f = {name: v.astype(np.float64) for name, v in params.items() if v.dtype == np.float32}
    prefix = "model.layers.0.self_attn.q_proj."
    merged_q = f[prefix + "weight"] + 2.0 * f[prefix + "lora_B.weight"] @ f[prefix + "lora_A.weight"]
    fused_rows = {}
    if quantize:
        for name, w in dequantized_weights(tensors, report).items():
            fused_rows[name] = w
    fused = {  # fused weight name -> [(original name, rows)]
        "model.layers.0.self_attn.q_proj.merged+k_proj+v_proj.weight": [
            ("model.layers.0.self_attn.q_proj.weight", 64),
            ("model.layers.0.self_attn.k_proj.weight", 32),
            ("model.layers.0.self_attn.v_proj.weight", 32)],
        "model.layers.0.mlp.gate_proj+up_proj.weight": [
            ("model.layers.0.mlp.gate_proj.weight", 128),
            ("model.layers.0.mlp.up_proj.weight", 128)]}
    weights = dict(f)
    weights["model.layers.0.self_attn.q_proj.weight"] = merged_q
    for name, w in fused_rows.items():
        if name in fused:
            start = 0
            for original, rows in fused[name]:
                weights[original] = w[start:start + rows]
                start += rows
        else:
            weights[name] = w

    def linear(name, x):
        if name == "model.layers.0.self_attn.q_proj.weight":
            # The adapter is in the merged weight: drop the separate delta.
            return ref.linear(x, weights[name]) - ref.lora(
                x, f[prefix + "lora_A.weight"], f[prefix + "lora_B.weight"], scale=2.0)
        return ref.linear(x, weights[name])

    expected = forward(params, ids, positions, linear=linear)
    # As in test_example_model: f32 through ~10 dependent layers, plus one f32
    # rounding of the merged weight.
    scale = float(np.abs(expected).max())
    harness.assert_close(logits, expected, rtol=1e-4, atol=1e-4 * scale, what="logits")
