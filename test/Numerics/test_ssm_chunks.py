# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft.ssm_scan in chunks on the tensor cores (convert-weft-to-linalg{ssm-
chunked}, SsmScanChunks.cpp), run on the CPU: a SIMT thread loop per
(batch, head) walks chunks of 64 steps with m16n8k16 products (C B^T, its
decay-masked scores times x, C times the state, x^T B into the state's
accumulator fragments). harness.run also runs every program with the thread
loops backwards and requires the same bits.

Reference: numpy float64, the recurrence step by step (reference.ssm_scan),
on the inputs as rounded to their type. Tolerance: the output's rounding
(SCAN_TOL of test_sequence.py) plus, per element, 4 u times the sum of the
absolute values of the terms that make it up (u the unit roundoff of the
operands' type: the masked scores, the scaled x and the state's copy are
rounded to it before their products, as in the reference SSD kernels),
which the recurrence computes on |x|, |B|, |C| and |initial_state|; the
final state likewise with 2 u.
"""

import numpy as np
import pytest

import harness
from harness import given, result
import reference
from harness import mlir_type as t

RNG = np.random.default_rng()
SCAN_TOL = {"f16": (1.5e-3, 1e-4), "bf16": (1e-2, 1e-3)}
UNIT = {"f16": 2.0**-11, "bf16": 2.0**-8}


def _lowered(program, chunked=True):
    lowered = harness.optimize(
        program, "--pass-pipeline=builtin.module(func.func("
        "convert-weft-to-linalg{ssm-chunked block-shared-memory-kib=110}))")
    assert "weft.ssm_scan" not in lowered
    assert ("nvgpu.mma.sync" in lowered) == chunked
    return lowered


def _assert_within(actual, expected, bound, what):
    excess = np.abs(actual.astype(np.float64) - expected) - bound
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    assert excess[worst] <= 0, (f"{what}: |{actual[worst]} - {expected[worst]}| exceeds "
                                f"{bound[worst]} at {worst}")


@pytest.mark.parametrize("dtype,b,h,g,n,length", [("bf16", 1, 4, 2, 32, 150),
                                                  ("f16", 1, 2, 1, 64, 64),
                                                  ("bf16", 2, 2, 2, 16, 1)])
def test_chunks(dtype, b, h, g, n, length):
    # Mamba-2: H heads in G groups, P = 64; with D, z, dt_bias, dt_softplus,
    # dt_limit and an initial state; L = 150 is two whole chunks and a
    # partial one, 64 one chunk, 1 a single step.
    p = 64
    x, xx = given(RNG.standard_normal((b, length, h, p)), dtype)
    dt, dtx = given(RNG.uniform(-2.5, 1.0, (b, length, h)), dtype)
    a, ax = given(-np.exp(0.5 * RNG.standard_normal(h)), "f32")
    bm, bmx = given(RNG.standard_normal((b, length, g, n)) / np.sqrt(n), dtype)
    cm, cmx = given(RNG.standard_normal((b, length, g, n)), dtype)
    d, dx = given(RNG.standard_normal(h), "f32")
    z, zx = given(RNG.standard_normal((b, length, h, p)), dtype)
    db, dbx = given(RNG.uniform(-0.5, 0.5, h), "f32")
    s0, s0x = given(RNG.standard_normal((b, h, p, n)), "f32")
    tx, tdt = t((None, None, h, p), dtype), t((None, None, h), dtype)
    tbc, th, ts = t((None, None, g, n), dtype), t((h,), "f32"), t((None, h, p, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {th}, %B: {tbc}, %C: {tbc}, %D: {th}, %z: {tx}, %db: {th}, %s0: {ts}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db initial_state %s0 {{dt_softplus, dt_limit = array<f64: 0.0, 1.5>}} : ({tx}, {tdt}, {th}, {tbc}, {tbc}, {th}, {tx}, {th}, {ts}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
    y, state = harness.run(_lowered(program), [x, dt, a, bm, cm, d, z, db, s0])
    options = dict(dt_bias=dbx, dt_softplus=True, dt_limit=(0.0, 1.5))
    ry, rs = reference.ssm_scan(xx, dtx, ax, bmx, cmx, d=dx, z=zx, initial_state=s0x,
                                **options)
    # The terms' magnitudes: the recurrence on absolute values.
    ya, sa = reference.ssm_scan(np.abs(xx), dtx, ax, np.abs(bmx), np.abs(cmx),
                                initial_state=np.abs(s0x), **options)
    ya *= np.abs(reference.silu(zx))
    u = UNIT[dtype]
    rtol, atol = SCAN_TOL[dtype]
    _assert_within(result(y, dtype), ry, rtol * np.abs(ry) + atol + 4 * u * ya, "y")
    _assert_within(state, rs, 1e-5 + 2 * u * sa, "final_state")


def test_other_scans_take_the_blocks_form():
    # f32 operands and a head dim other than 64 keep the thread-block form.
    for dtype, p in (("f32", 64), ("bf16", 32)):
        tx, tdt = t((1, 8, 2, p), dtype), t((1, 8, 2), dtype)
        tbc, th, ts = t((1, 8, 1, 16), dtype), t((2,), "f32"), t((1, 2, p, 16), "f32")
        program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {th}, %B: {tbc}, %C: {tbc}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C : ({tx}, {tdt}, {th}, {tbc}, {tbc}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
        lowered = _lowered(program, chunked=False)
        assert "#gpu.thread<x>" in lowered
