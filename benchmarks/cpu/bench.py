"""CPU benchmarks: weft kernels against references measured in the same run.

  python3 benchmarks/cpu/bench.py [--bin build/bin] [--quick] [--json OUT.json] [--cases linear,...]

Each case compiles a weft program with weft-compile, times it with
`weft-run --bench N` (median after a warm-up, loading excluded) and times the
reference in this process:
  linear     weft.linear f32          vs OpenBLAS cblas_sgemm
  gemv-int8  weft.qlinear M=1 int8    vs streaming bandwidth (OpenBLAS sgemv, fp32)
  gemv-int4  weft.qlinear M=1 int4    vs streaming bandwidth
  attention  weft.attention prefill   vs unfused matmul-softmax-matmul (OpenBLAS)
  ssm_scan   weft.ssm_scan (Mamba-2)  vs streaming bandwidth on its minimal bytes
OpenBLAS runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (its AVX-512
kernel) and 2 threads; the numbers are medians of repeated runs.
"""

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time

# OpenBLAS reads these at load time: use its own AVX-512 kernel selection.
os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
sys.path.insert(0, os.path.join(ROOT, "python"))
from weft import params as weft_params  # noqa: E402
from weft import safetensors  # noqa: E402

_OPENBLAS = ctypes.CDLL("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0")
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def sgemm_nt(x, w, out):
    """out[M, N] = x[M, K] @ w[N, K]^T with OpenBLAS."""
    m, k = x.shape
    n = w.shape[0]
    _OPENBLAS.cblas_sgemm(_ROW_MAJOR, _NO_TRANS, _TRANS, m, n, k, ctypes.c_float(1.0),
                          _ptr(x), k, _ptr(w), k, ctypes.c_float(0.0), _ptr(out), n)


def sgemv(w, x, out):
    n, k = w.shape
    _OPENBLAS.cblas_sgemv(_ROW_MAJOR, _NO_TRANS, n, k, ctypes.c_float(1.0), _ptr(w), k,
                          _ptr(x), 1, ctypes.c_float(0.0), _ptr(out), 1)


def median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


class Weft:
    def __init__(self, bin_dir, work):
        self.bin_dir = bin_dir
        self.work = work
        self.count = 0

    def time(self, program, inputs, params, repeats):
        """Compiles and runs `program`; returns (median seconds, compile seconds)."""
        self.count += 1
        base = os.path.join(self.work, f"case{self.count}")
        os.makedirs(base, exist_ok=True)
        with open(f"{base}/p.mlir", "w") as f:
            f.write(program)
        command = [f"{self.bin_dir}/weft-compile", f"{base}/p.mlir", "-o", f"{base}/p.weft"]
        run = [f"{self.bin_dir}/weft-run", f"{base}/p.weft"]
        if params:
            safetensors.save(f"{base}/p.safetensors", params)
            command += ["--params", f"{base}/p.safetensors"]
            run += ["--params", f"{base}/p.safetensors"]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        compile_seconds = time.perf_counter() - start
        for i, value in enumerate(inputs):
            np.save(f"{base}/in{i}.npy", value)
            run += ["--input", f"{base}/in{i}.npy"]
        run += ["--output-dir", f"{base}/out", "--bench", str(repeats)]
        output = subprocess.run(run, check=True, capture_output=True, text=True).stdout
        median_ms = float(output.split("median_ms=")[1].split()[0])
        return median_ms / 1e3, compile_seconds


def bench_linear(weft, rng, m, k, n, repeats):
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    program = f"""
func.func @main(%x: tensor<{m}x{k}xf32>) -> tensor<{m}x{n}xf32> {{
  %w = weft.param "w" : tensor<{n}x{k}xf32>
  %y = weft.linear %x, %w : (tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>) -> tensor<{m}x{n}xf32>
  return %y : tensor<{m}x{n}xf32>
}}"""
    t_weft, t_compile = weft.time(program, [x], {"w": w}, repeats)
    out = np.empty((m, n), np.float32)
    t_ref = median_seconds(lambda: sgemm_nt(x, w, out), repeats)
    flops = 2.0 * m * n * k
    return {
        "case": f"linear f32 M={m} K={k} N={n}", "weft_ms": t_weft * 1e3,
        "ref_ms": t_ref * 1e3, "reference": "OpenBLAS sgemm",
        "weft_gflops": flops / t_weft / 1e9, "ref_gflops": flops / t_ref / 1e9,
        "ratio": t_ref / t_weft, "compile_s": t_compile,
    }


def measure_bandwidth(rng, repeats):
    """Streaming read bandwidth: OpenBLAS sgemv over a 192 MB fp32 matrix."""
    w = rng.standard_normal((6144, 8192)).astype(np.float32)
    x = rng.standard_normal(8192).astype(np.float32)
    out = np.empty(6144, np.float32)
    t = median_seconds(lambda: sgemv(w, x, out), repeats)
    return w.nbytes / t


def bench_gemv(weft, rng, bits, n, k, group, bandwidth, repeats):
    x = rng.standard_normal((1, k)).astype(np.float32)
    groups = k // group
    if bits == 8:
        q = rng.integers(-127, 128, size=(n, k)).astype(np.int8)
        qtype, stored = "i8", q
    else:
        q = rng.integers(-8, 8, size=(n, k))
        qtype, stored = "i4", weft_params.pack_int4(q)
    scales = rng.uniform(0.01, 0.02, size=(n, groups)).astype(np.float32)
    program = f"""
func.func @main(%x: tensor<1x{k}xf32>) -> tensor<1x{n}xf32> {{
  %q = weft.param "q" : tensor<{n}x{k}x{qtype}>
  %s = weft.param "s" : tensor<{n}x{groups}xf32>
  %y = weft.qlinear %x, %q, %s {{group_size = {group}}} : (tensor<1x{k}xf32>, tensor<{n}x{k}x{qtype}>, tensor<{n}x{groups}xf32>) -> tensor<1x{n}xf32>
  return %y : tensor<1x{n}xf32>
}}"""
    t_weft, t_compile = weft.time(program, [x], {"q": stored, "s": scales}, repeats)
    nbytes = stored.nbytes + scales.nbytes + x.nbytes
    achieved = nbytes / t_weft
    return {
        "case": f"gemv int{bits} g{group} M=1 K={k} N={n} ({stored.nbytes >> 20} MB)",
        "weft_ms": t_weft * 1e3, "reference": "streaming bandwidth",
        "weft_gbps": achieved / 1e9, "ref_gbps": bandwidth / 1e9,
        "ratio": achieved / bandwidth, "compile_s": t_compile,
    }


def bench_attention(weft, rng, b, s, h, d, repeats):
    q = rng.standard_normal((b, s, h, d)).astype(np.float32)
    k = rng.standard_normal((b, s, h, d)).astype(np.float32)
    v = rng.standard_normal((b, s, h, d)).astype(np.float32)
    t4 = f"tensor<{b}x{s}x{h}x{d}xf32>"
    program = f"""
func.func @main(%q: {t4}, %k: {t4}, %v: {t4}) -> {t4} {{
  %o = weft.attention %q, %k, %v {{causal}} : ({t4}, {t4}, {t4}) -> {t4}
  return %o : {t4}
}}"""
    t_weft, t_compile = weft.time(program, [q, k, v], None, repeats)
    qh, kh, vh = (np.ascontiguousarray(a.transpose(0, 2, 1, 3)) for a in (q, k, v))
    mask = np.triu(np.full((s, s), -np.inf, np.float32), 1)
    scale = np.float32(1.0 / np.sqrt(d))

    def unfused():
        scores = np.matmul(qh, kh.transpose(0, 1, 3, 2)) * scale + mask
        scores -= scores.max(-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(-1, keepdims=True)
        return np.matmul(p, vh)

    t_ref = median_seconds(unfused, repeats)
    return {
        "case": f"attention causal f32 B={b} S={s} H={h} D={d}", "weft_ms": t_weft * 1e3,
        "ref_ms": t_ref * 1e3, "reference": "unfused numpy/OpenBLAS",
        "ratio": t_ref / t_weft, "compile_s": t_compile,
    }


def bench_ssm_scan(weft, rng, b, l, h, p, n, bandwidth, repeats):
    x = rng.standard_normal((b, l, h, p)).astype(np.float32)
    dt = rng.uniform(0.01, 0.1, size=(b, l, h)).astype(np.float32)
    a = -rng.uniform(0.5, 2.0, size=(h,)).astype(np.float32)
    bm = rng.standard_normal((b, l, 1, n)).astype(np.float32)
    cm = rng.standard_normal((b, l, 1, n)).astype(np.float32)
    tx, tdt, tbc = (f"tensor<{b}x{l}x{h}x{p}xf32>", f"tensor<{b}x{l}x{h}xf32>",
                    f"tensor<{b}x{l}x1x{n}xf32>")
    ts = f"tensor<{b}x{h}x{p}x{n}xf32>"
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %a: tensor<{h}xf32>, %bm: {tbc}, %cm: {tbc}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %a, %bm, %cm : ({tx}, {tdt}, tensor<{h}xf32>, {tbc}, {tbc}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
    t_weft, t_compile = weft.time(program, [x, dt, a, bm, cm], None, repeats)
    nbytes = 2 * x.nbytes + dt.nbytes + bm.nbytes + cm.nbytes + b * h * p * n * 4
    achieved = nbytes / t_weft
    return {
        "case": f"ssm_scan f32 B={b} L={l} H={h} P={p} N={n}", "weft_ms": t_weft * 1e3,
        "reference": "streaming bandwidth", "weft_gbps": achieved / 1e9,
        "ref_gbps": bandwidth / 1e9, "ratio": achieved / bandwidth, "compile_s": t_compile,
    }


CASES = ["linear", "gemv-int8", "gemv-int4", "attention", "ssm_scan"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats")
    parser.add_argument("--json", help="write the results as JSON")
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated subset of: " + ", ".join(CASES))
    args = parser.parse_args()
    selected = args.cases.split(",")
    unknown = sorted(set(selected) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {CASES}")
    rng = np.random.default_rng(0)
    repeats = 3 if args.quick else 5
    results = []
    with tempfile.TemporaryDirectory(prefix="weft-bench-") as work:
        weft = Weft(args.bin, work)
        bandwidth = measure_bandwidth(rng, repeats)
        print(f"streaming bandwidth (OpenBLAS sgemv, 192 MB): {bandwidth / 1e9:.1f} GB/s")
        if args.quick:
            cases = {
                "linear": lambda: bench_linear(weft, rng, 64, 512, 512, repeats),
                "gemv-int8": lambda: bench_gemv(weft, rng, 8, 2048, 4096, 128, bandwidth, repeats),
                "gemv-int4": lambda: bench_gemv(weft, rng, 4, 2048, 4096, 128, bandwidth, repeats),
                "attention": lambda: bench_attention(weft, rng, 1, 256, 4, 64, repeats),
                "ssm_scan": lambda: bench_ssm_scan(weft, rng, 1, 256, 8, 32, 32, bandwidth, repeats),
            }
        else:
            cases = {
                "linear": lambda: bench_linear(weft, rng, 128, 1024, 1024, repeats),
                "gemv-int8": lambda: bench_gemv(weft, rng, 8, 8192, 16384, 128, bandwidth, repeats),
                "gemv-int4": lambda: bench_gemv(weft, rng, 4, 16384, 16384, 128, bandwidth, repeats),
                "attention": lambda: bench_attention(weft, rng, 1, 1024, 4, 128, repeats),
                "ssm_scan": lambda: bench_ssm_scan(weft, rng, 1, 1024, 32, 64, 64, bandwidth, repeats),
            }
        for case in (cases[name] for name in CASES if name in selected):
            result = case()
            results.append(result)
            print(f"{result['case']:<52} weft {result['weft_ms']:9.2f} ms   "
                  f"ratio {result['ratio']:.3f} vs {result['reference']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"bandwidth_gbps": bandwidth / 1e9, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
