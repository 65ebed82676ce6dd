# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft-tile: the tiled ops compute what the untiled ones compute, including
partial tiles at the ends of dynamic dims."""

import numpy as np
import pytest

import harness
import reference as ref
from harness import mlir_type as t
from weft import params as weft_params

RNG = np.random.default_rng()


@pytest.mark.parametrize("tile_sizes", ["0,3,16", "1,4,8", "2,0,0"])
def test_tiled_linear_and_norm(tile_sizes):
    batch, seq, k, n = 2, 7, 64, 48  # seq 7: partial tiles of 3 and 4
    x = RNG.standard_normal((batch, seq, k)).astype(np.float32)
    g = (1 + 0.1 * RNG.standard_normal(k)).astype(np.float32)
    w = (RNG.standard_normal((n, k)) / 8).astype(np.float32)
    b = (0.1 * RNG.standard_normal(n)).astype(np.float32)
    r = RNG.standard_normal((batch, seq, n)).astype(np.float32)
    tx, tg, tw, tb = t((None, None, k), "f32"), t((k,), "f32"), t((n, k), "f32"), t((n,), "f32")
    ty = t((None, None, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %g: {tg}, %w: {tw}, %b: {tb}, %r: {ty}) -> {ty} {{
  %h = weft.rms_norm %x, %g {{eps = 1.0e-5 : f64}} : ({tx}, {tg}) -> {tx}
  %y = weft.linear %h, %w bias %b residual %r {{activation = #weft.activation<silu>}} : ({tx}, {tw}, {tb}, {ty}) -> {ty}
  return %y : {ty}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=tile-sizes={tile_sizes}")
    assert "scf.for" in tiled, tiled
    (out,) = harness.run(tiled, [x, g, w, b, r])
    x64 = x.astype(np.float64)
    h = ref.rms_norm(x64, g.astype(np.float64))
    expected = ref.linear(h, w.astype(np.float64), b.astype(np.float64), "silu",
                          r.astype(np.float64))
    # A norm over 64 values and f32 dot products of length 64.
    harness.assert_close(out, expected, rtol=1e-5, atol=1e-4, what="tiled")


# Tiles of N slice the packed int4 parameters (weft-pack-int4-buffers reads
# them through the folded views).
@pytest.mark.parametrize("bits,tile_sizes", [(4, "2,0"), (4, "2,8"), (4, "0,16"), (8, "2,8")])
def test_tiled_qlinear(bits, tile_sizes):
    m, k, n, group = 5, 128, 32, 32
    x = RNG.standard_normal((m, k)).astype(np.float32)
    q = RNG.integers(0, 2**bits, size=(n, k))
    zeros = RNG.integers(0, 2**bits, size=(n, k // group))
    scales = RNG.uniform(0.005, 0.02, size=(n, k // group)).astype(np.float32)
    tx, ty = t((None, k), "f32"), t((None, n), "f32")
    ti = f"i{bits}"
    tq, ts, tz = t((n, k), ti), t((n, k // group), "f32"), t((n, k // group), ti)
    program = f"""
func.func @main(%x: {tx}) -> {ty} {{
  %q = weft.param "q" : {tq}
  %s = weft.param "s" : {ts}
  %z = weft.param "z" : {tz}
  %y = weft.qlinear %x, %q, %s zeros %z {{group_size = {group}}} : ({tx}, {tq}, {ts}, {tz}) -> {ty}
  return %y : {ty}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=tile-sizes={tile_sizes}")
    loops = sum(size != "0" for size in tile_sizes.split(","))
    assert tiled.count("scf.for") == loops, tiled
    pack = weft_params.pack_int4 if bits == 4 else (lambda v: v.astype(np.uint8))
    params = {"q": pack(q), "s": scales, "z": pack(zeros)}
    (out,) = harness.run(tiled, [x], params)
    expected = ref.qlinear(x.astype(np.float64), q, scales.astype(np.float64), group,
                           zeros=zeros)
    # f32 dot products of length 128 with weights ~0.1.
    harness.assert_close(out, expected, rtol=1e-5, atol=1e-4, what="tiled qlinear")


@pytest.mark.parametrize("tile_sizes", ["1,3", "0,4", "2,0"])
def test_tiled_layer_norm(tile_sizes):
    batch, seq, d = 2, 7, 64  # seq 7: partial tiles of 3 and 4
    x = (RNG.standard_normal((batch, seq, d)) + 0.5).astype(np.float32)
    w = (1 + 0.1 * RNG.standard_normal(d)).astype(np.float32)
    b = (0.1 * RNG.standard_normal(d)).astype(np.float32)
    tx, tw = t((None, None, d), "f32"), t((d,), "f32")
    program = f"""
func.func @main(%x: {tx}, %w: {tw}, %b: {tw}) -> ({tx}, {tx}) {{
  %y = weft.layer_norm %x weight %w bias %b {{eps = 1.0e-5 : f64}} : ({tx}, {tw}, {tw}) -> {tx}
  %z = weft.layer_norm %x : ({tx}) -> {tx}
  return %y, %z : {tx}, {tx}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=norm-tile-sizes={tile_sizes}")
    assert "scf.for" in tiled, tiled
    y, z = harness.run(tiled, [x, w, b])
    x64 = x.astype(np.float64)
    # Mean and variance over 64 values in f32: a few ulp of values <~ 4.
    harness.assert_close(y, ref.layer_norm(x64, w.astype(np.float64), b.astype(np.float64)),
                         rtol=1e-5, atol=1e-5, what="tiled layer_norm")
    harness.assert_close(z, ref.layer_norm(x64), rtol=1e-5, atol=1e-5,
                         what="tiled layer_norm without weight and bias")


# ssm_scan: Mamba-2 with H = 8 heads in G = 2 groups (4 heads per group),
# P = 3, N = 5, L = 11. Head tiles of 4 cover one group, of 2 (and 1) lie
# inside one; sequence chunks of 4 and 3 leave partial last chunks.
@pytest.mark.parametrize("tile_sizes", ["1,4,0", "2,2,4", "1,1,3", "0,0,5"])
@pytest.mark.parametrize("with_state", [True, False])
def test_tiled_ssm_scan(tile_sizes, with_state):
    b, length, h, p, g, n = 2, 11, 8, 3, 2, 5
    x = RNG.standard_normal((b, length, h, p)).astype(np.float32)
    dt = RNG.uniform(-2.5, 1.0, (b, length, h)).astype(np.float32)
    a = (-np.exp(0.5 * RNG.standard_normal(h))).astype(np.float32)
    bm = RNG.standard_normal((b, length, g, n)).astype(np.float32)
    cm = RNG.standard_normal((b, length, g, n)).astype(np.float32)
    d = RNG.standard_normal(h).astype(np.float32)
    z = RNG.standard_normal((b, length, h, p)).astype(np.float32)
    db = RNG.uniform(-0.5, 0.5, h).astype(np.float32)
    s0 = RNG.standard_normal((b, h, p, n)).astype(np.float32)
    tx, tdt = t((None, None, h, p), "f32"), t((None, None, h), "f32")
    tbc, th, ts = t((None, None, g, n), "f32"), t((h,), "f32"), t((None, h, p, n), "f32")
    state = "initial_state %s0" if with_state else ""
    state_type = f", {ts}" if with_state else ""
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {th}, %B: {tbc}, %C: {tbc}, %D: {th}, %z: {tx}, %db: {th}, %s0: {ts}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db {state} {{dt_softplus}} : ({tx}, {tdt}, {th}, {tbc}, {tbc}, {th}, {tx}, {th}{state_type}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=ssm-scan-tile-sizes={tile_sizes}")
    assert "scf.for" in tiled, tiled
    y, s = harness.run(tiled, [x, dt, a, bm, cm, d, z, db, s0])
    f = lambda v: v.astype(np.float64)  # noqa: E731
    ry, rs = ref.ssm_scan(f(x), f(dt), f(a), f(bm), f(cm), d=f(d), z=f(z), dt_bias=f(db),
                          initial_state=f(s0) if with_state else None, dt_softplus=True)
    # The f32 recurrence over 11 steps (states <~ 5, readouts of N = 5
    # products), as in test_sequence.py: chunks only move where the state is
    # handed over, not the order of the arithmetic.
    harness.assert_close(y, ry, rtol=2e-5, atol=1e-5, what="tiled y")
    harness.assert_close(s, rs, rtol=2e-5, atol=1e-5, what="tiled final_state")


def test_tiled_ssm_scan_mamba1():
    # Mamba-1: A[H, N], P = 1, G = 1 (every head tile lies inside the group).
    b, length, h, n = 2, 13, 6, 5
    x = RNG.standard_normal((b, length, h, 1)).astype(np.float32)
    dt = RNG.uniform(-2.5, 1.0, (b, length, h)).astype(np.float32)
    a = (-np.exp(0.5 * RNG.standard_normal((h, n)))).astype(np.float32)
    bm = RNG.standard_normal((b, length, 1, n)).astype(np.float32)
    cm = RNG.standard_normal((b, length, 1, n)).astype(np.float32)
    d = RNG.standard_normal(h).astype(np.float32)
    tx, tdt, ta = t((None, None, h, 1), "f32"), t((None, None, h), "f32"), t((h, n), "f32")
    tbc, th, ts = t((None, None, 1, n), "f32"), t((h,), "f32"), t((None, h, 1, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {ta}, %B: {tbc}, %C: {tbc}, %D: {th}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D {{dt_softplus}} : ({tx}, {tdt}, {ta}, {tbc}, {tbc}, {th}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
    tiled = harness.optimize(program, "-weft-tile=ssm-scan-tile-sizes=1,2,4")
    y, s = harness.run(tiled, [x, dt, a, bm, cm, d])
    f = lambda v: v.astype(np.float64)  # noqa: E731
    ry, rs = ref.ssm_scan(f(x), f(dt), f(a), f(bm), f(cm), d=f(d), dt_softplus=True)
    harness.assert_close(y, ry, rtol=2e-5, atol=1e-5, what="tiled Mamba-1 y")
    harness.assert_close(s, rs, rtol=2e-5, atol=1e-5, what="tiled Mamba-1 final_state")


# attention: f32 output and lse as in test_attention.py (dot products of 16
# terms, online softmax; key tiles add one merge per block: a few ulp more).
ATTN_TOL = (2e-5, 2e-5)


def _check_attention(out, lse, expected, what):
    harness.assert_close(out, expected[0], *ATTN_TOL, what=f"{what} output")
    np.testing.assert_array_equal(np.isneginf(lse), np.isneginf(expected[1]),
                                  err_msg=f"{what} lse -inf pattern")
    finite = np.isfinite(expected[1])
    harness.assert_close(lse[finite], expected[1][finite], *ATTN_TOL, what=f"{what} lse")


# GQA with Hq = 8, Hkv = 2 (groups of 4): head tiles of 4 (one kv head), 2
# (inside a group) and 8 (both kv heads); query tiles of 3 and 16 with
# bottom-right causal alignment, sliding windows and kv_len; Sq = 7 < Sk =
# 150 and Sq = Sk (queries with no visible key give zeros and -inf).
@pytest.mark.parametrize("tile_sizes", ["1,4,3", "2,2,16", "0,8,5", "1,0,0"])
def test_tiled_attention(tile_sizes):
    b, sq, sk, hq, hkv, d = 2, 7, 150, 8, 2, 16
    q1 = (1.5 * RNG.standard_normal((b, sq, hq, d))).astype(np.float32)
    q2 = (1.5 * RNG.standard_normal((b, sk, hq, d))).astype(np.float32)
    k = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    v = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    kv_len = np.array([150, 5], dtype=np.int64)  # row 1: Sq > L, early rows see nothing
    mask = RNG.standard_normal((1, hq, sq, sk)).astype(np.float32)
    tq, tk = t((None, None, hq, d), "f32"), t((None, None, hkv, d), "f32")
    tl, tn, tm = t((None, hq, None), "f32"), t((None,), "i64"), t((1, hq, None, None), "f32")
    program = f"""
func.func @main(%q1: {tq}, %q2: {tq}, %k: {tk}, %v: {tk}, %len: {tn}, %m: {tm}) -> ({tq}, {tl}, {tq}, {tl}, {tq}, {tl}, {tq}, {tl}) {{
  %o1, %l1 = weft.attention %q1, %k, %v {{causal, return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  %o2, %l2 = weft.attention %q2, %k, %v {{causal, window = 20, return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  %o3, %l3 = weft.attention %q1, %k, %v kv_len %len {{causal, window = 4, return_lse}} : ({tq}, {tk}, {tk}, {tn}) -> ({tq}, {tl})
  %o4, %l4 = weft.attention %q1, %k, %v mask %m kv_len %len {{return_lse, softcap = 5.0 : f32}} : ({tq}, {tk}, {tk}, {tm}, {tn}) -> ({tq}, {tl})
  return %o1, %l1, %o2, %l2, %o3, %l3, %o4, %l4 : {tq}, {tl}, {tq}, {tl}, {tq}, {tl}, {tq}, {tl}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=attention-tile-sizes={tile_sizes}")
    assert "scf.for" in tiled, tiled
    outs = harness.run(tiled, [q1, q2, k, v, kv_len, mask])
    f = lambda v: v.astype(np.float64)  # noqa: E731
    expected = [
        ref.attention(f(q1), f(k), f(v), causal=True),
        ref.attention(f(q2), f(k), f(v), causal=True, window=20),
        ref.attention(f(q1), f(k), f(v), kv_len=kv_len, causal=True, window=4),
        ref.attention(f(q1), f(k), f(v), mask=f(mask), kv_len=kv_len, softcap=5.0),
    ]
    for i, what in enumerate(["causal", "causal window", "kv_len window", "mask softcap"]):
        _check_attention(outs[2 * i], outs[2 * i + 1], expected[i], what)


# Key tiles: blocks of 32 and 64 keys of Sk = 150 (a partial last block),
# merged through their log-sum-exp; kv_len 0 gives zeros and -inf.
@pytest.mark.parametrize("tile_sizes", ["0,0,0,32", "1,4,0,64"])
def test_tiled_attention_keys(tile_sizes):
    b, sq, sk, hq, hkv, d = 3, 5, 150, 8, 2, 16
    q = (1.5 * RNG.standard_normal((b, sq, hq, d))).astype(np.float32)
    q1 = (1.5 * RNG.standard_normal((b, 1, hq, d))).astype(np.float32)
    k = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    v = RNG.standard_normal((b, sk, hkv, d)).astype(np.float32)
    kv_len = np.array([150, 40, 0], dtype=np.int32)
    tq, tq1, tk = t((b, sq, hq, d), "f32"), t((b, 1, hq, d), "f32"), t((b, None, hkv, d), "f32")
    tl, tl1, tn = t((b, hq, sq), "f32"), t((b, hq, 1), "f32"), t((b,), "i32")
    program = f"""
func.func @main(%q: {tq}, %q1: {tq1}, %k: {tk}, %v: {tk}, %len: {tn}) -> ({tq}, {tl}, {tq}, {tl}, {tq1}, {tl1}) {{
  %o1, %l1 = weft.attention %q, %k, %v {{return_lse}} : ({tq}, {tk}, {tk}) -> ({tq}, {tl})
  %o2, %l2 = weft.attention %q, %k, %v kv_len %len {{return_lse, scale = 0.5 : f32}} : ({tq}, {tk}, {tk}, {tn}) -> ({tq}, {tl})
  %o3, %l3 = weft.attention %q1, %k, %v kv_len %len {{causal, return_lse}} : ({tq1}, {tk}, {tk}, {tn}) -> ({tq1}, {tl1})
  return %o1, %l1, %o2, %l2, %o3, %l3 : {tq}, {tl}, {tq}, {tl}, {tq1}, {tl1}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=attention-tile-sizes={tile_sizes}")
    assert tiled.count("weft.attention") == 3 and "math.log1p" in tiled, tiled
    outs = harness.run(tiled, [q, q1, k, v, kv_len])
    f = lambda v: v.astype(np.float64)  # noqa: E731
    expected = [
        ref.attention(f(q), f(k), f(v)),
        ref.attention(f(q), f(k), f(v), kv_len=kv_len, scale=0.5),
        ref.attention(f(q1), f(k), f(v), kv_len=kv_len, causal=True),
    ]
    for i, what in enumerate(["whole", "kv_len", "causal decode"]):
        _check_attention(outs[2 * i], outs[2 * i + 1], expected[i], what)


# K tiles of linear layers: bias in the first tile, the rest through the
# residual operand; an activation and its residual after the loop; LoRA A
# sliced along K.
@pytest.mark.parametrize("tile_sizes", ["0,0,16", "2,16,32"])
def test_tiled_linear_k(tile_sizes):
    m, k, n, r = 5, 64, 48, 4
    x = RNG.standard_normal((m, k)).astype(np.float32)
    w = (RNG.standard_normal((n, k)) / 8).astype(np.float32)
    b = (0.1 * RNG.standard_normal(n)).astype(np.float32)
    res = RNG.standard_normal((m, n)).astype(np.float32)
    la = (RNG.standard_normal((r, k)) / 8).astype(np.float32)
    lb = (RNG.standard_normal((n, r)) / 4).astype(np.float32)
    tx, tw, tb, ty = t((None, k), "f32"), t((n, k), "f32"), t((n,), "f32"), t((None, n), "f32")
    ta, tlb = t((r, k), "f32"), t((n, r), "f32")
    program = f"""
func.func @main(%x: {tx}, %w: {tw}, %b: {tb}, %r: {ty}, %a: {ta}, %lb: {tlb}) -> ({ty}, {ty}) {{
  %y1 = weft.linear %x, %w bias %b residual %r {{activation = #weft.activation<gelu_tanh>}} : ({tx}, {tw}, {tb}, {ty}) -> {ty}
  %y2 = weft.linear %x, %w bias %b residual %r lora %a, %lb {{lora_scale = 2.0 : f32}} : ({tx}, {tw}, {tb}, {ty}, {ta}, {tlb}) -> {ty}
  return %y1, %y2 : {ty}, {ty}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=linear-tile-sizes={tile_sizes}")
    assert "scf.for" in tiled, tiled
    y1, y2 = harness.run(tiled, [x, w, b, res, la, lb])
    f = lambda v: v.astype(np.float64)  # noqa: E731
    e1 = ref.linear(f(x), f(w), f(b), "gelu_tanh", f(res))
    e2 = ref.linear(f(x), f(w), f(b), "none", f(res)) + ref.lora(f(x), f(la), f(lb), 2.0)
    # f32 dot products of length 64 (weights ~0.1), summed in tiles.
    harness.assert_close(y1, e1, rtol=1e-5, atol=1e-4, what="K-tiled linear with gelu_tanh")
    harness.assert_close(y2, e2, rtol=1e-5, atol=1e-4, what="K-tiled linear with LoRA")


@pytest.mark.parametrize("bits,group", [(8, 32), (8, -1), (4, 32), (4, -1)])
def test_tiled_qlinear_k(bits, group):
    # int8 and packed int4 parameters, grouped and per channel.
    m, k, n = 5, 128, 32
    groups = 1 if group == -1 else k // group
    x = RNG.standard_normal((m, k)).astype(np.float32)
    q = RNG.integers(0, 2**bits, size=(n, k))
    zeros = RNG.integers(0, 2**bits, size=(n, groups))
    scales = RNG.uniform(0.005, 0.02, size=(n, groups)).astype(np.float32)
    tx, ty = t((None, k), "f32"), t((None, n), "f32")
    ti = f"i{bits}"
    tq, ts, tz = t((n, k), ti), t((n, groups), "f32"), t((n, groups), ti)
    program = f"""
func.func @main(%x: {tx}) -> {ty} {{
  %q = weft.param "q" : {tq}
  %s = weft.param "s" : {ts}
  %z = weft.param "z" : {tz}
  %y = weft.qlinear %x, %q, %s zeros %z {{group_size = {group}, activation = #weft.activation<silu>}} : ({tx}, {tq}, {ts}, {tz}) -> {ty}
  return %y : {ty}
}}"""
    tiled = harness.optimize(program, "-weft-tile=linear-tile-sizes=0,0,64")
    assert "scf.for" in tiled, tiled
    pack = weft_params.pack_int4 if bits == 4 else (lambda v: v.astype(np.uint8))
    params = {"q": pack(q), "s": scales, "z": pack(zeros)}
    (out,) = harness.run(tiled, [x], params)
    expected = ref.qlinear(x.astype(np.float64), q, scales.astype(np.float64), group,
                           zeros=zeros, activation="silu")
    # f32 dot products of length 128 with weights ~1.
    harness.assert_close(out, expected, rtol=1e-5, atol=1e-4, what="K-tiled qlinear")
