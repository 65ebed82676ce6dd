"""Random parameter archives for weft modules (examples, tests, benchmarks).

`random_params(mlir_text)` finds every `weft.param "name" : tensor<...>` of a
module and draws a value of that shape and dtype, with magnitudes that keep a
small model numerically tame. int4 parameters are returned packed as
docs/Quantization.md specifies.
"""

import re

import numpy as np

_PARAM = re.compile(r'weft\.param\s+"([^"]+)"\s*:\s*tensor<([^>]*)>')

_DTYPES = {
    "f32": np.float32,
    "f16": np.float16,
    "f64": np.float64,
    "i64": np.int64,
    "i32": np.int32,
    "i8": np.int8,
}


def parse_params(mlir_text):
    """Returns {name: (shape tuple, element type string)} in order of first use."""
    params = {}
    for name, spec in _PARAM.findall(mlir_text):
        *dims, dtype = spec.split("x")
        shape = tuple(int(d) for d in dims)
        if name in params and params[name] != (shape, dtype):
            raise ValueError(f"parameter '{name}' is used with two types")
        params[name] = (shape, dtype)
    return params


def pack_int4(values):
    """Packs int4 values (ints in [-8, 15]) two per byte along the last dim:
    element k in byte k // 2, even k in the low nibble; an odd last dim is
    padded with a zero nibble (docs/Quantization.md)."""
    values = np.asarray(values)
    if values.ndim == 0:
        raise ValueError("int4 tensors need rank >= 1")
    nibbles = (values.astype(np.int64) & 0xF).astype(np.uint8)
    if nibbles.shape[-1] % 2:
        pad = np.zeros(nibbles.shape[:-1] + (1,), np.uint8)
        nibbles = np.concatenate([nibbles, pad], axis=-1)
    return nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)


def unpack_int4(packed, signed, length=None):
    """Inverse of pack_int4: returns int8 values, signed or unsigned, with a
    last dim of `length` (default: twice the packed last dim)."""
    packed = np.asarray(packed, dtype=np.uint8)
    low, high = packed & 0xF, packed >> 4
    values = np.stack([low, high], axis=-1).reshape(*packed.shape[:-1], -1)
    if length is not None:
        values = values[..., :length]
    values = values.astype(np.int8)
    if signed:
        values = np.where(values >= 8, values - 16, values).astype(np.int8)
    return values


def _value(name, shape, dtype, rng):
    if dtype == "i4":
        # Unsigned values suit asymmetric layers (with zeros); zero points sit
        # mid-range.
        q = rng.integers(0, 16, size=shape)
        if name.endswith("zeros"):
            q = np.full(shape, 8)
        return pack_int4(q)
    if dtype not in _DTYPES:
        raise ValueError(f"parameter '{name}': unsupported dtype {dtype}")
    np_dtype = _DTYPES[dtype]
    if np.issubdtype(np_dtype, np.integer):
        return rng.integers(-8, 8, size=shape).astype(np_dtype)
    if name.endswith(".A"):  # SSM decay: negative for a stable scan
        value = -rng.uniform(0.5, 4.0, size=shape)
    elif "norm" in name:
        value = 1.0 + 0.1 * rng.standard_normal(shape)
    elif name.endswith("scales"):
        value = rng.uniform(0.005, 0.02, size=shape)
    elif name.endswith(("bias", ".D", "dt_bias")):
        value = 0.1 * rng.standard_normal(shape)
    else:
        fan_in = shape[-1] if shape else 1
        value = rng.standard_normal(shape) / np.sqrt(fan_in)
    return value.astype(np_dtype)


def random_params(mlir_text, seed=0):
    """Draws every parameter of a module: returns {name: numpy array}."""
    rng = np.random.default_rng(seed)
    return {
        name: _value(name, shape, dtype, rng)
        for name, (shape, dtype) in parse_params(mlir_text).items()
    }
