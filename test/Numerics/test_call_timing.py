# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft-run --bench: the timings it prints, on the target the suite runs for.

For a cuda artifact it also times calls on device-resident inputs by wall
clock (device_inputs_median_ms) and by CUDA events (gpu_median_ms,
weftCallTimed): the GPU part of a call lies within its wall time, and a
softmax over 64 MB of input takes the GPU a measurable time. For a cpu
artifact only the wall time is printed.
"""

import subprocess
import tempfile

import numpy as np
import pytest

import harness
from harness import mlir_type as t

RNG = np.random.default_rng()


def _value(line, key):
    return float(line.split(f"{key}=")[1].split()[0])


def test_bench_timings():
    shape = (4096, 4096)
    program = f"""
func.func @main(%x: {t(shape, "f32")}) -> {t(shape, "f32")} {{
  %y = weft.softmax %x {{axis = 1}} : {t(shape, "f32")}
  return %y : {t(shape, "f32")}
}}"""
    with tempfile.TemporaryDirectory(prefix="weft-test-") as directory:
        artifact, _ = harness.compile_program(program, directory)
        if harness.COMPILE_ONLY:
            pytest.skip("compiled only (WEFT_COMPILE_ONLY=1)")
        np.save(f"{directory}/x.npy", RNG.standard_normal(shape).astype(np.float32))
        result = subprocess.run(
            [*harness.RUN_PREFIX, harness._tool("weft-run"), artifact, "--input",
             f"{directory}/x.npy", "--bench", "5"],
            check=True, capture_output=True, text=True)
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("median_ms=") and " runs=5" in line, line
    assert _value(line, "median_ms") > 0, line
    if harness.TARGET != "cuda":
        assert "gpu_median_ms" not in line and "device_inputs" not in line, line
        return
    wall, gpu = _value(line, "device_inputs_median_ms"), _value(line, "gpu_median_ms")
    # Medians of separate runs of the same call: the GPU span is inside the
    # wall span of each call; 128 MB read and written take over 20 us even
    # at 5 TB/s.
    assert 0.02 < gpu <= wall * 1.2, line
