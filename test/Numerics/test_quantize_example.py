# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft-quantize on the bundled example model (examples/hybrid_block.mlir):
int8 and int4 (groups 32/64/128, symmetric and asymmetric) programs compile,
run, compute the model with the dequantized weights, and every quantized layer
stays within the bound of the report on the activations it sees."""

import tempfile

import numpy as np
import pytest

import harness
import reference as ref
from test_example_model import EXAMPLE, forward
from test_quantize import dequantize, quantize_program, read_archive_tensor, read_floats
from weft import params as weft_params

RNG = np.random.default_rng()


def dequantized_weights(tensors, report):
    """Weight name -> dequant(Q) in f64, from the archive's bytes."""
    bits, group, symmetric = report["bits"], report["group_size"], report["symmetric"]
    weights = {}
    for layer in report["layers"]:
        if layer["status"] != "quantized":
            continue
        n, k = layer["shape"]
        g = k if group == -1 else group
        q = read_archive_tensor(tensors, layer["qweight"], (n, k), bits, symmetric)
        scales = read_floats(tensors, layer["scales"])
        zeros = None if symmetric else read_archive_tensor(
            tensors, layer["zeros"], (n, k // g), bits, False)
        weights[layer["weight"]] = dequantize(q, scales, zeros, group).astype(np.float64)
    return weights


@pytest.mark.parametrize("bits,group,symmetric", [
    (8, -1, True), (8, 64, False),
    (4, 32, True), (4, 32, False), (4, 64, True), (4, 64, False),
    (4, 128, True), (4, 128, False)])
def test_quantized_example_model(bits, group, symmetric):
    with open(EXAMPLE) as source:
        program = source.read()
    params = weft_params.random_params(program, seed=int(RNG.integers(1 << 30)))
    with tempfile.TemporaryDirectory(prefix="weft-quantize-") as directory:
        ir, tensors, report = quantize_program(
            program, params, f"bits={bits} group-size={group} symmetric={int(symmetric)}",
            directory)
    layers = {layer["weight"]: layer for layer in report["layers"]}
    # Every float linear of the model is in the report; with K = 64 a group
    # of 128 does not fit, and those layers stay float.
    assert len(layers) == 9, sorted(layers)
    for layer in layers.values():
        fits = group == -1 or layer["shape"][1] % group == 0
        assert layer["status"] == ("quantized" if fits else "skipped"), layer
    assert ir.count("weft.qlinear") == 1 + sum(
        layer["status"] == "quantized" for layer in layers.values())

    batch, seq = 2, 11
    ids = RNG.integers(0, 256, size=(batch, seq), dtype=np.int64)
    positions = np.tile(np.arange(seq, dtype=np.int64), (batch, 1))
    (logits,) = harness.run(ir, [ids, positions], tensors)

    dequantized = dequantized_weights(tensors, report)
    f = {name: v.astype(np.float64) for name, v in params.items() if v.dtype == np.float32}
    worst = {}

    def quantized_linear(name, x):
        w = dequantized.get(name, f[name])
        y = ref.linear(x, w)
        if name in dequantized:
            # The reported bound at this layer's actual inputs:
            # |x W^T - x dequant(Q)^T| <= bound * ||x||_2 per output element.
            error = np.abs(y - ref.linear(x, f[name]))
            bound = layers[name]["output_error_bound"] * np.linalg.norm(x, axis=-1, keepdims=True)
            assert (error <= bound * (1 + 1e-9) + 1e-12).all(), name
            worst[name] = float((error / np.maximum(bound, 1e-300)).max())
        return y

    expected = forward(params, ids, positions, linear=quantized_linear)
    # As in test_example_model: f32 through ~10 dependent layers.
    scale = float(np.abs(expected).max())
    harness.assert_close(logits, expected, rtol=1e-4, atol=1e-4 * scale, what="logits")
    assert worst, "no quantized layer was checked"

    # How far quantization moved the logits, for the record.
    reference_logits = forward(params, ids, positions)
    drift = np.linalg.norm(logits - reference_logits) / np.linalg.norm(reference_logits)
    print(f"int{bits} group {group} {'sym' if symmetric else 'asym'}: logits rel "
          f"error {drift:.2e}, layer error / bound <= {max(worst.values()):.2f}")
