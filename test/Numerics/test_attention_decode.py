# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft.attention's GPU decoding form (convert-weft-to-linalg{attention-
registers} for at most 8 query rows per kv head, AttentionDecode.cpp), run
on the CPU: SIMT thread loops whose lane groups stream K and V 16 bytes per
lane, reduce dot products by xor shuffles and keep an online softmax per
lane group; warps combine through block-local buffers, split keys through a
merging grid. harness.run also runs every program with the thread loops
backwards and requires the same bits.

References: numpy float64 (reference.attention) on the inputs as rounded to
their element type. Tolerance: f32 arithmetic (dot products of <= 256
terms, exp2 and its rescaling) plus one rounding of the output to its type:
2^-11 (f16), 2^-8 (bf16) relative, with margin; lse in f32.
"""

import numpy as np
import pytest

import harness
from harness import given, result
import reference
from harness import mlir_type as t

RNG = np.random.default_rng()
OUTPUT_TOL = {"f32": (2e-5, 2e-5), "f16": (1.5e-3, 1e-4), "bf16": (1e-2, 1e-3)}
LSE_TOL = (1e-5, 1e-5)


def _lowered(program, decode=True, split=True):
    lowered = harness.optimize(
        program, "--pass-pipeline=builtin.module(func.func("
        "convert-weft-to-linalg{attention-registers block-shared-memory-kib=110}))")
    assert "weft.attention" not in lowered
    # Only this form reduces with shuffles without tensor-core products.
    is_decode = "gpu.shuffle" in lowered and "nvgpu.mma.sync" not in lowered
    assert is_decode == decode
    if decode:
        # The merging grid is the only one over (batch, query, head).
        assert ("#gpu.block<z>" in lowered) == split
    return lowered


def _check(out, lse, expected, dtype, what):
    harness.assert_close(result(out, dtype), expected[0], *OUTPUT_TOL[dtype], f"{what} output")
    if lse is not None:
        np.testing.assert_array_equal(np.isneginf(lse), np.isneginf(expected[1]),
                                      err_msg=f"{what} lse -inf pattern")
        finite = np.isfinite(expected[1])
        harness.assert_close(lse[finite], expected[1][finite], *LSE_TOL, f"{what} lse")


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_split_cache_kv_len(dtype):
    # One query, GQA (Hq = 4 Hkv), D = 64, a static cache of 1000 keys split
    # across blocks (4 kv heads fill few blocks). kv_len ends inside a split,
    # inside the first one, and at 0 (no visible key: zeros, lse -inf); the
    # padding is NaN (K) and inf (V). A second call adds a causal window of
    # 100, which leaves most splits empty.
    b, sk, hq, hkv, d = 3, 1000, 8, 2, 64
    kv_len = np.array([700, 45, 0], dtype=np.int64)
    q, qx = given(RNG.standard_normal((b, 1, hq, d)), dtype)
    k_values = RNG.standard_normal((b, sk, hkv, d))
    v_values = RNG.standard_normal((b, sk, hkv, d))
    _, kx = given(k_values, dtype)
    _, vx = given(v_values, dtype)
    for i in range(b):
        k_values[i, kv_len[i]:] = np.nan
        v_values[i, kv_len[i]:] = np.inf
    kp, _ = given(k_values, dtype)
    vp, _ = given(v_values, dtype)
    tq, tk, tl = t((b, 1, hq, d), dtype), t((b, sk, hkv, d), dtype), t((b, hq, 1), "f32")
    tlen = t((b,), "i64")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %len: {tlen}) -> ({tq}, {tl}, {tq}) {{
  %o1, %l1 = weft.attention %q, %k, %v kv_len %len {{return_lse}} : ({tq}, {tk}, {tk}, {tlen}) -> ({tq}, {tl})
  %o2 = weft.attention %q, %k, %v kv_len %len {{causal, window = 100 : i64}} : ({tq}, {tk}, {tk}, {tlen}) -> {tq}
  return %o1, %l1, %o2 : {tq}, {tl}, {tq}
}}"""
    o1, l1, o2 = harness.run(_lowered(program), [q, kp, vp, kv_len])
    _check(o1, l1, reference.attention(qx, kx, vx, kv_len=kv_len), dtype, "split decode")
    _check(o2, None, reference.attention(qx, kx, vx, kv_len=kv_len, causal=True, window=100),
           dtype, "split decode, window 100")


def test_speculative_rows_dynamic_sizes():
    # Two queries (speculative decoding) x a GQA group of 4: 8 rows per kv
    # head, two keys per lane group and load. Batch and cache length are
    # dynamic, so the splits are counted at run time. Causal with kv_len, an
    # additive mask per batch row and head with -inf entries, lse; D = 32
    # (lane groups of 4 lanes, 8 keys per warp step).
    b, sq, sk, hq, hkv, d = 2, 2, 333, 8, 2, 32
    dtype = "f16"
    kv_len = np.array([333, 100], dtype=np.int32)
    q, qx = given(RNG.standard_normal((b, sq, hq, d)), dtype)
    k, kx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    v, vx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    mask_values = RNG.standard_normal((b, hq, sq, sk))
    mask_values[RNG.random(mask_values.shape) < 0.1] = -np.inf
    mask, maskx = given(mask_values, dtype)
    tq, tk = t((None, sq, hq, d), dtype), t((None, None, hkv, d), dtype)
    tm, tl, tlen = t((None, hq, sq, None), dtype), t((None, hq, sq), "f32"), t((None,), "i32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %m: {tm}, %len: {tlen}) -> ({tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v mask %m kv_len %len {{causal, return_lse}} : ({tq}, {tk}, {tk}, {tm}, {tlen}) -> ({tq}, {tl})
  return %o, %l : {tq}, {tl}
}}"""
    o, l = harness.run(_lowered(program), [q, k, v, mask, kv_len])
    _check(o, l, reference.attention(qx, kx, vx, mask=maskx, kv_len=kv_len, causal=True),
           dtype, "speculative decode")


@pytest.mark.parametrize("d", [8, 128, 256])
def test_head_dims(d):
    # Lane groups of 1, 16 and 32 lanes (f16: 8 channels per lane). MQA with
    # a softcap the scores exceed and a scale. A short cache (one block's
    # keys: the block writes the rows itself) and a long one (split).
    b, hq, hkv = 2, 3, 1
    dtype = "f16"
    q, qx = given(3 * RNG.standard_normal((b, 1, hq, d)), dtype)
    for sk in (13, 700):
        k, kx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
        v, vx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
        tq, tk, tl = t((b, 1, hq, d), dtype), t((b, sk, hkv, d), dtype), t((b, hq, 1), "f32")
        program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}) -> ({tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v {{softcap = 2.0 : f32, scale = 0.3 : f32, return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  return %o, %l : {tq}, {tl}
}}"""
        o, l = harness.run(_lowered(program, split=sk > 13), [q, k, v])
        _check(o, l, reference.attention(qx, kx, vx, scale=0.3, softcap=2.0), dtype,
               f"D = {d}, Sk = {sk}")


def test_fallbacks():
    # Where the decoding form does not apply, the other forms lower the op:
    # more than 8 rows per kv head, a dynamic query count, Dv != D, and a
    # head dim of 48 f16 values (6 lanes per key).
    def program(sq, hq, d, dv, dtype="f16"):
        tq, tk = t((1, sq, hq, d), dtype), t((1, 64, 1, d), dtype)
        tv, to = t((1, 64, 1, dv), dtype), t((1, sq, hq, dv), dtype)
        return f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tv}) -> {to} {{
  %o = weft.attention %q, %k, %v : ({tq}, {tk}, {tv}) -> {to}
  return %o : {to}
}}"""
    _lowered(program(3, 4, 32, 32), decode=False)
    _lowered(program(None, 4, 32, 32), decode=False)
    _lowered(program(1, 4, 32, 16), decode=False)
    _lowered(program(1, 4, 48, 48), decode=False)
