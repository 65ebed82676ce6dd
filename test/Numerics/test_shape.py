# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""Shape ops: embedding, reshape, transpose, concat, slice and cast, static
and dynamic dims; the errors weft-run reports for a bad input."""

import os
import subprocess
import tempfile

import numpy as np
import pytest

import harness
import reference
from harness import mlir_type as t
from harness import given, result
from weft import safetensors

RNG = np.random.default_rng()
DTYPES = ["f32", "f16", "bf16"]


def normal(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def exact(out, expected, what):
    # Data movement and gathers copy elements: exact.
    harness.assert_close(out, expected, rtol=0, atol=0, what=what)


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding(dtype):
    # i32 ids [?] and i64 ids [?, ?] into a table given as an input, 2-D i64
    # ids into a table from the archive, and static [3, 5] i32 ids.
    v, d = 37, 33
    table, ptable = normal(v, d), normal(v, d)
    ids1 = RNG.integers(0, v, size=(7,)).astype(np.int32)
    ids2 = RNG.integers(0, v, size=(3, 5)).astype(np.int64)
    ids2[0, :2] = [0, v - 1]  # both ends of the table
    ids3 = RNG.integers(0, v, size=(3, 5)).astype(np.int32)
    ids4 = np.array(RNG.integers(0, v), dtype=np.int64)  # rank 0: one row
    tt = t((v, d), dtype)
    t1, t2, t3, t4 = t((None,), "i32"), t((None, None), "i64"), t((3, 5), "i32"), t((), "i64")
    r1, r2, r3, r4 = t((None, d), dtype), t((None, None, d), dtype), t((3, 5, d), dtype), t((d,), dtype)
    program = f"""
func.func @main(%table: {tt}, %i1: {t1}, %i2: {t2}, %i3: {t3}, %i4: {t4}) -> ({r1}, {r2}, {r2}, {r3}, {r4}) {{
  %p = weft.param "embed.weight" : {tt}
  %0 = weft.embedding %table, %i1 : ({tt}, {t1}) -> {r1}
  %1 = weft.embedding %table, %i2 : ({tt}, {t2}) -> {r2}
  %2 = weft.embedding %p, %i2 : ({tt}, {t2}) -> {r2}
  %3 = weft.embedding %p, %i3 : ({tt}, {t3}) -> {r3}
  %4 = weft.embedding %table, %i4 : ({tt}, {t4}) -> {r4}
  return %0, %1, %2, %3, %4 : {r1}, {r2}, {r2}, {r3}, {r4}
}}"""
    (table_in, table64), (ptable_in, ptable64) = given(table, dtype), given(ptable, dtype)
    entry = safetensors.Tensor("BF16", ptable_in) if dtype == "bf16" else ptable_in
    outs = harness.run(program, [table_in, ids1, ids2, ids3, ids4], {"embed.weight": entry})
    cases = [(table64, ids1), (table64, ids2), (ptable64, ids2), (ptable64, ids3), (table64, ids4)]
    for i, (out, (tab, ids)) in enumerate(zip(outs, cases)):
        exact(result(out, dtype), reference.embedding(tab, ids), f"embedding {i} {dtype}")


@pytest.mark.parametrize("dtype", ["f32", "bf16", "i64", "i1"])
def test_reshape_transpose(dtype):
    # reshape: split and merge the static tail behind a dynamic prefix, a
    # fully static regrouping, to and from trailing 1s, to and from rank 0.
    # transpose: a 4-D permutation with dynamic dims, and a static 2-D one.
    if dtype == "i64":
        make = lambda *s: RNG.integers(-(2**62), 2**62, size=s, dtype=np.int64)  # noqa: E731
    elif dtype == "i1":
        make = lambda *s: RNG.integers(0, 2, size=s).astype(bool)  # noqa: E731
    else:
        make = lambda *s: given(normal(*s), dtype)[0]  # noqa: E731
    a, b, c, d = make(2, 3, 12), make(4, 6, 7), make(2, 3, 4), make(3, 5, 4, 7)
    e = make(5, 1, 9)
    ta, tb, tc, td, te = (t((None, None, 12), dtype), t((None, 6, 7), dtype), t((2, 3, 4), dtype),
                          t((None, 5, None, 7), dtype), t((None, 1, 9), dtype))
    ra, rb, rc = t((None, None, 3, 4), dtype), t((None, 42), dtype), t((4, 6), dtype)
    rd, rd2 = t((None, None, 7, 5), dtype), t((4, 3, 2), dtype)
    re1, re2 = t((None, 9, 1), dtype), t((None, 1, 3, 3), dtype)
    f = make(1, 1)
    tf, rf0, rf1 = t((1, 1), dtype), t((), dtype), t((1, 1, 1), dtype)
    program = f"""
func.func @main(%a: {ta}, %b: {tb}, %c: {tc}, %d: {td}, %e: {te}, %f: {tf}) -> ({ra}, {rb}, {rc}, {rd}, {rd2}, {re1}, {re2}, {rf0}, {rf1}) {{
  %0 = weft.reshape %a : {ta} -> {ra}
  %1 = weft.reshape %b : {tb} -> {rb}
  %2 = weft.reshape %c : {tc} -> {rc}
  %3 = weft.transpose %d {{permutation = array<i64: 2, 0, 3, 1>}} : ({td}) -> {rd}
  %4 = weft.transpose %c {{permutation = array<i64: 2, 1, 0>}} : ({tc}) -> {rd2}
  %5 = weft.reshape %e : {te} -> {re1}
  %6 = weft.reshape %5 : {re1} -> {re2}
  %7 = weft.reshape %f : {tf} -> {rf0}
  %8 = weft.reshape %7 : {rf0} -> {rf1}
  return %0, %1, %2, %3, %4, %5, %6, %7, %8 : {ra}, {rb}, {rc}, {rd}, {rd2}, {re1}, {re2}, {rf0}, {rf1}
}}"""
    outs = harness.run(program, [a, b, c, d, e, f])
    expected = [a.reshape(2, 3, 3, 4), b.reshape(4, 42), c.reshape(4, 6),
                reference.transpose(d, (2, 0, 3, 1)), reference.transpose(c, (2, 1, 0)),
                e.reshape(5, 9, 1), e.reshape(5, 1, 3, 3), f.reshape(()), f.reshape(1, 1, 1)]
    for i, (out, want) in enumerate(zip(outs, expected)):
        assert out.dtype == want.dtype, f"result {i}: {out.dtype} != {want.dtype}"
        if dtype == "i64":
            # float64 cannot hold every i64: compare the integers.
            np.testing.assert_array_equal(out, want, err_msg=f"reshape/transpose {i} {dtype}")
        else:
            exact(result(out, dtype), result(want, dtype), f"reshape/transpose {i} {dtype}")


@pytest.mark.parametrize("dtype", ["f32", "f16", "i32"])
def test_concat_slice(dtype):
    # concat: three inputs along a dynamic axis (different run-time sizes),
    # and along a static axis with the other dims dynamic.
    # slice: steps 3 and 1 on a static axis, step 2 on a dynamic axis, and a
    # step larger than the range.
    if dtype == "i32":
        make = lambda *s: RNG.integers(-1000, 1000, size=s).astype(np.int32)  # noqa: E731
    else:
        make = lambda *s: given(normal(*s), dtype)[0]  # noqa: E731
    a, b, c = make(2, 5, 3), make(3, 5, 3), make(4, 5, 3)
    p, q, r = make(2, 3, 6), make(2, 7, 6), make(2, 1, 6)
    s = make(9, 33)
    tin = t((None, 5, 3), dtype)
    tp, tq, tr = t((None, 3, None), dtype), t((None, 7, None), dtype), t((None, 1, None), dtype)
    rc, rpqr = t((None, 5, 3), dtype), t((None, 11, None), dtype)
    ts = t((None, 33), dtype)
    s0, s1, s2, s3 = t((None, 10), dtype), t((None, 4), dtype), t((3, 33), dtype), t((None, 1), dtype)
    program = f"""
func.func @main(%a: {tin}, %b: {tin}, %c: {tin}, %p: {tp}, %q: {tq}, %r: {tr}, %s: {ts}) -> ({rc}, {rpqr}, {s0}, {s1}, {s2}, {s3}) {{
  %0 = weft.concat %a, %b, %c {{axis = 0}} : ({tin}, {tin}, {tin}) -> {rc}
  %1 = weft.concat %p, %q, %r {{axis = 1}} : ({tp}, {tq}, {tr}) -> {rpqr}
  %2 = weft.slice %s {{axis = 1, start = 2, end = 31, step = 3}} : ({ts}) -> {s0}
  %3 = weft.slice %s {{axis = 1, start = 29, end = 33}} : ({ts}) -> {s1}
  %4 = weft.slice %s {{axis = 0, start = 1, end = 6, step = 2}} : ({ts}) -> {s2}
  %5 = weft.slice %s {{axis = 1, start = 7, end = 9, step = 5}} : ({ts}) -> {s3}
  return %0, %1, %2, %3, %4, %5 : {rc}, {rpqr}, {s0}, {s1}, {s2}, {s3}
}}"""
    outs = harness.run(program, [a, b, c, p, q, r, s])
    expected = [reference.concat([a, b, c], 0), reference.concat([p, q, r], 1),
                reference.slice_(s, 1, 2, 31, 3), reference.slice_(s, 1, 29, 33),
                reference.slice_(s, 0, 1, 6, 2), reference.slice_(s, 1, 7, 9, 5)]
    for i, (out, want) in enumerate(zip(outs, expected)):
        exact(out, want, f"concat/slice {i} {dtype}")


def test_cast_float():
    # f32 -> f16 / bf16 round to nearest even (ties included), f16 / bf16 ->
    # f32 widen exactly, f16 <-> bf16 go through the exact f32 value.
    ties16 = [1 + 2**-11, 1 + 3 * 2**-11, -(1 + 2**-11), 2048 + 1, 2048 + 3]
    tiesb16 = [1 + 2**-8, 1 + 3 * 2**-8, -(1 + 3 * 2**-8), 256 + 1, 256 + 3]
    x = np.concatenate([normal(120) * 100, np.array(ties16 + tiesb16, np.float32)])
    x = x.astype(np.float32).reshape(5, 26)
    h = normal(5, 26).astype(np.float16)
    bw = harness.to_bf16(normal(5, 26) * 1000)
    tx, th, tb = t((None, 26), "f32"), t((None, 26), "f16"), t((None, 26), "bf16")
    program = f"""
func.func @main(%x: {tx}, %h: {th}, %b: {tb}) -> ({th}, {tb}, {tx}, {tx}, {tb}, {th}) {{
  %0 = weft.cast %x : {tx} -> {th}
  %1 = weft.cast %x : {tx} -> {tb}
  %2 = weft.cast %h : {th} -> {tx}
  %3 = weft.cast %b : {tb} -> {tx}
  %4 = weft.cast %h : {th} -> {tb}
  %5 = weft.cast %b : {tb} -> {th}
  return %0, %1, %2, %3, %4, %5 : {th}, {tb}, {tx}, {tx}, {tb}, {th}
}}"""
    to_f16, to_b16, from_f16, from_b16, h_to_b, b_to_h = harness.run(program, [x, h, bw])
    assert to_f16.dtype == np.float16 and to_b16.dtype == np.uint16 and from_b16.dtype == np.float32
    # Exact: each result is the one correctly rounded (nearest-even) value
    # of the input (numpy's float16 conversion and harness.to_bf16 both
    # round to nearest even).
    exact(to_f16, x.astype(np.float16), "f32 -> f16")
    exact(harness.from_bf16(to_b16), harness.from_bf16(harness.to_bf16(x)), "f32 -> bf16")
    exact(from_f16, h.astype(np.float64), "f16 -> f32")
    exact(from_b16, harness.from_bf16(bw), "bf16 -> f32")
    exact(harness.from_bf16(h_to_b), harness.from_bf16(harness.to_bf16(h.astype(np.float32))), "f16 -> bf16")
    exact(b_to_h, harness.from_bf16(bw).astype(np.float16), "bf16 -> f16")
    # The tie cases really are ties, resolved to the even neighbour.
    assert to_f16.reshape(-1)[120] == 1.0 and to_f16.reshape(-1)[121] == 1 + 2**-9
    assert harness.from_bf16(to_b16).reshape(-1)[125] == 1.0


def test_cast_integer():
    # f32 -> i32 truncates toward zero; i64 -> f32 rounds to nearest even
    # (values up to 2^52, exact in float64); i1 -> f32 gives 0 and 1; f16 ->
    # i64 truncates too.
    f = np.concatenate([
        np.array([-2.7, -2.5, -0.5, -0.0, 0.5, 2.5, 2.7, 1e9 + 0.75, -1e9 - 0.75, 7.0], np.float32),
        (normal(23) * 1000).astype(np.float32)])
    i = np.concatenate([
        np.array([2**24 + 1, 2**24 + 3, -(2**24 + 1), 2**52 + 2**28, 0, -1, 123456789], np.int64),
        RNG.integers(-(2**52), 2**52, size=26, dtype=np.int64)])
    b = RNG.integers(0, 2, size=(33,)).astype(bool)
    h = (normal(33) * 100).astype(np.float16)
    tf, ti, tb, th = t((None,), "f32"), t((None,), "i64"), t((None,), "i1"), t((33,), "f16")
    r_i32, r_f32, r_i64 = t((None,), "i32"), t((None,), "f32"), t((33,), "i64")
    program = f"""
func.func @main(%f: {tf}, %i: {ti}, %b: {tb}, %h: {th}) -> ({r_i32}, {r_f32}, {r_f32}, {r_i64}) {{
  %0 = weft.cast %f : {tf} -> {r_i32}
  %1 = weft.cast %i : {ti} -> {r_f32}
  %2 = weft.cast %b : {tb} -> {r_f32}
  %3 = weft.cast %h : {th} -> {r_i64}
  return %0, %1, %2, %3 : {r_i32}, {r_f32}, {r_f32}, {r_i64}
}}"""
    f_to_i, i_to_f, b_to_f, h_to_i = harness.run(program, [f, i, b, h])
    assert f_to_i.dtype == np.int32 and i_to_f.dtype == np.float32 and h_to_i.dtype == np.int64
    exact(f_to_i, reference.float_to_int(f), "f32 -> i32")
    # Exact: the nearest-even f32 of each integer (|i| < 2^53, so float64
    # holds it exactly and float64 -> float32 rounds once).
    exact(i_to_f, i.astype(np.float64).astype(np.float32), "i64 -> f32")
    exact(b_to_f, b.astype(np.float64), "i1 -> f32")
    exact(h_to_i, reference.float_to_int(h), "f16 -> i64")
    assert i_to_f[0] == 2**24 and i_to_f[1] == 2**24 + 4  # ties to even


def test_cast_between_integers():
    # Narrower: keep the low bits (i64 -> i32 wraps, i32 -> i1 keeps bit 0);
    # wider: sign-extend (i32 -> i64), except i1, which is 0 or 1 (i1 -> i32,
    # i1 -> i64); f32 -> i8 truncates toward zero (in range).
    wide = np.concatenate([np.array([2**31, 2**32 + 5, -(2**31) - 1, -1, 2**40 - 3], np.int64),
                           RNG.integers(-(2**62), 2**62, size=28, dtype=np.int64)])
    small = RNG.integers(-(2**31), 2**31, size=33).astype(np.int32)
    small[:4] = [-1, 2, 3, -(2**31)]
    b = RNG.integers(0, 2, size=33).astype(bool)
    # Out-of-range values have no specified result: stay inside i8.
    f = np.clip(normal(33) * 40, -128.9, 127.9).astype(np.float32)
    ti, ts, tb, tf = t((None,), "i64"), t((None,), "i32"), t((None,), "i1"), t((None,), "f32")
    t8 = t((None,), "i8")
    program = f"""
func.func @main(%w: {ti}, %s: {ts}, %b: {tb}, %f: {tf}) -> ({ts}, {ti}, {tb}, {ts}, {ti}, {t8}) {{
  %0 = weft.cast %w : {ti} -> {ts}
  %1 = weft.cast %s : {ts} -> {ti}
  %2 = weft.cast %s : {ts} -> {tb}
  %3 = weft.cast %b : {tb} -> {ts}
  %4 = weft.cast %b : {tb} -> {ti}
  %5 = weft.cast %f : {tf} -> {t8}
  return %0, %1, %2, %3, %4, %5 : {ts}, {ti}, {tb}, {ts}, {ti}, {t8}
}}"""
    outs = harness.run(program, [wide, small, b, f])
    low32 = ((wide + 2**31) % 2**32 - 2**31).astype(np.int32)  # two's complement low 32 bits
    expected = [low32, small.astype(np.int64), (small & 1).astype(bool),
                b.astype(np.int32), b.astype(np.int64), reference.float_to_int(f).astype(np.int8)]
    for i, (out, want) in enumerate(zip(outs, expected)):
        assert out.dtype == want.dtype, f"cast {i}: {out.dtype} != {want.dtype}"
        # Integers are compared exactly (as integers: float64 cannot hold
        # every i64).
        np.testing.assert_array_equal(out, want, err_msg=f"integer cast {i}")


# --- weft-run input errors ------------------------------------------------------


@pytest.mark.parametrize("problem", ["dtype", "rank", "static dim"])
def test_run_bad_input(problem):
    program = f"""
func.func @main(%x: {t((None, 16), "f32")}) -> {t((None, 16), "f32")} {{
  %0 = weft.neg %x : {t((None, 16), "f32")}
  return %0 : {t((None, 16), "f32")}
}}"""
    bad = {"dtype": np.zeros((2, 16), np.float64),
           "rank": np.zeros((2, 16, 1), np.float32),
           "static dim": np.zeros((2, 15), np.float32)}[problem]
    with tempfile.TemporaryDirectory(prefix="weft-test-") as directory:
        artifact, _ = harness.compile_program(program, directory)
        path = os.path.join(directory, "x.npy")
        np.save(path, bad)
        proc = subprocess.run([harness._tool("weft-run"), artifact, "--input", path],
                              capture_output=True, text=True)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "input 0" in proc.stderr and "f32[?, 16]" in proc.stderr, proc.stderr
    assert proc.stdout == ""
