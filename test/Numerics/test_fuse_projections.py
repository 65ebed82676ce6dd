# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft-fuse-projections: the fused program computes what the separate
projections compute."""

import os
import tempfile

import numpy as np
import pytest

import harness
import reference as ref
from harness import mlir_type as t
from weft import params as weft_params
from weft import safetensors

RNG = np.random.default_rng()


def fuse(program, params):
    with tempfile.TemporaryDirectory(prefix="weft-fuse-projections-") as directory:
        archive = os.path.join(directory, "in.safetensors")
        out = os.path.join(directory, "out.safetensors")
        safetensors.save(archive, params)
        ir = harness.optimize(program, f"-weft-fuse-projections=params={archive} "
                              f"params-out={out}")
        tensors, _ = safetensors.load(out)
    return ir, {name: tensor.data for name, tensor in tensors.items()}


@pytest.mark.parametrize("with_bias", [False, True])
def test_fused_qkv(with_bias):
    k, sizes = 64, {"q_proj": 64, "k_proj": 32, "v_proj": 32}  # GQA: K/V narrower
    x = RNG.standard_normal((2, 7, k)).astype(np.float32)
    tx = t((2, None, k), "f32")
    params, lines, results = {}, [], []
    for name, n in sizes.items():
        tw, tb, ty = t((n, k), "f32"), t((n,), "f32"), t((2, None, n), "f32")
        params[f"attn.{name}.weight"] = (RNG.standard_normal((n, k)) / 8).astype(np.float32)
        lines.append(f'%w_{name} = weft.param "attn.{name}.weight" : {tw}')
        if with_bias:
            params[f"attn.{name}.bias"] = (0.1 * RNG.standard_normal(n)).astype(np.float32)
            lines.append(f'%b_{name} = weft.param "attn.{name}.bias" : {tb}')
            lines.append(f"%{name} = weft.linear %x, %w_{name} bias %b_{name} : ({tx}, {tw}, {tb}) -> {ty}")
        else:
            lines.append(f"%{name} = weft.linear %x, %w_{name} : ({tx}, {tw}) -> {ty}")
        results.append((f"%{name}", ty))
    body = "\n  ".join(lines)
    program = f"""
func.func @main(%x: {tx}) -> ({", ".join(ty for _, ty in results)}) {{
  {body}
  return {", ".join(v for v, _ in results)} : {", ".join(ty for _, ty in results)}
}}"""
    ir, fused_params = fuse(program, params)
    assert ir.count("weft.linear") == 1 and ir.count("weft.slice") == 3, ir
    separate = harness.run(program, [x], params)
    fused = harness.run(ir, [x], fused_params)
    x64 = x.astype(np.float64)
    for (name, _), out_separate, out_fused in zip(sizes.items(), separate, fused):
        w = params[f"attn.{name}.weight"].astype(np.float64)
        b = params[f"attn.{name}.bias"].astype(np.float64) if with_bias else None
        expected = ref.linear(x64, w, b)
        # f32 dot products of length 64.
        harness.assert_close(out_separate, expected, rtol=1e-5, atol=1e-5, what=f"separate {name}")
        harness.assert_close(out_fused, expected, rtol=1e-5, atol=1e-5, what=f"fused {name}")


@pytest.mark.parametrize("symmetric", [True, False])
def test_fused_quantized_gate_up(symmetric):
    k, n, group = 128, 48, 32
    groups = k // group
    x = RNG.standard_normal((5, k)).astype(np.float32)
    tx, ty = t((None, k), "f32"), t((None, n), "f32")
    tq, ts, tz = t((n, k), "i4"), t((n, groups), "f32"), t((n, groups), "i4")
    params, logical, lines = {}, {}, []
    for name in ["gate_proj", "up_proj"]:
        prefix = f"mlp.{name}"
        if symmetric:
            q = RNG.integers(-8, 8, size=(n, k))
            zeros = None
        else:
            q = RNG.integers(0, 16, size=(n, k))
            zeros = RNG.integers(0, 16, size=(n, groups))
            params[f"{prefix}.zeros"] = weft_params.pack_int4(zeros)
        scales = RNG.uniform(0.005, 0.02, size=(n, groups)).astype(np.float32)
        params[f"{prefix}.qweight"] = weft_params.pack_int4(q)
        params[f"{prefix}.scales"] = scales
        logical[name] = (q, scales, zeros)
        lines += [f'%q_{name} = weft.param "{prefix}.qweight" : {tq}',
                  f'%s_{name} = weft.param "{prefix}.scales" : {ts}']
        if symmetric:
            lines.append(f"%{name} = weft.qlinear %x, %q_{name}, %s_{name} {{group_size = {group}}} : ({tx}, {tq}, {ts}) -> {ty}")
        else:
            lines += [f'%z_{name} = weft.param "{prefix}.zeros" : {tz}',
                      f"%{name} = weft.qlinear %x, %q_{name}, %s_{name} zeros %z_{name} {{group_size = {group}}} : ({tx}, {tq}, {ts}, {tz}) -> {ty}"]
    body = "\n  ".join(lines)
    program = f"""
func.func @main(%x: {tx}) -> ({ty}, {ty}) {{
  {body}
  return %gate_proj, %up_proj : {ty}, {ty}
}}"""
    ir, fused_params = fuse(program, params)
    assert ir.count("weft.qlinear") == 1 and ir.count("weft.slice") == 2, ir
    separate = harness.run(program, [x], params)
    fused = harness.run(ir, [x], fused_params)
    x64 = x.astype(np.float64)
    for name, out_separate, out_fused in zip(["gate_proj", "up_proj"], separate, fused):
        q, scales, zeros = logical[name]
        expected = ref.qlinear(x64, q, scales.astype(np.float64), group, zeros=zeros)
        # f32 dot products of length 128 with weights ~0.1.
        harness.assert_close(out_separate, expected, rtol=1e-5, atol=1e-4, what=f"separate {name}")
        harness.assert_close(out_fused, expected, rtol=1e-5, atol=1e-4, what=f"fused {name}")
