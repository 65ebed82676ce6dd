# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft.rope: half-split and interleaved, rotary_dim < D, theta, the inv_freq
operand, i32 and i64 positions (non-contiguous), f32/f16/bf16."""

import numpy as np
import pytest

import harness
from harness import given, result
import reference
from harness import mlir_type as t

RNG = np.random.default_rng()

# The reference rotates by the spec's f32 angle (reference.rope_angles), so
# what is left is cos/sin of that angle in f32 (a few ulp) and the two products
# and the sum in f32: a few ulp of |x| <~ 5, plus one rounding of the result to
# the element type (2^-11 f16, 2^-8 bf16 relative) with margin.
TOL = {"f32": (1e-5, 2e-6), "f16": (1.5e-3, 1e-5), "bf16": (1e-2, 1e-5)}


def _positions(b, s, dtype, start=4000, gap=50):
    """Per row: a random start, then increasing positions with random gaps."""
    steps = RNG.integers(1, gap, size=(b, s))
    return (RNG.integers(0, start, size=(b, 1)) + np.cumsum(steps, axis=1)).astype(dtype)


@pytest.mark.parametrize("interleaved", [False, True], ids=["half", "interleaved"])
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_rope(dtype, interleaved):
    # Dynamic B and S. r1: every channel rotated, default theta, i64
    # positions; r2: rotary_dim = 10 < D (an odd number of frequencies, the
    # last 6 channels pass through), theta = 500000, i32 positions; r3: the
    # inv_freq operand (theta unused), rotary_dim = 10.
    b, s, h, d, r = 2, 7, 3, 16, 10
    x, xx = given(2.0 * RNG.standard_normal((b, s, h, d)), dtype)
    pos64 = _positions(b, s, np.int64)
    pos32 = _positions(b, s, np.int32)
    inv_freq = RNG.uniform(1e-3, 1.0, size=(r // 2,)).astype(np.float32)
    tx = t((None, None, h, d), dtype)
    tp64, tp32, tf = t((None, None), "i64"), t((None, None), "i32"), t((r // 2,), "f32")
    layout = ", interleaved" if interleaved else ""
    program = f"""
func.func @main(%x: {tx}, %p64: {tp64}, %p32: {tp32}, %f: {tf}) -> ({tx}, {tx}, {tx}) {{
  %r1 = weft.rope %x, %p64 {{{layout.lstrip(', ')}}} : ({tx}, {tp64}) -> {tx}
  %r2 = weft.rope %x, %p32 {{rotary_dim = {r} : i64, theta = 500000.0 : f64{layout}}} : ({tx}, {tp32}) -> {tx}
  %r3 = weft.rope %x, %p64 inv_freq %f {{rotary_dim = {r} : i64{layout}}} : ({tx}, {tp64}, {tf}) -> {tx}
  return %r1, %r2, %r3 : {tx}, {tx}, {tx}
}}"""
    r1, r2, r3 = harness.run(program, [x, pos64, pos32, inv_freq])
    rtol, atol = TOL[dtype]
    harness.assert_close(result(r1, dtype), reference.rope(xx, pos64, interleaved=interleaved),
                         rtol, atol, "full rotary")
    expected = reference.rope(xx, pos32, theta=500000.0, rotary_dim=r, interleaved=interleaved)
    harness.assert_close(result(r2, dtype), expected, rtol, atol, "rotary_dim, theta")
    expected = reference.rope(xx, pos64, rotary_dim=r, interleaved=interleaved,
                              inv_freq=inv_freq.astype(np.float64))
    harness.assert_close(result(r3, dtype), expected, rtol, atol, "inv_freq")
    # The pass-through channels are copied exactly.
    np.testing.assert_array_equal(r2[..., r:], x[..., r:])


@pytest.mark.parametrize("interleaved", [False, True], ids=["half", "interleaved"])
def test_rope_static_odd_head_dim(interleaved):
    # Static shapes, odd D = 9 with rotary_dim = 4, positions up to ~10^5
    # (angles up to ~10^5 rad; the f32 angle is modelled by the reference).
    b, s, h, d, r = 2, 5, 2, 9, 4
    x = RNG.standard_normal((b, s, h, d)).astype(np.float32)
    pos = _positions(b, s, np.int32, start=100000, gap=1000)
    tx, tp = t((b, s, h, d), "f32"), t((b, s), "i32")
    layout = ", interleaved" if interleaved else ""
    program = f"""
func.func @main(%x: {tx}, %p: {tp}) -> {tx} {{
  %r = weft.rope %x, %p {{rotary_dim = {r} : i64, theta = 100.0 : f64{layout}}} : ({tx}, {tp}) -> {tx}
  return %r : {tx}
}}"""
    (out,) = harness.run(program, [x, pos])
    expected = reference.rope(x.astype(np.float64), pos, theta=100.0, rotary_dim=r,
                              interleaved=interleaved)
    harness.assert_close(out, expected, *TOL["f32"], "odd head dim")
    np.testing.assert_array_equal(out[..., r:], x[..., r:])
