"""GPU benchmarks: weft's compiled kernels against PyTorch in the same run.

  python3 benchmarks/gpu/bench.py --prepare [--bin build/bin]   # compile (needs weft-compile)
  python3 benchmarks/gpu/bench.py [--bin DIR] [--json OUT.json]  # run (needs a GPU and torch)

Programs are compiled for --target=cuda through the artifact cache
(WEFT_ARTIFACT_CACHE, python/weft/tools.py), so the run half works on a GPU
machine without LLVM (scripts/gpu-check.sh carries the cache there). weft is
timed with `weft-run --bench N` after a warm-up, with inputs already in device
(unified) memory as PyTorch's are: "weft ms", the column the ratios use, is
the median GPU time of a call by CUDA events (first to last kernel, as
PyTorch is timed: CUDA events around each call, median); "wall ms" the
median wall time of the same calls, which adds the host's work (launches,
waiting). Parameters are bound once.

  attention  prefill, causal, f16        vs torch SDPA (flash and cuDNN backends)
             (the default form, whole-tensor products; the thread-block
             form, --gpu-attention=blocks; FlashAttention-2 style,
             --gpu-attention=registers)
  attention-bf16  the same in bf16, FlashAttention-2 style only
  decode     attention Sq=1, GQA, f16    vs device copy bandwidth on K+V
             (the same three forms; registers: K/V streamed, split keys)
  gemv-int4  qlinear M=1, group 128      vs torch._weight_int4pack_mm and bf16 linear
             (the default form, warp reductions over K, and the thread-block
             form, weft-compile --gpu-linear=blocks)
  gemv-int4-wide  the same at N = 11008 (an MLP projection): 4 output
             channels per warp in the thread-block form (2 at N = 4096)
  gemm-int4  qlinear M=1024, f16 x        vs torch._weight_int4pack_mm and bf16 linear
             (both forms; the thread-block form runs on tensor cores)
  gemv-f16   linear M=1, f16 weights     vs torch f16 linear and copy bandwidth on
             the weight (both forms)
  linear-f16 linear M=1024, f16 (prefill) vs torch f16 linear, cuBLAS (both
             forms; the thread-block form runs on tensor cores)
  lora       linear + fused LoRA, f16    vs the same linear without LoRA (overhead)
  ssm_scan   Mamba-2 scan, f32           vs device copy bandwidth on its minimal bytes
             (one thread per (batch, head), the default; per channel; and the
             thread-block form, weft-compile --gpu-ssm-scan=per-channel|blocks)
  ssm_scan-bf16  Mamba-2 scan, bf16, N = 128: the thread-block form and the
             chunks on the tensor cores (--gpu-ssm-scan=chunked)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
sys.path.insert(0, os.path.join(ROOT, "python"))
from weft import params as weft_params  # noqa: E402
from weft import safetensors, tools  # noqa: E402

REPEATS = 20


def t(shape, dtype):
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


class Timing(float):
    """A weft call's GPU time in ms (CUDA events, inputs already in device
    memory) that also carries its wall time (`wall_ms`)."""

    def __new__(cls, ms, wall_ms):
        timing = super().__new__(cls, ms)
        timing.wall_ms = wall_ms
        return timing


class Weft:
    """Compiles through the artifact cache; runs with weft-run --bench."""

    def __init__(self, work, prepare, repeats):
        self.work, self.prepare, self.repeats, self.count = work, prepare, repeats, 0

    def time(self, program, inputs, params=None, options=()):
        """`options`: further weft-compile flags (e.g. --gpu-linear=blocks)."""
        self.count += 1
        base = os.path.join(self.work, f"case{self.count}")
        os.makedirs(base, exist_ok=True)
        with open(f"{base}/p.mlir", "w") as f:
            f.write(program)
        tools.compile_artifact(f"{base}/p.mlir", f"{base}/p.weft", target="cuda",
                               options=options)
        if self.prepare:
            return None
        # WEFT_RUN_PREFIX wraps weft-run, e.g. "compute-sanitizer --print-limit 4".
        run = [*os.environ.get("WEFT_RUN_PREFIX", "").split(), tools.find_tool("weft-run"),
               f"{base}/p.weft"]
        if params:
            safetensors.save(f"{base}/p.safetensors", params)
            run += ["--params", f"{base}/p.safetensors"]
        for i, value in enumerate(inputs):
            np.save(f"{base}/in{i}.npy", value)
            run += ["--input", f"{base}/in{i}.npy"]
        run += ["--output-dir", f"{base}/out", "--bench", str(self.repeats)]
        result = subprocess.run(run, capture_output=True, text=True)
        if result.returncode != 0:
            lines = (result.stdout + result.stderr).strip().splitlines()
            raise RuntimeError("\n".join(lines[-30:])[:3000])
        wall_ms = float(result.stdout.split("device_inputs_median_ms=")[1].split()[0])
        ms = float(result.stdout.split("gpu_median_ms=")[1].split()[0])
        return Timing(ms, wall_ms)


# weft.attention's GPU forms: the pipeline's default, the fused kernel of
# thread blocks and the register forms (FlashAttention-2 for prefill, K and V
# streamed into registers with split keys for decoding), with the shared
# memory weft-compile gives them on sm_90a.
ATTENTION_FORMS = {"products": None,
                   "blocks": "attention-blocks block-shared-memory-kib=110",
                   "registers": "attention-registers block-shared-memory-kib=110"}


# The GPU forms of linear layers with few rows: the pipeline's default (warp
# reductions over K) and the thread-block kernel.
LINEAR_FORMS = {"reductions": (), "blocks": ("--gpu-linear=blocks",)}


# ssm_scan's GPU forms.
SCAN_FORMS = {"tasks": None, "per-channel": "ssm-per-channel", "blocks": "ssm-blocks",
              "chunked": "ssm-chunked block-shared-memory-kib=110"}


def lowered(program, option):
    """The program with convert-weft-to-linalg{option} applied (through
    weft-opt, which the artifact cache remembers for the GPU machine)."""
    if option is None:
        return program
    return tools.optimize_text(
        program, [f"--pass-pipeline=builtin.module(func.func(convert-weft-to-linalg{{{option}}}))"])


def cuda_ms(fn, repeats=REPEATS):
    import torch
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def copy_bandwidth():
    """Device-to-device copy, bytes read plus written, GB/s."""
    import torch
    a = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    return 2 * a.numel() / cuda_ms(lambda: b.copy_(a)) / 1e6


def f16(rng, shape):
    return rng.standard_normal(shape).astype(np.float16)


def bf16_words(x):
    """float32 values rounded to bf16 (to nearest, ties to even), as the
    uint16 words weft-run reads for bf16."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def bench_attention(weft, rng, b=1, s=1024, h=16, d=128, dtype="f16",
                    forms=tuple(ATTENTION_FORMS)):
    if dtype == "f16":
        q, k, v = (f16(rng, (b, s, h, d)) for _ in range(3))
    else:
        q, k, v = (bf16_words(rng.standard_normal((b, s, h, d))) for _ in range(3))
    ty = t((b, s, h, d), dtype)
    program = f"""
func.func @main(%q: {ty}, %k: {ty}, %v: {ty}) -> {ty} {{
  %o = weft.attention %q, %k, %v {{causal}} : ({ty}, {ty}, {ty}) -> {ty}
  return %o : {ty}
}}"""
    times = {form: weft.time(lowered(program, ATTENTION_FORMS[form]), [q, k, v])
             for form in forms}
    if weft.prepare:
        return []
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    def device(a):
        if dtype == "f16":
            return torch.from_numpy(a).cuda().transpose(1, 2)
        words = torch.from_numpy(a.view(np.int16)).cuda()
        return words.view(torch.bfloat16).transpose(1, 2)
    tq, tk, tv = (device(a) for a in (q, k, v))
    rows = []
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                          ("cuDNN", SDPBackend.CUDNN_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                ref = cuda_ms(lambda: torch.nn.functional.scaled_dot_product_attention(
                    tq, tk, tv, is_causal=True))
        except RuntimeError as e:
            ref = None
            name = f"{name}: unavailable ({str(e)[:30]})"
        for form, ms in times.items():
            rows.append((f"attention prefill causal {dtype} B={b} S={s} H={h} D={d} [{form}]", ms,
                         f"torch SDPA {name}", ref, None if ref is None else ref / ms))
    return rows


def bench_decode(weft, rng, bandwidth, b=1, hq=32, hkv=8, sk=4096, d=128):
    q = f16(rng, (b, 1, hq, d))
    k, v = f16(rng, (b, sk, hkv, d)), f16(rng, (b, sk, hkv, d))
    tq, tkv = t((b, 1, hq, d), "f16"), t((b, sk, hkv, d), "f16")
    program = f"""
func.func @main(%q: {tq}, %k: {tkv}, %v: {tkv}) -> {tq} {{
  %o = weft.attention %q, %k, %v : ({tq}, {tkv}, {tkv}) -> {tq}
  return %o : {tq}
}}"""
    rows = []
    for form in ATTENTION_FORMS:
        ms = weft.time(lowered(program, ATTENTION_FORMS[form]), [q, k, v])
        if ms is None:
            continue
        achieved = (k.nbytes + v.nbytes) / ms / 1e6
        rows.append((f"decode attention f16 B={b} Hq={hq} Hkv={hkv} Sk={sk} D={d} [{form}]", ms,
                     f"copy bandwidth {bandwidth:.0f} GB/s (weft {achieved:.0f} GB/s)", None,
                     achieved / bandwidth))
    return rows


def bench_int4(weft, rng, m, n=4096, k=4096, group=128):
    """qlinear with int4 weights for m rows: f32 x for a GEMV (m = 1), f16 x
    (the tensor-core tiles of the thread-block form) for more rows."""
    dtype = "f32" if m == 1 else "f16"
    x = rng.standard_normal((m, k)).astype(np.float32 if m == 1 else np.float16)
    q = rng.integers(0, 16, size=(n, k))
    scales = rng.uniform(0.01, 0.02, size=(n, k // group)).astype(x.dtype)
    tx, ts, ty = t((m, k), dtype), t((n, k // group), dtype), t((m, n), dtype)
    program = f"""
func.func @main(%x: {tx}) -> {ty} {{
  %q = weft.param "q" : {t((n, k), "i4")}
  %s = weft.param "s" : {ts}
  %y = weft.qlinear %x, %q, %s {{group_size = {group}}} : ({tx}, {t((n, k), "i4")}, {ts}) -> {ty}
  return %y : {ty}
}}"""
    signed = q - 8
    times = {form: weft.time(program, [x], {"q": weft_params.pack_int4(signed), "s": scales},
                             options=options)
             for form, options in LINEAR_FORMS.items()}
    if None in times.values():
        return []
    import torch
    rows = []
    xb = torch.from_numpy(x).cuda().to(torch.bfloat16)
    for form, ms in times.items():
        name = "gemv" if m == 1 else "gemm"
        rows += int4_rows(f"{name} int4 g{group} {dtype} M={m} K={k} N={n} [{form}]", ms, xb, q,
                          scales.astype(np.float32), n, k, group)
    return rows


def int4_rows(case, ms, xb, q, scales, n, k, group):
    """weft's `ms` against torch's int4 kernel and a bf16 linear."""
    import torch
    rows = []
    try:
        qt = torch.from_numpy(q.astype(np.int32)).cuda()
        packed_u8 = (qt[:, ::2] << 4 | qt[:, 1::2]).to(torch.uint8)
        packed = torch._convert_weight_to_int4pack(packed_u8, 8)
        # torch dequantizes (q - 8) * scale + zero: zero 0 is weft's symmetric form.
        st = torch.from_numpy(scales.T.copy())
        sz = torch.stack([st, torch.zeros_like(st)], dim=2).cuda().to(torch.bfloat16)
        ref = cuda_ms(lambda: torch._weight_int4pack_mm(xb, packed, group, sz))
        rows.append((case, ms, "torch._weight_int4pack_mm", ref, ref / ms))
    except (RuntimeError, TypeError, AttributeError) as e:
        rows.append((case, ms, f"torch int4: unavailable ({str(e)[:50]})", None, None))
    w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
    ref = cuda_ms(lambda: torch.nn.functional.linear(xb, w))
    rows.append((case, ms, "torch bf16 linear", ref, ref / ms))
    return rows


def bench_linear_f16(weft, rng, bandwidth, m, k=4096, n=4096):
    """An f16 linear layer of m rows in both forms against torch; for a GEMV
    (m = 1) also against copy bandwidth on the weight."""
    x = f16(rng, (m, k))
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float16)
    program = f"""
func.func @main(%x: {t((m, k), "f16")}) -> {t((m, n), "f16")} {{
  %w = weft.param "w" : {t((n, k), "f16")}
  %y = weft.linear %x, %w : ({t((m, k), "f16")}, {t((n, k), "f16")}) -> {t((m, n), "f16")}
  return %y : {t((m, n), "f16")}
}}"""
    times = {form: weft.time(program, [x], {"w": w}, options=options)
             for form, options in LINEAR_FORMS.items()}
    if None in times.values():
        return []
    import torch
    xt, wt = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
    ref = cuda_ms(lambda: torch.nn.functional.linear(xt, wt))
    rows = []
    for form, ms in times.items():
        case = f"{'gemv' if m == 1 else 'linear'} f16 M={m} K={k} N={n} [{form}]"
        rows.append((case, ms, "torch f16 linear", ref, ref / ms))
        if m == 1:
            achieved = w.nbytes / ms / 1e6
            rows.append((case, ms,
                         f"copy bandwidth {bandwidth:.0f} GB/s (weft {achieved:.0f} GB/s)",
                         None, achieved / bandwidth))
    return rows


def bench_lora(weft, rng, m=16, k=4096, n=4096, r=16):
    x = f16(rng, (m, k))
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float16)
    a = (rng.standard_normal((r, k)) / np.sqrt(k)).astype(np.float16)
    bb = (rng.standard_normal((n, r)) / np.sqrt(r)).astype(np.float16)
    tx, tw, ta, tb, ty = (t((m, k), "f16"), t((n, k), "f16"), t((r, k), "f16"),
                          t((n, r), "f16"), t((m, n), "f16"))
    base = f"""
func.func @main(%x: {tx}) -> {ty} {{
  %w = weft.param "w" : {tw}
  %y = weft.linear %x, %w : ({tx}, {tw}) -> {ty}
  return %y : {ty}
}}"""
    fused = f"""
func.func @main(%x: {tx}) -> {ty} {{
  %w = weft.param "w" : {tw}
  %a = weft.param "a" : {ta}
  %b = weft.param "b" : {tb}
  %y = weft.linear %x, %w lora %a, %b {{lora_scale = 2.0 : f32}} : ({tx}, {tw}, {ta}, {tb}) -> {ty}
  return %y : {ty}
}}"""
    ms_base = weft.time(base, [x], {"w": w})
    ms_fused = weft.time(fused, [x], {"w": w, "a": a, "b": bb})
    if ms_base is None:
        return []
    return [(f"linear + LoRA r={r} f16 M={m} K={k} N={n}", ms_fused,
             "weft linear without LoRA", ms_base, ms_base / ms_fused)]


def bench_ssm_scan(weft, rng, bandwidth, b=1, l=1024, h=32, p=64, n=64, dtype="f32",
                   forms=tuple(SCAN_FORMS)):
    def values(shape, low=None, high=None):
        v = rng.standard_normal(shape) if low is None else rng.uniform(low, high, size=shape)
        return v.astype(np.float32) if dtype == "f32" else bf16_words(v)
    x = values((b, l, h, p))
    dt = values((b, l, h), 0.01, 0.1)
    a = -rng.uniform(0.5, 2.0, size=(h,)).astype(np.float32)
    bm = values((b, l, 1, n))
    cm = values((b, l, 1, n))
    tx, tdt, tbc, ts = t((b, l, h, p), dtype), t((b, l, h), dtype), t((b, l, 1, n), dtype), \
        t((b, h, p, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %dt: {tdt}, %a: {t((h,), "f32")}, %bm: {tbc}, %cm: {tbc}) -> ({tx}, {ts}) {{
  %y, %s = weft.ssm_scan %x, %dt, %a, %bm, %cm : ({tx}, {tdt}, {t((h,), "f32")}, {tbc}, {tbc}) -> ({tx}, {ts})
  return %y, %s : {tx}, {ts}
}}"""
    nbytes = 2 * x.nbytes + dt.nbytes + bm.nbytes + cm.nbytes + b * h * p * n * 4
    rows = []
    for form in forms:
        ms = weft.time(lowered(program, SCAN_FORMS[form]), [x, dt, a, bm, cm])
        if ms is None:
            continue
        achieved = nbytes / ms / 1e6
        rows.append((f"ssm_scan Mamba-2 {dtype} B={b} L={l} H={h} P={p} N={n} [{form}]", ms,
                     f"copy bandwidth {bandwidth:.0f} GB/s (weft {achieved:.0f} GB/s)", None,
                     achieved / bandwidth))
    return rows


CASES = ["attention", "attention-bf16", "decode", "gemv-int4", "gemv-int4-wide", "gemm-int4", "gemv-f16",
         "linear-f16", "lora", "ssm_scan", "ssm_scan-bf16"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true",
                        help="only compile the programs into the artifact cache")
    parser.add_argument("--bin", help="directory of weft-compile / weft-run (WEFT_BIN_DIR)")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed weft calls per case")
    args = parser.parse_args()
    if args.bin:
        os.environ["WEFT_BIN_DIR"] = os.path.abspath(args.bin)
    os.environ.setdefault("WEFT_ARTIFACT_CACHE", os.path.join(ROOT, ".device", "cache"))
    rng = np.random.default_rng()
    with tempfile.TemporaryDirectory(prefix="weft-gpu-bench-") as work:
        weft = Weft(work, args.prepare, args.repeats)
        bandwidth = None if args.prepare else copy_bandwidth()
        rows = []
        run = {"attention": lambda: bench_attention(weft, rng),
               "attention-bf16": lambda: bench_attention(weft, rng, dtype="bf16",
                                                         forms=("registers",)),
               "decode": lambda: bench_decode(weft, rng, bandwidth),
               "gemv-int4": lambda: bench_int4(weft, rng, m=1),
               "gemv-int4-wide": lambda: bench_int4(weft, rng, m=1, n=11008),
               "gemm-int4": lambda: bench_int4(weft, rng, m=1024),
               "gemv-f16": lambda: bench_linear_f16(weft, rng, bandwidth, m=1),
               "linear-f16": lambda: bench_linear_f16(weft, rng, bandwidth, m=1024),
               "lora": lambda: bench_lora(weft, rng),
               "ssm_scan": lambda: bench_ssm_scan(weft, rng, bandwidth,
                                                  forms=("tasks", "per-channel", "blocks")),
               "ssm_scan-bf16": lambda: bench_ssm_scan(weft, rng, bandwidth, n=128,
                                                       dtype="bf16",
                                                       forms=("blocks", "chunked"))}
        for case in args.cases.split(","):
            if case not in run:
                parser.error(f"unknown case '{case}' (expected {', '.join(CASES)})")
            try:
                rows += run[case]()
            except RuntimeError as error:  # one failing case still prints the others
                print(f"case {weft.count} failed: {error}", file=sys.stderr)
    if args.prepare:
        print(f"compiled {weft.count} programs into {os.environ['WEFT_ARTIFACT_CACHE']}")
        return
    print(f"{'case':68} {'weft ms':>9} {'wall ms':>9}  {'reference':52} {'ref ms':>8} "
          f"{'ratio':>7}")
    for case, ms, ref_name, ref_ms, ratio in rows:
        print(f"{case:68} {ms:9.4f} {getattr(ms, 'wall_ms', float('nan')):9.3f}  {ref_name:52} "
              f"{'' if ref_ms is None else f'{ref_ms:8.3f}':>8} "
              f"{'' if ratio is None else f'{ratio:7.3f}':>7}")
    print("weft ms: GPU time of a call by CUDA events (as PyTorch's); wall ms: the same calls' "
          "wall time; inputs already in device memory")
    print("ratio: reference time / weft time (higher is better for weft); for bandwidth rows, "
          "weft's bytes/s over the copy bandwidth; for LoRA, base / fused (1/overhead)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([dict(zip(("case", "weft_ms", "reference", "ref_ms", "ratio"),
                                (r[0], float(r[1]), *r[2:])),
                            wall_ms=getattr(r[1], "wall_ms", None)) for r in rows], f, indent=1)


if __name__ == "__main__":
    main()
