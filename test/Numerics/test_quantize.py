# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft-quantize: the archive it writes, the errors it reports and the
quantized program it produces, against an independent numpy implementation of
docs/Quantization.md."""

import json
import os
import tempfile

import numpy as np
import pytest

import harness
from harness import mlir_type as t
from weft import params as weft_params
from weft import safetensors

RNG = np.random.default_rng()


def round_scale(x, scales_type):
    """f32 -> the scales type and back (round to nearest even)."""
    if scales_type == "f16":
        return x.astype(np.float16).astype(np.float32)
    if scales_type == "bf16":
        return harness.from_bf16(harness.to_bf16(x))
    return x.astype(np.float32)


def rtn_quantize(w, bits, group, symmetric, scales_type):
    """docs/Quantization.md round-to-nearest, in f32: (q, scales, zeros)."""
    n, k = w.shape
    g = k if group == -1 else group
    groups = w.astype(np.float32).reshape(n, k // g, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        if symmetric:
            qmax = np.float32(2 ** (bits - 1) - 1)
            scale = round_scale(np.abs(groups).max(-1) / qmax, scales_type)
            scale = np.where(scale == 0, np.float32(1), scale)
            q = np.clip(np.rint(groups / scale[..., None]), -qmax - 1, qmax)
            zeros = None
        else:
            qmax = np.float32(2**bits - 1)
            lo = np.minimum(groups.min(-1), np.float32(0))
            hi = np.maximum(groups.max(-1), np.float32(0))
            scale = round_scale((hi - lo) / qmax, scales_type)
            scale = np.where(scale == 0, np.float32(1), scale)
            zeros = np.clip(np.rint(-lo / scale), 0, qmax)
            q = np.clip(np.rint(groups / scale[..., None]) + zeros[..., None], 0, qmax)
    return q.reshape(n, k).astype(np.int32), scale, zeros


def dequantize(q, scales, zeros, group):
    n, k = q.shape
    g = k if group == -1 else group
    z = 0 if zeros is None else zeros.astype(np.int64)[..., None]
    d = scales.astype(np.float32)[..., None] * (q.reshape(n, k // g, g).astype(np.int64) - z)
    return d.astype(np.float32).reshape(n, k)


def splitmix_normal(count, seed):
    """The pass's documented generator of random inputs (Quantization.md)."""
    mask = (1 << 64) - 1
    state = seed
    values = np.empty(count)
    def uniform():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return ((z ^ (z >> 31)) >> 11) * 2.0**-53
    for i in range(0, count, 2):
        radius = np.sqrt(-2.0 * np.log(1.0 - uniform()))
        angle = 2.0 * np.pi * uniform()
        values[i] = radius * np.cos(angle)
        if i + 1 < count:
            values[i + 1] = radius * np.sin(angle)
    return values


def read_archive_tensor(tensors, name, logical_shape, bits, signed):
    """Logical integers of a quantized tensor from the archive."""
    data = tensors[name].data
    if bits == 4:
        return weft_params.unpack_int4(data, signed=signed, length=logical_shape[-1]).astype(np.int32)
    assert data.dtype == (np.int8 if signed else np.uint8), (name, data.dtype)
    return data.astype(np.int32)


def read_floats(tensors, name):
    tensor = tensors[name]
    if tensor.dtype == "BF16":
        return harness.from_bf16(tensor.data)
    return tensor.data.astype(np.float32)


def quantize_program(program, params, options, directory):
    """Runs weft-quantize; returns (IR, output archive tensors, report)."""
    archive = os.path.join(directory, "in.safetensors")
    out = os.path.join(directory, "out.safetensors")
    report = os.path.join(directory, "report.json")
    safetensors.save(archive, params)
    ir = harness.optimize(program, f"-weft-quantize={options} params={archive} "
                          f"params-out={out} report={report}")
    tensors, _ = safetensors.load(out)
    with open(report) as f:
        return ir, tensors, json.load(f)


CONFIGS = [(8, -1, True, "f32"), (8, 128, False, "f32"), (8, 32, True, "bf16"),
           (4, 32, True, "f32"), (4, 32, False, "f16"), (4, 64, True, "f16"),
           (4, 64, False, "f32"), (4, 128, True, "f32"), (4, 128, False, "bf16"),
           (4, -1, False, "f32")]


@pytest.mark.parametrize("bits,group,symmetric,scales_type", CONFIGS)
def test_quantized_layer(bits, group, symmetric, scales_type):
    m, k, n = 7, 256, 40
    w = (RNG.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    w[3] = 0  # an all-zero row: scale 1, q 0
    w[5, :] = np.abs(w[5, :])  # all positive: asymmetric lo = 0
    b = (0.1 * RNG.standard_normal(n)).astype(np.float32)
    x = RNG.standard_normal((m, k)).astype(np.float32)
    tx, tw, tb, ty = t((None, k), "f32"), t((n, k), "f32"), t((n,), "f32"), t((None, n), "f32")
    program = f"""
func.func @main(%x: {tx}) -> {ty} {{
  %w = weft.param "layer.weight" : {tw}
  %b = weft.param "layer.bias" : {tb}
  %y = weft.linear %x, %w bias %b : ({tx}, {tw}, {tb}) -> {ty}
  return %y : {ty}
}}"""
    params = {"layer.weight": w, "layer.bias": b}
    seed = int(RNG.integers(1 << 32))
    options = (f"bits={bits} group-size={group} symmetric={int(symmetric)} "
               f"scales-type={scales_type} seed={seed} error-rows=24")
    with tempfile.TemporaryDirectory(prefix="weft-quantize-") as directory:
        ir, tensors, report = quantize_program(program, params, options, directory)
    assert "weft.qlinear" in ir and "weft.linear" not in ir, ir

    # The archive holds exactly the numpy quantization.
    q, scales, zeros = rtn_quantize(w, bits, group, symmetric, scales_type)
    groups = scales.shape[1]
    assert sorted(tensors) == sorted(["layer.bias", "layer.qweight", "layer.scales"]
                                     + ([] if symmetric else ["layer.zeros"]))
    np.testing.assert_array_equal(
        read_archive_tensor(tensors, "layer.qweight", (n, k), bits, symmetric), q)
    assert tensors["layer.scales"].dtype == scales_type.upper()
    np.testing.assert_array_equal(read_floats(tensors, "layer.scales"), scales)
    if not symmetric:
        np.testing.assert_array_equal(
            read_archive_tensor(tensors, "layer.zeros", (n, groups), bits, False), zeros)

    # The report's numbers, recomputed in f64 from the same quantization.
    (layer,) = report["layers"]
    assert layer["status"] == "quantized" and layer["shape"] == [n, k]
    dq = dequantize(q, scales, zeros, group)
    delta = w.astype(np.float64) - dq.astype(np.float64)
    xr = splitmix_normal(report["error_rows"] * k, seed).reshape(-1, k)
    expected = {
        "weight_rel_error": np.linalg.norm(delta) / np.linalg.norm(w.astype(np.float64)),
        "output_error_bound": np.linalg.norm(delta, axis=1).max(),
        "output_rel_error": np.linalg.norm(xr @ delta.T) / np.linalg.norm(xr @ w.astype(np.float64).T),
    }
    for key, value in expected.items():
        # Sums of up to 64 * 256 * 40 f64 terms in another order.
        assert layer[key] == pytest.approx(value, rel=1e-9), key
    # Round to nearest moves each weight by at most half a step; clamping at
    # the ends of the range adds at most qmax * u steps, u the relative
    # rounding of the scale to its type (and of the f32 division).
    step = np.repeat(scales, k // groups, axis=1).astype(np.float64)
    qmax = 2 ** (bits - 1) - 1 if symmetric else 2**bits - 1
    u = harness.UNIT[scales_type] + harness.UNIT["f32"]
    assert (np.abs(delta) <= step * (0.5 + qmax * u * 1.01)).all()

    # The quantized program computes x dequant(Q)^T + b, and stays within the
    # reported bound of the float program.
    (float_out,) = harness.run(program, [x], params)
    (quant_out,) = harness.run(ir, [x], tensors)
    x64 = x.astype(np.float64)
    expected_quant = x64 @ dq.astype(np.float64).T + b
    # f32 dot products of length 256 with inputs ~N(0, 1) and weights ~1/16.
    harness.assert_close(quant_out, expected_quant, rtol=1e-5, atol=1e-4, what="quantized")
    bound = layer["output_error_bound"] * np.linalg.norm(x64, axis=1)[:, None]
    error = np.abs(quant_out.astype(np.float64) - float_out.astype(np.float64))
    # The bound is exact in real arithmetic; 1e-4 covers the f32 rounding of
    # both programs.
    assert (error <= bound + 1e-4).all(), (error - bound).max()


def test_skipped_layer_is_reported():
    k, n = 96, 8
    w = RNG.standard_normal((n, k)).astype(np.float32)
    program = f"""
func.func @main(%x: {t((2, k), "f32")}) -> {t((2, n), "f32")} {{
  %w = weft.param "odd.weight" : {t((n, k), "f32")}
  %y = weft.linear %x, %w : ({t((2, k), "f32")}, {t((n, k), "f32")}) -> {t((2, n), "f32")}
  return %y : {t((2, n), "f32")}
}}"""
    with tempfile.TemporaryDirectory(prefix="weft-quantize-") as directory:
        ir, tensors, report = quantize_program(program, {"odd.weight": w},
                                               "bits=4 group-size=64", directory)
    assert "weft.linear" in ir and "weft.qlinear" not in ir, ir
    assert list(tensors) == ["odd.weight"]
    np.testing.assert_array_equal(tensors["odd.weight"].data, w)
    (layer,) = report["layers"]
    assert layer["status"] == "skipped"
    assert layer["reason"] == "K = 96 is not a multiple of the group size 64"
