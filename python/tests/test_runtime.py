"""weft.runtime: artifacts compiled by weft-compile, called through the C API
with numpy arrays; runtime errors surface as WeftError with the runtime's
message."""

import os

import numpy as np
import pytest

from conftest import require_runtime
from weft import ir, runtime, safetensors, tools

RNG = np.random.default_rng()


def _program():
    """affine(x) = x W^T + b and a two-result function without params."""
    m = ir.Module()
    f = m.function("affine")
    x = f.arg("x", (None, 16))
    f.ret(f.linear(x, f.param("w", (8, 16)), bias=f.param("b", (8,))))
    g = m.function("split")
    y = g.arg("y", (2, None), "f32")
    ids = g.arg("ids", (2, 3), "i64")
    g.ret(g.silu(y), g.embedding(g.param("table", (5, 4)), ids))
    return m.text()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    require_runtime()
    directory = tmp_path_factory.mktemp("runtime")
    source = directory / "p.mlir"
    source.write_text(_program())
    artifact = str(directory / "p.weft")
    tools.compile_artifact(str(source), artifact)
    params = {"w": RNG.standard_normal((8, 16)).astype(np.float32),
              "b": RNG.standard_normal(8).astype(np.float32),
              "table": RNG.standard_normal((5, 4)).astype(np.float32)}
    archive = str(directory / "p.safetensors")
    safetensors.save(archive, params)
    return artifact, archive, params, directory


def test_call_matches_numpy(compiled):
    artifact_path, archive, params, _ = compiled
    artifact = runtime.Artifact(artifact_path)
    assert artifact.target == "cpu"
    assert set(artifact.functions) == {"affine", "split"}
    affine = artifact["affine"]
    assert repr(affine.inputs[0]) == "f32[?, 16]" and affine.num_params == 2
    artifact.bind_params(archive)
    x = RNG.standard_normal((5, 16)).astype(np.float32)
    (y,) = affine(x)
    expected = x.astype(np.float64) @ params["w"].T.astype(np.float64) + params["b"]
    # 16-term f32 dot products: a few ulp of the largest partial sums.
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert y.dtype == np.float32 and y.flags.owndata

    ymat = RNG.standard_normal((2, 7)).astype(np.float32)
    ids = RNG.integers(0, 5, (2, 3))
    silu, rows = artifact["split"](ymat, ids)
    np.testing.assert_allclose(silu, ymat / (1 + np.exp(-ymat.astype(np.float64))),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(rows, params["table"][ids])


def test_errors_carry_the_runtime_message(compiled):
    artifact_path, archive, _, directory = compiled
    artifact = runtime.Artifact(artifact_path)
    affine = artifact["affine"]
    with pytest.raises(runtime.WeftError, match="not bound|bind") as e:
        affine(np.zeros((1, 16), np.float32))
    assert e.value.code == "failed precondition"
    artifact.bind_params(archive)
    with pytest.raises(runtime.WeftError, match=r"expected f32\[\?, 16\], got f64\[1, 16\]"):
        affine(np.zeros((1, 16), np.float64))
    with pytest.raises(runtime.WeftError, match="expected 1 inputs"):
        affine()
    with pytest.raises(runtime.WeftError, match="no function 'nope'"):
        artifact["nope"]
    with pytest.raises(runtime.WeftError, match=r"outside the valid range \[0, 5\)"):
        artifact["split"](np.zeros((2, 1), np.float32), np.full((2, 3), 7))
    missing = str(directory / "missing.weft")
    with pytest.raises(runtime.WeftError) as e:
        runtime.Artifact(missing)
    assert "missing.weft" in str(e.value)
    partial = str(directory / "partial.safetensors")
    safetensors.save(partial, {"w": np.zeros((8, 16), np.float32)})
    with pytest.raises(runtime.WeftError, match="param 'b'"):
        runtime.Artifact(artifact_path).bind_params(partial)
    corrupt = str(directory / "corrupt.safetensors")
    with open(corrupt, "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(runtime.WeftError, match="corrupt.safetensors"):
        artifact.bind_params(corrupt)


def test_runtime_tensors_are_used_in_place(compiled):
    # as_tensors=True leaves results with the runtime (no copy); a Tensor
    # passed back in is used as it is. On the CPU they live in host memory.
    artifact_path, archive, params, _ = compiled
    artifact = runtime.Artifact(artifact_path)
    artifact.bind_params(archive)
    y = RNG.standard_normal((2, 7)).astype(np.float32)
    ids = RNG.integers(0, 5, (2, 3))
    silu, rows = artifact["split"](y, ids, as_tensors=True)
    assert isinstance(silu, runtime.Tensor)
    assert (silu.dtype, silu.shape, silu.memory) == ("f32", (2, 7), "host")
    assert repr(rows) == "Tensor(f32[2, 3, 4], host)"
    np.testing.assert_array_equal(rows.numpy(), params["table"][ids])
    once = y / (1 + np.exp(-y.astype(np.float64)))
    twice, _ = artifact["split"](silu, runtime.to_device(ids, memory="host"))
    np.testing.assert_allclose(twice, once / (1 + np.exp(-once)), rtol=1e-6, atol=1e-7)
    # The first call's result is untouched by the second.
    np.testing.assert_allclose(silu.numpy(), once, rtol=1e-6, atol=1e-7)
    with pytest.raises(runtime.WeftError, match=r"expected i64\[2, 3\], got f32\[2, 7\]"):
        artifact["split"](silu, silu)


def test_to_device_errors():
    require_runtime()
    with pytest.raises(runtime.WeftError, match="unknown memory 'gpu'"):
        runtime.to_device(np.zeros(3, np.float32), memory="gpu")
    with pytest.raises(runtime.WeftError, match="numpy dtype complex128 has no weft dtype"):
        runtime.to_device(np.zeros(3, np.complex128))
    import ctypes
    try:
        ctypes.CDLL("libcuda.so.1")
        pytest.skip("a CUDA driver is installed: to_device works here")
    except OSError:
        pass
    with pytest.raises(runtime.WeftError, match="CUDA driver not available") as e:
        runtime.to_device(np.zeros(3, np.float32))
    assert e.value.code == "failed precondition"


def test_library_lookup_honours_the_environment(monkeypatch, tmp_path):
    require_runtime()
    monkeypatch.setenv("WEFT_RUNTIME_LIB", str(tmp_path / "nowhere.so"))
    found = runtime.find_library()
    # A missing WEFT_RUNTIME_LIB falls back to the build's library.
    assert os.path.basename(found) == "libweft_runtime.so" and os.path.isfile(found)
    monkeypatch.setenv("WEFT_RUNTIME_LIB", found)
    assert runtime.find_library() == os.path.normpath(found)
