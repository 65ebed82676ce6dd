"""Config parsing of the importer, without compiling: RoPE tables in both
config spellings against the reference's, per-layer sliding windows, Jamba's
layer layout, Mamba-2's time_step_limit, and what the module looks like."""

import numpy as np
import pytest

from weft.hf import HFError, import_model
from weft.hf.config import Config
from weft.hf.models import Jamba, Llama, rope_inv_freq
from weft.testing import checkpoints, reference

RNG = np.random.default_rng()
LLAMA3 = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
              original_max_position_embeddings=64)


def _table(config, head_dim=16):
    dim, inv_freq, theta = rope_inv_freq(Config(config, "config.json"), head_dim)
    if inv_freq is None:
        inv_freq = 1.0 / theta ** (np.arange(0, dim, 2) / dim)
    return dim, inv_freq


@pytest.mark.parametrize("config", [
    dict(rope_theta=500000.0, rope_scaling=LLAMA3),
    dict(rope_parameters=dict(LLAMA3, rope_theta=500000.0)),
    dict(rope_scaling=dict(type="linear", factor=4.0)),
    dict(rope_theta=1000.0, partial_rotary_factor=0.5),
    dict(),
], ids=["llama3-rope_scaling", "llama3-rope_parameters", "linear", "partial", "default"])
def test_rope_tables_match_the_reference(config):
    dim, inv_freq = _table(config)
    positions = np.arange(300)[None, :]
    cos, sin = reference.rope_tables(config, 16, positions)
    assert cos.shape[-1] == dim
    angles = positions[..., None] * inv_freq
    # The reference's tables are cat(freqs, freqs): half-split pairing.
    np.testing.assert_allclose(cos[..., :dim // 2], np.cos(angles), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sin[..., dim // 2:], np.sin(angles), rtol=0, atol=1e-12)


def test_unsupported_rope_types_name_the_field():
    with pytest.raises(HFError, match="rope_parameters: rope type 'yarn' is not supported"):
        _table(dict(rope_parameters=dict(rope_type="yarn", factor=2.0)))
    with pytest.raises(HFError, match="rope_scaling: linear scaling needs a positive factor"):
        _table(dict(rope_scaling=dict(type="linear")))
    with pytest.raises(HFError, match="rope_scaling: llama3 scaling needs"):
        _table(dict(rope_scaling=dict(rope_type="llama3", factor=2.0)))


def test_sliding_windows_per_layer():
    def windows(arch, **overrides):
        config = checkpoints.small_config(arch, num_hidden_layers=4, **overrides)
        return Llama(Config(config, "config.json"), arch).windows

    assert windows("MistralForCausalLM") == [5] * 4
    assert windows("MistralForCausalLM", sliding_window=None) == [None] * 4
    assert windows("Qwen2ForCausalLM", sliding_window=7) == [None] * 4
    assert windows("Qwen2ForCausalLM", sliding_window=7, use_sliding_window=True,
                   max_window_layers=2) == [None, None, 7, 7]
    assert windows("Qwen2ForCausalLM", sliding_window=3, layer_types=[
        "sliding_attention", "full_attention", "sliding_attention", "full_attention"]) == [
        3, None, 3, None]
    with pytest.raises(HFError, match="layer_types: layer type 'chunked_attention'"):
        windows("MistralForCausalLM", layer_types=["chunked_attention"] * 4)
    with pytest.raises(HFError, match="sliding_window: .* is not supported"):
        windows("LlamaForCausalLM", sliding_window=4)


def test_jamba_layer_layout():
    config = checkpoints.small_config("JambaForCausalLM", num_hidden_layers=8,
                                      attn_layer_period=4, attn_layer_offset=2)
    jamba = Jamba(Config(config, "config.json"), "JambaForCausalLM")
    assert jamba.types == ["mamba", "mamba", "attention", "mamba"] * 2
    assert jamba.dt_rank == 2   # "auto": ceil(32 / 16)


def test_module_structure(tmp_path):
    # Mamba-2 with a time_step_limit: the clamp is in the scan; A = -exp(A_log).
    config = checkpoints.small_config("Mamba2ForCausalLM", time_step_limit=[0.01, 10.0])
    checkpoints.write_checkpoint(str(tmp_path / "m2"), config, RNG)
    model = import_model(str(tmp_path / "m2"))
    text = model.mlir
    assert text.count("dt_limit = array<f64: 0.01, 10.0>") == 4   # 2 layers x 2 functions
    assert '"backbone.layers.0.mixer.A_log" : tensor<8xf32>' in text
    assert [s.name for s in model.states] == ["layers.0.conv", "layers.0.ssm",
                                              "layers.1.conv", "layers.1.ssm"]
    assert model.states[1].shape == (None, 8, 8, 8)
    assert model.inputs == ["ids"]
    assert model.sources.single_file() == str(tmp_path / "m2" / "model.safetensors")
    # Llama with llama3 RoPE: the scaled table is an inline constant.
    config = checkpoints.small_config("LlamaForCausalLM", rope_scaling=LLAMA3)
    checkpoints.write_checkpoint(str(tmp_path / "l"), config, RNG, dtype="bf16")
    model = import_model(str(tmp_path / "l"))
    assert "weft.rope" in model.mlir and "inv_freq %inv_freq" in model.mlir
    assert model.inputs == ["ids", "positions"]
    assert model.sources.single_file() is None   # bf16: written as f32


# config.json files as published models ship them (abridged only of token ids).
PUBLISHED = {
    "llama-3.2-1b": {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False,
        "attention_dropout": 0.0, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048,
        "initializer_range": 0.02, "intermediate_size": 8192,
        "max_position_embeddings": 131072, "mlp_bias": False, "model_type": "llama",
        "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "rope_theta": 500000.0, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
        "use_cache": True, "vocab_size": 128256},
    "qwen2-0.5b": {
        "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "hidden_act": "silu",
        "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
        "max_position_embeddings": 32768, "max_window_layers": 24, "model_type": "qwen2",
        "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
        "tie_word_embeddings": True, "torch_dtype": "bfloat16", "use_cache": True,
        "use_sliding_window": False, "vocab_size": 151936},
    "mistral-7b-v0.1": {
        "architectures": ["MistralForCausalLM"], "hidden_act": "silu", "hidden_size": 4096,
        "initializer_range": 0.02, "intermediate_size": 14336,
        "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
        "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": False,
        "torch_dtype": "bfloat16", "use_cache": True, "vocab_size": 32000},
    "mamba-130m-hf": {
        "architectures": ["MambaForCausalLM"], "conv_kernel": 4, "expand": 2,
        "fused_add_norm": True, "hidden_act": "silu", "hidden_size": 768,
        "initializer_range": 0.1, "intermediate_size": 1536, "layer_norm_epsilon": 1e-05,
        "model_type": "mamba", "n_layer": 24, "num_hidden_layers": 24,
        "pad_vocab_size_multiple": 8, "rescale_prenorm_residual": False,
        "residual_in_fp32": True, "rms_norm": True, "state_size": 16, "time_step_floor": 0.0001,
        "time_step_init_scheme": "random", "time_step_max": 0.1, "time_step_min": 0.001,
        "time_step_rank": 48, "time_step_scale": 1.0, "torch_dtype": "float32",
        "use_bias": False, "use_cache": True, "use_conv_bias": True, "vocab_size": 50280},
    "mamba-codestral": {
        "architectures": ["Mamba2ForCausalLM"], "chunk_size": 256, "conv_kernel": 4,
        "expand": 2, "head_dim": 64, "hidden_act": "silu", "hidden_size": 4096,
        "layer_norm_epsilon": 1e-05, "model_type": "mamba2", "n_groups": 8, "num_heads": 128,
        "num_hidden_layers": 64, "residual_in_fp32": True, "rms_norm": True, "state_size": 128,
        "tie_word_embeddings": False, "time_step_limit": [0.0, float("inf")],
        "time_step_rank": 256, "use_bias": False, "use_conv_bias": True, "vocab_size": 32768},
}


def test_published_configs_parse():
    from weft.hf.models import architecture

    arch, llama = architecture(PUBLISHED["llama-3.2-1b"], "config.json")
    assert (llama.head_dim, llama.kv_heads, llama.tied) == (64, 8, True)
    assert llama.rope[0] == 64 and llama.rope[1] is not None   # llama3 table
    _, qwen = architecture(PUBLISHED["qwen2-0.5b"], "config.json")
    assert qwen.windows == [None] * 24 and qwen.qkv_bias and not qwen.o_bias
    assert qwen.head_dim == 64 and qwen.rope[1] is None and qwen.rope[2] == 1e6
    _, mistral = architecture(PUBLISHED["mistral-7b-v0.1"], "config.json")
    assert mistral.windows == [4096] * 32
    _, mamba = architecture(PUBLISHED["mamba-130m-hf"], "config.json")
    assert (mamba.inner, mamba.dt_rank, mamba.tied) == (1536, 48, True)
    _, mamba2 = architecture(PUBLISHED["mamba-codestral"], "config.json")
    assert (mamba2.inner, mamba2.groups, mamba2.dt_limit) == (8192, 8, None)
