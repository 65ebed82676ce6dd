# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""Contractions: matmul, linear, qlinear and lora across f32/f16/bf16, static
and dynamic dims, weights from the parameter archive and as inputs; the errors
weft-compile reports for a bad archive."""

import os
import subprocess
import tempfile

import numpy as np
import pytest

import harness
import reference
from harness import mlir_type as t
from harness import EPS32, UNIT, HALF_SUBNORMAL, given, entry, result
from weft import safetensors
from weft.params import pack_int4

RNG = np.random.default_rng()
DTYPES = ["f32", "f16", "bf16"]
ACTIVATIONS = ["none", "silu", "gelu", "gelu_tanh", "relu"]

def tolerance(dtype, terms, magnitude):
    """(rtol, atol) for an f32 sum of `terms` products rounded once to `dtype`.

    rtol: one rounding to the result type, plus 8 f32 ulps for the f32
    epilogue (scale, bias add, activation, residual add).
    atol: the worst-case error of a recursive f32 dot product of length n,
    n * 2^-24 * sum_k |x_k w_k| (`magnitude`: the largest such sum over the
    result, |bias| and |residual| included; + 2 terms for those), doubled for
    the epilogue that follows the sum (activation slopes are below 1.2), plus
    the subnormal rounding of the result type.
    """
    rtol = UNIT[dtype] + 8 * EPS32
    atol = 2 * (terms + 2) * EPS32 * float(np.max(magnitude)) + HALF_SUBNORMAL[dtype]
    return rtol, atol


def normal(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


# --- weft.matmul ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul(dtype):
    # 0: dynamic batch, M and K against a shared rank-2 rhs.
    # 1: transpose_lhs and transpose_rhs, dynamic batch on both sides.
    # 2: static 1 batch dims broadcasting both ways (rank 4 against rank 4),
    #    transpose_rhs only.
    # 3: dynamic batch dims that are 1 at run time broadcast: lhs dim 0 (1 vs 2,
    #    dynamic result dim) and rhs dim 1 (1 vs the static result dim 4),
    #    transpose_lhs only.
    a0, b0 = normal(3, 7, 33), normal(33, 129, scale=33**-0.5)
    a1, b1 = normal(2, 33, 7), normal(2, 5, 33, scale=33**-0.5)
    a2, b2 = normal(2, 1, 5, 9), normal(1, 3, 6, 9, scale=9**-0.5)
    a3, b3 = normal(1, 4, 9, 5), normal(2, 1, 9, 6, scale=9**-0.5)
    ta0, tb0, tr0 = t((None, None, None), dtype), t((33, 129), dtype), t((None, None, 129), dtype)
    ta1, tb1, tr1 = t((None, 33, 7), dtype), t((None, 5, 33), dtype), t((None, 7, 5), dtype)
    ta2, tb2, tr2 = t((2, 1, 5, 9), dtype), t((1, 3, 6, 9), dtype), t((2, 3, 5, 6), dtype)
    ta3, tb3, tr3 = t((None, 4, 9, 5), dtype), t((None, None, 9, 6), dtype), t((None, 4, 5, 6), dtype)
    program = f"""
func.func @main(%a0: {ta0}, %b0: {tb0}, %a1: {ta1}, %b1: {tb1}, %a2: {ta2}, %b2: {tb2}, %a3: {ta3}, %b3: {tb3}) -> ({tr0}, {tr1}, {tr2}, {tr3}) {{
  %0 = weft.matmul %a0, %b0 : ({ta0}, {tb0}) -> {tr0}
  %1 = weft.matmul %a1, %b1 {{transpose_lhs, transpose_rhs}} : ({ta1}, {tb1}) -> {tr1}
  %2 = weft.matmul %a2, %b2 {{transpose_rhs}} : ({ta2}, {tb2}) -> {tr2}
  %3 = weft.matmul %a3, %b3 {{transpose_lhs}} : ({ta3}, {tb3}) -> {tr3}
  return %0, %1, %2, %3 : {tr0}, {tr1}, {tr2}, {tr3}
}}"""
    pairs = [given(v, dtype) for v in (a0, b0, a1, b1, a2, b2, a3, b3)]
    outs = harness.run(program, [p[0] for p in pairs])
    exact = [p[1] for p in pairs]
    cases = [(False, False, 33), (True, True, 33), (False, True, 9), (True, False, 9)]
    for i, (out, (tl, tr, k)) in enumerate(zip(outs, cases)):
        lhs, rhs = exact[2 * i], exact[2 * i + 1]
        expected = reference.matmul(lhs, rhs, tl, tr)
        rtol, atol = tolerance(dtype, k, reference.matmul(np.abs(lhs), np.abs(rhs), tl, tr))
        harness.assert_close(result(out, dtype), expected, rtol, atol, what=f"matmul {i} {dtype}")


# --- weft.linear ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear(dtype):
    # Every activation, with and without bias and residual; the weight and bias
    # come from the archive (%wp, %bp) or are function inputs (%w, %b). The
    # last result has static shapes and a rank-1 x.
    k, n = 33, 129
    x, w, b = normal(2, 7, k), normal(n, k, scale=k**-0.5), normal(n, scale=0.5)
    wp, bp = normal(n, k, scale=k**-0.5), normal(n, scale=0.5)
    r, x1 = normal(2, 7, n), normal(k)
    tx, tw, tb, tr = t((None, None, k), dtype), t((n, k), dtype), t((n,), dtype), t((None, None, n), dtype)
    tx1 = t((k,), dtype)
    program = f"""
func.func @main(%x: {tx}, %w: {tw}, %b: {tb}, %r: {tr}, %x1: {tx1}) -> ({tr}, {tr}, {tr}, {tr}, {tr}, {tb}) {{
  %wp = weft.param "layer.weight" : {tw}
  %bp = weft.param "layer.bias" : {tb}
  %0 = weft.linear %x, %w : ({tx}, {tw}) -> {tr}
  %1 = weft.linear %x, %wp bias %bp {{activation = #weft.activation<silu>}} : ({tx}, {tw}, {tb}) -> {tr}
  %2 = weft.linear %x, %w bias %b residual %r {{activation = #weft.activation<gelu>}} : ({tx}, {tw}, {tb}, {tr}) -> {tr}
  %3 = weft.linear %x, %wp residual %r {{activation = #weft.activation<gelu_tanh>}} : ({tx}, {tw}, {tr}) -> {tr}
  %4 = weft.linear %x, %w bias %bp residual %r {{activation = #weft.activation<relu>}} : ({tx}, {tw}, {tb}, {tr}) -> {tr}
  %5 = weft.linear %x1, %wp bias %b {{activation = #weft.activation<silu>}} : ({tx1}, {tw}, {tb}) -> {tb}
  return %0, %1, %2, %3, %4, %5 : {tr}, {tr}, {tr}, {tr}, {tr}, {tb}
}}"""
    (x_in, x64), (w_in, w64), (b_in, b64), (r_in, r64), (x1_in, x164) = (
        given(v, dtype) for v in (x, w, b, r, x1))
    (wp_in, wp64), (bp_in, bp64) = given(wp, dtype), given(bp, dtype)
    params = {"layer.weight": entry(wp_in, dtype), "layer.bias": entry(bp_in, dtype)}
    outs = harness.run(program, [x_in, w_in, b_in, r_in, x1_in], params)
    cases = [
        (x64, w64, None, "none", None),
        (x64, wp64, bp64, "silu", None),
        (x64, w64, b64, "gelu", r64),
        (x64, wp64, None, "gelu_tanh", r64),
        (x64, w64, bp64, "relu", r64),
        (x164, wp64, b64, "silu", None),
    ]
    for i, (out, (xx, ww, bb, act, rr)) in enumerate(zip(outs, cases)):
        expected = reference.linear(xx, ww, bb, act, rr)
        magnitude = reference.linear(np.abs(xx), np.abs(ww),
                                     None if bb is None else np.abs(bb), "none",
                                     None if rr is None else np.abs(rr))
        rtol, atol = tolerance(dtype, k, magnitude)
        harness.assert_close(result(out, dtype), expected, rtol, atol, what=f"linear {i} ({act}) {dtype}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_register_tiles(dtype):
    # Shapes around weft-tile-contractions' tiles (K in chunks of 16 lanes,
    # 4 x 4 register tiles, column blocks of up to 64 split over 2 threads):
    # 0: dynamic M = 11 and N = 37, neither a multiple of 4, x with a dynamic K,
    #    bias, silu and residual;
    # 1: static M = 1 (one row of x), N = 8;
    # 2: rank-3 x with a dynamic middle dim, N = 130 (column blocks 64, 64, 2);
    # 3: K = 1040 (65 chunks), N = 3 (below one register tile), M = 9;
    # 4: batched matmul with transpose_rhs (the same form), K = 32;
    # 5: K = 40, not a multiple of 16: stays a plain loop nest;
    # 6: a weight input with a dynamic N (19 at run time).
    x0, w0, b0, r0 = normal(11, 48), normal(37, 48, scale=48**-0.5), normal(37), normal(11, 37)
    x1, w1 = normal(1, 64), normal(8, 64, scale=64**-0.5)
    x2, w2 = normal(2, 5, 80), normal(130, 80, scale=80**-0.5)
    x3, w3 = normal(9, 1040), normal(3, 1040, scale=1040**-0.5)
    a4, b4 = normal(2, 5, 32), normal(2, 6, 32, scale=32**-0.5)
    x5, w5 = normal(6, 40), normal(10, 40, scale=40**-0.5)
    x6, w6 = normal(5, 32), normal(19, 32, scale=32**-0.5)
    tx0, tw0, tb0, tr0 = t((None, None), dtype), t((37, 48), dtype), t((37,), dtype), t((None, 37), dtype)
    tx1, tw1, tr1 = t((1, 64), dtype), t((8, 64), dtype), t((1, 8), dtype)
    tx2, tw2, tr2 = t((2, None, 80), dtype), t((130, 80), dtype), t((2, None, 130), dtype)
    tx3, tw3, tr3 = t((None, 1040), dtype), t((3, 1040), dtype), t((None, 3), dtype)
    ta4, tb4, tr4 = t((2, 5, 32), dtype), t((2, 6, 32), dtype), t((2, 5, 6), dtype)
    tx5, tw5, tr5 = t((None, 40), dtype), t((10, 40), dtype), t((None, 10), dtype)
    tx6, tw6, tr6 = t((5, 32), dtype), t((None, 32), dtype), t((5, None), dtype)
    program = f"""
func.func @main(%x0: {tx0}, %w0: {tw0}, %b0: {tb0}, %r0: {tr0}, %x1: {tx1}, %w1: {tw1}, %x2: {tx2}, %w2: {tw2}, %x3: {tx3}, %w3: {tw3}, %a4: {ta4}, %b4: {tb4}, %x5: {tx5}, %w5: {tw5}, %x6: {tx6}, %w6: {tw6}) -> ({tr0}, {tr1}, {tr2}, {tr3}, {tr4}, {tr5}, {tr6}) {{
  %0 = weft.linear %x0, %w0 bias %b0 residual %r0 {{activation = #weft.activation<silu>}} : ({tx0}, {tw0}, {tb0}, {tr0}) -> {tr0}
  %1 = weft.linear %x1, %w1 : ({tx1}, {tw1}) -> {tr1}
  %2 = weft.linear %x2, %w2 : ({tx2}, {tw2}) -> {tr2}
  %3 = weft.linear %x3, %w3 : ({tx3}, {tw3}) -> {tr3}
  %4 = weft.matmul %a4, %b4 {{transpose_rhs}} : ({ta4}, {tb4}) -> {tr4}
  %5 = weft.linear %x5, %w5 : ({tx5}, {tw5}) -> {tr5}
  %6 = weft.linear %x6, %w6 : ({tx6}, {tw6}) -> {tr6}
  return %0, %1, %2, %3, %4, %5, %6 : {tr0}, {tr1}, {tr2}, {tr3}, {tr4}, {tr5}, {tr6}
}}"""
    values = [x0, w0, b0, r0, x1, w1, x2, w2, x3, w3, a4, b4, x5, w5, x6, w6]
    pairs = [given(v, dtype) for v in values]
    outs = harness.run(program, [p[0] for p in pairs])
    e = [p[1] for p in pairs]
    cases = [  # (x, w, bias, activation, residual, K)
        (e[0], e[1], e[2], "silu", e[3], 48),
        (e[4], e[5], None, "none", None, 64),
        (e[6], e[7], None, "none", None, 80),
        (e[8], e[9], None, "none", None, 1040),
        (e[10], e[11], None, "none", None, 32),
        (e[12], e[13], None, "none", None, 40),
        (e[14], e[15], None, "none", None, 32),
    ]
    for i, (out, (xx, ww, bb, act, rr, k)) in enumerate(zip(outs, cases)):
        if ww.ndim == 3:  # the batched matmul
            expected = reference.matmul(xx, ww, False, True)
            magnitude = reference.matmul(np.abs(xx), np.abs(ww), False, True)
        else:
            expected = reference.linear(xx, ww, bb, act, rr)
            magnitude = reference.linear(np.abs(xx), np.abs(ww),
                                         None if bb is None else np.abs(bb), "none",
                                         None if rr is None else np.abs(rr))
        rtol, atol = tolerance(dtype, k, magnitude)
        harness.assert_close(result(out, dtype), expected, rtol, atol,
                             what=f"linear tiles {i} {dtype}")


# --- weft.qlinear ---------------------------------------------------------------


def quantized(bits, symmetric, n, k, groups):
    """Random logical qweight [n, k] and zeros [n, groups] (None if symmetric)."""
    if symmetric:
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1)
        return RNG.integers(low, high, size=(n, k)), None
    high = 2**bits
    return RNG.integers(0, high, size=(n, k)), RNG.integers(0, high, size=(n, groups))


def int_entry(values, bits, signed):
    """Archive storage of logical integers (docs/Quantization.md): i8 one per
    byte (I8 signed, U8 unsigned), i4 packed two per byte along the last dim
    with a zero padding nibble when that dim is odd."""
    if bits == 8:
        return values.astype(np.int8 if signed else np.uint8)
    if values.shape[-1] % 2:
        values = np.concatenate([values, np.zeros(values.shape[:-1] + (1,), values.dtype)], axis=-1)
    return pack_int4(values)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("symmetric", [True, False], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("bits", [8, 4], ids=["int8", "int4"])
def test_qlinear(bits, symmetric, dtype):
    # K = 384 and N = 33: per channel (G = 1) and groups of 32, 64 and 128
    # (G = 12, 6, 3; odd G exercises the padded int4 zero points). Scales are
    # f32 for two layers and f16 for the other two; qweight, zeros and scales
    # come from the archive. The epilogue varies across layers; the last
    # layer has a static x.
    k, n = 384, 33
    layers = [  # (group_size, scales dtype, bias, activation, residual)
        (-1, "f32", False, "none", False),
        (32, "f16", True, "silu", False),
        (64, "f32", False, "gelu", True),
        (128, "f16", True, "relu", True),
    ]
    qtype = f"i{bits}"
    x, xs = normal(2, 3, k), normal(5, k)
    b, r, rs = normal(n, scale=0.5), normal(2, 3, n), normal(5, n)
    # The dynamic x has a dynamic K too (the static qweight fixes it).
    tx, txs = t((None, None, None), dtype), t((5, k), dtype)
    tb, tr, trs = t((n,), dtype), t((None, None, n), dtype), t((5, n), dtype)
    tq = t((n, k), qtype)
    lines, params, refs = [], {}, []
    for i, (group, stype, has_bias, act, has_res) in enumerate(layers):
        groups = 1 if group == -1 else k // group
        q, z = quantized(bits, symmetric, n, k, groups)
        qmax = 2 ** (bits - 1)
        # Scales keep the dequantized weight near N(0, 1/K).
        s = RNG.uniform(0.5, 1.5, size=(n, groups)) / (qmax * np.sqrt(k / 3))
        s_in, s64 = given(s, stype)
        ts, tz = t((n, groups), stype), t((n, groups), qtype)
        params[f"l{i}.qweight"] = int_entry(q, bits, symmetric)
        params[f"l{i}.scales"] = entry(s_in, stype)
        lines.append(f'  %q{i} = weft.param "l{i}.qweight" : {tq}')
        lines.append(f'  %s{i} = weft.param "l{i}.scales" : {ts}')
        operands, types = f"%q{i}, %s{i}", f"{tq}, {ts}"
        if z is not None:
            params[f"l{i}.zeros"] = int_entry(z, bits, False)
            lines.append(f'  %z{i} = weft.param "l{i}.zeros" : {tz}')
            operands, types = operands + f" zeros %z{i}", types + f", {tz}"
        if has_bias:
            operands, types = operands + " bias %b", types + f", {tb}"
        static = i == len(layers) - 1
        xin, rin, txi, tri = ("%xs", "%rs", txs, trs) if static else ("%x", "%r", tx, tr)
        if has_res:
            operands, types = operands + f" residual {rin}", types + f", {tri}"
        lines.append(
            f"  %y{i} = weft.qlinear {xin}, {operands} {{group_size = {group} : i64, "
            f"activation = #weft.activation<{act}>}} : ({txi}, {types}) -> {tri}")
        refs.append((static, q, s64, group, z, has_bias, act, has_res, tri))
    results = [ref[-1] for ref in refs]
    program = (
        f"func.func @main(%x: {tx}, %xs: {txs}, %b: {tb}, %r: {tr}, %rs: {trs}) -> ({', '.join(results)}) {{\n"
        + "\n".join(lines)
        + f"\n  return {', '.join(f'%y{i}' for i in range(len(layers)))} : {', '.join(results)}\n}}")
    (x_in, x64), (xs_in, xs64), (b_in, b64), (r_in, r64), (rs_in, rs64) = (
        given(v, dtype) for v in (x, xs, b, r, rs))
    outs = harness.run(program, [x_in, xs_in, b_in, r_in, rs_in], params)
    for i, (out, (static, q, s64, group, z, has_bias, act, has_res, _)) in enumerate(zip(outs, refs)):
        xx, rr = (xs64, rs64) if static else (x64, r64)
        bb = b64 if has_bias else None
        rr = rr if has_res else None
        expected = reference.qlinear(xx, q, s64, group, z, bb, act, rr)
        weight = reference.dequantize(q, s64, group, z)
        magnitude = reference.linear(np.abs(xx), np.abs(weight),
                                     None if bb is None else np.abs(bb), "none",
                                     None if rr is None else np.abs(rr))
        # One more f32 rounding per term: the dequantized weight.
        rtol, atol = tolerance(dtype, k + 1, magnitude)
        harness.assert_close(result(out, dtype), expected, rtol, atol,
                             what=f"qlinear layer {i} (group {group}) {dtype}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("symmetric", [True, False], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("bits", [8, 4], ids=["int8", "int4"])
def test_qlinear_gemv(bits, symmetric, dtype):
    # GEMV shapes for weft-tile-contractions: one row of x (static M = 1) and
    # a dynamic M of 2; K = 256, N = 70 (not a multiple of the register tile:
    # 1 x 8 tiles in column blocks 40 + 30 at M = 1, 4 x 4 tiles in blocks
    # 36 + 34 otherwise); groups of 16 (one lane chunk per
    # group; int4 chunks are 8 packed bytes) and of 24 (not a multiple of 16:
    # stays a plain loop nest); K = 34 per channel (not a multiple of 16
    # either: a plain loop nest whose int4 loads go through folded views).
    n = 70
    layers = [(256, 16), (256, 16), (240, 24), (34, 34)]  # (K, group size)
    x1, x2, x3, x4 = normal(1, 256), normal(2, 256), normal(1, 240), normal(1, 34)
    tx1, tx2, tx3 = t((1, 256), dtype), t((None, 256), dtype), t((1, 240), dtype)
    tx4 = t((1, 34), dtype)
    tr1, tr2 = t((1, n), dtype), t((None, n), dtype)
    lines, params, refs = [], {}, []
    for k, group in layers:
        q, z = quantized(bits, symmetric, n, k, k // group)
        # Scales keep the dequantized weight near N(0, 1/K).
        qmax = 2 ** (bits - 1)
        s_in, s64 = given(RNG.uniform(0.5, 1.5, size=(n, k // group)) / (qmax * np.sqrt(k / 3)), "f32")
        refs.append((q, (s_in, s64), group, z))
    inputs = [("%x1", tx1, tr1, x1), ("%x2", tx2, tr2, x2), ("%x3", tx3, tr1, x3),
              ("%x4", tx4, tr1, x4)]
    for i, ((q, s, group, z), (xin, txi, tri, _)) in enumerate(zip(refs, inputs)):
        groups = q.shape[1] // group
        qtype = f"i{bits}"
        ts, tz, tqi = t((n, groups), "f32"), t((n, groups), qtype), t(q.shape, qtype)
        params[f"l{i}.qweight"] = int_entry(q, bits, symmetric)
        params[f"l{i}.scales"] = entry(s[0], "f32")
        lines.append(f'  %q{i} = weft.param "l{i}.qweight" : {tqi}')
        lines.append(f'  %s{i} = weft.param "l{i}.scales" : {ts}')
        operands, types = f"%q{i}, %s{i}", f"{tqi}, {ts}"
        if z is not None:
            params[f"l{i}.zeros"] = int_entry(z, bits, False)
            lines.append(f'  %z{i} = weft.param "l{i}.zeros" : {tz}')
            operands, types = operands + f" zeros %z{i}", types + f", {tz}"
        group_attr = -1 if group == q.shape[1] else group
        lines.append(f"  %y{i} = weft.qlinear {xin}, {operands} {{group_size = {group_attr} : i64}} "
                     f": ({txi}, {types}) -> {tri}")
    program = (
        f"func.func @main(%x1: {tx1}, %x2: {tx2}, %x3: {tx3}, %x4: {tx4}) -> ({tr1}, {tr2}, {tr1}, {tr1}) {{\n"
        + "\n".join(lines)
        + f"\n  return %y0, %y1, %y2, %y3 : {tr1}, {tr2}, {tr1}, {tr1}\n}}")
    given_x = [given(v, dtype) for v in (x1, x2, x3, x4)]
    outs = harness.run(program, [g[0] for g in given_x], params)
    for i, (out, (q, s, group, z), (_, x64)) in enumerate(zip(outs, refs, given_x)):
        s64 = s[1]
        expected = reference.qlinear(x64, q, s64, group, z, None, "none", None)
        weight = reference.dequantize(q, s64, group, z)
        magnitude = reference.linear(np.abs(x64), np.abs(weight))
        # One more f32 rounding per term: the dequantized weight.
        rtol, atol = tolerance(dtype, q.shape[1] + 1, magnitude)
        harness.assert_close(result(out, dtype), expected, rtol, atol,
                             what=f"qlinear int{bits} gemv {i} (group {group}) {dtype}")


LINEAR_BLOCKS = "--pass-pipeline=builtin.module(weft-bind-params, func.func(convert-weft-to-linalg{linear-blocks}))"


def linear_blocks(shared_kib):
    """LINEAR_BLOCKS with blocks of `shared_kib` KiB of shared memory."""
    return LINEAR_BLOCKS.replace("{linear-blocks}",
                                 f"{{linear-blocks block-shared-memory-kib={shared_kib}}}")


class LayerOperands:
    """The operands of one layer of a generated program: function arguments
    and their inputs, and the layer's operand and type lists."""

    def __init__(self, index, operands, types):
        self.args, self.inputs, self.operands, self.types = [], [], operands, types
        self.index = index  # suffix of the argument names

    def add_input(self, name, value, dtype, shape=None):
        """An argument of `shape` (default: the value's) holding `value`;
        returns its exact value."""
        value_in, value64 = given(value, dtype)
        self.args.append(f"%{name}: {t(shape or value.shape, dtype)}")
        self.inputs.append(value_in)
        return value64

    def add_epilogue(self, n, shape, run_shape, dtype):
        """Bias and residual (of the result's type for x of `shape`)."""
        i = self.index
        b64 = self.add_input(f"b{i}", normal(n, scale=0.5), dtype)
        r64 = self.add_input(f"r{i}", normal(*run_shape[:-1], n), dtype, shape[:-1] + (n,))
        self.operands += f" bias %b{i} residual %r{i}"
        self.types += f", {t((n,), dtype)}, {t(shape[:-1] + (n,), dtype)}"
        return b64, r64

    def add_lora(self, k, n, dtype, ids=None):
        """A rank-4 LoRA delta, of three adapters picked by `ids` (int32)
        when given; returns the exact tables and the ids."""
        i = self.index
        adapters = () if ids is None else (3,)
        a64 = self.add_input(f"la{i}", normal(*adapters, 4, k, scale=k**-0.5), dtype)
        lb64 = self.add_input(f"lb{i}", normal(*adapters, n, 4, scale=0.5), dtype)
        self.operands += f" lora %la{i}, %lb{i}"
        self.types += f", {t(adapters + (4, k), dtype)}, {t(adapters + (n, 4), dtype)}"
        if ids is not None:
            self.args.append(f"%ids{i}: {t(ids.shape, 'i32')}")
            self.inputs.append(ids.astype(np.int32))
            self.operands += f" lora_ids %ids{i}"
            self.types += f", {t(ids.shape, 'i32')}"
        return a64, lb64, ids


def main_function(args, lines, results):
    """func @main with `args`, the body `lines` defining %y0, %y1, ... and
    returning them (of types `results`)."""
    ys = ", ".join(f"%y{i}" for i in range(len(results)))
    return (f"func.func @main({', '.join(args)}) -> ({', '.join(results)}) {{\n"
            + "\n".join(lines) + f"\n  return {ys} : {', '.join(results)}\n}}")


def check_linear(out, x64, weight, b64, act, r64, lora64, dtype, what):
    """weft.linear against float64, with the fused LoRA delta (scale 0.5,
    added to x W^T before the epilogue)."""
    lora, lora_abs = 0.0, 0.0
    if lora64:
        a64, lb64, ids = lora64
        if ids is not None:
            # The lowering treats an id past the table like -1 (docs/Spec.md).
            ids = np.where(ids < a64.shape[0], ids, -1)
        lora = reference.lora(x64, a64, lb64, scale=0.5, ids=ids)
        lora_abs = reference.lora(np.abs(x64), np.abs(a64), np.abs(lb64), scale=0.5, ids=ids)
    base = reference.linear(x64, weight) + lora
    if b64 is not None:
        base = base + b64
    expected = reference.ACTIVATION[act](base)
    if r64 is not None:
        expected = expected + r64
    magnitude = reference.linear(np.abs(x64), np.abs(weight),
                                 None if b64 is None else np.abs(b64), "none",
                                 None if r64 is None else np.abs(r64)) + lora_abs
    # One more f32 rounding per term: the dequantized weight.
    rtol, atol = tolerance(dtype, weight.shape[1] + 1, magnitude)
    harness.assert_close(result(out, dtype), expected, rtol, atol, what=what)


def layer_weights(i, n, k, bits, symmetric, group, dtype, lines, params):
    """Layer i's weights as parameters: float weights of `dtype` when `bits`
    is None, else int8/int4 (symmetric or with zero points) in groups of
    `group` (-1: per channel) with f32 scales. Appends their weft.param lines
    and archive entries; returns the layer's operands, its exact weight, the
    op name and its group attribute text."""
    if bits is None:
        w_in, weight = given(normal(n, k, scale=k**-0.5), dtype)
        params[f"l{i}.weight"] = entry(w_in, dtype)
        lines.append(f'  %w{i} = weft.param "l{i}.weight" : {t((n, k), dtype)}')
        return LayerOperands(i, f"%w{i}", t((n, k), dtype)), weight, "linear", ""
    groups = 1 if group == -1 else k // group
    q, z = quantized(bits, symmetric, n, k, groups)
    qmax = 2 ** (bits - 1)
    s_in, s64 = given(RNG.uniform(0.5, 1.5, size=(n, groups)) / (qmax * np.sqrt(k / 3)), "f32")
    weight = reference.dequantize(q, s64, group, z)
    qtype = f"i{bits}"
    tq, ts, tz = t((n, k), qtype), t((n, groups), "f32"), t((n, groups), qtype)
    params[f"l{i}.qweight"] = int_entry(q, bits, symmetric)
    params[f"l{i}.scales"] = s_in
    lines.append(f'  %q{i} = weft.param "l{i}.qweight" : {tq}')
    lines.append(f'  %s{i} = weft.param "l{i}.scales" : {ts}')
    layer = LayerOperands(i, f"%q{i}, %s{i}", f"{tq}, {ts}")
    if z is not None:
        params[f"l{i}.zeros"] = int_entry(z, bits, False)
        lines.append(f'  %z{i} = weft.param "l{i}.zeros" : {tz}')
        layer.operands += f" zeros %z{i}"
        layer.types += f", {tz}"
    return layer, weight, "qlinear", f"group_size = {group} : i64, "


@pytest.mark.parametrize("dtype,shared_kib", [(d, 46) for d in DTYPES] + [("f16", 110)])
@pytest.mark.parametrize("weights", ["int8", "int8-zeros", "int4", "int4-zeros", "float"])
def test_linear_blocks(weights, dtype, shared_kib):
    # convert-weft-to-linalg{linear-blocks} (weft-compile
    # --gpu-linear=blocks): a warp per output channel over 16-byte weight
    # chunks (32 int4, 16 int8, 8 f16/bf16 or 4 f32 values) and x tiles in
    # shared memory, for up to 8 rows of x; weft.qlinear with symmetric or
    # zero-point weights, and weft.linear with float weights of the x dtype.
    # N = 70 leaves the last block of 8 channels partial.
    # 0: x [1, K], K = 2048 in groups of two chunks, with a fused LoRA delta
    #    (rank 4, scale 0.5), bias, gelu and residual; one K tile. The kernel
    #    adds t B^T (t = 0.5 x A^T from its own kernel), applies the epilogue
    #    and rounds to the result type.
    # 1: x [2, 3, K]: 6 rows, per channel (G = 1); a K tile holds
    #    8192 / 6 values rounded down to whole chunks, so K = 2048 takes two
    #    tiles, the second partial. Three LoRA adapters picked per token
    #    (ids [2, 3] with -1 for none and 3, past the table, for none too).
    # 2: x [K] (rank 1), K = 512 in groups of 128.
    # 3: x [9, K] (more than 8 rows) keeps the default form, except with
    #    f16 or bf16 x, which takes tensor-core tiles (test_linear_tiles;
    #    integer weights in K steps within their groups of 64 or 32, as
    #    integers in the products, scaled per step).
    # 4-6: rows known only at run time keep the default form with f32 x;
    #    with f16 or bf16 x the rows choose at run time between this form
    #    (at most 8, a block row per row) and the tiles.
    #    4: x [?, K] run with 3 rows.
    #    5: x [?, 2, K] run as [3, 2, K] (6 rows), with bias and residual
    #       and adapters picked per sequence (ids [3]: 2 rows per id).
    #    6: x [?, 2, K] run as [5, 2, K] (10 rows: the tiles), adapters per
    #       sequence.
    n = 70
    bits = {"int8": 8, "int4": 4, "float": None}[weights.split("-")[0]]
    symmetric = not weights.endswith("-zeros")
    lanes = 128 // (bits or {"f32": 32, "f16": 16, "bf16": 16}[dtype])
    layers = [((1, 2048), 2 * lanes), ((2, 3, 2048), -1), ((512,), 128),
              ((9, 256), 2 * lanes), ((None, 256), 2 * lanes),
              ((None, 2, 256), 2 * lanes), ((None, 2, 256), 2 * lanes)]
    batches = {6: 5}
    lines, params, refs, args, inputs = [], {}, [], [], []
    for i, (shape, group) in enumerate(layers):
        k = shape[-1]
        ty = t(shape[:-1] + (n,), dtype)
        run_shape = tuple(batches.get(i, 3) if d is None else d for d in shape)
        layer, weight, op, group_attr = layer_weights(i, n, k, bits, symmetric, group, dtype,
                                                      lines, params)
        x64 = layer.add_input(f"x{i}", normal(*run_shape), dtype, shape)
        act, b64, r64, lora64 = "none", None, None, None
        if i == 0:
            b64, r64 = layer.add_epilogue(n, shape, run_shape, dtype)
            lora64 = layer.add_lora(k, n, dtype)
            act = "gelu"
        if i == 1:
            lora64 = layer.add_lora(k, n, dtype, ids=np.array([[0, -1, 2], [3, 1, 0]]))
        if i == 5:
            b64, r64 = layer.add_epilogue(n, shape, run_shape, dtype)
            lora64 = layer.add_lora(k, n, dtype, ids=np.array([1, -1, 2]))
            act = "silu"
        if i == 6:
            lora64 = layer.add_lora(k, n, dtype, ids=np.array([2, 0, -1, 1, 2]))
        args += layer.args
        inputs += layer.inputs
        scale_attr = ", lora_scale = 0.5 : f32" if lora64 else ""
        lines.append(f"  %y{i} = weft.{op} %x{i}, {layer.operands} {{{group_attr}"
                     f"activation = #weft.activation<{act}>{scale_attr}}} : "
                     f"({t(shape, dtype)}, {layer.types}) -> {ty}")
        refs.append((x64, weight, b64, act, r64, lora64, ty))
    program = main_function(args, lines, [r[-1] for r in refs])
    lowered = harness.optimize(program, linear_blocks(shared_kib))
    # Three kernels of blocks with f32 x; with f16 or bf16 x also the tiles
    # of the 9 rows and, for each of the 3 layers of a dynamic number of
    # rows, a few-rows kernel (grid [blocks, rows]) and tiles under an
    # scf.if on the rows: a grid loop each; the tile kernels' lanes
    # multiply fragments (nvgpu.mma.sync).
    # Both take a 2-D grid.
    dispatched = 3 if dtype in ("f16", "bf16") else 0
    tiles = dispatched + 1 if dispatched else 0
    assert lowered.count("#gpu.block<x>") == 3 + tiles + dispatched, lowered
    assert lowered.count("#gpu.block<y>") == tiles + dispatched, lowered
    assert ("nvgpu.mma.sync" in lowered) == (tiles > 0), lowered
    outs = harness.run(lowered, inputs, params)
    for i, (out, ref) in enumerate(zip(outs, refs)):
        check_linear(out, *ref[:-1], dtype, f"{weights} blocks {i} {dtype}")


@pytest.mark.parametrize("weights", ["int4-zeros", "int8", "float"])
def test_linear_blocks_channels_per_warp(weights):
    # Wide layers give each warp of the thread-block form several output
    # channels (as many as keep 256 blocks, at most 4 accumulators per
    # thread), which share each x value read from shared memory.
    # 0: x [1, 256], N = 8234: 4 channels per warp, 32 per block; the last
    #    block has 10 channels, so its third warp has 2 past N (they read the
    #    last row and are not written).
    # 1: x [2, 256] (two rows), N = 4100: 2 channels per warp.
    # 2: x [1, 256], N = 2048: one channel per warp, 256 blocks.
    dtype = "f16"
    bits = {"int8": 8, "int4": 4, "float": None}[weights.split("-")[0]]
    symmetric = not weights.endswith("-zeros")
    k, group = 256, 128
    layers = [((1, k), 8234, 4), ((2, k), 4100, 2), ((1, k), 2048, 1)]
    lines, params, refs, args, inputs = [], {}, [], [], []
    for i, (shape, n, per_warp) in enumerate(layers):
        ty = t(shape[:-1] + (n,), dtype)
        layer, weight, op, group_attr = layer_weights(i, n, k, bits, symmetric, group, dtype,
                                                      lines, params)
        x64 = layer.add_input(f"x{i}", normal(*shape), dtype, shape)
        b64, r64 = layer.add_epilogue(n, shape, shape, dtype)
        args += layer.args
        inputs += layer.inputs
        lines.append(f"  %y{i} = weft.{op} %x{i}, {layer.operands} {{{group_attr}"
                     f"activation = #weft.activation<silu>}} : "
                     f"({t(shape, dtype)}, {layer.types}) -> {ty}")
        refs.append((x64, weight, b64, "silu", r64, None, ty, per_warp))
    program = main_function(args, lines, [r[-2] for r in refs])
    lowered = harness.optimize(program, LINEAR_BLOCKS)
    # Blocks of 8 warps of per_warp channels; each output (rows x channels
    # per warp of a warp) is summed over the warp's lanes by 5 xor shuffles.
    for shape, n, per_warp in layers:
        grid = f"in ({-(-n // (8 * per_warp))})"
        assert grid in lowered, (grid, lowered)
    shuffles = sum(5 * shape[0] * per_warp for shape, _, per_warp in layers)
    assert lowered.count("gpu.shuffle  xor") == shuffles, lowered
    outs = harness.run(lowered, inputs, params)
    for i, (out, ref) in enumerate(zip(outs, refs)):
        check_linear(out, *ref[:-2], dtype, f"{weights} {ref[-1]} channels per warp {i}")


@pytest.mark.parametrize("shared_kib,tile,step,sets,dtype", [
    (46, 128, 32, 2, "f16"), (110, 128, 64, 2, "f16"), (16, 64, 32, 1, "f16"),
    (110, 128, 64, 2, "bf16")])
def test_linear_tiles(shared_kib, tile, step, sets, dtype):
    # convert-weft-to-linalg{linear-blocks} for f16 and bf16 linear layers
    # with more than 8 rows: SIMT kernels of [tile, tile] output tiles per
    # block whose warps keep tensor-core accumulator fragments
    # (nvgpu.mma.sync) for the whole K loop, the K steps of `step` staged in
    # shared memory, two steps' tiles at once where they fit (`sets`).
    # 0: x [?, ?, 200] run as [2, 37, 200] (74 rows: a partial second row
    #    block), N = 70 (a partial second column block), K = 200 (a partial
    #    last K step), bias, silu and residual in the kernel.
    # 1: x [20, 96] static, N = 130, with a fused LoRA delta (rank 4, scale
    #    0.5) added to the kernel's f32 sum.
    # 2: x [16, 36]: K = 36 is not a multiple of 8 values, so tiles load
    #    4 values at a time.
    # 3: an f32 layer of 20 rows keeps the default form.
    layers = [((None, None, 200), (2, 37, 200), 70), ((20, 96), (20, 96), 130),
              ((16, 36), (16, 36), 16), ((20, 40), (20, 40), 24)]
    lines, params, refs, args, inputs, results = [], {}, [], [], [], []
    x_dtype = dtype
    for i, (shape, run_shape, n) in enumerate(layers):
        dtype = "f32" if i == 3 else x_dtype
        k = shape[-1]
        ty = t(shape[:-1] + (n,), dtype)
        w_in, w64 = given(normal(n, k, scale=k**-0.5), dtype)
        params[f"w{i}"] = entry(w_in, dtype)
        lines.append(f'  %w{i} = weft.param "w{i}" : {t((n, k), dtype)}')
        layer = LayerOperands(i, f"%w{i}", t((n, k), dtype))
        x64 = layer.add_input(f"x{i}", normal(*run_shape), dtype, shape)
        b64 = r64 = lora64 = None
        act, attrs = ("silu" if i == 0 else "none"), ""
        if i == 0:
            b64, r64 = layer.add_epilogue(n, shape, run_shape, dtype)
        if i == 1:
            lora64 = layer.add_lora(k, n, dtype)
            attrs = ", lora_scale = 0.5 : f32"
        args += layer.args
        inputs += layer.inputs
        lines.append(f"  %y{i} = weft.linear %x{i}, {layer.operands} {{activation = "
                     f"#weft.activation<{act}>{attrs}}} : ({t(shape, dtype)}, {layer.types}) -> {ty}")
        results.append(ty)
        refs.append((x64, w64, b64, act, r64, lora64, dtype))
    program = main_function(args, lines, results)
    lowered = harness.optimize(program, linear_blocks(shared_kib))
    # Three kernels of tiles: a 2-D grid loop with `sets` x and weight tiles
    # [tile, step + 8] each, and per-lane tensor-core products. Layer 0's
    # rows are dynamic, so it also has the few-rows kernel (test_linear_
    # blocks), which its 74 rows do not take.
    assert lowered.count("#gpu.block<x>") == 4, lowered
    assert lowered.count("#gpu.block<y>") == 4, lowered
    tile_buffer = f"memref.alloc() : memref<{tile}x{step + 8}x{x_dtype}>"
    assert lowered.count(tile_buffer) == 3 * 2 * sets, (tile_buffer, lowered)
    assert "nvgpu.mma.sync" in lowered and "vector.contract" not in lowered
    outs = harness.run(lowered, inputs, params)
    for i, (out, ref) in enumerate(zip(outs, refs)):
        check_linear(out, *ref, f"linear tiles {i} {ref[-1]}")


# --- weft.lora ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_lora(dtype):
    # 0: single adapter, scale 0.5, dynamic x.
    # 1: single adapter, default scale 1, static rank-2 x.
    # 2: three adapters, one i32 id per batch row ([B]) incl. -1, tables from
    #    the archive, scale 2.
    # 3: three adapters, one i64 id per token ([B, S]) incl. -1, tables as
    #    inputs with a dynamic adapter count, scale -0.25.
    # 4: rank-2 x with one id per row.
    k, rank, n, ads = 33, 5, 17, 3
    x, xs = normal(3, 7, k), normal(4, k)
    a, b = normal(rank, k, scale=k**-0.5), normal(n, rank, scale=rank**-0.5)
    am, bm = normal(ads, rank, k, scale=k**-0.5), normal(ads, n, rank, scale=rank**-0.5)
    ids_row = np.array([2, -1, 0], dtype=np.int32)
    ids_tok = RNG.integers(-1, ads, size=(3, 7)).astype(np.int64)
    ids_tok[0, :4] = [-1, 0, 1, 2]  # every adapter and -1 at least once
    # Ids outside [-1, n_ad) break the precondition; the linalg lowering
    # documents that it treats them like -1 (docs/Spec.md, weft.lora).
    ids_tok[1, :3] = [ads, 1000, -7]
    ids_rank2 = np.array([1, -1, 2, 0], dtype=np.int32)
    tx, txs = t((None, None, k), dtype), t((4, k), dtype)
    ta, tb = t((rank, k), dtype), t((n, rank), dtype)
    tam, tbm = t((ads, rank, k), dtype), t((ads, n, rank), dtype)
    tamd, tbmd = t((None, rank, k), dtype), t((None, n, rank), dtype)
    tr, trs = t((None, None, n), dtype), t((4, n), dtype)
    tir, tit, tis = t((None,), "i32"), t((None, None), "i64"), t((4,), "i32")
    program = f"""
func.func @main(%x: {tx}, %xs: {txs}, %a: {ta}, %b: {tb}, %am: {tamd}, %bm: {tbmd}, %ir: {tir}, %it: {tit}, %is: {tis}) -> ({tr}, {trs}, {tr}, {tr}, {trs}) {{
  %ap = weft.param "lora.a" : {tam}
  %bp = weft.param "lora.b" : {tbm}
  %0 = weft.lora %x, %a, %b {{scale = 0.5 : f32}} : ({tx}, {ta}, {tb}) -> {tr}
  %1 = weft.lora %xs, %a, %b : ({txs}, {ta}, {tb}) -> {trs}
  %2 = weft.lora %x, %ap, %bp ids %ir {{scale = 2.0 : f32}} : ({tx}, {tam}, {tbm}, {tir}) -> {tr}
  %3 = weft.lora %x, %am, %bm ids %it {{scale = -0.25 : f32}} : ({tx}, {tamd}, {tbmd}, {tit}) -> {tr}
  %4 = weft.lora %xs, %ap, %bp ids %is : ({txs}, {tam}, {tbm}, {tis}) -> {trs}
  return %0, %1, %2, %3, %4 : {tr}, {trs}, {tr}, {tr}, {trs}
}}"""
    (x_in, x64), (xs_in, xs64), (a_in, a64), (b_in, b64) = (given(v, dtype) for v in (x, xs, a, b))
    (am_in, am64), (bm_in, bm64) = given(am, dtype), given(bm, dtype)
    # The archive tables differ from the input ones.
    (ap_in, ap64), (bp_in, bp64) = given(normal(ads, rank, k, scale=k**-0.5), dtype), given(
        normal(ads, n, rank, scale=rank**-0.5), dtype)
    params = {"lora.a": entry(ap_in, dtype), "lora.b": entry(bp_in, dtype)}
    outs = harness.run(program, [x_in, xs_in, a_in, b_in, am_in, bm_in, ids_row, ids_tok, ids_rank2], params)
    ids_tok_ref = np.where((ids_tok < -1) | (ids_tok >= ads), -1, ids_tok)
    cases = [
        (x64, a64, b64, 0.5, None),
        (xs64, a64, b64, 1.0, None),
        (x64, ap64, bp64, 2.0, ids_row),
        (x64, am64, bm64, -0.25, ids_tok_ref),
        (xs64, ap64, bp64, 1.0, ids_rank2),
    ]
    for i, (out, (xx, aa, bb, scale, ids)) in enumerate(zip(outs, cases)):
        expected = reference.lora(xx, aa, bb, scale, ids)
        # Two chained f32 contractions (K, then r terms); the magnitude
        # sum_j sum_k |x a b| bounds both.
        magnitude = reference.lora(np.abs(xx), np.abs(aa), np.abs(bb), abs(scale), ids)
        rtol, atol = tolerance(dtype, k + rank, magnitude)
        out = result(out, dtype)
        harness.assert_close(out, expected, rtol, atol, what=f"lora {i} {dtype}")
        if ids is not None:
            # id -1: exactly zero.
            lead = xx.shape[:-1]
            full = np.broadcast_to(ids.reshape(ids.shape + (1,) * (len(lead) - ids.ndim)), lead)
            zero = out[full == -1]
            assert zero.size
            harness.assert_close(zero, np.zeros_like(zero), rtol=0, atol=0, what=f"lora {i} id -1")


# --- Parameter archive errors ---------------------------------------------------


def _compile(directory, program, params):
    source = os.path.join(directory, "program.mlir")
    with open(source, "w") as f:
        f.write(program)
    archive = os.path.join(directory, "params.safetensors")
    safetensors.save(archive, params)
    return subprocess.run(
        [harness.require_tool("weft-compile"), source, "-o", os.path.join(directory, "program.weft"),
         "--params", archive],
        capture_output=True, text=True)


_PARAM_PROGRAM = f"""
func.func @main(%x: {t((None, 16), "f32")}) -> {t((None, 8), "f32")} {{
  %w = weft.param "proj.weight" : {t((8, 16), "f32")}
  %b = weft.param "proj.bias" : {t((8,), "f32")}
  %y = weft.linear %x, %w bias %b : ({t((None, 16), "f32")}, {t((8, 16), "f32")}, {t((8,), "f32")}) -> {t((None, 8), "f32")}
  return %y : {t((None, 8), "f32")}
}}"""


@pytest.mark.parametrize("problem", ["missing", "shape", "dtype"])
def test_compile_bad_param_archive(problem):
    params = {"proj.weight": normal(8, 16), "proj.bias": normal(8)}
    if problem == "missing":
        del params["proj.bias"]
        name = "proj.bias"
    elif problem == "shape":
        params["proj.weight"] = normal(16, 8)
        name = "proj.weight"
    else:
        params["proj.bias"] = params["proj.bias"].astype(np.float16)
        name = "proj.bias"
    with tempfile.TemporaryDirectory(prefix="weft-test-") as directory:
        proc = _compile(directory, _PARAM_PROGRAM, params)
        assert proc.returncode != 0, f"weft-compile accepted a {problem} parameter"
        assert f"'{name}'" in proc.stderr, proc.stderr
        assert not os.path.exists(os.path.join(directory, "program.weft"))


def test_compile_int4_param_shapes():
    # An i4 [N, G] parameter is stored as U8 [N, ceil(G / 2)] (odd G is padded);
    # the unpacked shape is rejected with the parameter's name.
    program = f"""
func.func @main(%x: {t((None, 64), "f32")}) -> {t((None, 4), "f32")} {{
  %q = weft.param "l.qweight" : {t((4, 64), "i4")}
  %s = weft.param "l.scales" : {t((4, 1), "f32")}
  %z = weft.param "l.zeros" : {t((4, 1), "i4")}
  %y = weft.qlinear %x, %q, %s zeros %z {{group_size = -1 : i64}} : ({t((None, 64), "f32")}, {t((4, 64), "i4")}, {t((4, 1), "f32")}, {t((4, 1), "i4")}) -> {t((None, 4), "f32")}
  return %y : {t((None, 4), "f32")}
}}"""
    q = RNG.integers(0, 16, size=(4, 64))
    z = RNG.integers(0, 16, size=(4, 1))
    good = {"l.qweight": pack_int4(q), "l.scales": np.full((4, 1), 0.5, np.float32),
            "l.zeros": int_entry(z, 4, False)}
    with tempfile.TemporaryDirectory(prefix="weft-test-") as directory:
        proc = _compile(directory, program, good)
        assert proc.returncode == 0, proc.stderr
    bad = dict(good, **{"l.qweight": q.astype(np.uint8)})
    with tempfile.TemporaryDirectory(prefix="weft-test-") as directory:
        proc = _compile(directory, program, bad)
        assert proc.returncode != 0
        assert "'l.qweight'" in proc.stderr, proc.stderr
