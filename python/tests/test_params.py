import numpy as np
import pytest

from weft import params

MODULE = """
func.func @f() {
  %a = weft.param "layer.weight" : tensor<4x6xf32>
  %q = weft.param "layer.qweight" : tensor<4x6xi4>
  %z = weft.param "layer.zeros" : tensor<4x2xi4>
  %b = weft.param "layer.weight" : tensor<4x6xf32>
  return
}
"""


def test_parse_params_dedupes_names():
    assert params.parse_params(MODULE) == {
        "layer.weight": ((4, 6), "f32"),
        "layer.qweight": ((4, 6), "i4"),
        "layer.zeros": ((4, 2), "i4"),
    }


def test_conflicting_types_are_rejected():
    text = MODULE + '%c = weft.param "layer.weight" : tensor<4x7xf32>'
    with pytest.raises(ValueError, match="two types"):
        params.parse_params(text)


def test_random_params_shapes_and_packing():
    values = params.random_params(MODULE, seed=1)
    assert values["layer.weight"].shape == (4, 6)
    assert values["layer.weight"].dtype == np.float32
    assert values["layer.qweight"].shape == (4, 3)
    assert values["layer.qweight"].dtype == np.uint8
    assert (params.unpack_int4(values["layer.zeros"], signed=False) == 8).all()


def test_int4_pack_layout_and_round_trip():
    # Element k sits in byte k // 2, even k in the low nibble.
    packed = params.pack_int4(np.array([[1, 2, -1, 7]]))
    assert packed.tolist() == [[0x21, 0x7F]]
    rng = np.random.default_rng()
    signed = rng.integers(-8, 8, size=(5, 10))
    np.testing.assert_array_equal(
        params.unpack_int4(params.pack_int4(signed), signed=True), signed)
    unsigned = rng.integers(0, 16, size=(3, 8))
    np.testing.assert_array_equal(
        params.unpack_int4(params.pack_int4(unsigned), signed=False), unsigned)
    # An odd last dim is padded with a zero nibble per row.
    odd = rng.integers(0, 16, size=(2, 3))
    packed_odd = params.pack_int4(odd)
    assert packed_odd.shape == (2, 2)
    assert ((packed_odd[:, 1] >> 4) == 0).all()
    np.testing.assert_array_equal(
        params.unpack_int4(packed_odd, signed=False, length=3), odd)
    with pytest.raises(ValueError, match="rank"):
        params.pack_int4(np.int64(3))
