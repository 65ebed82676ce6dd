"""Inputs and numpy references for the weft-run tests on the fake artifact
(unittests/Runtime/FakeArtifact.c).

    fake.py gen FUNCTION DIR           fresh random inputs (and params) in DIR
    fake.py check FUNCTION DIR OUTDIR  compare OUTDIR/out<i>.npy with numpy

Every output element is checked. Results are exact unless a tolerance is
stated next to the check.
"""

import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(__file__), *[".."] * 4, "python"))
from weft import safetensors  # noqa: E402

rng = np.random.default_rng()


def save(path, array, version=None):
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version)


def load(path):
    return np.load(path)


def expect_equal(name, got, want):
    if got.dtype != want.dtype or got.shape != want.shape:
        sys.exit(f"{name}: got {got.dtype}{list(got.shape)}, "
                 f"want {want.dtype}{list(want.shape)}")
    bad = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
    if bad.size:
        i = bad[0]
        sys.exit(f"{name}: {bad.size} elements differ, first at flat index "
                 f"{i}: got {got.reshape(-1)[i]}, want {want.reshape(-1)[i]}")


def pack_int4(values):
    """docs/Quantization.md: per row, even element in the low nibble."""
    nib = np.asarray(values).astype(np.int64) & 0xF
    if nib.shape[-1] % 2:
        nib = np.concatenate([nib, np.zeros(nib.shape[:-1] + (1,), nib.dtype)],
                             axis=-1)
    return (nib[..., 0::2] | (nib[..., 1::2] << 4)).astype(np.uint8)


# add_bias: out = x + bias, x f32[?, 16], bias f32[16].
def gen_add_bias(d):
    rows = int(rng.integers(1, 10))
    save(f"{d}/x.npy", rng.standard_normal((rows, 16), dtype=np.float32))
    safetensors.save(f"{d}/params.safetensors",
                     {"bias": rng.standard_normal(16, dtype=np.float32)})


def check_add_bias(d, out):
    x = load(f"{d}/x.npy")
    bias = safetensors.load(f"{d}/params.safetensors")[0]["bias"].data
    # f32 addition is correctly rounded, so numpy's f32 sum is exact.
    expect_equal("out0", load(f"{out}/out0.npy"), x + bias)


# Archives that do not fit add_bias: bias too short, and bias missing.
def gen_bad_bias(d):
    safetensors.save(f"{d}/short.safetensors",
                     {"bias": rng.standard_normal(8, dtype=np.float32)})
    safetensors.save(f"{d}/other.safetensors",
                     {"b": rng.standard_normal(16, dtype=np.float32)})


# sum_transpose: row sums of x and x transposed.
def gen_sum_transpose(d):
    shape = tuple(int(n) for n in rng.integers(1, 12, size=2))
    save(f"{d}/x.npy", rng.standard_normal(shape, dtype=np.float32))


def check_sum_transpose(d, out):
    x = load(f"{d}/x.npy")
    sums = load(f"{out}/out0.npy")
    if sums.dtype != np.float32 or sums.shape != (x.shape[0],):
        sys.exit(f"out0: got {sums.dtype}{list(sums.shape)}")
    # f32 accumulation: error bounded by cols * eps * sum |x| per row.
    reference = x.astype(np.float64).sum(axis=1)
    bound = x.shape[1] * 1.2e-7 * np.abs(x).astype(np.float64).sum(axis=1)
    if not np.all(np.abs(sums - reference) <= bound):
        sys.exit(f"out0: row sums {sums} differ from {reference} beyond {bound}")
    expect_equal("out1", load(f"{out}/out1.npy"), np.ascontiguousarray(x.T))


# convert: one elementwise map per dtype.
CONVERT_INPUTS = ["a.npy", "b.npy", "c.npy", "d.npy", "e.npy", "f.npy",
                  "g.npy", "h.npy", "k.npy"]


def gen_convert(d):
    def n():
        return int(rng.integers(0, 9))

    # Format versions 2.0 and 3.0 as well as numpy's default 1.0.
    save(f"{d}/a.npy", rng.integers(-2**40, 2**40, n(), dtype=np.int64), (2, 0))
    save(f"{d}/b.npy", rng.integers(-2**30, 2**30, n(), dtype=np.int32), (3, 0))
    save(f"{d}/c.npy", rng.standard_normal(n()) * 10)
    save(f"{d}/d.npy", rng.integers(0, 256, n(), dtype=np.uint8))
    save(f"{d}/e.npy", rng.integers(-128, 128, n(), dtype=np.int8))
    save(f"{d}/f.npy", rng.integers(0, 2, n()).astype(np.bool_))
    save(f"{d}/g.npy", rng.standard_normal(n()).astype(np.float16))
    # bf16 as raw words: '<u2', and the same words as 'V2'.
    words = rng.integers(0, 2**16, n(), dtype=np.uint16)
    save(f"{d}/h.npy", words)
    save(f"{d}/h_void.npy", words.view("V2"))
    save(f"{d}/k.npy", rng.integers(-2**15, 2**15, n(), dtype=np.int16))


def check_convert(d, out):
    a, b, c, e, f, g, k = (load(f"{d}/{n}.npy") for n in "abcefgk")
    dd = load(f"{d}/d.npy")
    h = load(f"{d}/h.npy")
    outs = [load(f"{out}/out{i}.npy") for i in range(9)]
    expect_equal("out0 i64", outs[0], 3 * a - 1)
    expect_equal("out1 i32", outs[1], b + np.int32(7))
    expect_equal("out2 f64", outs[2], c * 0.5)
    expect_equal("out3 u8", outs[3], ~dd)
    expect_equal("out4 i8", outs[4], np.negative(e))
    expect_equal("out5 i1", outs[5], ~f)
    # Sign-bit flips, compared as bit patterns.
    expect_equal("out6 f16", outs[6].view(np.uint16),
                 g.view(np.uint16) ^ np.uint16(0x8000))
    expect_equal("out7 bf16", outs[7], h ^ np.uint16(0x8000))
    expect_equal("out8 i16", outs[8], k * np.int16(2))


# unpack_i4: i4 params w_even [4, 6] and w_odd [3, 5] unpacked to i8.
def gen_unpack_i4(d):
    even = rng.integers(-8, 8, (4, 6)).astype(np.int8)
    odd = rng.integers(-8, 8, (3, 5)).astype(np.int8)
    save(f"{d}/even.npy", even)
    save(f"{d}/odd.npy", odd)
    safetensors.save(f"{d}/params.safetensors",
                     {"w_even": pack_int4(even), "w_odd": pack_int4(odd)})


def check_unpack_i4(d, out):
    expect_equal("out0", load(f"{out}/out0.npy"), load(f"{d}/even.npy"))
    expect_equal("out1", load(f"{out}/out1.npy"), load(f"{d}/odd.npy"))


# shared_result: 2x and 3x of x in one allocation.
def gen_shared_result(d):
    save(f"{d}/x.npy", rng.standard_normal(int(rng.integers(1, 20)),
                                           dtype=np.float32))


def check_shared_result(d, out):
    x = load(f"{d}/x.npy")
    expect_equal("out0", load(f"{out}/out0.npy"), x * np.float32(2))
    expect_equal("out1", load(f"{out}/out1.npy"), x * np.float32(3))


# passthrough: the input itself.
gen_passthrough = gen_shared_result


def check_passthrough(d, out):
    expect_equal("out0", load(f"{out}/out0.npy"), load(f"{d}/x.npy"))


# constant: a global [1.5, -2, 0.25].
def gen_constant(d):
    pass


def check_constant(d, out):
    expect_equal("out0", load(f"{out}/out0.npy"),
                 np.array([1.5, -2.0, 0.25], np.float32))


if __name__ == "__main__":
    command, function, directory = sys.argv[1:4]
    if command == "gen":
        globals()[f"gen_{function}"](directory)
    else:
        globals()[f"check_{function}"](directory, sys.argv[4])
