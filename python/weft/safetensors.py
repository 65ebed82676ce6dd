"""Reading and writing safetensors parameter archives with numpy.

The format: an 8-byte little-endian header length, a JSON header mapping each
tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
relative to the end of the header), an optional "__metadata__" entry of
string pairs, then the raw little-endian tensor bytes.

Everything read is validated; problems raise SafetensorsError naming the file
and the tensor.
"""

import json
import os

import numpy as np

# safetensors dtype name -> numpy dtype. BF16 has no numpy dtype: it is read as
# raw uint16 words and flagged as "BF16" by the caller-visible dtype name.
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NUMPY_TO_NAME = {
    np.dtype("<f8"): "F64",
    np.dtype("<f4"): "F32",
    np.dtype("<f2"): "F16",
    np.dtype("<i8"): "I64",
    np.dtype("<i4"): "I32",
    np.dtype("<i2"): "I16",
    np.dtype("i1"): "I8",
    np.dtype("u1"): "U8",
    np.dtype("?"): "BOOL",
}

# Headers larger than this are rejected as corrupt rather than parsed.
_MAX_HEADER_BYTES = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A malformed or inconsistent safetensors archive."""


class Tensor:
    """One archive entry: its safetensors dtype name and numpy data."""

    def __init__(self, dtype, data):
        self.dtype = dtype
        self.data = data

    @property
    def shape(self):
        return tuple(self.data.shape)


def _fail(path, message):
    raise SafetensorsError(f"{path}: {message}")


def read_header(path):
    """Returns (header dict without __metadata__, metadata dict, data start)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) != 8:
                _fail(path, "file too short for a safetensors header")
            length = int.from_bytes(prefix, "little")
            if length == 0 or length > _MAX_HEADER_BYTES or 8 + length > size:
                _fail(path, f"invalid header length {length} (file is {size} bytes)")
            raw = f.read(length)
    except OSError as e:
        raise SafetensorsError(f"{path}: cannot read: {e.strerror}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(path, f"header is not valid JSON ({e})")
    if not isinstance(header, dict):
        _fail(path, "header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    data_size = size - 8 - length
    spans = []
    for name, entry in header.items():
        _validate_entry(path, name, entry, data_size)
        spans.append((entry["data_offsets"][0], entry["data_offsets"][1], name))
    spans.sort()
    for (b0, e0, n0), (b1, _, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            _fail(path, f"tensors '{n0}' and '{n1}' overlap")
    return header, metadata, 8 + length


def _validate_entry(path, name, entry, data_size):
    if not isinstance(entry, dict):
        _fail(path, f"tensor '{name}': entry is not an object")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if dtype not in _DTYPES:
        _fail(path, f"tensor '{name}': unsupported dtype {dtype!r}")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and d >= 0 for d in shape
    ):
        _fail(path, f"tensor '{name}': invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        _fail(path, f"tensor '{name}': data_offsets {offsets!r} out of bounds "
                    f"(data section is {data_size} bytes)")
    expected = int(np.prod(shape, dtype=np.int64)) * _DTYPES[dtype].itemsize
    if offsets[1] - offsets[0] != expected:
        _fail(path, f"tensor '{name}': {offsets[1] - offsets[0]} bytes for "
                    f"{dtype} {shape} (expected {expected})")


def load(path):
    """Reads every tensor of an archive: returns (dict name -> Tensor, metadata)."""
    header, metadata, start = read_header(path)
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = _DTYPES[entry["dtype"]]
        data = np.frombuffer(raw[start + begin:start + end].tobytes(), dtype=dtype)
        tensors[name] = Tensor(entry["dtype"], data.reshape(entry["shape"]))
    return tensors, metadata


def save(path, tensors, metadata=None):
    """Writes tensors (name -> numpy array or Tensor) to `path`.

    numpy arrays keep their dtype; a Tensor carries an explicit safetensors dtype
    (use Tensor("BF16", uint16_words) for bfloat16).
    """
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        value = tensors[name]
        if isinstance(value, Tensor):
            dtype_name, array = value.dtype, np.ascontiguousarray(value.data)
            if dtype_name not in _DTYPES or array.dtype != _DTYPES[dtype_name]:
                raise SafetensorsError(
                    f"tensor '{name}': data of dtype {array.dtype} cannot be "
                    f"stored as {dtype_name}")
        else:
            array = np.ascontiguousarray(value)
            dtype_name = _NUMPY_TO_NAME.get(array.dtype.newbyteorder("<"))
            if dtype_name is None:
                raise SafetensorsError(
                    f"tensor '{name}': unsupported numpy dtype {array.dtype}")
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": dtype_name,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # align the data section to 8 bytes
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
