# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft.attention: causal (bottom-right), window, softcap, additive masks,
kv_len (decode and prefill), GQA/MQA, Dv != D, scale, lse, f32/f16/bf16.

The lowering runs one task per (batch, head, block of 64 queries) and walks
the keys in blocks of 64, skipping the blocks that causal masking or the window
hide, so the lengths are chosen to cover one partial block (37), whole blocks
(128, 256) and a partial last block after full ones (150, 200, 300), with
static and dynamic sizes. The mask, window/softcap and kv_len cases also run
through the whole-tensor products form, and every case with queries also
through the GPU thread-block form (flash attention as scf.forall loops over
blocks, threads and warps, with split keys when there are few blocks and
warp-level f16 products), both on the CPU.
"""

import numpy as np
import pytest

import harness
from harness import given, result
import reference
from harness import mlir_type as t

RNG = np.random.default_rng()

# output: the f32 evaluation (dot products of <= 16 terms, exp, online-softmax
# rescaling; a few ulp of values of magnitude <= ~4) plus one rounding to the
# element type: 2^-11 (f16) or 2^-8 (bf16) relative, with margin.
OUTPUT_TOL = {"f32": (1e-5, 1e-5), "f16": (1.5e-3, 1e-4), "bf16": (1e-2, 1e-3)}
# lse is f32 for every element type: m + log(Z) in f32, |lse| <~ 20.
LSE_TOL = (1e-5, 1e-5)


# convert-weft-to-linalg's forms: parallel tasks over query blocks with an
# online softmax (the CPU pipeline's), whole-tensor products and loops over
# GPU blocks and threads (the GPU pipeline's, compiled here for the CPU).
FORMS = ["tasks", "products", "blocks"]
BLOCK_FORMS = ["tasks", "blocks"]


def _lowered(program, form):
    if form == "tasks":
        return program
    option = {"products": "attention-products", "blocks": "attention-blocks"}[form]
    lowered = harness.optimize(
        program, f"--pass-pipeline=builtin.module(func.func(convert-weft-to-linalg{{{option}}}))")
    assert "weft.attention" not in lowered
    if form == "blocks":
        assert "#gpu.block<x>" in lowered and "#gpu.thread<x>" in lowered
    return lowered


def _p16_tol(form, dtype, v):
    """Extra absolute tolerance where the thread-block form uses tensor cores
    (f16 operands): the probabilities are rounded to f16 before the product
    with V, as FlashAttention does, so each weight is off by <= 2^-11 of
    itself and the output by <= 2^-11 max|v|."""
    return 2.0 ** -11 * float(np.max(np.abs(v))) if form == "blocks" and dtype == "f16" else 0.0


def _check(out, lse, expected, dtype, what, extra_atol=0.0):
    rtol, atol = OUTPUT_TOL[dtype]
    atol += extra_atol
    harness.assert_close(result(out, dtype), expected[0], rtol, atol, f"{what} output")
    if lse is not None:
        # -inf where no key is visible: compare the pattern, then the values.
        np.testing.assert_array_equal(np.isneginf(lse), np.isneginf(expected[1]),
                                      err_msg=f"{what} lse -inf pattern")
        finite = np.isfinite(expected[1])
        harness.assert_close(lse[finite], expected[1][finite], *LSE_TOL, f"{what} lse")


@pytest.mark.parametrize("form", BLOCK_FORMS)
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_causal_gqa(dtype, form):
    # Bottom-right causal with Sq < Sk (7 vs 150) and Sq == Sk, GQA Hq = 4 Hkv,
    # every batch and sequence dim dynamic (so the last key block is partial).
    b, sq, sk, hq, hkv, d = 2, 7, 150, 8, 2, 16
    q1, q1x = given(1.5 * RNG.standard_normal((b, sq, hq, d)), dtype)
    q2, q2x = given(1.5 * RNG.standard_normal((b, sk, hq, d)), dtype)
    k, kx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    v, vx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    tq, tk = t((None, None, hq, d), dtype), t((None, None, hkv, d), dtype)
    tl = t((None, hq, None), "f32")
    program = f"""
func.func @main(%q1: {tq}, %q2: {tq}, %k: {tk}, %v: {tk}) -> ({tq}, {tl}, {tq}, {tl}) {{
  %o1, %l1 = weft.attention %q1, %k, %v {{causal, return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  %o2, %l2 = weft.attention %q2, %k, %v {{causal, return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  return %o1, %l1, %o2, %l2 : {tq}, {tl}, {tq}, {tl}
}}"""
    o1, l1, o2, l2 = harness.run(_lowered(program, form), [q1, q2, k, v])
    extra = _p16_tol(form, dtype, vx)
    _check(o1, l1, reference.attention(q1x, kx, vx, causal=True), dtype, "Sq < Sk", extra)
    _check(o2, l2, reference.attention(q2x, kx, vx, causal=True), dtype, "Sq == Sk", extra)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_window_softcap_mqa(dtype, form):
    # Static shapes, Sk = 128 (two whole key blocks), MQA (Hkv = 1), Dv != D,
    # explicit scale and a softcap that the scores (|s| up to ~10) exceed.
    # window = 17 on Sq == Sk crosses the block boundary; window = 1 keeps only
    # the aligned diagonal (j = i + Sk - Sq).
    b, sq, sk, hq, d, dv = 2, 9, 128, 3, 8, 5
    scale, softcap = 0.3, 5.0
    q1, q1x = given(2.0 * RNG.standard_normal((b, sq, hq, d)), dtype)
    q2, q2x = given(2.0 * RNG.standard_normal((b, sk, hq, d)), dtype)
    k, kx = given(2.0 * RNG.standard_normal((b, sk, 1, d)), dtype)
    v, vx = given(RNG.standard_normal((b, sk, 1, dv)), dtype)
    tq1, tq2 = t((b, sq, hq, d), dtype), t((b, sk, hq, d), dtype)
    tk, tv = t((b, sk, 1, d), dtype), t((b, sk, 1, dv), dtype)
    to1, to2 = t((b, sq, hq, dv), dtype), t((b, sk, hq, dv), dtype)
    tl1, tl2 = t((b, hq, sq), "f32"), t((b, hq, sk), "f32")
    attrs = f"scale = {scale} : f32, softcap = {softcap} : f32"
    program = f"""
func.func @main(%q1: {tq1}, %q2: {tq2}, %k: {tk}, %v: {tv}) -> ({to1}, {tl1}, {to2}, {tl2}, {to1}) {{
  %o1, %l1 = weft.attention %q1, %k, %v {{causal, window = 1 : i64, return_lse, {attrs}}} : ({tq1}, {tk}, {tv}) -> ({to1}, {tl1})
  %o2, %l2 = weft.attention %q2, %k, %v {{causal, window = 17 : i64, return_lse, {attrs}}} : ({tq2}, {tk}, {tv}) -> ({to2}, {tl2})
  %o3 = weft.attention %q1, %k, %v {{{attrs}}} : ({tq1}, {tk}, {tv}) -> {to1}
  return %o1, %l1, %o2, %l2, %o3 : {to1}, {tl1}, {to2}, {tl2}, {to1}
}}"""
    o1, l1, o2, l2, o3 = harness.run(_lowered(program, form), [q1, q2, k, v])
    # The attributes are f32: the reference uses their f32 values.
    options = dict(scale=float(np.float32(scale)), softcap=float(np.float32(softcap)))
    _check(o1, l1, reference.attention(q1x, kx, vx, causal=True, window=1, **options),
           dtype, "window 1")
    _check(o2, l2, reference.attention(q2x, kx, vx, causal=True, window=17, **options),
           dtype, "window 17")
    _check(o3, None, reference.attention(q1x, kx, vx, **options), dtype, "softcap")


@pytest.mark.parametrize("form", FORMS)
def test_masks(form):
    # Additive masks broadcasting over batch ([1, Hq, ...]), over heads
    # ([B, 1, ...]) and over both, static and dynamic mask dims, Sk = 150.
    b, sq, sk, hq, hkv, d = 2, 6, 150, 4, 2, 8
    q = RNG.standard_normal((b, sq, hq, d)).astype(np.float32)
    k = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    v = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    # -inf at random keys and at the whole first key block of query row 0, so
    # that a row sees only -inf in its first block (column 100 stays finite).
    mask_h = RNG.standard_normal((1, hq, sq, sk)).astype(np.float32)
    mask_h[RNG.random(mask_h.shape) < 0.2] = -np.inf
    mask_h[:, :, 0, :64] = -np.inf
    mask_h[:, :, :, 100] = 0.0
    # With kv_len and causal: mask values at keys that are not visible are
    # ignored, so NaN there must not reach the result.
    kv_len = np.array([150, 97], dtype=np.int32)
    mask_b = RNG.standard_normal((b, 1, sq, sk)).astype(np.float32)
    for i in range(b):
        rows = np.arange(sq)[:, None] + kv_len[i] - sq
        mask_b[i, 0][(np.arange(sk)[None, :] > rows) | (np.arange(sk) >= kv_len[i])] = np.nan
    mask_1 = 3.0 * RNG.standard_normal((1, 1, sq, sk)).astype(np.float32)
    tq, tk = t((None, None, hq, d), "f32"), t((None, None, hkv, d), "f32")
    tmh, tmb = t((1, hq, None, None), "f32"), t((None, 1, None, sk), "f32")
    tm1, tlen = t((1, 1, sq, sk), "f32"), t((None,), "i32")
    tl = t((None, hq, None), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %mh: {tmh}, %mb: {tmb}, %m1: {tm1}, %len: {tlen}) -> ({tq}, {tl}, {tq}, {tl}, {tq}) {{
  %o1, %l1 = weft.attention %q, %k, %v mask %mh {{return_lse}} : ({tq}, {tk}, {tk}, {tmh}) -> ({tq}, {tl})
  %o2, %l2 = weft.attention %q, %k, %v mask %mb kv_len %len {{causal, return_lse}} : ({tq}, {tk}, {tk}, {tmb}, {tlen}) -> ({tq}, {tl})
  %o3 = weft.attention %q, %k, %v mask %m1 {{scale = 0.5 : f32, softcap = 2.0 : f32}} : ({tq}, {tk}, {tk}, {tm1}) -> {tq}
  return %o1, %l1, %o2, %l2, %o3 : {tq}, {tl}, {tq}, {tl}, {tq}
}}"""
    o1, l1, o2, l2, o3 = harness.run(_lowered(program, form),
                                     [q, k, v, mask_h, mask_b, mask_1, kv_len])
    qx, kx, vx = (a.astype(np.float64) for a in (q, k, v))
    _check(o1, l1, reference.attention(qx, kx, vx, mask=mask_h.astype(np.float64)),
           "f32", "mask [1, Hq]")
    _check(o2, l2, reference.attention(qx, kx, vx, mask=mask_b.astype(np.float64),
                                       kv_len=kv_len, causal=True), "f32", "mask [B, 1]")
    # Order: scale, softcap, then the mask (which is not capped).
    _check(o3, None, reference.attention(qx, kx, vx, mask=mask_1.astype(np.float64),
                                         scale=0.5, softcap=2.0), "f32", "mask [1, 1]")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("len_dtype", ["i32", "i64"])
def test_kv_len(len_dtype, form):
    # A KV cache padded to Sk = 200 (static; the last key block is partial).
    # Decode: Sq = 1 per row against kv_len = [200, 1, 77, 0]. Prefill: causal
    # with a window of 50, Sq = 5 and kv_len = [200, 131, 3, 0], so row 2 has
    # two query rows that see no key (Sq > L) and row 3 none at all: zeros and
    # lse = -inf.
    b, sk, hq, hkv, d, dv = 4, 200, 4, 2, 16, 8
    index = {"i32": np.int32, "i64": np.int64}[len_dtype]
    decode_len = np.array([200, 1, 77, 0], dtype=index)
    prefill_len = np.array([200, 131, 3, 0], dtype=index)
    q1 = RNG.standard_normal((b, 1, hq, d)).astype(np.float32)
    q5 = RNG.standard_normal((b, 5, hq, d)).astype(np.float32)
    k = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    v = RNG.standard_normal((b, sk, hkv, dv)).astype(np.float32)
    # The padding past kv_len is never read into the result: fill it with what
    # an uninitialised cache may hold (NaN, inf).
    k1, v1, k5, v5 = k.copy(), v.copy(), k.copy(), v.copy()
    for i in range(b):
        k1[i, decode_len[i]:] = np.nan
        v1[i, decode_len[i]:] = np.inf
        k5[i, prefill_len[i]:] = -np.inf
        v5[i, prefill_len[i]:] = np.nan
    tq1, tq5 = t((None, 1, hq, d), "f32"), t((None, None, hq, d), "f32")
    tk, tv = t((None, sk, hkv, d), "f32"), t((None, sk, hkv, dv), "f32")
    to1, to5 = t((None, 1, hq, dv), "f32"), t((None, None, hq, dv), "f32")
    tl1, tl5 = t((None, hq, 1), "f32"), t((None, hq, None), "f32")
    tlen = t((None,), len_dtype)
    program = f"""
func.func @main(%q1: {tq1}, %k1: {tk}, %v1: {tv}, %len1: {tlen}, %q5: {tq5}, %k5: {tk}, %v5: {tv}, %len5: {tlen}) -> ({to1}, {tl1}, {to5}, {tl5}) {{
  %o1, %l1 = weft.attention %q1, %k1, %v1 kv_len %len1 {{return_lse}} : ({tq1}, {tk}, {tv}, {tlen}) -> ({to1}, {tl1})
  %o5, %l5 = weft.attention %q5, %k5, %v5 kv_len %len5 {{causal, window = 50 : i64, return_lse}} : ({tq5}, {tk}, {tv}, {tlen}) -> ({to5}, {tl5})
  return %o1, %l1, %o5, %l5 : {to1}, {tl1}, {to5}, {tl5}
}}"""
    o1, l1, o5, l5 = harness.run(_lowered(program, form),
                                 [q1, k1, v1, decode_len, q5, k5, v5, prefill_len])
    kx, vx = k.astype(np.float64), v.astype(np.float64)
    _check(o1, l1, reference.attention(q1.astype(np.float64), kx, vx, kv_len=decode_len),
           "f32", "decode")
    _check(o5, l5, reference.attention(q5.astype(np.float64), kx, vx, kv_len=prefill_len,
                                       causal=True, window=50), "f32", "prefill")
    assert not o5[3].any() and not o5[2, :2].any() and not o1[3].any()


@pytest.mark.parametrize("form", BLOCK_FORMS)
def test_single_block(form):
    # Static Sk = 37 (one partial key block), plain multi-head attention with
    # the default scale, without and with causal (Sq == Sk, lower-triangular).
    b, sq, sk, h, d = 3, 5, 37, 3, 8
    q = RNG.standard_normal((b, sq, h, d)).astype(np.float32)
    qs = RNG.standard_normal((b, sk, h, d)).astype(np.float32)
    k = RNG.standard_normal((b, sk, h, d)).astype(np.float32)
    v = RNG.standard_normal((b, sk, h, d)).astype(np.float32)
    tq, tqs = t((b, sq, h, d), "f32"), t((b, sk, h, d), "f32")
    tl = t((b, h, sk), "f32")
    program = f"""
func.func @main(%q: {tq}, %qs: {tqs}, %k: {tqs}, %v: {tqs}) -> ({tq}, {tqs}, {tl}) {{
  %o1 = weft.attention %q, %k, %v : ({tq}, {tqs}, {tqs}) -> {tq}
  %o2, %l2 = weft.attention %qs, %k, %v {{causal, return_lse}} : ({tqs}, {tqs}, {tqs}) -> ({tqs}, {tl})
  return %o1, %o2, %l2 : {tq}, {tqs}, {tl}
}}"""
    o1, o2, l2 = harness.run(_lowered(program, form), [q, qs, k, v])
    qx, qsx, kx, vx = (a.astype(np.float64) for a in (q, qs, k, v))
    _check(o1, None, reference.attention(qx, kx, vx), "f32", "plain")
    _check(o2, l2, reference.attention(qsx, kx, vx, causal=True), "f32", "causal")


@pytest.mark.parametrize("form", BLOCK_FORMS)
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_query_blocks(dtype, form):
    # Several query blocks per (batch, head): Sq = Sk = 300 (dynamic; the last
    # query and key blocks are partial) causal with a window of 70, so that
    # every query block skips key blocks below the window and above the
    # diagonal; Sq = Sk = 256 (static, whole blocks) causal and plain; GQA
    # Hq = 3 Hkv. Skipped blocks must leave the same result as masking.
    b, hq, hkv, d = 2, 6, 2, 16
    s1, s2 = 300, 256
    q1, q1x = given(RNG.standard_normal((b, s1, hq, d)), dtype)
    k1, k1x = given(RNG.standard_normal((b, s1, hkv, d)), dtype)
    v1, v1x = given(RNG.standard_normal((b, s1, hkv, d)), dtype)
    q2, q2x = given(RNG.standard_normal((b, s2, hq, d)), dtype)
    k2, k2x = given(RNG.standard_normal((b, s2, hkv, d)), dtype)
    v2, v2x = given(RNG.standard_normal((b, s2, hkv, d)), dtype)
    tq1, tk1 = t((None, None, hq, d), dtype), t((None, None, hkv, d), dtype)
    tq2, tk2 = t((b, s2, hq, d), dtype), t((b, s2, hkv, d), dtype)
    tl1, tl2 = t((None, hq, None), "f32"), t((b, hq, s2), "f32")
    program = f"""
func.func @main(%q1: {tq1}, %k1: {tk1}, %v1: {tk1}, %q2: {tq2}, %k2: {tk2}, %v2: {tk2}) -> ({tq1}, {tl1}, {tq2}, {tl2}, {tq2}) {{
  %o1, %l1 = weft.attention %q1, %k1, %v1 {{causal, window = 70 : i64, return_lse}} : ({tq1}, {tk1}, {tk1}) -> ({tq1}, {tl1})
  %o2, %l2 = weft.attention %q2, %k2, %v2 {{causal, return_lse}} : ({tq2}, {tk2}, {tk2}) -> ({tq2}, {tl2})
  %o3 = weft.attention %q2, %k2, %v2 : ({tq2}, {tk2}, {tk2}) -> {tq2}
  return %o1, %l1, %o2, %l2, %o3 : {tq1}, {tl1}, {tq2}, {tl2}, {tq2}
}}"""
    o1, l1, o2, l2, o3 = harness.run(_lowered(program, form), [q1, k1, v1, q2, k2, v2])
    _check(o1, l1, reference.attention(q1x, k1x, v1x, causal=True, window=70), dtype,
           "window 70, Sq = Sk = 300")
    _check(o2, l2, reference.attention(q2x, k2x, v2x, causal=True), dtype,
           "causal, Sq = Sk = 256")
    _check(o3, None, reference.attention(q2x, k2x, v2x), dtype, "plain, Sq = Sk = 256")


@pytest.mark.parametrize("form", BLOCK_FORMS)
def test_decode_long_cache(form):
    # Decode (Sq = 1) against a cache of Sk = 1000 padded keys, kv_len ending
    # inside, at and past key block boundaries (64, 65, 1000, 513), GQA
    # Hq = 4 Hkv, with a causal window of 100 on a second call: the task skips
    # every key block outside [kv_len - 100, kv_len).
    b, sk, hq, hkv, d = 4, 1000, 8, 2, 32
    kv_len = np.array([64, 65, 1000, 513], dtype=np.int64)
    q = RNG.standard_normal((b, 1, hq, d)).astype(np.float32)
    k = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    v = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    kp, vp = k.copy(), v.copy()
    for i in range(b):
        kp[i, kv_len[i]:] = np.nan
        vp[i, kv_len[i]:] = np.inf
    tq, tk = t((None, 1, hq, d), "f32"), t((None, None, hkv, d), "f32")
    tl, tlen = t((None, hq, 1), "f32"), t((None,), "i64")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %len: {tlen}) -> ({tq}, {tl}, {tq}) {{
  %o1, %l1 = weft.attention %q, %k, %v kv_len %len {{return_lse}} : ({tq}, {tk}, {tk}, {tlen}) -> ({tq}, {tl})
  %o2 = weft.attention %q, %k, %v kv_len %len {{causal, window = 100 : i64}} : ({tq}, {tk}, {tk}, {tlen}) -> {tq}
  return %o1, %l1, %o2 : {tq}, {tl}, {tq}
}}"""
    o1, l1, o2 = harness.run(_lowered(program, form), [q, kp, vp, kv_len])
    qx, kx, vx = (a.astype(np.float64) for a in (q, k, v))
    _check(o1, l1, reference.attention(qx, kx, vx, kv_len=kv_len), "f32", "decode")
    _check(o2, None, reference.attention(qx, kx, vx, kv_len=kv_len, causal=True, window=100),
           "f32", "decode, window 100")


@pytest.mark.parametrize("form", BLOCK_FORMS)
@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_decode_heads_as_rows(dtype, form):
    # A static Sq below 4 (decoding, here 3 speculative tokens): one task per
    # (batch, kv head) whose rows are the G = 3 query heads x 3 queries (9
    # rows, padded to 12). Causal with kv_len [150, 70] (Sk = 150, dynamic),
    # an additive mask that differs per batch row and head, lse.
    b, sq, sk, hq, hkv, d = 2, 3, 150, 6, 2, 32
    kv_len = np.array([150, 70], dtype=np.int32)
    q, qx = given(RNG.standard_normal((b, sq, hq, d)), dtype)
    k, kx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    v, vx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    mask_values = RNG.standard_normal((b, hq, sq, sk))
    mask_values[RNG.random(mask_values.shape) < 0.1] = -np.inf
    mask, maskx = given(mask_values, dtype)
    tq, tk = t((b, sq, hq, d), dtype), t((b, None, hkv, d), dtype)
    tm, tl = t((b, hq, sq, None), dtype), t((b, hq, sq), "f32")
    tlen = t((b,), "i32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %m: {tm}, %len: {tlen}) -> ({tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v mask %m kv_len %len {{causal, return_lse}} : ({tq}, {tk}, {tk}, {tm}, {tlen}) -> ({tq}, {tl})
  return %o, %l : {tq}, {tl}
}}"""
    o, l = harness.run(_lowered(program, form), [q, k, v, mask, kv_len])
    _check(o, l, reference.attention(qx, kx, vx, mask=maskx, kv_len=kv_len, causal=True),
           dtype, "decode rows")


@pytest.mark.parametrize("form", BLOCK_FORMS)
@pytest.mark.parametrize("sq", [1, 2])
def test_decode_mqa_single_task(sq, form):
    # MQA decoding of one batch row: the scf.forall over (batch, kv head) has
    # a single iteration, which the canonicalizer folds; every query head of
    # the group must still reach the output and lse.
    b, sk, hq, hkv, d = 1, 90, 4, 1, 16
    q = RNG.standard_normal((b, sq, hq, d)).astype(np.float32)
    k = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    v = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    tq, tk, tl = t((b, sq, hq, d), "f32"), t((b, None, hkv, d), "f32"), t((b, hq, sq), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}) -> ({tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v {{causal, return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  return %o, %l : {tq}, {tl}
}}"""
    o, l = harness.run(_lowered(program, form), [q, k, v])
    f = lambda x: x.astype(np.float64)  # noqa: E731
    _check(o, l, reference.attention(f(q), f(k), f(v), causal=True), "f32", "MQA decode")


def test_static_empty_query():
    # A static Sq = 0 gives empty results (and compiles: no task slices the
    # empty query dim).
    b, sk, hq, hkv, d = 2, 10, 4, 2, 16
    q = np.zeros((b, 0, hq, d), dtype=np.float32)
    k = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    tq, tk, tl = t((b, 0, hq, d), "f32"), t((b, sk, hkv, d), "f32"), t((b, hq, 0), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}) -> ({tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v {{causal, return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  return %o, %l : {tq}, {tl}
}}"""
    o, l = harness.run(program, [q, k, k])
    assert o.shape == (b, 0, hq, d) and l.shape == (b, hq, 0)


@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_blocks_split_keys(dtype):
    # The thread-block form splits the keys across blocks when there are few
    # blocks and merges the splits through their row maxima and sums. Static
    # shapes make it split: decoding 2 batch rows x 2 kv heads over a cache of
    # 1000 keys (15 tiles of 64 keys, 7 splits) with kv_len ending inside a
    # split, at a split boundary and past the first split only, NaN/inf
    # padding, a window that leaves whole splits empty, lse; and a prefill of
    # 5 queries over 300 keys (10 tiles of 32 keys, 5 splits), causal.
    b, sk, hq, hkv, d = 2, 1000, 8, 2, 32
    kv_len = np.array([700, 60], dtype=np.int64)
    q, qx = given(RNG.standard_normal((b, 1, hq, d)), dtype)
    k, kx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    v, vx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    kp, vp = k.copy(), v.copy()
    for i in range(b):
        kp[i, kv_len[i]:] = np.nan
        vp[i, kv_len[i]:] = np.inf
    sp, skp = 5, 300
    q2, q2x = given(RNG.standard_normal((b, sp, hq, d)), dtype)
    k2, k2x = given(RNG.standard_normal((b, skp, hkv, d)), dtype)
    v2, v2x = given(RNG.standard_normal((b, skp, hkv, d)), dtype)
    tq, tk, tl = t((b, 1, hq, d), dtype), t((b, sk, hkv, d), dtype), t((b, hq, 1), "f32")
    tq2, tk2, tl2 = t((b, sp, hq, d), dtype), t((b, skp, hkv, d), dtype), t((b, hq, sp), "f32")
    tlen = t((b,), "i64")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %len: {tlen}, %q2: {tq2}, %k2: {tk2}, %v2: {tk2}) -> ({tq}, {tl}, {tq}, {tq2}, {tl2}) {{
  %o1, %l1 = weft.attention %q, %k, %v kv_len %len {{return_lse}} : ({tq}, {tk}, {tk}, {tlen}) -> ({tq}, {tl})
  %o2 = weft.attention %q, %k, %v kv_len %len {{causal, window = 100 : i64}} : ({tq}, {tk}, {tk}, {tlen}) -> {tq}
  %o3, %l3 = weft.attention %q2, %k2, %v2 {{causal, return_lse}} : ({tq2}, {tk2}, {tk2}) -> ({tq2}, {tl2})
  return %o1, %l1, %o2, %o3, %l3 : {tq}, {tl}, {tq}, {tq2}, {tl2}
}}"""
    lowered = _lowered(program, "blocks")
    # Three main grids and three merging grids.
    assert lowered.count("#gpu.block<z>") == 6, "expected every call to split its keys"
    o1, l1, o2, o3, l3 = harness.run(lowered, [q, kp, vp, kv_len, q2, k2, v2])
    _check(o1, l1, reference.attention(qx, kx, vx, kv_len=kv_len), dtype, "split decode")
    _check(o2, None, reference.attention(qx, kx, vx, kv_len=kv_len, causal=True, window=100),
           dtype, "split decode, window 100")
    _check(o3, l3, reference.attention(q2x, k2x, v2x, causal=True), dtype, "split prefill")


def test_blocks_large_tiles():
    # With more shared memory per block than the static 48 KiB
    # (block-shared-memory-kib=110, the sm_90a default of weft-gpu-pipeline),
    # the tensor-core tiles are 64 rows by 64 keys: 32 queries x a GQA group
    # of 2 per block, f16 Q and K tiles of 64 x (64 + 8), a 64 x 64 score
    # tile. Causal prefill with a partial last key tile (S = 150) and lse.
    dtype = "f16"
    b, s, hq, hkv, d = 2, 150, 4, 2, 64
    q, qx = given(RNG.standard_normal((b, s, hq, d)), dtype)
    k, kx = given(RNG.standard_normal((b, s, hkv, d)), dtype)
    v, vx = given(RNG.standard_normal((b, s, hkv, d)), dtype)
    tq, tk, tl = t((b, s, hq, d), dtype), t((b, s, hkv, d), dtype), t((b, hq, s), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}) -> ({tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v {{causal, return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  return %o, %l : {tq}, {tl}
}}"""
    lowered = harness.optimize(
        program, "--pass-pipeline=builtin.module(func.func(convert-weft-to-linalg"
        "{attention-blocks block-shared-memory-kib=110}))")
    for tile in ("memref<64x72xf16>", "memref<64x64xf32>"):
        assert tile in lowered, (tile, lowered)
    o, l = harness.run(lowered, [q, k, v])
    _check(o, l, reference.attention(qx, kx, vx, causal=True), dtype, "large tiles",
           _p16_tol("blocks", dtype, vx))


@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_blocks_register_tiles(dtype):
    # Blocks of 32 rows and 32 keys with 64 channels: each thread of the
    # thread-block form computes a 2 x 2 tile of scores and a 2 x 4 tile of
    # the accumulator. Causal prefill over a partial last tile (S = 100),
    # with an additive mask and lse.
    b, s, h, d = 2, 100, 2, 64
    q, qx = given(RNG.standard_normal((b, s, h, d)), dtype)
    k, kx = given(RNG.standard_normal((b, s, h, d)), dtype)
    v, vx = given(RNG.standard_normal((b, s, h, d)), dtype)
    mask, maskx = given(RNG.standard_normal((1, h, s, s)), dtype)
    tq, tm, tl = t((b, s, h, d), dtype), t((1, h, s, s), dtype), t((b, h, s), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tq}, %v: {tq}, %m: {tm}) -> ({tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v mask %m {{causal, return_lse}} : ({tq}, {tq}, {tq}, {tm}) -> ({tq}, {tl})
  return %o, %l : {tq}, {tl}
}}"""
    o, l = harness.run(_lowered(program, "blocks"), [q, k, v, mask])
    _check(o, l, reference.attention(qx, kx, vx, mask=maskx, causal=True), dtype,
           "register tiles", _p16_tol("blocks", dtype, vx))


@pytest.mark.parametrize("trend", ["rising", "falling"])
def test_blocks_reference_maximum(trend):
    # With tensor cores a row's reference maximum (the exponent's offset)
    # only moves when a key tile's maximum exceeds it by more than ln 256,
    # and only then is the accumulator rescaled. Scaled scores that rise
    # along the keys (q . k_j / 8 = 0.05 j plus noise, 3.2 per 64-key tile)
    # move it every second tile or so, with probabilities up to 256 in
    # between; falling scores never move it after the first visible tile.
    # Causal and not, f16, 64 x
    # 64 tiles (block-shared-memory-kib=110), S = 300 (a partial last tile),
    # lse checked as well.
    dtype = "f16"
    b, s, h, d = 1, 300, 2, 64
    slope = np.arange(s)[None, :, None, None] / 8.0 * (1.0 if trend == "rising" else -1.0)
    q, qx = given(np.full((b, s, h, d), 0.5) + 0.1 * RNG.standard_normal((b, s, h, d)), dtype)
    k, kx = given(slope * 0.1 + 0.1 * RNG.standard_normal((b, s, h, d)), dtype)
    v, vx = given(RNG.standard_normal((b, s, h, d)), dtype)
    tq, tl = t((b, s, h, d), dtype), t((b, h, s), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tq}, %v: {tq}) -> ({tq}, {tl}, {tq}, {tl}) {{
  %o, %l = weft.attention %q, %k, %v {{return_lse}} : ({tq}, {tq}, {tq}) -> ({tq}, {tl})
  %oc, %lc = weft.attention %q, %k, %v {{causal, return_lse}} : ({tq}, {tq}, {tq}) -> ({tq}, {tl})
  return %o, %l, %oc, %lc : {tq}, {tl}, {tq}, {tl}
}}"""
    lowered = harness.optimize(
        program, "--pass-pipeline=builtin.module(func.func(convert-weft-to-linalg"
        "{attention-blocks block-shared-memory-kib=110}))")
    assert "memref<64x72xf16>" in lowered, lowered
    o, l, oc, lc = harness.run(lowered, [q, k, v])
    extra = _p16_tol("blocks", dtype, vx)
    _check(o, l, reference.attention(qx, kx, vx), dtype, f"{trend} scores", extra)
    _check(oc, lc, reference.attention(qx, kx, vx, causal=True), dtype,
           f"{trend} scores, causal", extra)


@pytest.mark.parametrize("dtype,d", [("f32", 6), ("f16", 12), ("bf16", 16), ("f32", 20)])
def test_blocks_key_pieces(dtype, d):
    # Without tensor cores the thread-block form reads each K row 16 bytes
    # at a time (8 f16/bf16 or 4 f32 values) where the head dim is a
    # multiple of that, one value at a time otherwise: f32 with D = 6 and
    # f16 with D = 12 take the second way, bf16 with D = 16 and f32 with
    # D = 20 the first. Decoding-like shapes (Sq = 2, GQA) over 150 keys
    # with kv_len, and a causal prefill with an additive mask.
    b, sq, sk, hq, hkv = 2, 2, 150, 4, 2
    q, qx = given(RNG.standard_normal((b, sq, hq, d)), dtype)
    k, kx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    v, vx = given(RNG.standard_normal((b, sk, hkv, d)), dtype)
    q2, q2x = given(RNG.standard_normal((b, 40, hq, d)), dtype)
    k2, k2x = given(RNG.standard_normal((b, 40, hkv, d)), dtype)
    mask, maskx = given(RNG.standard_normal((1, hq, 40, 40)), dtype)
    kv_len = np.array([150, 77], dtype=np.int32)
    tq, tk = t((b, sq, hq, d), dtype), t((b, sk, hkv, d), dtype)
    tq2, tk2, tm = t((b, 40, hq, d), dtype), t((b, 40, hkv, d), dtype), t((1, hq, 40, 40), dtype)
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %len: tensor<2xi32>, %q2: {tq2}, %k2: {tk2}, %m: {tm}) -> ({tq}, {tq2}) {{
  %o = weft.attention %q, %k, %v kv_len %len : ({tq}, {tk}, {tk}, tensor<2xi32>) -> {tq}
  %o2 = weft.attention %q2, %k2, %k2 mask %m {{causal}} : ({tq2}, {tk2}, {tk2}, {tm}) -> {tq2}
  return %o, %o2 : {tq}, {tq2}
}}"""
    o, o2 = harness.run(_lowered(program, "blocks"), [q, k, v, kv_len, q2, k2, mask])
    _check(o, None, reference.attention(qx, kx, vx, kv_len=kv_len), dtype, "kv_len")
    _check(o2, None, reference.attention(q2x, k2x, k2x, mask=maskx, causal=True), dtype,
           "masked prefill", _p16_tol("blocks", dtype, k2x))
