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


def softmax_attention(q, k, v, scale, mask=None):
    """Plain float64 softmax(scale * q k^T + mask) v on [B, S, H, D] inputs,
    kv heads repeated for GQA (head h reads kv head h / (Hq / Hkv))."""
    group = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, group, axis=2), np.repeat(v, group, axis=2)
    s = scale * np.einsum("bihd,bjhd->bhij", q, k)
    if mask is not None:
        s = s + mask
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("bhij,bjhd->bihd", p, v)


def repeat_kv(name, src, shape, head_axis, copies):
    """Lines expanding `src` (rank 4) `copies` times along `head_axis` the
    way repeat_kv does; the result is %{name}r."""
    unit = list(shape)
    unit.insert(head_axis + 1, 1)
    cat = list(shape)
    cat.insert(head_axis + 1, copies)
    rep = list(shape)
    rep[head_axis] *= copies
    tu, tc, tr, ts = (t(s, "f32") for s in (unit, cat, rep, shape))
    pieces = ", ".join([f"%{name}5"] * copies)
    return f"""  %{name}5 = weft.reshape {src} : {ts} -> {tu}
  %{name}c = weft.concat {pieces} {{axis = {head_axis + 1}}} : ({", ".join([tu] * copies)}) -> {tc}
  %{name}r = weft.reshape %{name}c : {tc} -> {tr}
""", rep


def test_fuse_attention_gqa_causal():
    # [B, S, H, D] inputs, transposes to [B, H, S, D], repeat_kv after the
    # transpose, div by sqrt(D), a constant causal -inf mask: one causal
    # weft.attention with 2 kv heads.
    b, s, hq, hkv, d = 2, 6, 4, 2, 16
    q = RNG.standard_normal((b, s, hq, d)).astype(np.float32)
    k = RNG.standard_normal((b, s, hkv, d)).astype(np.float32)
    v = RNG.standard_normal((b, s, hkv, d)).astype(np.float32)
    mask = np.where(np.tril(np.ones((s, s), dtype=bool)), 0.0, -np.inf)
    rows = ", ".join("[" + ", ".join("0xFF800000" if m else "0.0" for m in row < 0) + "]"
                     for row in mask)
    tq, tk = t((b, s, hq, d), "f32"), t((b, s, hkv, d), "f32")
    tqt, tkt = t((b, hq, s, d), "f32"), t((b, hkv, s, d), "f32")
    ts, tm = t((b, hq, s, s), "f32"), t((s, s), "f32")
    krep, _ = repeat_kv("k", "%kt", (b, hkv, s, d), 1, hq // hkv)
    vrep, _ = repeat_kv("v", "%vt", (b, hkv, s, d), 1, hq // hkv)
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}) -> {tq} {{
  %c = arith.constant dense<4.0> : tensor<f32>
  %mask = arith.constant dense<[{rows}]> : {tm}
  %qt = weft.transpose %q {{permutation = array<i64: 0, 2, 1, 3>}} : ({tq}) -> {tqt}
  %kt = weft.transpose %k {{permutation = array<i64: 0, 2, 1, 3>}} : ({tk}) -> {tkt}
  %vt = weft.transpose %v {{permutation = array<i64: 0, 2, 1, 3>}} : ({tk}) -> {tkt}
{krep}{vrep}  %s = weft.matmul %qt, %kr {{transpose_rhs}} : ({tqt}, {tqt}) -> {ts}
  %d = weft.div %s, %c : ({ts}, tensor<f32>) -> {ts}
  %a = weft.add %d, %mask : ({ts}, {tm}) -> {ts}
  %p = weft.softmax %a {{axis = 3}} : {ts}
  %o = weft.matmul %p, %vr : ({ts}, {tqt}) -> {tqt}
  %r = weft.transpose %o {{permutation = array<i64: 0, 2, 1, 3>}} : ({tqt}) -> {tq}
  return %r : {tq}
}}"""
    fused = harness.optimize(program, "-weft-fuse-attention")
    assert "weft.softmax" not in fused and "weft.concat" not in fused, fused
    assert "causal" in fused and f"tensor<{b}x{s}x{hkv}x{d}xf32>" in fused, fused
    (unfused_out,) = harness.run(program, [q, k, v])
    (fused_out,) = harness.run(fused, [q, k, v])
    q64, k64, v64 = (a.astype(np.float64) for a in (q, k, v))
    expected = softmax_attention(q64, k64, v64, 0.25, mask)
    # Scores are f32 dot products of length 16 with |q.k| / 4 of a few units;
    # softmax and P V in f32 keep the output within ~1e-6 relative of it.
    harness.assert_close(unfused_out, expected, rtol=1e-5, atol=1e-5, what="unfused")
    harness.assert_close(fused_out, expected, rtol=1e-5, atol=1e-5, what="fused")


def test_fuse_attention_mask_operand():
    # Dynamic B and S, GQA repeat in [B, S, H, D] layout before the
    # transpose, a scalar mul scale, and an input mask [B, 1, S, S].
    b, s, hq, hkv, d = 2, 5, 6, 3, 8
    scale = 0.3
    q = RNG.standard_normal((b, s, hq, d)).astype(np.float32)
    k = RNG.standard_normal((b, s, hkv, d)).astype(np.float32)
    v = RNG.standard_normal((b, s, hkv, d)).astype(np.float32)
    mask = RNG.standard_normal((b, 1, s, s)).astype(np.float32)
    tq, tk = t((None, None, hq, d), "f32"), t((None, None, hkv, d), "f32")
    tqt = t((None, hq, None, d), "f32")
    ts, tm = t((None, hq, None, None), "f32"), t((None, 1, None, None), "f32")
    krep, _ = repeat_kv("k", "%k", (None, None, hkv, d), 2, hq // hkv)
    vrep, _ = repeat_kv("v", "%v", (None, None, hkv, d), 2, hq // hkv)
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}, %mask: {tm}) -> {tq} {{
  %c = arith.constant dense<{scale}> : tensor<1xf32>
{krep}{vrep}  %qt = weft.transpose %q {{permutation = array<i64: 0, 2, 1, 3>}} : ({tq}) -> {tqt}
  %kt = weft.transpose %kr {{permutation = array<i64: 0, 2, 1, 3>}} : ({tq}) -> {tqt}
  %vt = weft.transpose %vr {{permutation = array<i64: 0, 2, 1, 3>}} : ({tq}) -> {tqt}
  %s = weft.matmul %qt, %kt {{transpose_rhs}} : ({tqt}, {tqt}) -> {ts}
  %m = weft.mul %c, %s : (tensor<1xf32>, {ts}) -> {ts}
  %a = weft.add %m, %mask : ({ts}, {tm}) -> {ts}
  %p = weft.softmax %a {{axis = 3}} : {ts}
  %o = weft.matmul %p, %vt : ({ts}, {tqt}) -> {tqt}
  %r = weft.transpose %o {{permutation = array<i64: 0, 2, 1, 3>}} : ({tqt}) -> {tq}
  return %r : {tq}
}}"""
    fused = harness.optimize(program, "-weft-fuse-attention")
    assert "weft.softmax" not in fused and "weft.transpose" not in fused, fused
    assert "weft.attention %arg0, %arg1, %arg2 mask %arg3" in fused, fused
    (unfused_out,) = harness.run(program, [q, k, v, mask])
    (fused_out,) = harness.run(fused, [q, k, v, mask])
    q64, k64, v64 = (a.astype(np.float64) for a in (q, k, v))
    expected = softmax_attention(q64, k64, v64, np.float64(np.float32(scale)),
                                 mask.astype(np.float64))
    # As above: f32 scores of length 8, f32 softmax and P V.
    harness.assert_close(unfused_out, expected, rtol=1e-5, atol=1e-5, what="unfused")
    harness.assert_close(fused_out, expected, rtol=1e-5, atol=1e-5, what="fused")


@pytest.mark.parametrize("activation", ["silu", "gelu"])
def test_fuse_gated_linear(activation):
    m, k, n = 7, 40, 24
    x = RNG.standard_normal((2, m, k)).astype(np.float32)
    wg = (RNG.standard_normal((n, k)) * k**-0.5).astype(np.float32)
    wu = (RNG.standard_normal((n, k)) * k**-0.5).astype(np.float32)
    tx, tw, ty = t((None, None, k), "f32"), t((n, k), "f32"), t((None, None, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %wg: {tw}, %wu: {tw}) -> {ty} {{
  %g = weft.linear %x, %wg : ({tx}, {tw}) -> {ty}
  %a = weft.{activation} %g : {ty}
  %u = weft.linear %x, %wu : ({tx}, {tw}) -> {ty}
  %y = weft.mul %u, %a : ({ty}, {ty}) -> {ty}
  return %y : {ty}
}}"""
    fused = harness.optimize(program, "-weft-fuse-gated-linear")
    assert "weft.gated_linear" in fused and "weft.mul" not in fused, fused
    (unfused_out,) = harness.run(program, [x, wg, wu])
    (fused_out,) = harness.run(fused, [x, wg, wu])
    x64 = x.astype(np.float64)
    gate = reference.linear(x64, wg.astype(np.float64), activation=activation)
    expected = gate * reference.linear(x64, wu.astype(np.float64))
    # f32 dot products of length 40 with O(1) terms, one product.
    harness.assert_close(unfused_out, expected, rtol=1e-5, atol=1e-5, what="unfused")
    harness.assert_close(fused_out, expected, rtol=1e-5, atol=1e-5, what="fused")


def test_fuse_lora():
    # 0: linear + single-adapter lora (scale 0.5), dynamic x, lora first.
    # 1: linear with bias + multi-adapter lora, one id per row (incl. -1).
    # 2: int8 qlinear + multi-adapter lora, one id per token (incl. -1).
    k, r, n, ads = 48, 4, 20, 3
    x = RNG.standard_normal((3, 5, k)).astype(np.float32)
    w = (RNG.standard_normal((n, k)) * k**-0.5).astype(np.float32)
    bias = RNG.standard_normal(n).astype(np.float32)
    a = (RNG.standard_normal((r, k)) * k**-0.5).astype(np.float32)
    bb = (RNG.standard_normal((n, r)) * r**-0.5).astype(np.float32)
    am = (RNG.standard_normal((ads, r, k)) * k**-0.5).astype(np.float32)
    bm = (RNG.standard_normal((ads, n, r)) * r**-0.5).astype(np.float32)
    ids_row = np.array([1, -1, 2], dtype=np.int32)
    ids_tok = RNG.integers(-1, ads, size=(3, 5)).astype(np.int64)
    ids_tok[0, :4] = [-1, 0, 1, 2]
    q = RNG.integers(-128, 128, size=(n, k))
    s = (RNG.uniform(0.5, 1.5, size=(n, 1)) / (128 * np.sqrt(k / 3))).astype(np.float32)
    tx, tw, tb, ty = t((None, None, k), "f32"), t((n, k), "f32"), t((n,), "f32"), t((None, None, n), "f32")
    ta, tbb = t((r, k), "f32"), t((n, r), "f32")
    tam, tbm = t((ads, r, k), "f32"), t((ads, n, r), "f32")
    tir, tit = t((None,), "i32"), t((None, None), "i64")
    tq, ts = t((n, k), "i8"), t((n, 1), "f32")
    program = f"""
func.func @main(%x: {tx}, %w: {tw}, %bias: {tb}, %a: {ta}, %b: {tbb}, %am: {tam}, %bm: {tbm}, %ir: {tir}, %it: {tit}) -> ({ty}, {ty}, {ty}) {{
  %q = weft.param "q" : {tq}
  %s = weft.param "s" : {ts}
  %y0 = weft.linear %x, %w : ({tx}, {tw}) -> {ty}
  %d0 = weft.lora %x, %a, %b {{scale = 0.5 : f32}} : ({tx}, {ta}, {tbb}) -> {ty}
  %r0 = weft.add %d0, %y0 : ({ty}, {ty}) -> {ty}
  %y1 = weft.linear %x, %w bias %bias : ({tx}, {tw}, {tb}) -> {ty}
  %d1 = weft.lora %x, %am, %bm ids %ir {{scale = 2.0 : f32}} : ({tx}, {tam}, {tbm}, {tir}) -> {ty}
  %r1 = weft.add %y1, %d1 : ({ty}, {ty}) -> {ty}
  %y2 = weft.qlinear %x, %q, %s {{group_size = -1 : i64}} : ({tx}, {tq}, {ts}) -> {ty}
  %d2 = weft.lora %x, %am, %bm ids %it : ({tx}, {tam}, {tbm}, {tit}) -> {ty}
  %r2 = weft.add %y2, %d2 : ({ty}, {ty}) -> {ty}
  return %r0, %r1, %r2 : {ty}, {ty}, {ty}
}}"""
    fused = harness.optimize(program, "-weft-fuse-lora")
    assert "weft.add" not in fused and "weft.lora" not in fused, fused
    assert fused.count(" lora %") == 3, fused
    inputs = [x, w, bias, a, bb, am, bm, ids_row, ids_tok]
    params = {"q": q.astype(np.int8), "s": s}
    unfused_outs = harness.run(program, inputs, params)
    fused_outs = harness.run(fused, inputs, params)
    x64, w64, am64, bm64 = (v.astype(np.float64) for v in (x, w, am, bm))
    wq = reference.dequantize(q, s.astype(np.float64), -1)
    expected = [
        reference.linear(x64, w64) + reference.lora(x64, a.astype(np.float64),
                                                    bb.astype(np.float64), 0.5),
        reference.linear(x64, w64, bias.astype(np.float64))
        + reference.lora(x64, am64, bm64, 2.0, ids_row),
        reference.linear(x64, wq) + reference.lora(x64, am64, bm64, 1.0, ids_tok),
    ]
    # f32 dot products of length 48 (and 4) with O(1) results.
    for i, want in enumerate(expected):
        harness.assert_close(unfused_outs[i], want, rtol=1e-5, atol=2e-5, what=f"unfused {i}")
        harness.assert_close(fused_outs[i], want, rtol=1e-5, atol=2e-5, what=f"fused {i}")


def test_fuse_attention_f16_softmax_in_f32():
    # f16 q, k, v in [B, H, S, D] with the softmax taken in f32 between casts
    # (HF eager attention), a div scale and MQA by matmul broadcasting.
    b, h, s, d = 2, 4, 7, 16
    q = harness.given(RNG.standard_normal((b, h, s, d)), "f16")
    k = harness.given(RNG.standard_normal((b, 1, s, d)), "f16")
    v = harness.given(RNG.standard_normal((b, 1, s, d)), "f16")
    tq, tk = t((b, h, s, d), "f16"), t((b, 1, s, d), "f16")
    ts, ts32 = t((b, h, s, s), "f16"), t((b, h, s, s), "f32")
    program = f"""
func.func @main(%q: {tq}, %k: {tk}, %v: {tk}) -> {tq} {{
  %c = arith.constant dense<4.0> : tensor<f16>
  %s = weft.matmul %q, %k {{transpose_rhs}} : ({tq}, {tk}) -> {ts}
  %d = weft.div %s, %c : ({ts}, tensor<f16>) -> {ts}
  %w = weft.cast %d : {ts} -> {ts32}
  %p = weft.softmax %w {{axis = 3}} : {ts32}
  %n = weft.cast %p : {ts32} -> {ts}
  %o = weft.matmul %n, %v : ({ts}, {tk}) -> {tq}
  return %o : {tq}
}}"""
    fused = harness.optimize(program, "-weft-fuse-attention")
    assert "weft.softmax" not in fused and "weft.cast" not in fused, fused
    inputs = [q[0], k[0], v[0]]
    (unfused_out,) = harness.run(program, inputs)
    (fused_out,) = harness.run(fused, inputs)
    bshd = lambda x: np.transpose(x, (0, 2, 1, 3))
    expected = bshd(softmax_attention(bshd(q[1]), bshd(k[1]), bshd(v[1]), 0.25))
    # Unfused rounds the scores (|s| < ~10, f16 unit 2^-11: ~5e-3 in the
    # logits), the probabilities and the output to f16; fused rounds only
    # the output (2^-11 relative) after f32 arithmetic.
    harness.assert_close(unfused_out, expected, rtol=1e-2, atol=1e-2, what="unfused")
    harness.assert_close(fused_out, expected, rtol=2e-3, atol=1e-3, what="fused")
