# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft-merge-lora: the merged program computes what the program with the
adapter computes."""

import os
import tempfile

import numpy as np
import pytest

import harness
import reference as ref
from harness import mlir_type as t
from weft import safetensors

RNG = np.random.default_rng()


def merge(program, params, options=""):
    with tempfile.TemporaryDirectory(prefix="weft-merge-lora-") as directory:
        archive = os.path.join(directory, "in.safetensors")
        out = os.path.join(directory, "out.safetensors")
        safetensors.save(archive, params)
        ir = harness.optimize(program, f"-weft-merge-lora={options} params={archive} "
                              f"params-out={out}")
        tensors, metadata = safetensors.load(out)
    return ir, {name: tensor.data for name, tensor in tensors.items()}, metadata


@pytest.mark.parametrize("with_bias", [False, True])
def test_merged_single_adapter(with_bias):
    m, k, n, r, scale = 6, 96, 40, 8, 1.5
    x = RNG.standard_normal((2, m, k)).astype(np.float32)
    w = (RNG.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    a = (RNG.standard_normal((r, k)) / np.sqrt(k)).astype(np.float32)
    b = (RNG.standard_normal((n, r)) / np.sqrt(r)).astype(np.float32)
    bias = (0.1 * RNG.standard_normal(n)).astype(np.float32)
    tx, ty = t((2, None, k), "f32"), t((2, None, n), "f32")
    tw, ta, tb, tbias = t((n, k), "f32"), t((r, k), "f32"), t((n, r), "f32"), t((n,), "f32")
    bias_param = f'%bias = weft.param "l.bias" : {tbias}' if with_bias else ""
    bias_use = f" bias %bias" if with_bias else ""
    bias_type = f", {tbias}" if with_bias else ""
    program = f"""
func.func @main(%x: {tx}) -> {ty} {{
  %w = weft.param "l.weight" : {tw}
  %a = weft.param "l.lora_A" : {ta}
  %b = weft.param "l.lora_B" : {tb}
  {bias_param}
  %y = weft.linear %x, %w{bias_use} : ({tx}, {tw}{bias_type}) -> {ty}
  %d = weft.lora %x, %a, %b {{scale = {scale} : f32}} : ({tx}, {ta}, {tb}) -> {ty}
  %s = weft.add %d, %y : ({ty}, {ty}) -> {ty}
  return %s : {ty}
}}"""
    params = {"l.weight": w, "l.lora_A": a, "l.lora_B": b}
    if with_bias:
        params["l.bias"] = bias
    ir, merged, metadata = merge(program, params)
    assert "weft.lora" not in ir and "weft.add" not in ir, ir
    assert sorted(merged) == sorted(["l.merged.weight"] + (["l.bias"] if with_bias else []))
    assert '"base":"l.weight"' in metadata["weft.merged.l.merged.weight"]

    # W' = W + scale B A, rounded once to f32 (summation order may differ by
    # one f32 ulp).
    w64 = w.astype(np.float64)
    exact = w64 + scale * b.astype(np.float64) @ a.astype(np.float64)
    np.testing.assert_allclose(merged["l.merged.weight"], exact, rtol=2.0**-23, atol=2.0**-30)

    (with_adapter,) = harness.run(program, [x], params)
    (merged_out,) = harness.run(ir, [x], merged)
    x64 = x.astype(np.float64)
    expected = (ref.linear(x64, w64, bias.astype(np.float64) if with_bias else None)
                + ref.lora(x64, a.astype(np.float64), b.astype(np.float64), scale))
    # f32 dot products of length 96 (and 8); merging adds one rounding of W'.
    harness.assert_close(with_adapter, expected, rtol=1e-5, atol=1e-4, what="adapter")
    harness.assert_close(merged_out, expected, rtol=1e-5, atol=1e-4, what="merged")


def test_merged_multi_adapter_specializes():
    m, k, n, r, adapters, chosen = 9, 64, 24, 4, 3, 2
    x = RNG.standard_normal((m, k)).astype(np.float32)
    w = (RNG.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    a = (RNG.standard_normal((adapters, r, k)) / np.sqrt(k)).astype(np.float32)
    b = (RNG.standard_normal((adapters, n, r)) / np.sqrt(r)).astype(np.float32)
    tx, ty, tids = t((None, k), "f32"), t((None, n), "f32"), t((None,), "i32")
    tw, ta, tb = t((n, k), "f32"), t((adapters, r, k), "f32"), t((adapters, n, r), "f32")
    program = f"""
func.func @main(%x: {tx}, %ids: {tids}) -> {ty} {{
  %w = weft.param "l.weight" : {tw}
  %a = weft.param "l.lora_A" : {ta}
  %b = weft.param "l.lora_B" : {tb}
  %y = weft.linear %x, %w : ({tx}, {tw}) -> {ty}
  %d = weft.lora %x, %a, %b ids %ids {{scale = 0.75 : f32}} : ({tx}, {ta}, {tb}, {tids}) -> {ty}
  %s = weft.add %y, %d : ({ty}, {ty}) -> {ty}
  return %s : {ty}
}}"""
    params = {"l.weight": w, "l.lora_A": a, "l.lora_B": b}
    ir, _, _ = merge(program, params)
    assert "weft.lora" in ir, "multi-adapter loras stay unmerged by default"
    ir, merged, _ = merge(program, params, f"adapter={chosen}")
    assert "weft.lora" not in ir, ir
    ids = np.full(m, chosen, np.int32)
    (served,) = harness.run(program, [x, ids], params)
    (specialized,) = harness.run(ir, [x, ids], merged)
    x64 = x.astype(np.float64)
    expected = ref.linear(x64, w.astype(np.float64)) + ref.lora(
        x64, a.astype(np.float64), b.astype(np.float64), 0.75, ids=ids)
    # f32 dot products of length 64; one rounding of W'.
    harness.assert_close(served, expected, rtol=1e-5, atol=1e-4, what="served")
    harness.assert_close(specialized, expected, rtol=1e-5, atol=1e-4, what="specialized")
