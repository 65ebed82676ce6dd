# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""Normalizations and reductions: rms_norm, layer_norm, softmax, reduce and
argmax across f32/f16/bf16 (argmax also i32/i64), static and dynamic dims."""

import numpy as np
import pytest

import harness
import reference
from harness import mlir_type as t
from harness import EPS32, UNIT, HALF_SUBNORMAL, given, entry, result

RNG = np.random.default_rng()
DTYPES = ["f32", "f16", "bf16"]

def normal(*shape, scale=1.0, offset=0.0):
    return (RNG.standard_normal(shape) * scale + offset).astype(np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm(dtype):
    # Dynamic leading dims with D = 129 (weight an input, eps 1e-6), and a
    # static [7, 33] x with the weight from the archive and the default eps.
    x, w = normal(2, 3, 129, scale=2.0), normal(129, scale=0.2, offset=1.0)
    xs, ws = normal(7, 33, scale=0.5), normal(33, scale=0.2, offset=1.0)
    # Small values: the mean square (~1e-5) is comparable to eps.
    x1, w1 = normal(65, scale=3e-3), normal(65, scale=0.2, offset=1.0)
    tx, tw, txs, tws = t((None, None, 129), dtype), t((129,), dtype), t((7, 33), dtype), t((33,), dtype)
    tx1 = t((None,), dtype)  # rank 1, dynamic D
    program = f"""
func.func @main(%x: {tx}, %w: {tw}, %xs: {txs}, %x1: {tx1}, %w1: {tx1}) -> ({tx}, {txs}, {tx1}) {{
  %ws = weft.param "norm.weight" : {tws}
  %0 = weft.rms_norm %x, %w {{eps = 1.0e-06 : f64}} : ({tx}, {tw}) -> {tx}
  %1 = weft.rms_norm %xs, %ws : ({txs}, {tws}) -> {txs}
  %2 = weft.rms_norm %x1, %w1 : ({tx1}, {tx1}) -> {tx1}
  return %0, %1, %2 : {tx}, {txs}, {tx1}
}}"""
    (x_in, x64), (w_in, w64), (xs_in, xs64), (ws_in, ws64) = (given(v, dtype) for v in (x, w, xs, ws))
    (x1_in, x164), (w1_in, w164) = given(x1, dtype), given(w1, dtype)
    outs = harness.run(program, [x_in, w_in, xs_in, x1_in, w1_in], {"norm.weight": entry(ws_in, dtype)})
    cases = [(x64, w64, 1e-6, "dynamic"), (xs64, ws64, 1e-5, "static"), (x164, w164, 1e-5, "rank 1")]
    for out, (xx, ww, eps, what) in zip(outs, cases):
        d = xx.shape[-1]
        # The mean square sums D positive terms (relative error <= D ulps of
        # f32, halved by the square root), then rsqrt and two products: D + 8
        # f32 ulps of relative error, plus one rounding to the result type.
        rtol, atol = UNIT[dtype] + (d + 8) * EPS32, HALF_SUBNORMAL[dtype]
        harness.assert_close(result(out, dtype), reference.rms_norm(xx, ww, eps), rtol, atol,
                             what=f"rms_norm {what} {dtype}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm(dtype):
    # weight and bias, weight only, bias only, neither (dynamic [?, ?, 65],
    # eps 1e-3 on one of them), and an x of dynamic D with both from the
    # archive.
    d = 65
    x = normal(3, 5, d, scale=2.0, offset=0.7)
    w, b = normal(d, scale=0.3, offset=1.0), normal(d, scale=0.5)
    xs = normal(4, 33, scale=0.5, offset=-1.0)
    ws, bs = normal(33, scale=0.3, offset=1.0), normal(33, scale=0.5)
    tx, tw, txs, tws = t((None, None, d), dtype), t((d,), dtype), t((None, None), dtype), t((33,), dtype)
    program = f"""
func.func @main(%x: {tx}, %w: {tw}, %b: {tw}, %xs: {txs}) -> ({tx}, {tx}, {tx}, {tx}, {txs}) {{
  %ws = weft.param "ln.weight" : {tws}
  %bs = weft.param "ln.bias" : {tws}
  %0 = weft.layer_norm %x weight %w bias %b : ({tx}, {tw}, {tw}) -> {tx}
  %1 = weft.layer_norm %x weight %w : ({tx}, {tw}) -> {tx}
  %2 = weft.layer_norm %x bias %b {{eps = 1.0e-03 : f64}} : ({tx}, {tw}) -> {tx}
  %3 = weft.layer_norm %x : ({tx}) -> {tx}
  %4 = weft.layer_norm %xs weight %ws bias %bs : ({txs}, {tws}, {tws}) -> {txs}
  return %0, %1, %2, %3, %4 : {tx}, {tx}, {tx}, {tx}, {txs}
}}"""
    (x_in, x64), (w_in, w64), (b_in, b64), (xs_in, xs64) = (given(v, dtype) for v in (x, w, b, xs))
    (ws_in, ws64), (bs_in, bs64) = given(ws, dtype), given(bs, dtype)
    params = {"ln.weight": entry(ws_in, dtype), "ln.bias": entry(bs_in, dtype)}
    outs = harness.run(program, [x_in, w_in, b_in, xs_in], params)
    cases = [(x64, w64, b64, 1e-5), (x64, w64, None, 1e-5), (x64, None, b64, 1e-3),
             (x64, None, None, 1e-5), (xs64, ws64, bs64, 1e-5)]
    for i, (out, (xx, ww, bb, eps)) in enumerate(zip(outs, cases)):
        expected = reference.layer_norm(xx, ww, bb, eps)
        n = xx.shape[-1]
        sigma = np.sqrt(np.var(xx, axis=-1)).min()
        wmax = 1.0 if ww is None else np.abs(ww).max()
        bmax = 0.0 if bb is None else np.abs(bb).max()
        # The f32 mean is off by up to n ulps of max|x|, and x - mean by one
        # more: an absolute error of (n + 2) * 2^-24 * max|x| / sigma in the
        # normalized value, scaled by |w|; the variance, rsqrt and the affine
        # part add a few ulps (n + 8 in all, |b| for the bias add), and the
        # result is rounded once to its type.
        rtol = UNIT[dtype] + (n + 8) * EPS32
        atol = (n + 8) * EPS32 * (np.abs(xx).max() / sigma * wmax + bmax) + HALF_SUBNORMAL[dtype]
        harness.assert_close(result(out, dtype), expected, rtol, atol, what=f"layer_norm {i} {dtype}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax(dtype):
    # Softmax over the outer (0), middle (1) and inner (2) axis of a dynamic
    # [?, ?, 33] tensor, and over the inner axis of a static one.
    x = normal(5, 7, 33, scale=3.0)
    xs = normal(3, 129, scale=3.0, offset=40.0)  # large values: needs the max shift
    tx, txs = t((None, None, 33), dtype), t((3, 129), dtype)
    program = f"""
func.func @main(%x: {tx}, %xs: {txs}) -> ({tx}, {tx}, {tx}, {txs}) {{
  %0 = weft.softmax %x {{axis = 0}} : {tx}
  %1 = weft.softmax %x {{axis = 1}} : {tx}
  %2 = weft.softmax %x {{axis = 2}} : {tx}
  %3 = weft.softmax %xs {{axis = 1}} : {txs}
  return %0, %1, %2, %3 : {tx}, {tx}, {tx}, {txs}
}}"""
    (x_in, x64), (xs_in, xs64) = given(x, dtype), given(xs, dtype)
    outs = harness.run(program, [x_in, xs_in])
    for out, xx, axis in zip(outs, [x64, x64, x64, xs64], [0, 1, 2, 1]):
        expected = reference.softmax(xx, axis)
        n = xx.shape[axis]
        spread = np.max(xx.max(axis=axis, keepdims=True) - xx)
        # exp(x - max) is off by |x - max| ulps (the f32 subtraction is
        # rounded) plus expf's own ulp; the sum of n positive terms by n ulps;
        # the division by one: relative, plus one rounding to the result type.
        rtol = UNIT[dtype] + (n + spread + 4) * EPS32
        harness.assert_close(result(out, dtype), expected, rtol, HALF_SUBNORMAL[dtype],
                             what=f"softmax axis {axis} {dtype}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_reduce(dtype):
    # A [?, 7, ?, 9] input (run time [3, 7, 5, 9]): several axes, keep_dims,
    # reductions to rank 0 and to all-1 shapes, dynamic counts for mean.
    x = normal(3, 7, 5, 9, offset=0.3)
    tx = t((None, 7, None, 9), dtype)
    cases = [  # (kind, axes, keep_dims, result shape)
        ("sum", (1, 3), False, (None, None)),
        ("max", (0, 2), True, (1, 7, 1, 9)),
        ("mean", (3,), True, (None, 7, None, 1)),
        ("mean", (0, 1, 2, 3), False, ()),
        ("sum", (0,), True, (1, 7, None, 9)),
        ("max", (0, 1, 2, 3), True, (1, 1, 1, 1)),
        ("mean", (0, 2), False, (7, 9)),
        ("max", (3,), False, (None, 7, None)),
    ]
    types = [t(shape, dtype) for (_, _, _, shape) in cases]
    lines = []
    for i, (kind, axes, keep, _) in enumerate(cases):
        attrs = f"axes = array<i64: {', '.join(map(str, axes))}>" + (", keep_dims" if keep else "")
        lines.append(f"  %{i} = weft.reduce <{kind}> %x {{{attrs}}} : ({tx}) -> {types[i]}")
    program = (f"func.func @main(%x: {tx}) -> ({', '.join(types)}) {{\n" + "\n".join(lines)
               + f"\n  return {', '.join(f'%{i}' for i in range(len(cases)))} : {', '.join(types)}\n}}")
    x_in, x64 = given(x, dtype)
    outs = harness.run(program, [x_in])
    for out, (kind, axes, keep, _) in zip(outs, cases):
        expected = reference.reduce(x64, kind, axes, keep)
        if kind == "max":
            # The maximum of the (exactly widened) inputs: exact.
            rtol, atol = 0.0, 0.0
        else:
            count = np.prod([x64.shape[a] for a in axes])
            # A recursive f32 sum of n terms is within n * 2^-24 * sum|x|; the
            # mean divides once more (one ulp); then one rounding to the type.
            total = reference.reduce(np.abs(x64), kind, axes, keep)
            rtol = UNIT[dtype] + 2 * EPS32
            atol = (count + 1) * EPS32 * float(np.max(total)) + HALF_SUBNORMAL[dtype]
        harness.assert_close(result(out, dtype), expected, rtol, atol,
                             what=f"reduce {kind} {axes} keep_dims={keep} {dtype}")


@pytest.mark.parametrize("dtype", DTYPES + ["i32", "i64"])
def test_argmax(dtype):
    # Small integer values make ties common; batch row 0 is constant (every
    # index ties, so 0 wins along axes 1 and 2); batch row 1 holds the lowest
    # value (-inf, or INT_MIN) everywhere; in row 2 the maximum appears at two
    # chosen places of every [:, j] column and [i, :] row.
    x = RNG.integers(-3, 3, size=(4, 33, 9)).astype(np.float64)
    x[0] = 1.0
    x[2] = RNG.integers(-3, 3, size=(33, 9))
    x[2, 5, :] = 10.0
    x[2, 20, :] = 10.0
    x[2, :, 3] = 10.0
    x[2, :, 7] = 10.0
    if dtype in ("i32", "i64"):
        np_type = np.int32 if dtype == "i32" else np.int64
        x[1] = np.iinfo(np_type).min
        x_in = x.astype(np_type)
        x64 = x_in.astype(np.float64)
        # float64 cannot hold every i64 exactly; the reference compares
        # the integers themselves.
        ref_in = x_in
    else:
        x[1] = -np.inf
        x_in, x64 = given(x, dtype)
        ref_in = x64
    tx = t((None, 33, None), dtype)
    t0, t1, t2 = t((None, 33), "i64"), t((None, 1, None), "i64"), t((33, None), "i64")
    program = f"""
func.func @main(%x: {tx}) -> ({t0}, {t1}, {t2}) {{
  %0 = weft.argmax %x {{axis = 2}} : ({tx}) -> {t0}
  %1 = weft.argmax %x {{axis = 1, keep_dims}} : ({tx}) -> {t1}
  %2 = weft.argmax %x {{axis = 0}} : ({tx}) -> {t2}
  return %0, %1, %2 : {t0}, {t1}, {t2}
}}"""
    outs = harness.run(program, [x_in])
    for out, (axis, keep) in zip(outs, [(2, False), (1, True), (0, False)]):
        assert out.dtype == np.int64
        expected = reference.argmax(ref_in, axis, keep)
        # Indices are exact.
        harness.assert_close(out, expected, rtol=0, atol=0, what=f"argmax axis {axis} {dtype}")
    # The deliberate ties: the smallest index wins.
    assert (outs[0][0] == 0).all() and (outs[0][1] == 0).all()
    rows = np.where(np.isin(np.arange(33), [5, 20]), 0, 3)  # rows 5, 20 are all 10
    cols = np.where(np.isin(np.arange(9), [3, 7]), 0, 5)  # columns 3, 7 are all 10
    assert (outs[0][2] == rows).all() and (outs[1][2, 0] == cols).all()
