# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""Fusion passes compute what the unfused program computes."""

import numpy as np
import pytest

import harness
import reference
from harness import mlir_type as t

RNG = np.random.default_rng()


@pytest.mark.parametrize("activation", ["silu", "gelu", "gelu_tanh", "relu"])
def test_fuse_epilogues(activation):
    m, k, n = 5, 48, 24
    x = RNG.standard_normal((m, k)).astype(np.float32)
    w = RNG.standard_normal((n, k)).astype(np.float32)
    b = RNG.standard_normal(n).astype(np.float32)
    r = RNG.standard_normal((m, n)).astype(np.float32)
    op = "gelu" if activation.startswith("gelu") else activation
    attrs = " {tanh_approximation}" if activation == "gelu_tanh" else ""
    tx, tw, tb, ty = t((None, k), "f32"), t((n, k), "f32"), t((n,), "f32"), t((None, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %w: {tw}, %b: {tb}, %r: {ty}) -> {ty} {{
  %0 = weft.linear %x, %w : ({tx}, {tw}) -> {ty}
  %1 = weft.add %0, %b : ({ty}, {tb}) -> {ty}
  %2 = weft.{op} %1{attrs} : {ty}
  %3 = weft.add %2, %r : ({ty}, {ty}) -> {ty}
  return %3 : {ty}
}}"""
    fused = harness.optimize(program, "-weft-fuse-epilogues")
    # The pass did fuse: one linear with the whole epilogue, nothing else.
    assert "weft.add" not in fused and f"weft.{op} " not in fused, fused
    assert f"activation = #weft.activation<{activation}>" in fused, fused
    (unfused_out,) = harness.run(program, [x, w, b, r])
    (fused_out,) = harness.run(fused, [x, w, b, r])
    expected = reference.linear(x.astype(np.float64), w.astype(np.float64),
                                b.astype(np.float64), activation, r.astype(np.float64))
    # f32 dot products of length 48 plus the epilogue.
    harness.assert_close(unfused_out, expected, rtol=1e-5, atol=1e-4, what="unfused")
    harness.assert_close(fused_out, expected, rtol=1e-5, atol=1e-4, what="fused")
