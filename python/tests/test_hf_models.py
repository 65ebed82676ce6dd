"""Imported Hugging Face models against the numpy float64 reference
(weft.testing.reference), one small random checkpoint per architecture made
at test time: prefill logits, greedy generation with cached decode equal to
re-running the full prefill at every step, and decode logits.

Tolerance: max |logits - reference| <= 1e-4 * max |reference| for f32. The
models are a few layers of f32 dot products (K <= 128), norms, softmax and
scans over <= 16 steps: each op adds a few f32 ulp relative to its operands,
which stays well below 1e-5 of the logit scale; 1e-4 leaves margin while a
wrong formula (mask, RoPE pairing, split order, ...) gives errors of order 1.
"""

import numpy as np
import pytest

from conftest import require_runtime
from weft.hf import HFError, import_model
from weft.hf.compiled import CompiledModel
from weft.runtime import WeftError
from weft.testing import checkpoints, reference

RNG = np.random.default_rng()
TOL = 1e-4

CASES = {
    "llama": ("LlamaForCausalLM", {}),
    # llama3 RoPE scaling (short original context so every band is used),
    # explicit head_dim != hidden / heads, attention and o_proj biases.
    "llama3-rope": ("LlamaForCausalLM", dict(
        head_dim=8, attention_bias=True, rope_theta=500000.0,
        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                          high_freq_factor=4.0, original_max_position_embeddings=16))),
    "mistral-window": ("MistralForCausalLM", {}),
    "qwen2-tied-bias": ("Qwen2ForCausalLM", {}),
    "mamba": ("MambaForCausalLM", {}),
    "mamba2": ("Mamba2ForCausalLM", {}),
    "jamba": ("JambaForCausalLM", {}),
}


def check_logits(actual, expected, what):
    error = np.abs(actual.astype(np.float64) - expected).max()
    bound = TOL * np.abs(expected).max()
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert error <= bound, f"{what}: max error {error:.3e} > {bound:.3e}"


@pytest.mark.parametrize("case", list(CASES))
def test_model_against_reference(case, tmp_path):
    require_runtime()
    arch, overrides = CASES[case]
    config = checkpoints.small_config(arch, **overrides)
    tensors = checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG)
    model = import_model(str(tmp_path / "hf"))
    compiled = CompiledModel(model, str(tmp_path / "work"))

    # Prefill: every logit of a batch of 2 against the reference; 11 tokens
    # are more than Mistral's window (5) and than a conv kernel.
    ids = RNG.integers(0, config["vocab_size"], (2, 11))
    logits, _ = compiled.prefill(ids)
    check_logits(logits, reference.forward(config, tensors, ids), f"{case} prefill")

    # Greedy generation with cached decode == re-running the full prefill.
    prompt = RNG.integers(0, config["vocab_size"], (2, 4))
    new = 6
    tokens, stats = compiled.generate(prompt, new)
    assert tokens.shape == (2, new) and stats["decode_tokens"] == 2 * (new - 1)
    sequence = prompt
    for step in range(new):
        full, _ = compiled.prefill(sequence)
        np.testing.assert_array_equal(tokens[:, step], full[:, -1].argmax(-1),
                                      err_msg=f"{case}: token {step} differs from a full "
                                              "prefill")
        sequence = np.concatenate([sequence, tokens[:, step:step + 1]], axis=1)

    # Decode logits (two cached steps, then two tokens at once) against the
    # reference on the whole sequence.
    full_ids = RNG.integers(0, config["vocab_size"], (2, 9))
    expected = reference.forward(config, tensors, full_ids)
    _, state = compiled.prefill(full_ids[:, :5])
    step5, state = compiled.decode(full_ids[:, 5:6], 5, state)
    step6, state = compiled.decode(full_ids[:, 6:7], 6, state)
    step78, state = compiled.decode(full_ids[:, 7:9], 7, state)
    decoded = np.concatenate([step5, step6, step78], axis=1)
    check_logits(decoded, expected[:, 5:], f"{case} decode")
    for spec, value in zip(model.states, state):
        if spec.shape[1] is None:   # KV caches hold every token
            assert value.shape[1] == 9, spec.name


@pytest.mark.parametrize("case", ["mistral-window", "jamba"])
def test_static_decode_tokens(case, tmp_path):
    # decode imported for one token per call (what `generate` does): the
    # query count is a static 1 in the module, the decode logits still match
    # the reference, and a call with two tokens is refused by name.
    require_runtime()
    arch, overrides = CASES[case]
    config = checkpoints.small_config(arch, **overrides)
    tensors = checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG)
    model = import_model(str(tmp_path / "hf"), decode_tokens=1)
    assert "func.func @decode(%ids: tensor<?x1xi64>" in model.mlir
    assert "func.func @prefill(%ids: tensor<?x?xi64>" in model.mlir
    compiled = CompiledModel(model, str(tmp_path / "work"))
    full_ids = RNG.integers(0, config["vocab_size"], (2, 9))
    expected = reference.forward(config, tensors, full_ids)
    _, state = compiled.prefill(full_ids[:, :6])
    steps = []
    for position in range(6, 9):
        logits, state = compiled.decode(full_ids[:, position:position + 1], position, state)
        steps.append(logits)
    check_logits(np.concatenate(steps, axis=1), expected[:, 6:], f"{case} static decode")
    with pytest.raises(WeftError, match=r"input 0: expected i64\[\?, 1\], got i64\[2, 2\]"):
        compiled.decode(full_ids[:, 6:8], 6, state)
    with pytest.raises(HFError, match="decode tokens: expected a positive integer, got 0"):
        import_model(str(tmp_path / "hf"), decode_tokens=0)
