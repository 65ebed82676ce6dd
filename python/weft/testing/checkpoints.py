"""Small random checkpoints in Hugging Face layout (config.json +
model.safetensors, optionally sharded or bf16) and peft adapters, made at
test time with fresh random data.

    config = small_config("LlamaForCausalLM")
    tensors = write_checkpoint(directory, config, rng)

`tensors` (name -> float32 array, the values as stored, bf16-rounded when
dtype="bf16") is what the numpy reference reads.
"""

import json
import math
import os

import numpy as np

from weft import safetensors

VOCAB = 96


def small_config(arch, **overrides):
    """A tiny config of `arch` (sizes chosen to exercise GQA, groups, biases)."""
    if arch in ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"):
        config = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, intermediate_size=96, vocab_size=VOCAB,
                      rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu",
                      tie_word_embeddings=False, max_position_embeddings=256)
        if arch == "MistralForCausalLM":
            config["sliding_window"] = 5
        if arch == "Qwen2ForCausalLM":
            config.update(use_sliding_window=False, tie_word_embeddings=True)
    elif arch == "MambaForCausalLM":
        config = dict(hidden_size=32, num_hidden_layers=2, state_size=8, expand=2,
                      conv_kernel=4, vocab_size=VOCAB, layer_norm_epsilon=1e-5,
                      use_bias=False, use_conv_bias=True, time_step_rank="auto",
                      hidden_act="silu", tie_word_embeddings=True)
    elif arch == "Mamba2ForCausalLM":
        config = dict(hidden_size=32, num_hidden_layers=2, state_size=8, expand=2,
                      num_heads=8, head_dim=8, n_groups=2, conv_kernel=4, vocab_size=VOCAB,
                      layer_norm_epsilon=1e-5, use_bias=False, use_conv_bias=True,
                      hidden_act="silu", tie_word_embeddings=False, rms_norm=True,
                      time_step_limit=[0.0, float("inf")], chunk_size=16)
    elif arch == "JambaForCausalLM":
        config = dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                      num_key_value_heads=2, intermediate_size=48, vocab_size=VOCAB,
                      rms_norm_eps=1e-6, attn_layer_period=2, attn_layer_offset=1,
                      num_experts=1, expert_layer_period=2, expert_layer_offset=1,
                      mamba_d_state=8, mamba_d_conv=4, mamba_expand=2, mamba_dt_rank="auto",
                      mamba_conv_bias=True, mamba_proj_bias=False, hidden_act="silu",
                      tie_word_embeddings=False, use_mamba_kernels=False)
    else:
        raise ValueError(f"no small config for {arch}")
    config["architectures"] = [arch]
    config["torch_dtype"] = "float32"
    config.update(overrides)
    return config


def _linear(rng, n, k):
    return rng.standard_normal((n, k)) / math.sqrt(k)


def _norm(rng, d):
    return 1.0 + 0.1 * rng.standard_normal(d)


def _attention(t, rng, prefix, c, head_dim, qkv_bias=False):
    hidden, heads = c["hidden_size"], c["num_attention_heads"]
    kv = c.get("num_key_value_heads", heads)
    for name, n in (("q_proj", heads * head_dim), ("k_proj", kv * head_dim),
                    ("v_proj", kv * head_dim)):
        t[f"{prefix}.{name}.weight"] = _linear(rng, n, hidden)
        if qkv_bias:
            t[f"{prefix}.{name}.bias"] = 0.1 * rng.standard_normal(n)
    t[f"{prefix}.o_proj.weight"] = _linear(rng, hidden, heads * head_dim)


def _mlp(t, rng, prefix, hidden, inter):
    t[f"{prefix}.gate_proj.weight"] = _linear(rng, inter, hidden)
    t[f"{prefix}.up_proj.weight"] = _linear(rng, inter, hidden)
    t[f"{prefix}.down_proj.weight"] = _linear(rng, hidden, inter)


def _mamba1(t, rng, prefix, hidden, inner, state, kernel, dt_rank, proj_bias, conv_bias,
            layernorms=False):
    t[f"{prefix}.in_proj.weight"] = _linear(rng, 2 * inner, hidden)
    if proj_bias:
        t[f"{prefix}.in_proj.bias"] = 0.1 * rng.standard_normal(2 * inner)
        t[f"{prefix}.out_proj.bias"] = 0.1 * rng.standard_normal(hidden)
    t[f"{prefix}.conv1d.weight"] = rng.standard_normal((inner, 1, kernel)) / math.sqrt(kernel)
    if conv_bias:
        t[f"{prefix}.conv1d.bias"] = 0.1 * rng.standard_normal(inner)
    t[f"{prefix}.x_proj.weight"] = _linear(rng, dt_rank + 2 * state, inner)
    t[f"{prefix}.dt_proj.weight"] = _linear(rng, inner, dt_rank)
    t[f"{prefix}.dt_proj.bias"] = rng.uniform(-2.0, 0.5, inner)
    t[f"{prefix}.A_log"] = np.log(rng.uniform(0.5, 8.0, (inner, state)))
    t[f"{prefix}.D"] = rng.standard_normal(inner)
    t[f"{prefix}.out_proj.weight"] = _linear(rng, hidden, inner)
    if layernorms:
        t[f"{prefix}.dt_layernorm.weight"] = _norm(rng, dt_rank)
        t[f"{prefix}.b_layernorm.weight"] = _norm(rng, state)
        t[f"{prefix}.c_layernorm.weight"] = _norm(rng, state)


def random_weights(config, rng):
    """name -> float64 array for every tensor of a checkpoint of `config`."""
    arch = config["architectures"][0]
    c = config
    t = {}
    hidden, vocab = c["hidden_size"], c["vocab_size"]
    if arch in ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"):
        head_dim = c.get("head_dim") or hidden // c["num_attention_heads"]
        t["model.embed_tokens.weight"] = rng.standard_normal((vocab, hidden))
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}"
            t[f"{p}.input_layernorm.weight"] = _norm(rng, hidden)
            t[f"{p}.post_attention_layernorm.weight"] = _norm(rng, hidden)
            _attention(t, rng, f"{p}.self_attn", c, head_dim,
                       qkv_bias=arch == "Qwen2ForCausalLM" or c.get("attention_bias", False))
            if arch == "LlamaForCausalLM" and c.get("attention_bias", False):
                t[f"{p}.self_attn.o_proj.bias"] = 0.1 * rng.standard_normal(hidden)
            _mlp(t, rng, f"{p}.mlp", hidden, c["intermediate_size"])
        t["model.norm.weight"] = _norm(rng, hidden)
    elif arch in ("MambaForCausalLM", "Mamba2ForCausalLM"):
        t["backbone.embeddings.weight"] = rng.standard_normal((vocab, hidden))
        inner = c["expand"] * hidden
        state, kernel = c["state_size"], c["conv_kernel"]
        for i in range(c["num_hidden_layers"]):
            p = f"backbone.layers.{i}"
            t[f"{p}.norm.weight"] = _norm(rng, hidden)
            if arch == "MambaForCausalLM":
                rank = c["time_step_rank"]
                rank = math.ceil(hidden / 16) if rank == "auto" else rank
                _mamba1(t, rng, f"{p}.mixer", hidden, inner, state, kernel, rank,
                        c["use_bias"], c["use_conv_bias"])
                continue
            heads, groups = c["num_heads"], c["n_groups"]
            conv_dim = inner + 2 * groups * state
            m = f"{p}.mixer"
            t[f"{m}.in_proj.weight"] = _linear(rng, inner + conv_dim + heads, hidden)
            t[f"{m}.conv1d.weight"] = rng.standard_normal((conv_dim, 1, kernel)) / math.sqrt(kernel)
            if c["use_conv_bias"]:
                t[f"{m}.conv1d.bias"] = 0.1 * rng.standard_normal(conv_dim)
            t[f"{m}.dt_bias"] = rng.uniform(-2.0, 0.5, heads)
            t[f"{m}.A_log"] = np.log(rng.uniform(0.5, 8.0, heads))
            t[f"{m}.D"] = rng.standard_normal(heads)
            t[f"{m}.norm.weight"] = _norm(rng, inner)
            t[f"{m}.out_proj.weight"] = _linear(rng, hidden, inner)
        t["backbone.norm_f.weight"] = _norm(rng, hidden)
    elif arch == "JambaForCausalLM":
        t["model.embed_tokens.weight"] = rng.standard_normal((vocab, hidden))
        rank = c["mamba_dt_rank"]
        rank = math.ceil(hidden / 16) if rank == "auto" else rank
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}"
            t[f"{p}.input_layernorm.weight"] = _norm(rng, hidden)
            t[f"{p}.pre_ff_layernorm.weight"] = _norm(rng, hidden)
            if i % c["attn_layer_period"] == c["attn_layer_offset"]:
                _attention(t, rng, f"{p}.self_attn", c, hidden // c["num_attention_heads"])
            else:
                _mamba1(t, rng, f"{p}.mamba", hidden, c["mamba_expand"] * hidden,
                        c["mamba_d_state"], c["mamba_d_conv"], rank, c["mamba_proj_bias"],
                        c["mamba_conv_bias"], layernorms=True)
            _mlp(t, rng, f"{p}.feed_forward", hidden, c["intermediate_size"])
        t["model.final_layernorm.weight"] = _norm(rng, hidden)
    else:
        raise ValueError(f"no weights for {arch}")
    if not c.get("tie_word_embeddings", arch == "MambaForCausalLM"):
        t["lm_head.weight"] = _linear(rng, vocab, hidden)
    return t


def _bf16_words(x):
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((bits + ((bits >> 16) & 1) + 0x7FFF) >> 16).astype(np.uint16)


def write_checkpoint(directory, config, rng, shards=1, dtype="f32"):
    """Writes config.json and the weights; returns name -> float32 values as
    stored."""
    os.makedirs(directory, exist_ok=True)
    tensors = random_weights(config, rng)
    stored, values = {}, {}
    for name, value in tensors.items():
        if dtype == "bf16":
            words = _bf16_words(value)
            stored[name] = safetensors.Tensor("BF16", words)
            values[name] = (words.astype(np.uint32) << 16).view(np.float32)
        else:
            stored[name] = values[name] = value.astype(np.float32)
    config = dict(config, torch_dtype="bfloat16" if dtype == "bf16" else "float32")
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    if shards == 1:
        safetensors.save(os.path.join(directory, "model.safetensors"), stored)
    else:
        names = sorted(stored)
        weight_map = {}
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = names[s::shards]
            safetensors.save(os.path.join(directory, file), {n: stored[n] for n in part})
            weight_map.update({n: file for n in part})
        with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1)
    return values


def write_adapter(directory, weights, modules, rng, r=4, alpha=8, rslora=False,
                  target_modules=None, scale_b=0.5):
    """A peft LoRA adapter on `modules` (full module names) of a checkpoint
    whose tensors are `weights`; returns module -> (A, B, scale) in float32."""
    from weft.hf.lora import save_adapter

    tensors, out = {}, {}
    for module in modules:
        n, k = weights[f"{module}.weight"].shape
        a = (rng.standard_normal((r, k)) / math.sqrt(k)).astype(np.float32)
        b = (scale_b * rng.standard_normal((n, r)) / math.sqrt(r)).astype(np.float32)
        tensors[f"base_model.model.{module}.lora_A.weight"] = a
        tensors[f"base_model.model.{module}.lora_B.weight"] = b
        out[module] = (a, b, alpha / math.sqrt(r) if rslora else alpha / r)
    targets = target_modules or sorted({m.split(".")[-1] for m in modules})
    config = dict(peft_type="LORA", r=r, lora_alpha=alpha, use_rslora=rslora,
                  target_modules=targets, lora_dropout=0.0, bias="none",
                  task_type="CAUSAL_LM", base_model_name_or_path="test")
    save_adapter(directory, config, tensors)
    return out


def main(argv=None):
    """python3 -m weft.testing.checkpoints ARCH OUT_DIR [--seed N]
    [--set FIELD=JSON]... [--shards N] [--dtype f32|bf16]: writes a random
    checkpoint of the small config of ARCH, with config fields overridden."""
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m weft.testing.checkpoints")
    parser.add_argument("arch")
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=JSON")
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        field, _, value = item.partition("=")
        try:
            overrides[field] = json.loads(value)
        except json.JSONDecodeError:
            overrides[field] = value
    try:
        config = small_config(args.arch, **overrides)
    except ValueError as e:
        parser.error(str(e))
    tensors = write_checkpoint(args.output, config, np.random.default_rng(args.seed),
                               shards=args.shards, dtype=args.dtype)
    count = sum(v.size for v in tensors.values())
    print(f"{args.arch}: {len(tensors)} tensors, {count} parameters in {args.output}")


if __name__ == "__main__":
    main()
