"""peft LoRA adapters on imported models: one adapter (always applied) and
several at once with per-row selection, against the numpy reference; and
adapters that do not fit the model."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import require_runtime
from test_hf_models import check_logits
from weft.hf import HFError, import_model
from weft.hf.compiled import CompiledModel
from weft.testing import checkpoints, reference

RNG = np.random.default_rng()
PYTHON_DIR = os.path.join(os.path.dirname(__file__), os.pardir)


def _base(tmp_path, arch="LlamaForCausalLM"):
    config = checkpoints.small_config(arch)
    tensors = checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG)
    return config, tensors


def _layers(modules, count=2):
    return [f"model.layers.{i}.{m}" for i in range(count) for m in modules]


def test_single_adapter_through_the_cli(tmp_path):
    require_runtime()
    config, tensors = _base(tmp_path)
    # rsLoRA (scale alpha / sqrt(r)) on attention and MLP projections and lm_head.
    modules = _layers(["self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"]) + ["lm_head"]
    adapter = checkpoints.write_adapter(str(tmp_path / "lora"), tensors, modules, RNG, r=4,
                                        alpha=16, rslora=True)
    ids = RNG.integers(0, config["vocab_size"], (2, 7))
    np.save(tmp_path / "ids.npy", ids)
    result = subprocess.run(
        [sys.executable, "-m", "weft", "hf-logits", str(tmp_path / "hf"), "--input-ids",
         str(tmp_path / "ids.npy"), "--adapter", str(tmp_path / "lora"), "-o",
         str(tmp_path / "logits.npy")],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=PYTHON_DIR))
    assert result.returncode == 0, result.stderr
    logits = np.load(tmp_path / "logits.npy")
    assert logits.dtype == np.float32
    expected = reference.forward(config, tensors, ids, adapters=adapter)
    check_logits(logits, expected, "single adapter")
    # The adapter matters: without it the logits are far off.
    base = reference.forward(config, tensors, ids)
    assert np.abs(base - expected).max() > 100 * 1e-4 * np.abs(expected).max()


def test_several_adapters_selected_per_row(tmp_path):
    require_runtime()
    config, tensors = _base(tmp_path, "Qwen2ForCausalLM")
    first = checkpoints.write_adapter(
        str(tmp_path / "a"), tensors, _layers(["self_attn.q_proj", "self_attn.k_proj"]), RNG,
        r=4, alpha=8)
    # Different rank, targets and scale; a module only this adapter has.
    second = checkpoints.write_adapter(
        str(tmp_path / "b"), tensors, _layers(["self_attn.q_proj", "mlp.up_proj"]), RNG,
        r=2, alpha=6, rslora=True)
    model = import_model(str(tmp_path / "hf"), adapters=[str(tmp_path / "a"),
                                                           str(tmp_path / "b")])
    assert model.inputs == ["ids", "positions", "adapter_ids"]
    compiled = CompiledModel(model, str(tmp_path / "work"))
    ids = RNG.integers(0, config["vocab_size"], (4, 6))
    adapter_ids = np.array([1, -1, 0, 1])
    logits, state = compiled.prefill(ids, adapter_ids)
    expected = reference.forward(config, tensors, ids, adapters=[first, second],
                                 adapter_ids=adapter_ids)
    check_logits(logits, expected, "multi-adapter prefill")
    # Decode keeps the per-row selection.
    more = RNG.integers(0, config["vocab_size"], (4, 1))
    step, _ = compiled.decode(more, 6, state, adapter_ids)
    expected = reference.forward(config, tensors, np.concatenate([ids, more], 1),
                                 adapters=[first, second], adapter_ids=adapter_ids)
    check_logits(step, expected[:, -1:], "multi-adapter decode")
    with pytest.raises(HFError, match="adapter ids must be"):
        compiled.prefill(ids, np.array([0, 2, 0, 0]))


def _adapter_config(path):
    with open(os.path.join(path, "adapter_config.json")) as f:
        return json.load(f)


def _rewrite_config(path, **changes):
    config = _adapter_config(path)
    config.update(changes)
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump(config, f)


def test_mismatched_adapters_are_rejected(tmp_path):
    config, tensors = _base(tmp_path)
    hf = str(tmp_path / "hf")
    # Made for a wider model: lora_A's in-features do not match q_proj.
    wide = {"model.layers.0.self_attn.q_proj.weight": np.zeros((64, 80))}
    checkpoints.write_adapter(str(tmp_path / "wide"), wide, ["model.layers.0.self_attn.q_proj"],
                              RNG)
    with pytest.raises(HFError, match=r"do not fit the base layer \[64, 64\]"):
        import_model(hf, adapters=[str(tmp_path / "wide")])
    # A module the model does not have (layer 7 of a 2-layer model).
    extra = {"model.layers.7.self_attn.q_proj.weight": np.zeros((64, 64))}
    checkpoints.write_adapter(str(tmp_path / "extra"), extra,
                              ["model.layers.7.self_attn.q_proj"], RNG)
    with pytest.raises(HFError, match="'model.layers.7.self_attn.q_proj' is not a linear layer"):
        import_model(hf, adapters=[str(tmp_path / "extra")])
    # Weights for a module that target_modules does not name.
    checkpoints.write_adapter(str(tmp_path / "untargeted"), tensors,
                              ["model.layers.0.mlp.up_proj"], RNG, target_modules=["q_proj"])
    with pytest.raises(HFError, match="not in target_modules"):
        import_model(hf, adapters=[str(tmp_path / "untargeted")])
    # Rank in the config differs from the weights.
    checkpoints.write_adapter(str(tmp_path / "rank"), tensors,
                              ["model.layers.0.self_attn.q_proj"], RNG, r=4)
    _rewrite_config(str(tmp_path / "rank"), r=8)
    with pytest.raises(HFError, match="do not have rank r=8"):
        import_model(hf, adapters=[str(tmp_path / "rank")])
    # Variants that change the math and are not implemented.
    for field, value in (("use_dora", True), ("peft_type", "IA3"), ("bias", "all"),
                         ("lora_bias", True)):
        checkpoints.write_adapter(str(tmp_path / field), tensors,
                                  ["model.layers.0.self_attn.q_proj"], RNG)
        _rewrite_config(str(tmp_path / field), **{field: value})
        with pytest.raises(HFError, match=field):
            import_model(hf, adapters=[str(tmp_path / field)])
    with pytest.raises(HFError, match="adapter directory not found"):
        import_model(hf, adapters=[str(tmp_path / "none")])


def test_rank_and_alpha_patterns(tmp_path):
    _, tensors = _base(tmp_path)
    path = str(tmp_path / "lora")
    modules = ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"]
    checkpoints.write_adapter(path, tensors, modules, RNG, r=4, alpha=8)
    _rewrite_config(path, alpha_pattern={"layers.1.self_attn.q_proj": 2})
    from weft.hf.lora import Adapter
    adapter = Adapter(path)
    assert adapter.modules[modules[0]][2] == 2.0     # 8 / 4
    assert adapter.modules[modules[1]][2] == 0.5     # 2 / 4


def test_several_adapters_through_the_cli(tmp_path):
    require_runtime()
    config, tensors = _base(tmp_path, "MambaForCausalLM")
    # Mamba projections as targets: in_proj and out_proj in one adapter,
    # x_proj and dt_proj (whose bias the scan adds) in the other.
    first = checkpoints.write_adapter(
        str(tmp_path / "a"), tensors,
        [f"backbone.layers.{i}.mixer.{m}" for i in range(2) for m in ("in_proj", "out_proj")],
        RNG, r=4, alpha=8)
    second = checkpoints.write_adapter(
        str(tmp_path / "b"), tensors,
        [f"backbone.layers.{i}.mixer.{m}" for i in range(2) for m in ("x_proj", "dt_proj")],
        RNG, r=2, alpha=2)
    ids = RNG.integers(0, config["vocab_size"], (3, 6))
    adapter_ids = np.array([-1, 1, 0])
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "adapters.npy", adapter_ids)
    command = [sys.executable, "-m", "weft", "hf-logits", str(tmp_path / "hf"), "--input-ids",
               str(tmp_path / "ids.npy"), "--adapter", str(tmp_path / "a"), "--adapter",
               str(tmp_path / "b"), "-o", str(tmp_path / "logits.npy")]
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == ("weft: error: several --adapter given: pass --adapter-ids "
                                     "(one id per row)")
    result = subprocess.run(command + ["--adapter-ids", str(tmp_path / "adapters.npy")],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    expected = reference.forward(config, tensors, ids, adapters=[first, second],
                                 adapter_ids=adapter_ids)
    check_logits(np.load(tmp_path / "logits.npy"), expected, "two adapters on Mamba")
