"""Compiles weft IR with weft-compile and runs it with weft-run.

Tests call run() with the program text, the inputs (numpy arrays) and the
parameters (name -> numpy array); the outputs come back as numpy arrays.
bf16 tensors travel as uint16 words (see to_bf16 / from_bf16).
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, os.pardir, os.pardir, "python"))

from weft import safetensors, tools  # noqa: E402

BIN_DIR = os.environ.get("WEFT_BIN_DIR", "")
# The target programs are compiled for: cpu, or cuda (test/GPU runs this
# suite on a GPU machine with WEFT_TARGET=cuda).
TARGET = os.environ.get("WEFT_TARGET", "cpu")
# WEFT_COMPILE_ONLY=1 compiles every program for the target without running
# it there: with WEFT_ARTIFACT_CACHE set (weft.tools) this fills the cache
# that a machine without the compiler (the GPU machine) then runs the suite
# from (scripts/gpu-check.sh). So that a test reaches, and compiles, its
# later programs, it goes on with each program compiled for and run on the
# CPU (for the CPU target itself the test stops at its first program).
COMPILE_ONLY = os.environ.get("WEFT_COMPILE_ONLY") == "1"
if BIN_DIR:
    os.environ.setdefault("WEFT_BIN_DIR", BIN_DIR)


def _tool(name):
    path = os.path.join(BIN_DIR, name) if BIN_DIR else name
    return path


def require_tool(name):
    """The tool's path; skips the test where the tool is not installed (the
    GPU machine runs from cached artifacts and has only weft-run)."""
    try:
        return tools.find_tool(name)
    except tools.ToolError as error:
        pytest.skip(str(error))


def to_bf16(x):
    """float32 -> bf16 words (uint16), round to nearest even."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16)


def from_bf16(words):
    """bf16 words (uint16) -> float32."""
    words = np.asarray(words, dtype=np.uint32)
    # view() needs at least one dim: 0-d results go through a 1-element array.
    return (words.reshape(-1) << 16).view(np.float32).reshape(words.shape)


EPS32 = 2.0**-24  # unit roundoff of f32
# Rounding an f32 value v once to the result type is within
# max(UNIT * |v|, HALF_SUBNORMAL): the unit roundoff, and half the spacing of
# the type's subnormals.
UNIT = {"f32": 2.0**-24, "f16": 2.0**-11, "bf16": 2.0**-8}
HALF_SUBNORMAL = {"f32": 2.0**-150, "f16": 2.0**-25, "bf16": 2.0**-134}


def given(x, dtype):
    """(array passed to weft, its exact float64 value) for float `x` rounded
    to `dtype`; bf16 travels as uint16 words."""
    x = np.asarray(x, dtype=np.float32)
    if dtype == "bf16":
        words = to_bf16(x)
        return words, from_bf16(words).astype(np.float64)
    value = x.astype(np.float16 if dtype == "f16" else np.float32)
    return value, value.astype(np.float64)


def entry(value, dtype):
    """The archive entry of a value made by given()."""
    return safetensors.Tensor("BF16", value) if dtype == "bf16" else value


def result(out, dtype):
    return from_bf16(out) if dtype == "bf16" else out


def optimize(mlir, *passes):
    """Runs weft-opt with `passes` (e.g. "-weft-fuse-epilogues") on `mlir`."""
    try:
        return tools.optimize_text(mlir, list(passes))
    except tools.ArtifactCacheMiss as miss:
        pytest.skip(str(miss))


def compile_program(mlir, directory, params=None, options=(), name="program"):
    source = os.path.join(directory, f"{name}.mlir")
    artifact = os.path.join(directory, f"{name}.weft")
    with open(source, "w") as f:
        f.write(mlir)
    archive = None
    if params:
        archive = os.path.join(directory, "params.safetensors")
        safetensors.save(archive, params)
    try:
        tools.compile_artifact(source, artifact, archive, TARGET, options)
    except tools.ArtifactCacheMiss as miss:
        pytest.skip(str(miss))
    if COMPILE_ONLY and TARGET != "cpu":
        # Not through the cache, which goes to the GPU machine.
        cpu_artifact = os.path.join(directory, f"{name}.cpu.weft")
        args = [source, "--target=cpu",
                *(option for option in options if not option.startswith("--gpu-")),
                "-o", cpu_artifact]
        tools.run_tool("weft-compile", args + (["--params", archive] if archive else []))
        return cpu_artifact, archive
    if COMPILE_ONLY:
        pytest.skip("compiled only (WEFT_COMPILE_ONLY=1)")
    return artifact, archive


def _has_gpu_loops(mlir):
    """True for programs with loops over GPU blocks, warps or threads (the
    thread-block forms, lowered by weft-opt before they reach the test)."""
    return "#gpu.thread<" in mlir or "#gpu.warp<" in mlir


# WEFT_RUN_PREFIX wraps weft-run, e.g. "compute-sanitizer --tool racecheck
# --error-exitcode 1" (scripts/gpu-check.sh sanitize).
RUN_PREFIX = os.environ.get("WEFT_RUN_PREFIX", "").split()


def _run_artifact(artifact, archive, inputs, function, directory, out_name):
    command = [*RUN_PREFIX, _tool("weft-run"), artifact]
    if function:
        command += ["--function", function]
    if archive:
        command += ["--params", archive]
    for i, value in enumerate(inputs):
        path = os.path.join(directory, f"in{i}.npy")
        np.save(path, value)
        command += ["--input", path]
    out_dir = os.path.join(directory, out_name)
    command += ["--output-dir", out_dir]
    subprocess.run(command, check=True)
    outputs = []
    while os.path.exists(os.path.join(out_dir, f"out{len(outputs)}.npy")):
        outputs.append(np.load(os.path.join(out_dir, f"out{len(outputs)}.npy")))
    return outputs


def run(mlir, inputs, params=None, function=None):
    """Compiles `mlir` and runs `function` on `inputs`; returns the outputs.

    On the CPU, a program with loops over GPU threads runs twice, the second
    time with those loops backwards (weft-compile --reverse-gpu-loops): the
    CPU runs a phase's threads one after the other, so a thread that reads
    what another one of the same phase writes (a race on the GPU) may see
    the value in one order and not in the other. Race-free kernels give the
    same bits in both orders."""
    with tempfile.TemporaryDirectory(prefix="weft-test-") as directory:
        artifact, archive = compile_program(mlir, directory, params)
        outputs = _run_artifact(artifact, archive, inputs, function, directory, "out")
        if TARGET == "cpu" and _has_gpu_loops(mlir):
            reversed_artifact, _ = compile_program(
                mlir, directory, params, ["--reverse-gpu-loops"], "reversed")
            reversed_outputs = _run_artifact(reversed_artifact, archive, inputs,
                                             function, directory, "reversed")
            assert_same_bits(reversed_outputs, outputs,
                             "threads run backwards (--reverse-gpu-loops)")
        return outputs


def assert_same_bits(actual, expected, what):
    """Every output array equal to the expected one bit for bit."""
    assert len(actual) == len(expected), f"{what}: {len(actual)} outputs, not {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == e.dtype and a.shape == e.shape, (
            f"{what}: output {i} is {a.dtype}{a.shape}, not {e.dtype}{e.shape}")
        differ = np.ascontiguousarray(a).view(np.uint8).reshape(a.shape + (-1,)) != \
            np.ascontiguousarray(e).view(np.uint8).reshape(e.shape + (-1,))
        differ = differ.any(axis=-1)
        assert not differ.any(), (
            f"{what}: output {i} differs in {differ.sum()} of {differ.size} elements, "
            f"first at {np.unravel_index(np.argmax(differ), differ.shape)}")


def assert_close(actual, expected, rtol, atol, what="output"):
    """Checks every element: |actual - expected| <= atol + rtol * |expected|."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape} != expected {expected.shape}")
    error = np.abs(actual - expected)
    bound = atol + rtol * np.abs(expected)
    bad = error > bound
    assert not bad.any(), (
        f"{what}: {bad.sum()} of {bad.size} elements out of tolerance "
        f"(rtol={rtol}, atol={atol}); max error {error.max():.3e} at "
        f"{np.unravel_index(np.argmax(error - bound), error.shape)}")


def mlir_type(shape, dtype):
    dims = "x".join("?" if d is None else str(d) for d in shape)
    return f"tensor<{dims}x{dtype}>" if dims else f"tensor<{dtype}>"
