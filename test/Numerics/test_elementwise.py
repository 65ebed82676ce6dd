# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""Elementwise ops: numpy broadcasting, every unary op, f32/f16/bf16."""

import numpy as np
import pytest

import harness
import reference
from harness import mlir_type as t

RNG = np.random.default_rng()


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_broadcasting(op):
    # [?, ?, 37] op [37] and [?, 1, 37]: a static 1 broadcasts, dynamic dims do not.
    a = RNG.standard_normal((3, 5, 37)).astype(np.float32)
    b = RNG.standard_normal((37,)).astype(np.float32) + (3.0 if op == "div" else 0.0)
    c = RNG.standard_normal((3, 1, 37)).astype(np.float32) + (3.0 if op == "div" else 0.0)
    ta, tb, tc = t((None, None, 37), "f32"), t((37,), "f32"), t((None, 1, 37), "f32")
    program = f"""
func.func @main(%a: {ta}, %b: {tb}, %c: {tc}) -> ({ta}, {ta}) {{
  %0 = weft.{op} %a, %b : ({ta}, {tb}) -> {ta}
  %1 = weft.{op} %a, %c : ({ta}, {tc}) -> {ta}
  return %0, %1 : {ta}, {ta}
}}"""
    out0, out1 = harness.run(program, [a, b, c])
    f = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op]
    a64, b64, c64 = (v.astype(np.float64) for v in (a, b, c))
    harness.assert_close(out0, f(a64, b64), rtol=1e-6, atol=1e-6)
    harness.assert_close(out1, f(a64, c64), rtol=1e-6, atol=1e-6)


def test_integer_binary():
    a = RNG.integers(-1000, 1000, size=(4, 9), dtype=np.int64)
    b = RNG.integers(1, 50, size=(9,), dtype=np.int64)
    ta, tb = t((None, 9), "i64"), t((9,), "i64")
    program = f"""
func.func @main(%a: {ta}, %b: {tb}) -> ({ta}, {ta}) {{
  %0 = weft.mul %a, %b : ({ta}, {tb}) -> {ta}
  %1 = weft.sub %0, %b : ({ta}, {tb}) -> {ta}
  %2 = weft.div %1, %b : ({ta}, {tb}) -> {ta}
  return %1, %2 : {ta}, {ta}
}}"""
    out1, out2 = harness.run(program, [a, b])
    np.testing.assert_array_equal(out1, a * b - b)
    # Integer division truncates toward zero.
    np.testing.assert_array_equal(out2, np.trunc((a * b - b) / b).astype(np.int64))


@pytest.mark.parametrize("op", sorted(reference.UNARY))
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_unary(op, dtype):
    x = RNG.standard_normal((7, 33)).astype(np.float32) * 3.0
    if op == "rsqrt":
        x = np.abs(x) + 0.1
    if op == "exp" and dtype == "f16":
        # exp(x) overflows f16 (max 65504) above x = 11.09; the draw reaches
        # 12 now and then.
        x = np.clip(x, -10.0, 10.0)
    tx = t((None, 33), dtype)
    program = f"""
func.func @main(%x: {tx}) -> {tx} {{
  %0 = weft.{op} %x : {tx}
  return %0 : {tx}
}}"""
    if dtype == "f32":
        given, exact = x, x.astype(np.float64)
        rtol, atol = 2e-6, 2e-6
    elif dtype == "f16":
        given = x.astype(np.float16)
        exact = given.astype(np.float64)
        rtol, atol = 2e-3, 2e-3  # one f16 rounding of the f32 result
    else:
        given = harness.to_bf16(x)
        exact = harness.from_bf16(given).astype(np.float64)
        rtol, atol = 1.6e-2, 1e-2  # one bf16 rounding of the f32 result
    (out,) = harness.run(program, [given])
    if dtype == "bf16":
        out = harness.from_bf16(out)
    expected = reference.UNARY[op](exact)
    if op == "exp":
        rtol = max(rtol, 1e-5)
    harness.assert_close(out, expected, rtol=rtol, atol=atol, what=f"{op} {dtype}")


def test_gelu_tanh_approximation():
    x = RNG.standard_normal((4, 65)).astype(np.float32) * 4.0
    tx = t((4, 65), "f32")
    program = f"""
func.func @main(%x: {tx}) -> {tx} {{
  %0 = weft.gelu %x {{tanh_approximation}} : {tx}
  return %0 : {tx}
}}"""
    (out,) = harness.run(program, [x])
    harness.assert_close(out, reference.gelu_tanh(x.astype(np.float64)), rtol=2e-6, atol=2e-6)


def test_softplus_large_inputs():
    x = np.array([[-100.0, -20.0, 0.0, 15.0, 25.0, 90.0]], dtype=np.float32)
    tx = t((1, 6), "f32")
    program = f"""
func.func @main(%x: {tx}) -> {tx} {{
  %0 = weft.softplus %x : {tx}
  return %0 : {tx}
}}"""
    (out,) = harness.run(program, [x])
    harness.assert_close(out, reference.softplus(x.astype(np.float64)), rtol=1e-6, atol=1e-30)
