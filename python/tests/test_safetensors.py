import json

import numpy as np
import pytest

from weft import safetensors as st


def test_round_trip_all_dtypes(tmp_path):
    rng = np.random.default_rng()
    tensors = {
        "a.f32": rng.standard_normal((3, 5)).astype(np.float32),
        "b.f16": rng.standard_normal((7,)).astype(np.float16),
        "c.i64": rng.integers(-2**40, 2**40, size=(2, 2, 2), dtype=np.int64),
        "d.i8": rng.integers(-128, 128, size=(4, 3), dtype=np.int8),
        "e.u8": rng.integers(0, 256, size=(9,), dtype=np.uint8),
        "f.empty": np.zeros((0, 4), np.float32),
    }
    path = tmp_path / "p.safetensors"
    st.save(path, tensors, metadata={"format": "pt"})
    loaded, metadata = st.load(path)
    assert metadata == {"format": "pt"}
    assert set(loaded) == set(tensors)
    for name, array in tensors.items():
        assert loaded[name].data.dtype == array.dtype
        np.testing.assert_array_equal(loaded[name].data, array)


def test_bf16_words_round_trip(tmp_path):
    words = np.random.default_rng().integers(0, 2**16, size=(6,), dtype=np.uint16)
    path = tmp_path / "bf16.safetensors"
    st.save(path, {"w": st.Tensor("BF16", words)})
    loaded, _ = st.load(path)
    assert loaded["w"].dtype == "BF16"
    np.testing.assert_array_equal(loaded["w"].data, words)


def _write_raw(path, header, data=b""):
    encoded = json.dumps(header).encode()
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + data)


@pytest.mark.parametrize(
    "header,data,message",
    [
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4,
         "out of bounds"),
        ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8,
         "expected 12"),
        ({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8,
         "unsupported dtype"),
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4,
         "invalid shape"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
          "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8,
         "overlap"),
    ],
)
def test_rejects_corrupt_headers(tmp_path, header, data, message):
    path = tmp_path / "bad.safetensors"
    _write_raw(path, header, data)
    with pytest.raises(st.SafetensorsError, match=message):
        st.load(path)


def test_rejects_truncated_and_non_json(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x10\x00")
    with pytest.raises(st.SafetensorsError, match="too short"):
        st.load(path)
    path.write_bytes((1000).to_bytes(8, "little") + b"{}")
    with pytest.raises(st.SafetensorsError, match="invalid header length"):
        st.load(path)
    path.write_bytes((4).to_bytes(8, "little") + b"{no}")
    with pytest.raises(st.SafetensorsError, match="not valid JSON"):
        st.load(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(st.SafetensorsError, match="missing.safetensors"):
        st.load(tmp_path / "missing.safetensors")
