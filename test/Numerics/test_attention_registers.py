# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft.attention in the GPU's FlashAttention-2 form
(convert-weft-to-linalg{attention-registers}, AttentionRegisters.cpp), run on
the CPU: one SIMT thread loop per block of 64 query rows, whose warps keep
Q, the scores, the softmax state and the output rows as tensor-core
fragments (nvgpu.mma.sync, gpu.shuffle; the CPU pipeline expands them and
splits the loop at its barriers). harness.run also runs every program with
the thread loops backwards and requires the same bits.

References: numpy float64 (reference.attention) on the f16-rounded inputs.
Tolerance: the f16 output's rounding (OUTPUT_TOL) plus the probabilities'
rounding to f16 before the product with V, as FlashAttention does (each
weight off by <= 2^-11 of itself: the output by <= 2^-11 max|v|).
"""

import numpy as np
import pytest

import harness
from harness import given, result
import reference
from harness import mlir_type as t

RNG = np.random.default_rng()
RTOL, ATOL = 1.5e-3, 1e-4
LSE_TOL = (1e-5, 1e-5)


def _lowered(program, expect_registers=True):
    lowered = harness.optimize(
        program, "--pass-pipeline=builtin.module(func.func("
        "convert-weft-to-linalg{attention-registers block-shared-memory-kib=110}))")
    assert "weft.attention" not in lowered
    # Only this form writes tensor-core products per lane (nvgpu.mma.sync);
    # the thread-block form it falls back to has warp-level contractions.
    assert ("nvgpu.mma.sync" in lowered) == expect_registers
    return lowered


# bf16: the output's rounding (2^-8 relative, with margin) and P's (each
# weight off by <= 2^-8 of itself).
TOLERANCES = {"f16": (RTOL, ATOL, 2.0 ** -11), "bf16": (1e-2, 1e-3, 2.0 ** -8)}


def _check(out, lse, expected, v, what, dtype="f16"):
    rtol, atol, p_rounding = TOLERANCES[dtype]
    atol += p_rounding * float(np.max(np.abs(v)))
    harness.assert_close(result(out, dtype), expected[0], rtol, atol, f"{what} output")
    if lse is not None:
        np.testing.assert_array_equal(np.isneginf(lse), np.isneginf(expected[1]),
                                      err_msg=f"{what} lse -inf pattern")
        finite = np.isfinite(expected[1])
        harness.assert_close(lse[finite], expected[1][finite], *LSE_TOL, f"{what} lse")


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_causal_window_softcap_gqa(dtype):
    # Sq = Sk = 150, dynamic: three query blocks of 32 queries x 2 heads
    # (GQA, Hq = 2 Hkv) and a partial last key tile; Dv != D. Causal with
    # lse; causal with a window of 40 (key tiles below the band skipped) and
    # a softcap the scores exceed; plain. bf16 takes the same products with
    # bf16 fragments (P rounded to bf16).
    b, s, hq, hkv, d, dv = 1, 150, 4, 2, 32, 16
    q, qx = given(1.5 * RNG.standard_normal((b, s, hq, d)), dtype)
    k, kx = given(1.5 * RNG.standard_normal((b, s, hkv, d)), dtype)
    v, vx = given(RNG.standard_normal((b, s, hkv, dv)), dtype)
    tq, tk, tv = t((None, None, hq, d), dtype), t((None, None, hkv, d), dtype), \
        t((None, None, hkv, dv), dtype)
    to, tl = t((None, None, hq, dv), dtype), t((None, hq, None), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tv}) -> ({to}, {tl}, {to}, {to}) {{
  %o1, %l1 = weft.attention %q, %k, %v {{causal, return_lse}} : ({tq}, {tk}, {tv}) -> ({to}, {tl})
  %o2 = weft.attention %q, %k, %v {{causal, window = 40 : i64, softcap = 4.0 : f32}} : ({tq}, {tk}, {tv}) -> {to}
  %o3 = weft.attention %q, %k, %v : ({tq}, {tk}, {tv}) -> {to}
  return %o1, %l1, %o2, %o3 : {to}, {tl}, {to}, {to}
}}"""
    o1, l1, o2, o3 = harness.run(_lowered(program), [q, k, v])
    _check(o1, l1, reference.attention(qx, kx, vx, causal=True), vx, "causal", dtype)
    _check(o2, None, reference.attention(qx, kx, vx, causal=True, window=40, softcap=4.0),
           vx, "window 40, softcap 4", dtype)
    _check(o3, None, reference.attention(qx, kx, vx), vx, "plain", dtype)


def test_interior_tiles_with_window():
    # Tiles whose every key every query of the block sees only scale their
    # scores (no masking); with causal masking and a window that takes
    # blocks of 16 queries (G = 4) whose band covers whole key tiles
    # (queries 128-143 see keys 64-127): Sq = Sk = 192 and a window of 100,
    # with kv_len = [192, 150] (the second row's band ends inside a tile).
    b, s, hq, hkv, d = 2, 192, 8, 2, 16
    kv_len = np.array([192, 150], dtype=np.int64)
    q, qx = given(RNG.standard_normal((b, s, hq, d)), "f16")
    k, kx = given(RNG.standard_normal((b, s, hkv, d)), "f16")
    v, vx = given(RNG.standard_normal((b, s, hkv, d)), "f16")
    tq, tk = t((b, s, hq, d), "f16"), t((b, s, hkv, d), "f16")
    tlen = t((b,), "i64")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %len: {tlen}) -> ({tq}, {tq}) {{
  %o1 = weft.attention %q, %k, %v {{causal, window = 100 : i64, softcap = 3.0 : f32}} : ({tq}, {tk}, {tk}) -> {tq}
  %o2 = weft.attention %q, %k, %v kv_len %len {{causal, window = 100 : i64}} : ({tq}, {tk}, {tk}, {tlen}) -> {tq}
  return %o1, %o2 : {tq}, {tq}
}}"""
    o1, o2 = harness.run(_lowered(program), [q, k, v, kv_len])
    _check(o1, None, reference.attention(qx, kx, vx, causal=True, window=100, softcap=3.0),
           vx, "window 100, softcap 3")
    _check(o2, None, reference.attention(qx, kx, vx, kv_len=kv_len, causal=True, window=100),
           vx, "window 100, kv_len")


def test_mask_and_kv_len():
    # A [1, Hq, Sq, Sk] additive mask (10% -inf) and kv_len = [130, 0, 64]
    # with Sq = 70 < Sk = 160 (bottom-right causal): batch row 1 sees no
    # key (zeros, lse = -inf); keys past kv_len hold NaN and inf, which the
    # zero-filled tile loads must never let through.
    b, sq, sk, h, d = 3, 70, 160, 2, 16
    kv_len = np.array([130, 0, 64], dtype=np.int32)
    q, qx = given(RNG.standard_normal((b, sq, h, d)), "f16")
    k, kx = given(RNG.standard_normal((b, sk, h, d)), "f16")
    v, vx = given(RNG.standard_normal((b, sk, h, d)), "f16")
    for i in range(b):
        k[i, kv_len[i]:] = np.nan
        v[i, kv_len[i]:] = np.inf
    m = RNG.standard_normal((1, h, sq, sk))
    m[RNG.random(m.shape) < 0.1] = -np.inf
    # Every row that sees a key sees key 0: keeping it finite keeps one
    # finite visible score per row (docs/Spec.md leaves the rest open).
    m[..., 0] = RNG.standard_normal((1, h, sq))
    mask, maskx = given(m, "f16")
    tq, tk = t((b, sq, h, d), "f16"), t((b, sk, h, d), "f16")
    tm, tlen, tl = t((1, h, sq, sk), "f16"), t((b,), "i32"), t((b, h, sq), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %m: {tm}, %len: {tlen}) -> ({tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v mask %m kv_len %len {{causal, return_lse}} : ({tq}, {tk}, {tk}, {tm}, {tlen}) -> ({tq}, {tl})
  return %o, %l : {tq}, {tl}
}}"""
    o, l = harness.run(_lowered(program), [q, k, v, mask, kv_len])
    _check(o, l, reference.attention(qx, kx, vx, mask=maskx,
                                     kv_len=kv_len, causal=True), vx[np.isfinite(vx)],
           "mask, kv_len")
    assert not o[1].any()


def test_head_dim_128():
    # The largest head dims the fragments stay in registers for: D = Dv = 128,
    # one kv head per query head, two query blocks of 64 rows.
    b, s, h, d = 1, 128, 2, 128
    q, qx = given(RNG.standard_normal((b, s, h, d)), "f16")
    k, kx = given(RNG.standard_normal((b, s, h, d)), "f16")
    v, vx = given(RNG.standard_normal((b, s, h, d)), "f16")
    tq = t((b, s, h, d), "f16")
    program = f"""
func.func @main(%q: {tq}, %k: {tq}, %v: {tq}) -> {tq} {{
  %o = weft.attention %q, %k, %v {{causal}} : ({tq}, {tq}, {tq}) -> {tq}
  return %o : {tq}
}}"""
    (o,) = harness.run(_lowered(program), [q, k, v])
    _check(o, None, reference.attention(qx, kx, vx, causal=True), vx, "D = 128")


@pytest.mark.parametrize("case", ["f32", "head dim 8", "decode"])
def test_other_cases_fall_back_to_blocks(case):
    # f32 operands and a head dim that is not a multiple of 16 take the
    # thread-block form; decoding (one query row per kv head) takes the
    # decoding form (test_attention_decode.py), without tensor cores.
    dtype = "f32" if case == "f32" else "f16"
    d = 8 if case == "head dim 8" else 16
    sq, sk = (1, 1024) if case == "decode" else (64, 64)
    b, h = 1, 2
    q, qx = given(RNG.standard_normal((b, sq, h, d)), dtype)
    k, kx = given(RNG.standard_normal((b, sk, h, d)), dtype)
    v, vx = given(RNG.standard_normal((b, sk, h, d)), dtype)
    tq, tk = t((b, sq, h, d), dtype), t((b, sk, h, d), dtype)
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}) -> {tq} {{
  %o = weft.attention %q, %k, %v : ({tq}, {tk}, {tk}) -> {tq}
  return %o : {tq}
}}"""
    lowered = _lowered(program, expect_registers=False)
    assert ("gpu.shuffle" in lowered) == (case == "decode")
    (o,) = harness.run(lowered, [q, k, v])
    expected = reference.attention(qx, kx, vx)
    if dtype == "f32":
        harness.assert_close(o, expected[0], 1e-5, 1e-5, "f32")
    else:
        _check(o, None, expected, vx, case)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_split_keys(dtype):
    # Few blocks over many key tiles split the keys across blocks, each
    # split's rows merged by a second grid (static sizes):
    # 1: 20 queries x a GQA group of 4 (two blocks of 16 queries per kv
    #    head, 4 blocks) over 1000 cached keys (16 tiles: 8 splits of two
    #    tiles), causal with kv_len 700 (NaN/inf padding after it) and lse;
    # 2: one query of 16 heads on one kv head (16 rows: more than the
    #    decoding form takes) over 512 keys (4 splits), a window of 200.
    b, sk = 1, 1000
    q1, q1x = given(RNG.standard_normal((b, 20, 8, 32)), dtype)
    k_values = RNG.standard_normal((b, sk, 2, 32))
    v_values = RNG.standard_normal((b, sk, 2, 32))
    _, k1x = given(k_values, dtype)
    _, v1x = given(v_values, dtype)
    kv_len = np.array([700], dtype=np.int64)
    k_values[:, 700:] = np.nan
    v_values[:, 700:] = np.inf
    k1, _ = given(k_values, dtype)
    v1, _ = given(v_values, dtype)
    q2, q2x = given(RNG.standard_normal((b, 1, 16, 64)), dtype)
    k2, k2x = given(RNG.standard_normal((b, 512, 1, 64)), dtype)
    v2, v2x = given(RNG.standard_normal((b, 512, 1, 64)), dtype)
    tq1, tk1, tl1 = t((b, 20, 8, 32), dtype), t((b, sk, 2, 32), dtype), t((b, 8, 20), "f32")
    tq2, tk2 = t((b, 1, 16, 64), dtype), t((b, 512, 1, 64), dtype)
    tlen = t((b,), "i64")
    program = f"""
func.func @main(%q1: {tq1}, %k1: {tk1}, %v1: {tk1}, %len: {tlen}, %q2: {tq2}, %k2: {tk2}, %v2: {tk2}) -> ({tq1}, {tl1}, {tq2}) {{
  %o1, %l1 = weft.attention %q1, %k1, %v1 kv_len %len {{causal, return_lse}} : ({tq1}, {tk1}, {tk1}, {tlen}) -> ({tq1}, {tl1})
  %o2 = weft.attention %q2, %k2, %v2 {{causal, window = 200 : i64}} : ({tq2}, {tk2}, {tk2}) -> {tq2}
  return %o1, %l1, %o2 : {tq1}, {tl1}, {tq2}
}}"""
    lowered = _lowered(program)
    # Both calls: a grid over (kv heads, query blocks, splits) and a merging
    # grid over (batch, queries, heads).
    assert lowered.count("#gpu.block<z>") == 4, "expected both calls to split their keys"
    o1, l1, o2 = harness.run(lowered, [q1, k1, v1, kv_len, q2, k2, v2])
    _check(o1, l1, reference.attention(q1x, k1x, v1x, kv_len=kv_len, causal=True), v1x,
           "split, causal, kv_len", dtype)
    _check(o2, None, reference.attention(q2x, k2x, v2x, causal=True, window=200), v2x,
           "split, 16 heads, window 200", dtype)
