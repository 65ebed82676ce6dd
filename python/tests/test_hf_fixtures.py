"""weft's hf-logits against Hugging Face transformers and peft.

test/Data/hf holds tiny randomly initialised checkpoints written by
transformers' save_pretrained, peft adapters, token ids, and the logits that
transformers computed for them in float64 (scripts/make-hf-fixtures.py; the
versions are in VERSIONS.json). Each case runs the `python3 -m weft hf-logits`
command line and checks every logit: |weft - transformers| <= 1e-4 * max
|transformers| in float32, also with the last two positions computed by
cached decode steps (--decode-last 2). WEFT_TARGET=cuda runs the same cases
on the GPU (scripts/gpu-check.sh).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import require_runtime
from weft import tools
from weft.hf import import_model

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
FIXTURES = os.path.join(ROOT, "test", "Data", "hf")
TARGET = os.environ.get("WEFT_TARGET", "cpu")
# WEFT_GPU_FORMS=blocks: the thread-block kernels for attention, the scan and
# quantized linear layers (weft-compile --gpu-attention=blocks
# --gpu-ssm-scan=blocks --gpu-linear=blocks); registers: the same with
# attention's register forms (--gpu-attention=registers: FlashAttention-2
# for f16/bf16 prefill, the decoding form for cached decode steps).
FORMS = {"": {}, "blocks": {"--gpu-attention": "blocks", "--gpu-ssm-scan": "blocks",
                            "--gpu-linear": "blocks"},
         "registers": {"--gpu-attention": "registers", "--gpu-ssm-scan": "blocks",
                       "--gpu-linear": "blocks"}}
if os.environ.get("WEFT_GPU_FORMS", "") not in FORMS:
    raise ValueError(f"WEFT_GPU_FORMS={os.environ['WEFT_GPU_FORMS']}: expected blocks, "
                     "registers or nothing")
GPU_FORMS = FORMS[os.environ.get("WEFT_GPU_FORMS", "")]
COMPILE_ONLY = os.environ.get("WEFT_COMPILE_ONLY") == "1"
TOLERANCE = 1e-4  # of the logits' scale (max |logit|)
# int8 weight-only quantization (per output channel): the measured error is
# 0.4% (Mamba) to 3.4% (Jamba) of the logits' scale on these tiny models.
INT8_TOLERANCE = 5e-2


def _cases():
    cases = []
    for name in sorted(os.listdir(FIXTURES)):
        directory = os.path.join(FIXTURES, name)
        if not os.path.isfile(os.path.join(directory, "config.json")):
            continue
        cases.append(pytest.param(name, False, id=name))
        if os.path.isdir(os.path.join(directory, "adapter")):
            cases.append(pytest.param(name, True, id=f"{name}+lora"))
    return cases


def _hf_logits(tmp_path, name, adapter, *extra):
    directory = os.path.join(FIXTURES, name)
    adapters = [os.path.join(directory, "adapter")] if adapter else []
    if COMPILE_ONLY:
        # Fill the artifact cache with exactly the program hf-logits compiles.
        source = tmp_path / "model.mlir"
        cached = "--decode-last" in extra
        model = import_model(directory, adapters=adapters, decode_tokens=1 if cached else None)
        source.write_text(model.mlir_for(("prefill", "decode") if cached else ("prefill",)))
        tools.compile_artifact(str(source), str(tmp_path / "model.weft"), target=TARGET,
                               options=[f"{flag}={value}" for flag, value in GPU_FORMS.items()])
        pytest.skip("compiled only (WEFT_COMPILE_ONLY=1)")
    require_runtime()
    out = tmp_path / "logits.npy"
    command = [sys.executable, "-m", "weft", "hf-logits", directory, "--input-ids",
               os.path.join(directory, "input_ids.npy"), "--target", TARGET, "-o", str(out),
               *(word for item in GPU_FORMS.items() for word in item), *extra]
    for path in adapters:
        command += ["--adapter", path]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return np.load(out)


def _reference(name, adapter):
    return np.load(os.path.join(FIXTURES, name,
                                "logits_adapter.npy" if adapter else "logits.npy"))


def _relative_error(logits, expected):
    assert logits.shape == expected.shape, (logits.shape, expected.shape)
    assert np.isfinite(logits).all()
    scale = np.abs(expected.astype(np.float64)).max()
    return np.abs(logits.astype(np.float64) - expected).max() / scale


def test_fixture_versions():
    with open(os.path.join(FIXTURES, "VERSIONS.json")) as f:
        versions = json.load(f)
    assert {"torch", "transformers", "peft"} <= set(versions)


@pytest.mark.parametrize("name, adapter", _cases())
def test_logits_match_transformers(tmp_path, name, adapter):
    error = _relative_error(_hf_logits(tmp_path, name, adapter), _reference(name, adapter))
    assert error <= TOLERANCE, f"{name}: max error {error:.2e} of the logits' scale"


@pytest.mark.parametrize("name, adapter", _cases())
def test_cached_decode_matches_transformers(tmp_path, name, adapter):
    # The last two positions by decode steps of one token on the cache
    # prefill left (KV caches, conv and scan states), as generation runs.
    logits = _hf_logits(tmp_path, name, adapter, "--decode-last", "2")
    error = _relative_error(logits, _reference(name, adapter))
    assert error <= TOLERANCE, f"{name} cached decode: max error {error:.2e} of the logits' scale"


@pytest.mark.parametrize("name", ["llama", "mamba", "jamba"])
def test_int8_logits_stay_close(tmp_path, name):
    if TARGET != "cpu":
        pytest.skip("--quantize runs weft-opt, which the GPU machine does not have")
    error = _relative_error(_hf_logits(tmp_path, name, False, "--quantize", "int8"),
                            _reference(name, False))
    assert error <= INT8_TOLERANCE, f"{name} int8: max error {error:.2e} of the logits' scale"
