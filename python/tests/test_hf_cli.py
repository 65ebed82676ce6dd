"""The command line: hf-logits, import-hf and generate on small random
checkpoints, and one-line errors (exit status 1, no traceback) for bad
inputs."""

import ctypes
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import require_runtime, require_tools
from test_hf_models import CASES, check_logits
from weft import safetensors, tools
from weft.testing import checkpoints, reference

RNG = np.random.default_rng()
PYTHON_DIR = os.path.join(os.path.dirname(__file__), os.pardir)


def weft(*args):
    return subprocess.run([sys.executable, "-m", "weft", *map(str, args)], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=PYTHON_DIR))


def test_hf_logits_sharded_bf16_checkpoint(tmp_path):
    require_runtime()
    # bf16 weights in three shards: imported as f32 (exact widening), so the
    # reference on the stored bf16 values applies with the f32 tolerance.
    config = checkpoints.small_config("Mamba2ForCausalLM")
    tensors = checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG, shards=3,
                                           dtype="bf16")
    assert not (tmp_path / "hf" / "model.safetensors").exists()
    ids = RNG.integers(0, config["vocab_size"], (3, 10)).astype(np.int32)
    np.save(tmp_path / "ids.npy", ids)
    result = weft("hf-logits", tmp_path / "hf", "--input-ids", tmp_path / "ids.npy",
                  "-o", tmp_path / "logits.npy")
    assert result.returncode == 0, result.stderr
    assert "Mamba2ForCausalLM: logits [3, 10, 96]" in result.stdout
    logits = np.load(tmp_path / "logits.npy")
    assert logits.dtype == np.float32
    check_logits(logits, reference.forward(config, tensors, ids), "bf16 sharded")


@pytest.mark.parametrize("case", ["llama3-rope", "mistral-window", "qwen2-tied-bias", "mamba",
                                  "jamba"])
def test_hf_logits_matches_the_reference(case, tmp_path):
    # Mamba-2 is covered above and Llama with an adapter in test_hf_lora.py.
    require_runtime()
    arch, overrides = CASES[case]
    config = checkpoints.small_config(arch, **overrides)
    tensors = checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG)
    ids = RNG.integers(0, config["vocab_size"], (2, 9))
    np.save(tmp_path / "ids.npy", ids)
    result = weft("hf-logits", tmp_path / "hf", "--input-ids", tmp_path / "ids.npy",
                  "-o", tmp_path / "logits.npy")
    assert result.returncode == 0, result.stderr
    check_logits(np.load(tmp_path / "logits.npy"), reference.forward(config, tensors, ids),
                 f"hf-logits {case}")


def test_import_hf_writes_a_module_and_its_params(tmp_path):
    require_tools("weft-opt")
    config = checkpoints.small_config("JambaForCausalLM")
    tensors = checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG)
    result = weft("import-hf", tmp_path / "hf", "-o", tmp_path / "m.mlir", "--params",
                  tmp_path / "p.safetensors")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "m.mlir").read_text()
    tools.run_tool("weft-opt", [str(tmp_path / "m.mlir")])
    assert "func.func @prefill(%ids: tensor<?x?xi64>)" in text
    # Layer 1 and 3 are attention (period 2, offset 1): KV caches; 0 and 2 Mamba.
    assert "%layers_1_key: tensor<?x?x2x8xf32>" in text
    assert "%layers_0_conv: tensor<?x3x64xf32>" in text
    assert '"model.layers.1.self_attn.q_proj.weight"' in text
    params, _ = safetensors.load(str(tmp_path / "p.safetensors"))
    # Every checkpoint tensor is used, under its Hugging Face name, unchanged.
    assert set(params) == set(tensors)
    for name, value in tensors.items():
        np.testing.assert_array_equal(params[name].data, value)


def test_generate_prints_tokens_and_rates(tmp_path):
    require_runtime()
    config = checkpoints.small_config("MambaForCausalLM")
    checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG)
    result = weft("generate", tmp_path / "hf", "--prompt-ids", "1,2,3;4,5,6",
                  "--max-new-tokens", 5)
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"row (\d): prompt \[(.*)\] -> generated \[(.*)\]", result.stdout)
    assert [r[0] for r in rows] == ["0", "1"]
    assert rows[1][1] == "4, 5, 6"
    assert all(len(r[2].split(",")) == 5 for r in rows)
    assert re.search(r"prefill: 6 tokens in [\d.]+ ms \([\d.]+ tokens/s\)", result.stdout)
    assert re.search(r"decode: 8 tokens in [\d.]+ ms \([\d.]+ tokens/s\)", result.stdout)


def _error(result, pattern):
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("weft: error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def _checkpoint(tmp_path, arch="LlamaForCausalLM", **overrides):
    path = tmp_path / arch
    checkpoints.write_checkpoint(str(path), checkpoints.small_config(arch, **overrides), RNG)
    return path


def _edit_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("arch", ["LlamaForCausalLM", "JambaForCausalLM"])
def test_hf_logits_quantized_stays_close(arch, tmp_path):
    # Weight-only quantization (weft-quantize) of every linear layer: the
    # logits move by the quantization error, not more. Measured over 15
    # draws of these random checkpoints (relative L2 error of the logits,
    # median and largest): int8 per channel 1.2e-2 and 1.4e-2 (Llama), 2.0e-2
    # and 2.8e-2 (Jamba, whose scans amplify it more from draw to draw; one
    # other draw gave 3.2e-2); int4 in groups of 32 with zero points 0.16 and
    # 0.17, 0.29 and 0.38. Bounds: about twice the largest, 3e-2 and 0.5 for
    # Llama, 6e-2 and 0.8 for Jamba (broken dequantization errs by far
    # more); int4 must err more than int8 (both schemes really ran).
    require_runtime()
    config = checkpoints.small_config(arch)
    tensors = checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG)
    ids = RNG.integers(0, config["vocab_size"], (2, 7))
    np.save(tmp_path / "ids.npy", ids)
    exact = reference.forward(config, tensors, ids)
    errors = {}
    bounds = {"LlamaForCausalLM": (3e-2, 0.5), "JambaForCausalLM": (6e-2, 0.8)}[arch]
    for scheme, bound in zip(["int8", "int4"], bounds):
        out = tmp_path / f"{scheme}.npy"
        result = weft("hf-logits", tmp_path / "hf", "--input-ids", tmp_path / "ids.npy",
                      "--quantize", scheme, "-o", out)
        assert result.returncode == 0, result.stderr
        logits = np.load(out).astype(np.float64)
        errors[scheme] = np.linalg.norm(logits - exact) / np.linalg.norm(exact)
        assert errors[scheme] <= bound, (scheme, errors[scheme])
    assert 0 < errors["int8"] < errors["int4"], errors


def _has_cuda_device():
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0 \
        and count.value > 0


def test_cuda_target_compiles_and_reports_a_missing_gpu(tmp_path):
    require_runtime()
    llama = _checkpoint(tmp_path)
    ids = tmp_path / "ids.npy"
    np.save(ids, RNG.integers(0, 64, (1, 5)))
    result = weft("hf-logits", llama, "--input-ids", ids, "--target", "cuda", "-o",
                  tmp_path / "l.npy")
    if _has_cuda_device():
        assert result.returncode == 0, result.stderr
    else:
        _error(result, "target cuda: (CUDA driver not available|no usable CUDA device)")


def test_gpu_forms_compile_for_cuda_and_need_it(tmp_path):
    # --gpu-attention / --gpu-ssm-scan / --gpu-linear choose the
    # thread-block kernels (int4 here, so that the layers are qlinear);
    # they compile with --target cuda (and then run, or report the missing
    # GPU) and are an error for the CPU.
    require_runtime()
    ids = tmp_path / "ids.npy"
    np.save(ids, RNG.integers(0, 64, (1, 5)))
    for arch in ("LlamaForCausalLM", "MambaForCausalLM"):
        model = _checkpoint(tmp_path / arch, arch)
        forms = ["--gpu-attention", "blocks", "--gpu-ssm-scan", "blocks", "--gpu-linear",
                 "blocks"]
        result = weft("hf-logits", model, "--input-ids", ids, "--target", "cuda", *forms,
                      "--quantize", "int4", "-o", tmp_path / "l.npy")
        if _has_cuda_device():
            assert result.returncode == 0, result.stderr
        else:
            _error(result, "target cuda: (CUDA driver not available|no usable CUDA device)")
        for attention in ("blocks", "registers"):
            _error(weft("hf-logits", model, "--input-ids", ids, "--gpu-attention", attention,
                        "-o", tmp_path / "l.npy"),
                   f"--gpu-attention {attention} needs --target cuda")
    _error(weft("generate", model, "--prompt-ids", "1,2", "--max-new-tokens", "2",
                "--gpu-ssm-scan", "per-channel"), "--gpu-ssm-scan per-channel needs --target cuda")
    _error(weft("hf-logits", model, "--input-ids", ids, "--gpu-linear", "blocks", "-o",
                tmp_path / "l.npy"), "--gpu-linear blocks needs --target cuda")


def test_bad_inputs_give_one_line_errors(tmp_path):
    ids = tmp_path / "ids.npy"
    np.save(ids, np.zeros((1, 3), np.int64))
    out = tmp_path / "o.mlir"
    _error(weft("import-hf", tmp_path / "absent", "-o", out), "absent: not a directory")
    (tmp_path / "empty").mkdir()
    _error(weft("import-hf", tmp_path / "empty", "-o", out), "config.json not found")

    llama = _checkpoint(tmp_path)
    # Corrupt weights: truncated data section.
    weights = llama / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:len(data) // 2])
    _error(weft("import-hf", llama, "-o", out), r"model.safetensors: tensor '.*': data_offsets")
    weights.write_bytes(b"garbage")
    _error(weft("import-hf", llama, "-o", out), "file too short|invalid header length")

    llama = _checkpoint(tmp_path / "missing")
    tensors, _ = safetensors.load(str(llama / "model.safetensors"))
    del tensors["model.layers.1.mlp.up_proj.weight"]
    safetensors.save(str(llama / "model.safetensors"), tensors)
    _error(weft("import-hf", llama, "-o", out),
           "checkpoint has no tensor 'model.layers.1.mlp.up_proj.weight'")

    llama = _checkpoint(tmp_path / "config")
    _edit_config(llama, architectures=["GPT2LMHeadModel"])
    _error(weft("import-hf", llama, "-o", out), "architectures: GPT2LMHeadModel is not supported")
    _edit_config(llama, architectures=["LlamaForCausalLM"],
                 rope_scaling={"rope_type": "yarn", "factor": 4.0})
    _error(weft("import-hf", llama, "-o", out), "rope_scaling: rope type 'yarn' is not supported")
    _edit_config(llama, rope_scaling=None, hidden_act="gelu")
    _error(weft("import-hf", llama, "-o", out), "hidden_act: 'gelu' is not supported")
    _edit_config(llama, hidden_act="silu", num_key_value_heads=3)
    _error(weft("import-hf", llama, "-o", out), "num_key_value_heads: 3 does not divide")
    _edit_config(llama, num_key_value_heads=2, attn_logit_softcapping=30.0)
    _error(weft("import-hf", llama, "-o", out), "attn_logit_softcapping: 30.0 is not supported")
    _edit_config(llama, attn_logit_softcapping=None, intermediate_size=100)
    _error(weft("import-hf", llama, "-o", out),
           r"'model.layers.0.mlp.gate_proj.weight' has shape \[96, 64\], the config implies "
           r"\[100, 64\]")

    jamba = _checkpoint(tmp_path, "JambaForCausalLM")
    _edit_config(jamba, num_experts=16)
    _error(weft("import-hf", jamba, "-o", out),
           "num_experts: layer 1 is a mixture-of-experts layer .*unsupported")

    np.save(tmp_path / "bad.npy", np.zeros((3,), np.float32))
    _error(weft("hf-logits", llama, "--input-ids", tmp_path / "bad.npy", "-o",
                tmp_path / "l.npy"), "input ids must be an integer array of rank 2")
    _error(weft("hf-logits", llama, "--input-ids", tmp_path / "none.npy", "-o",
                tmp_path / "l.npy"), "input ids file not found")
    _error(weft("hf-logits", llama, "--input-ids", ids, "--decode-last", "3", "-o",
                tmp_path / "l.npy"), r"--decode-last 3: expected 1 to 2 for 3 input ids per row")
    _error(weft("import-hf", llama, "--decode-tokens", "0", "-o", out),
           "decode tokens: expected a positive integer, got 0")
    _error(weft("generate", llama, "--prompt-ids", "1,x", "--max-new-tokens", 2),
           "expected comma-separated integers")
