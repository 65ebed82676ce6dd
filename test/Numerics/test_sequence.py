# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft.ssm_scan (Mamba-1 and Mamba-2 forms) and weft.causal_conv1d: every
optional operand and attribute, f32/f16/bf16, static and dynamic dims, and
decode consistency (one call over a sequence == several calls carrying the
returned state), checked together with the inputs being left unchanged."""

import ctypes
import os
import tempfile

import numpy as np
import pytest

import harness
from harness import given, result
import reference
from harness import mlir_type as t

RNG = np.random.default_rng()

# y of ssm_scan: the recurrence in f32 over <= 13 steps (state entries of
# magnitude <~ 5, readouts summing N = 5 products), a few ulp of the largest
# terms; plus one rounding of y to the element type (2^-11 f16, 2^-8 bf16
# relative) with margin. final_state is f32 whatever x's type.
SCAN_TOL = {"f32": (2e-5, 1e-5), "f16": (1.5e-3, 1e-4), "bf16": (1e-2, 1e-3)}
STATE_TOL = (2e-5, 1e-5)
# causal_conv1d: K <= 4 products, bias, silu in f32 (a few ulp), then one
# rounding to the element type. new_state is a copy of inputs: exact.
CONV_TOL = {"f32": (1e-5, 1e-6), "f16": (1.5e-3, 1e-5), "bf16": (1e-2, 1e-5)}
# Decode consistency: the same f32 recurrence split at other points; only the
# evaluation order may differ (a chunked scan is allowed by the spec).
SPLIT_TOL = (1e-5, 1e-6)


# --- Calling an artifact through the runtime C API ---------------------------
#
# weft-run reads its inputs from .npy files, so a function writing into an input
# buffer would go unnoticed there. The C API wraps caller memory
# (weftTensorWrap): the tests below pass numpy arrays that way and check that
# they are unchanged after each call (the runtime contract says compiled code
# treats inputs as read-only; initial_state / state feed in-place updates).

_DTYPES = {np.dtype(np.float32): 1, np.dtype(np.float16): 2, np.dtype(np.uint16): 3,
           np.dtype(np.int64): 4, np.dtype(np.int32): 5}
_NUMPY = {1: np.float32, 2: np.float16, 3: np.uint16, 4: np.int64, 5: np.int32}


def _runtime():
    if os.environ.get("WEFT_SANITIZERS") == "1":
        pytest.skip("the runtime is built with ASan, which cannot be loaded "
                    "into an uninstrumented Python")
    path = os.path.join(harness.BIN_DIR, os.pardir, "lib", "libweft_runtime.so")
    if not harness.BIN_DIR or not os.path.exists(path):
        pytest.skip(f"libweft_runtime.so not found next to WEFT_BIN_DIR ({path})")
    lib = ctypes.CDLL(path)
    handle, out = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
    for name, args, result in [
            ("weftArtifactOpen", [ctypes.c_char_p, out], handle),
            ("weftArtifactRelease", [handle], None),
            ("weftArtifactFindFunction", [handle, ctypes.c_char_p, out], handle),
            ("weftFunctionGetNumResults", [handle], ctypes.c_size_t),
            ("weftTensorWrap", [ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.c_size_t,
                                handle, out], handle),
            ("weftTensorRelease", [handle], None),
            ("weftTensorGetDType", [handle], ctypes.c_int),
            ("weftTensorGetRank", [handle], ctypes.c_size_t),
            ("weftTensorGetShape", [handle], ctypes.POINTER(ctypes.c_int64)),
            ("weftTensorGetByteSize", [handle], ctypes.c_size_t),
            ("weftTensorGetData", [handle], handle),
            ("weftCall", [handle, out, ctypes.c_size_t, out, ctypes.c_size_t], handle),
            ("weftStatusGetMessage", [handle], ctypes.c_char_p),
            ("weftStatusRelease", [handle], None)]:
        function = getattr(lib, name)
        function.argtypes, function.restype = args, result
    return lib


class _Artifact:
    """`program` compiled once; call() runs a function on numpy inputs."""

    def __init__(self, program):
        self.lib = _runtime()
        self.directory = tempfile.TemporaryDirectory(prefix="weft-test-")
        path, _ = harness.compile_program(program, self.directory.name)
        self.handle = ctypes.c_void_p()
        self._check(self.lib.weftArtifactOpen(path.encode(), ctypes.byref(self.handle)))

    def close(self):
        self.lib.weftArtifactRelease(self.handle)
        self.directory.cleanup()

    def _check(self, status):
        if status:
            message = self.lib.weftStatusGetMessage(status).decode()
            self.lib.weftStatusRelease(status)
            raise RuntimeError(message)

    def call(self, name, inputs):
        """Runs `name`; asserts that no input was written; returns the results."""
        lib = self.lib
        function = ctypes.c_void_p()
        self._check(lib.weftArtifactFindFunction(self.handle, name.encode(),
                                                 ctypes.byref(function)))
        inputs = [np.ascontiguousarray(x) for x in inputs]
        before = [x.copy() for x in inputs]
        tensors = (ctypes.c_void_p * len(inputs))()
        count = lib.weftFunctionGetNumResults(function)
        outputs = (ctypes.c_void_p * count)()
        try:
            for i, x in enumerate(inputs):
                shape = (ctypes.c_int64 * max(x.ndim, 1))(*x.shape)
                tensor = ctypes.c_void_p()
                self._check(lib.weftTensorWrap(_DTYPES[x.dtype], shape, x.ndim,
                                               x.ctypes.data, ctypes.byref(tensor)))
                tensors[i] = tensor.value
            self._check(lib.weftCall(function, tensors, len(inputs), outputs, count))
        finally:
            for tensor in tensors:
                lib.weftTensorRelease(tensor)
        results = []
        for tensor in outputs:
            shape = tuple(lib.weftTensorGetShape(tensor)[i]
                          for i in range(lib.weftTensorGetRank(tensor)))
            size = lib.weftTensorGetByteSize(tensor)
            data = ctypes.string_at(lib.weftTensorGetData(tensor), size) if size else b""
            dtype = _NUMPY[lib.weftTensorGetDType(tensor)]
            results.append(np.frombuffer(data, dtype=dtype).reshape(shape).copy())
            lib.weftTensorRelease(tensor)
        for i, (x, original) in enumerate(zip(inputs, before)):
            np.testing.assert_array_equal(x.view(np.uint8), original.view(np.uint8),
                                          err_msg=f"{name}: input {i} was modified")
        return results


# --- ssm_scan ---------------------------------------------------------------


def _scan_data(b, length, h, p, g, n, dtype, scalar_a, param_dtype="f32"):
    """Random operands: x, dt, A, B, C, D[H], D[H, P], z, dt_bias, state, each
    as (given, exact)."""
    data = dict(
        x=given(RNG.standard_normal((b, length, h, p)), dtype),
        # Around the softplus knee (dt + dt_bias in [-3, 1.5]).
        dt=given(RNG.uniform(-2.5, 1.0, (b, length, h)), dtype),
        # A = -exp(A_log), as the importer passes it.
        a=given(-np.exp(0.5 * RNG.standard_normal((h,) if scalar_a else (h, n))),
                 param_dtype),
        bm=given(RNG.standard_normal((b, length, g, n)), dtype),
        cm=given(RNG.standard_normal((b, length, g, n)), dtype),
        d=given(RNG.standard_normal((h,)), param_dtype),
        dhp=given(RNG.standard_normal((h, p)), param_dtype),
        z=given(RNG.standard_normal((b, length, h, p)), dtype),
        dt_bias=given(RNG.uniform(-0.5, 0.5, (h,)), param_dtype),
        state=given(RNG.standard_normal((b, h, p, n)), "f32"))
    return data


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_ssm_scan_mamba1(dtype):
    # Mamba-1 (selective_scan): H = 6 channels, P = 1, G = 1, A[H, N], D[H],
    # z, dt_bias and dt_softplus; dynamic B and L; with and without
    # initial_state. A, D and dt_bias stay f32 while x is bf16.
    b, length, h, n = 2, 13, 6, 5
    s = _scan_data(b, length, h, 1, 1, n, dtype, scalar_a=False)
    tx, tdt = t((None, None, h, 1), dtype), t((None, None, h), dtype)
    tbc, ta = t((None, None, 1, n), dtype), t((h, n), "f32")
    th, ts = t((h,), "f32"), t((None, h, 1, n), "f32")
    types = f"{tx}, {tdt}, {ta}, {tbc}, {tbc}, {th}, {tx}, {th}"
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {ta}, %B: {tbc}, %C: {tbc}, %D: {th}, %z: {tx}, %db: {th}, %s0: {ts}) -> ({tx}, {ts}, {tx}, {ts}) {{
  %y1, %s1 = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db initial_state %s0 {{dt_softplus}} : ({types}, {ts}) -> ({tx}, {ts})
  %y2, %s2 = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db {{dt_softplus}} : ({types}) -> ({tx}, {ts})
  return %y1, %s1, %y2, %s2 : {tx}, {ts}, {tx}, {ts}
}}"""
    names = ["x", "dt", "a", "bm", "cm", "d", "z", "dt_bias", "state"]
    y1, s1, y2, s2 = harness.run(program, [s[k][0] for k in names])
    exact = {k: s[k][1] for k in names}
    common = dict(d=exact["d"], z=exact["z"], dt_bias=exact["dt_bias"], dt_softplus=True)
    args = [exact[k] for k in ("x", "dt", "a", "bm", "cm")]
    ry1, rs1 = reference.ssm_scan(*args, initial_state=exact["state"], **common)
    ry2, rs2 = reference.ssm_scan(*args, **common)
    harness.assert_close(result(y1, dtype), ry1, *SCAN_TOL[dtype], "y with initial_state")
    harness.assert_close(s1, rs1, *STATE_TOL, "final_state with initial_state")
    harness.assert_close(result(y2, dtype), ry2, *SCAN_TOL[dtype], "y")
    harness.assert_close(s2, rs2, *STATE_TOL, "final_state")


@pytest.mark.parametrize("dtype,dynamic", [("f32", True), ("f16", False)],
                         ids=["f32-dynamic", "f16-static"])
def test_ssm_scan_mamba2(dtype, dynamic):
    # Mamba-2 (SSD): scalar A[H], H = 4 heads of P = 3 in G = 2 groups, N = 5.
    # y1: D[H], z, dt_bias, dt_softplus, dt_limit, initial_state. y2: D[H, P],
    # no z, no bias, no softplus (dt > 0 is used as is), dt_limit clamping.
    # Dynamic: B, L and H are all '?' (so the head -> group map is computed at
    # run time). The f16 variant has f16 A, D and dt_bias too.
    b, length, h, p, g, n = 2, 11, 4, 3, 2, 5
    s = _scan_data(b, length, h, p, g, n, dtype, scalar_a=True,
                   param_dtype="f32" if dtype == "f32" else dtype)
    positive_dt = given(RNG.uniform(0.01, 0.6, (b, length, h)), dtype)
    pdtype = "f32" if dtype == "f32" else dtype
    hd = None if dynamic else h
    bd, ld = (None, None) if dynamic else (b, length)
    tx, tdt = t((bd, ld, hd, p), dtype), t((bd, ld, hd), dtype)
    tbc, th = t((bd, ld, g, n), dtype), t((hd,), pdtype)
    thp, ts = t((hd, p), pdtype), t((bd, hd, p, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {th}, %B: {tbc}, %C: {tbc}, %D: {th}, %z: {tx}, %db: {th}, %s0: {ts}, %dt2: {tdt}, %Dhp: {thp}) -> ({tx}, {ts}, {tx}, {ts}) {{
  %y1, %s1 = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db initial_state %s0 {{dt_softplus, dt_limit = array<f64: 0.05, 1.2>}} : ({tx}, {tdt}, {th}, {tbc}, {tbc}, {th}, {tx}, {th}, {ts}) -> ({tx}, {ts})
  %y2, %s2 = weft.ssm_scan %x, %dt2, %A, %B, %C D %Dhp initial_state %s0 {{dt_limit = array<f64: 0.1, 0.4>}} : ({tx}, {tdt}, {th}, {tbc}, {tbc}, {thp}, {ts}) -> ({tx}, {ts})
  return %y1, %s1, %y2, %s2 : {tx}, {ts}, {tx}, {ts}
}}"""
    names = ["x", "dt", "a", "bm", "cm", "d", "z", "dt_bias", "state"]
    inputs = [s[k][0] for k in names] + [positive_dt[0], s["dhp"][0]]
    y1, s1, y2, s2 = harness.run(program, inputs)
    exact = {k: s[k][1] for k in s}
    args = [exact[k] for k in ("x", "dt", "a", "bm", "cm")]
    ry1, rs1 = reference.ssm_scan(*args, d=exact["d"], z=exact["z"], dt_bias=exact["dt_bias"],
                                  initial_state=exact["state"], dt_softplus=True,
                                  dt_limit=(0.05, 1.2))
    args[1] = positive_dt[1]
    ry2, rs2 = reference.ssm_scan(*args, d=exact["dhp"], initial_state=exact["state"],
                                  dt_limit=(0.1, 0.4))
    harness.assert_close(result(y1, dtype), ry1, *SCAN_TOL[dtype], "y, D[H], z")
    harness.assert_close(s1, rs1, *STATE_TOL, "final_state, D[H], z")
    harness.assert_close(result(y2, dtype), ry2, *SCAN_TOL[dtype], "y, D[H, P]")
    harness.assert_close(s2, rs2, *STATE_TOL, "final_state, D[H, P]")


# y of the wide-state scan: readouts sum N = 64 products of magnitude <~ 5
# over 25 steps, a few ulp of a sum of absolute values <~ 300.
WIDE_SCAN_TOL = (2e-5, 2e-4)


@pytest.mark.parametrize("form", ["tasks", "blocks"])
@pytest.mark.parametrize("p,n", [(16, 64), (16, 37), (24, 8)])
def test_ssm_scan_wide_state(p, n, form):
    # Head dims P >= 16, where the state tile is [N, P]: P = 16 runs the
    # vector<P> kernel (one pass over the tile per pair of steps, L = 25 ends
    # with a single step), P = 24 (not a multiple of 16) the generic loops
    # over the same tile. N = 64, 37 (not a multiple of the vector width) and
    # 8; H = 8 heads in G = 2 groups (each task reads its group's B and C),
    # f32 without epilogue, initial_state. The thread-block form (ssm-blocks)
    # sums N = 64 terms in runs of 16, then the runs.
    b, length, h, g = 2, 25, 8, 2
    s = _scan_data(b, length, h, p, g, n, "f32", scalar_a=True)
    tx, tdt = t((b, None, h, p), "f32"), t((b, None, h), "f32")
    tbc, th, ts = t((b, None, g, n), "f32"), t((h,), "f32"), t((b, h, p, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {th}, %B: {tbc}, %C: {tbc}, %db: {th}, %s0: {ts}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C dt_bias %db initial_state %s0 {{dt_softplus}} : ({tx}, {tdt}, {th}, {tbc}, {tbc}, {th}, {ts}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
    names = ["x", "dt", "a", "bm", "cm", "dt_bias", "state"]
    if form == "blocks":
        program = harness.optimize(
            program, "--pass-pipeline=builtin.module(func.func(convert-weft-to-linalg{ssm-blocks}))")
        assert "#gpu.thread<x>" in program
    y, state = harness.run(program, [s[k][0] for k in names])
    exact = {k: s[k][1] for k in names}
    ry, rs = reference.ssm_scan(*[exact[k] for k in ("x", "dt", "a", "bm", "cm")],
                                dt_bias=exact["dt_bias"], initial_state=exact["state"],
                                dt_softplus=True)
    harness.assert_close(y, ry, *WIDE_SCAN_TOL, "y")
    harness.assert_close(state, rs, *STATE_TOL, "final_state")


def test_ssm_scan_static_empty_sequence():
    # A static L = 0: y is empty and final_state equals initial_state
    # (copied exactly), for the vector (P = 16) and the generic (P = 3) forms.
    for p in (16, 3):
        b, h, g, n = 1, 2, 1, 8
        s = _scan_data(b, 0, h, p, g, n, "f32", scalar_a=True)
        tx, tdt, tbc = t((b, 0, h, p), "f32"), t((b, 0, h), "f32"), t((b, 0, g, n), "f32")
        th, ts = t((h,), "f32"), t((b, h, p, n), "f32")
        program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {th}, %B: {tbc}, %C: {tbc}, %s0: {ts}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C initial_state %s0 : ({tx}, {tdt}, {th}, {tbc}, {tbc}, {ts}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
        names = ["x", "dt", "a", "bm", "cm", "state"]
        y, state = harness.run(program, [s[k][0] for k in names])
        assert y.shape == (b, 0, h, p)
        np.testing.assert_array_equal(state, s["state"][0])


# The chunked (SSD) form sums the same terms in another order (products of
# chunk-local decays exp(cum_i - cum_j), dot products of length N and chunk
# length): a few ulp of sums of magnitude <~ 300, as for the wide-state scan.
SSD_TOL = WIDE_SCAN_TOL


def _two_scans(option, dtype, p, dynamic_p, length=21, marker=None, n=8):
    """A Mamba-2 scan (scalar A, D[H], z, dt_bias, dt_softplus and
    initial_state; H = 4 heads in G = 2 groups, N = n, dynamic L, P static or
    dynamic) and a Mamba-1 scan (A[H, N], P = 1) in one function, lowered with
    convert-weft-to-linalg{option} and run (the lowered text must contain
    `marker` when given); returns (y, state) of each with their float64
    references."""
    b, h, g = 2, 4, 2
    s = _scan_data(b, length, h, p, g, n, dtype, scalar_a=True)
    s1 = _scan_data(b, length, h, 1, 1, n, dtype, scalar_a=False)
    pd = None if dynamic_p else p
    tx, tdt = t((b, None, h, pd), dtype), t((b, None, h), dtype)
    tbc, th, ts = t((b, None, g, n), dtype), t((h,), "f32"), t((b, h, pd, n), "f32")
    tx1, tbc1 = t((b, None, h, 1), dtype), t((b, None, 1, n), dtype)
    ta1, ts1 = t((h, n), "f32"), t((b, h, 1, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %A: {th}, %B: {tbc}, %C: {tbc}, %D: {th}, %z: {tx}, %db: {th}, %s0: {ts}, %x1: {tx1}, %A1: {ta1}, %B1: {tbc1}, %C1: {tbc1}) -> ({tx}, {ts}, {tx1}, {ts1}) {{
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db initial_state %s0 {{dt_softplus}} : ({tx}, {tdt}, {th}, {tbc}, {tbc}, {th}, {tx}, {th}, {ts}) -> ({tx}, {ts})
  %y1, %s1 = weft.ssm_scan %x1, %dt, %A1, %B1, %C1 {{dt_softplus}} : ({tx1}, {tdt}, {ta1}, {tbc1}, {tbc1}) -> ({tx1}, {ts1})
  return %y, %s, %y1, %s1 : {tx}, {ts}, {tx1}, {ts1}
}}"""
    lowered = harness.optimize(
        program, f"--pass-pipeline=builtin.module(func.func(convert-weft-to-linalg{{{option}}}))")
    assert "weft.ssm_scan" not in lowered
    assert marker is None or marker in lowered, f"{option}: no {marker} in the lowered program"
    names = ["x", "dt", "a", "bm", "cm", "d", "z", "dt_bias", "state"]
    inputs = [s[k][0] for k in names] + [s1[k][0] for k in ("x", "a", "bm", "cm")]
    y, state, y1, state1 = harness.run(lowered, inputs)
    exact = {k: s[k][1] for k in names}
    ry, rs = reference.ssm_scan(*[exact[k] for k in ("x", "dt", "a", "bm", "cm")],
                                d=exact["d"], z=exact["z"], dt_bias=exact["dt_bias"],
                                initial_state=exact["state"], dt_softplus=True)
    ry1, rs1 = reference.ssm_scan(s1["x"][1], exact["dt"], s1["a"][1], s1["bm"][1],
                                  s1["cm"][1], dt_softplus=True)
    return (result(y, dtype), state, ry, rs), (result(y1, dtype), state1, ry1, rs1)


@pytest.mark.parametrize("p,chunk,dynamic_p", [(16, 8, False), (3, 5, False), (3, 5, True)])
def test_ssm_scan_chunked(p, chunk, dynamic_p):
    # convert-weft-to-linalg{ssm-chunk-size=...}: scalar-A scans in chunked
    # (SSD) form. L = 21 is not a multiple of the chunk (a partial last
    # chunk); the Mamba-1 scan (A[H, N]) in the same function keeps the
    # sequential form.
    (y, state, ry, rs), (y1, state1, ry1, rs1) = _two_scans(
        f"ssm-chunk-size={chunk}", "f32", p, dynamic_p)
    harness.assert_close(y, ry, *SSD_TOL, "y, chunked")
    harness.assert_close(state, rs, *SSD_TOL, "final_state, chunked")
    harness.assert_close(y1, ry1, *SCAN_TOL["f32"], "y, A[H, N] (sequential)")
    harness.assert_close(state1, rs1, *STATE_TOL, "final_state, A[H, N] (sequential)")


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_ssm_scan_per_channel(dtype):
    # convert-weft-to-linalg{ssm-per-channel}: one task per (b, h, p) (the
    # form weft-gpu-pipeline{ssm-per-channel} uses), for both scans.
    (y, state, ry, rs), (y1, state1, ry1, rs1) = _two_scans(
        "ssm-per-channel", dtype, 3, False, length=13)
    harness.assert_close(y, ry, *SCAN_TOL[dtype], "y, per channel")
    harness.assert_close(state, rs, *STATE_TOL, "final_state, per channel")
    harness.assert_close(y1, ry1, *SCAN_TOL[dtype], "y, A[H, N], per channel")
    harness.assert_close(state1, rs1, *STATE_TOL, "final_state, A[H, N], per channel")


@pytest.mark.parametrize("dtype,p,n,length,shared_kib",
                         [("f32", 3, 8, 13, 46), ("bf16", 3, 8, 13, 46), ("f32", 70, 8, 13, 46),
                          ("f32", 5, 32, 37, 46), ("bf16", 3, 8, 37, 46), ("f32", 70, 8, 37, 46),
                          ("f32", 5, 32, 37, 16), ("f32", 5, 32, 37, 1)])
def test_ssm_scan_blocks(dtype, p, n, length, shared_kib):
    # convert-weft-to-linalg{ssm-blocks}: loops over GPU blocks of (batch x
    # head, channels) and threads over state elements (the form
    # weft-gpu-pipeline{ssm-blocks} uses), for both scans, the steps in
    # chunks of up to 16. With N = 8 a block holds 64 channels: P = 70 needs a
    # second, partial channel block. N = 32 sums the terms in two runs of 16
    # first; L = 37 is two whole chunks of 16 and a partial one. Each chunk's
    # B, C, x and dt are staged in block-local tiles: two sets (the next
    # chunk loads during this one) within 46 KiB for these shapes, one set
    # for the Mamba-2 scan within 16 KiB at N = 32 (the smaller Mamba-1 scan
    # beside it still takes two), none within 1 KiB (the steps read them
    # where they are).
    (y, state, ry, rs), (y1, state1, ry1, rs1) = _two_scans(
        f"ssm-blocks block-shared-memory-kib={shared_kib}", dtype, p, False, length=length,
        marker="#gpu.thread<x>", n=n)
    harness.assert_close(y, ry, *SCAN_TOL[dtype], "y, blocks")
    harness.assert_close(state, rs, *STATE_TOL, "final_state, blocks")
    harness.assert_close(y1, ry1, *SCAN_TOL[dtype], "y, A[H, N], blocks")
    harness.assert_close(state1, rs1, *STATE_TOL, "final_state, A[H, N], blocks")


def test_ssm_scan_decode_consistency():
    # One call over L = 12 tokens == calls over 5, 4, 1 and 2 tokens, each
    # starting from the final_state of the previous one (Mamba-2 with every
    # option, dynamic B and L); L = 0 returns initial_state. No call writes
    # into its inputs (initial_state included).
    b, length, h, p, g, n = 2, 12, 4, 3, 2, 5
    s = _scan_data(b, length, h, p, g, n, "f32", scalar_a=True)
    tx, tdt = t((None, None, h, p), "f32"), t((None, None, h), "f32")
    tbc, th, ts = t((None, None, g, n), "f32"), t((h,), "f32"), t((None, h, p, n), "f32")
    program = f"""
func.func @scan(%x: {tx}, %dt: {tdt}, %A: {th}, %B: {tbc}, %C: {tbc}, %D: {th}, %z: {tx}, %db: {th}, %s0: {ts}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db initial_state %s0 {{dt_softplus, dt_limit = array<f64: 0.0, 1.5>}} : ({tx}, {tdt}, {th}, {tbc}, {tbc}, {th}, {tx}, {th}, {ts}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
    arrays = {k: v[0] for k, v in s.items()}
    sequence = ["x", "dt", "bm", "cm", "z"]  # operands with a length dim

    def inputs(start, stop, state):
        part = {k: arrays[k][:, start:stop] if k in sequence else arrays[k] for k in arrays}
        return [part[k] for k in ("x", "dt", "a", "bm", "cm", "d", "z", "dt_bias")] + [state]

    artifact = _Artifact(program)
    try:
        y_full, state_full = artifact.call("scan", inputs(0, length, arrays["state"]))
        parts, state = [], arrays["state"]
        for start, stop in [(0, 5), (5, 9), (9, 10), (10, 12)]:
            y, state = artifact.call("scan", inputs(start, stop, state))
            parts.append(y)
        y_empty, state_empty = artifact.call("scan", inputs(0, 0, arrays["state"]))
    finally:
        artifact.close()
    exact = {k: v[1] for k, v in s.items()}
    ry, rs = reference.ssm_scan(*[exact[k] for k in ("x", "dt", "a", "bm", "cm")],
                                d=exact["d"], z=exact["z"], dt_bias=exact["dt_bias"],
                                initial_state=exact["state"], dt_softplus=True,
                                dt_limit=(0.0, 1.5))
    harness.assert_close(y_full, ry, *SCAN_TOL["f32"], "y")
    harness.assert_close(state_full, rs, *STATE_TOL, "final_state")
    harness.assert_close(np.concatenate(parts, axis=1), y_full, *SPLIT_TOL, "y in parts")
    harness.assert_close(state, state_full, *SPLIT_TOL, "final_state after the parts")
    assert y_empty.shape == (b, 0, h, p)
    np.testing.assert_array_equal(state_empty, arrays["state"])


# --- causal_conv1d ------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_causal_conv1d(dtype):
    # K = 4, C = 5, dynamic B and L. y1: state, bias, silu. y2: no state (zero
    # history), no bias, no activation.
    b, length, c, k = 2, 9, 5, 4
    x, xx = given(RNG.standard_normal((b, length, c)), dtype)
    w, wx = given(0.5 * RNG.standard_normal((c, k)), dtype)
    bias, biasx = given(RNG.standard_normal((c,)), dtype)
    state, statex = given(RNG.standard_normal((b, k - 1, c)), dtype)
    tx, tw, tb = t((None, None, c), dtype), t((c, k), dtype), t((c,), dtype)
    ts = t((None, k - 1, c), dtype)
    program = f"""
func.func @main(%x: {tx}, %w: {tw}, %b: {tb}, %s: {ts}) -> ({tx}, {ts}, {tx}, {ts}) {{
  %y1, %s1 = weft.causal_conv1d %x, %w bias %b state %s {{activation = #weft.activation<silu>}} : ({tx}, {tw}, {tb}, {ts}) -> ({tx}, {ts})
  %y2, %s2 = weft.causal_conv1d %x, %w : ({tx}, {tw}) -> ({tx}, {ts})
  return %y1, %s1, %y2, %s2 : {tx}, {ts}, {tx}, {ts}
}}"""
    y1, s1, y2, s2 = harness.run(program, [x, w, bias, state])
    ry1, rs1 = reference.causal_conv1d(xx, wx, biasx, statex, activation="silu")
    ry2, rs2 = reference.causal_conv1d(xx, wx)
    harness.assert_close(result(y1, dtype), ry1, *CONV_TOL[dtype], "y with state, bias, silu")
    harness.assert_close(result(y2, dtype), ry2, *CONV_TOL[dtype], "y")
    # new_state is the last K - 1 rows of [state; x]: copied, so exact.
    np.testing.assert_array_equal(result(s1, dtype), rs1)
    np.testing.assert_array_equal(result(s2, dtype), rs2)


def test_causal_conv1d_short_sequence_and_k1():
    # Static shapes. L = 2 < K - 1 = 3: new_state keeps the last old state row.
    # K = 1: a pointwise scale (with bias and silu, with and without an empty
    # state), new_state of size [B, 0, C].
    b, c = 3, 7
    x = RNG.standard_normal((b, 2, c)).astype(np.float32)
    w4 = RNG.standard_normal((c, 4)).astype(np.float32)
    state = RNG.standard_normal((b, 3, c)).astype(np.float32)
    w1 = RNG.standard_normal((c, 1)).astype(np.float32)
    bias = RNG.standard_normal((c,)).astype(np.float32)
    empty = np.zeros((b, 0, c), dtype=np.float32)
    tx, tw4, ts = t((b, 2, c), "f32"), t((c, 4), "f32"), t((b, 3, c), "f32")
    tw1, tb, t0 = t((c, 1), "f32"), t((c,), "f32"), t((b, 0, c), "f32")
    program = f"""
func.func @main(%x: {tx}, %w4: {tw4}, %s: {ts}, %w1: {tw1}, %b: {tb}, %e: {t0}) -> ({tx}, {ts}, {tx}, {t0}, {tx}, {t0}) {{
  %y1, %s1 = weft.causal_conv1d %x, %w4 state %s : ({tx}, {tw4}, {ts}) -> ({tx}, {ts})
  %y2, %s2 = weft.causal_conv1d %x, %w1 bias %b {{activation = #weft.activation<silu>}} : ({tx}, {tw1}, {tb}) -> ({tx}, {t0})
  %y3, %s3 = weft.causal_conv1d %x, %w1 state %e : ({tx}, {tw1}, {t0}) -> ({tx}, {t0})
  return %y1, %s1, %y2, %s2, %y3, %s3 : {tx}, {ts}, {tx}, {t0}, {tx}, {t0}
}}"""
    y1, s1, y2, s2, y3, s3 = harness.run(program, [x, w4, state, w1, bias, empty])
    x64 = x.astype(np.float64)
    ry1, rs1 = reference.causal_conv1d(x64, w4.astype(np.float64), state=state.astype(np.float64))
    ry2, _ = reference.causal_conv1d(x64, w1.astype(np.float64), bias.astype(np.float64),
                                     activation="silu")
    ry3, _ = reference.causal_conv1d(x64, w1.astype(np.float64))
    harness.assert_close(y1, ry1, *CONV_TOL["f32"], "L < K - 1")
    np.testing.assert_array_equal(s1, rs1)
    np.testing.assert_array_equal(s1[:, 0], state[:, 2])
    harness.assert_close(y2, ry2, *CONV_TOL["f32"], "K = 1, bias, silu")
    harness.assert_close(y3, ry3, *CONV_TOL["f32"], "K = 1, empty state")
    assert s2.shape == (b, 0, c) and s3.shape == (b, 0, c)


def test_causal_conv1d_decode_consistency():
    # One call over L = 10 == calls over 6, 1, 1 and 2 tokens carrying
    # new_state (L = 1 and 2 are shorter than K - 1 = 3), dynamic B and L; no
    # call writes into its inputs (state included).
    b, length, c, k = 2, 10, 6, 4
    x = RNG.standard_normal((b, length, c)).astype(np.float32)
    w = RNG.standard_normal((c, k)).astype(np.float32)
    bias = RNG.standard_normal((c,)).astype(np.float32)
    state = RNG.standard_normal((b, k - 1, c)).astype(np.float32)
    tx, tw, tb, ts = t((None, None, c), "f32"), t((c, k), "f32"), t((c,), "f32"), \
        t((None, k - 1, c), "f32")
    program = f"""
func.func @conv(%x: {tx}, %w: {tw}, %b: {tb}, %s: {ts}) -> ({tx}, {ts}) {{
  %y, %s1 = weft.causal_conv1d %x, %w bias %b state %s {{activation = #weft.activation<silu>}} : ({tx}, {tw}, {tb}, {ts}) -> ({tx}, {ts})
  return %y, %s1 : {tx}, {ts}
}}"""
    artifact = _Artifact(program)
    try:
        y_full, state_full = artifact.call("conv", [x, w, bias, state])
        parts, carried = [], state
        for start, stop in [(0, 6), (6, 7), (7, 8), (8, 10)]:
            y, carried = artifact.call("conv", [x[:, start:stop], w, bias, carried])
            parts.append(y)
    finally:
        artifact.close()
    ry, rs = reference.causal_conv1d(x.astype(np.float64), w.astype(np.float64),
                                     bias.astype(np.float64), state.astype(np.float64),
                                     activation="silu")
    harness.assert_close(y_full, ry, *CONV_TOL["f32"], "y")
    np.testing.assert_array_equal(state_full, rs)
    harness.assert_close(np.concatenate(parts, axis=1), y_full, *SPLIT_TOL, "y in parts")
    np.testing.assert_array_equal(carried, state_full)
