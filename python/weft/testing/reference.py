"""numpy float64 forward passes of the supported Hugging Face architectures,
written from the transformers modeling code (not from weft's importer), for
checking imported models:

    logits = forward(config, tensors, ids)          # [B, S, vocab], float64

Semantics followed (transformers' eager / slow paths):
- Llama / Mistral / Qwen2: x + attn(rms(x)), then + mlp(rms(.)); RMSNorm
  w * x / sqrt(mean(x^2) + eps); RoPE with rotate_half (cos/sin tables are
  cat(freqs, freqs): channel i pairs with i + d/2), llama3 frequency scaling
  as _compute_llama3_parameters; repeat_kv GQA; softmax(q k^T / sqrt(d) +
  causal mask) v, Mistral's sliding window keeps keys j with i - j < window;
  SwiGLU down(silu(gate(x)) * up(x)); Qwen2 has q/k/v biases.
- Mamba (MambaMixer.slow_forward): in_proj -> chunk(2) = (x, gate);
  depthwise Conv1d(padding=K-1)[:L] + SiLU; x_proj -> split(dt_rank, N, N);
  dt = softplus(dt_proj(dt)); A = -exp(A_log); h = exp(dt A) h + dt B x;
  y = h . C + D x; y * silu(gate); out_proj.
- Mamba-2 (Mamba2Mixer.torch_forward): in_proj -> split(z = intermediate,
  xBC = intermediate + 2 G N, dt = heads); conv + SiLU on xBC -> split(x, B,
  C); dt = clamp(softplus(dt + dt_bias), time_step_limit); head h uses group
  h // (heads / G); scalar A per head; y + D x; MambaRMSNormGated:
  rms(y * silu(z)) * w over the whole intermediate dim.
- Jamba: layer i is attention iff i % attn_layer_period == attn_layer_offset
  (no RoPE), else a Mamba mixer whose dt, B, C get RMSNorms after x_proj;
  each layer adds pre_ff_layernorm -> SwiGLU feed_forward; final_layernorm.

Adapters: module -> (A, B, scale); the delta scale * (x A^T) B^T is added to
that nn.Linear's output. With `adapter_ids`, adapters is a list and row b
uses adapters[adapter_ids[b]] (-1: none).
"""

import math

import numpy as np


def _rms(x, w, eps):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def _silu(x):
    return x / (1.0 + np.exp(-x))


def _softplus(x):
    return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


class _Weights:
    def __init__(self, tensors, adapters, adapter_ids):
        self.t = {k: np.asarray(v, np.float64) for k, v in tensors.items()}
        self.adapters = adapters
        self.adapter_ids = adapter_ids

    def __getitem__(self, name):
        return self.t[name]

    def linear(self, x, module, bias=False):
        y = x @ self.t[f"{module}.weight"].T
        if bias:
            y = y + self.t[f"{module}.bias"]
        if self.adapters is None:
            return y
        if self.adapter_ids is None:
            chosen = [self.adapters] * x.shape[0]
        else:
            chosen = [self.adapters[i] if i >= 0 else {} for i in self.adapter_ids]
        out = y.copy()
        for b, adapter in enumerate(chosen):
            if module in adapter:
                a, bm, scale = adapter[module]
                out[b] += scale * ((x[b] @ np.asarray(a, np.float64).T)
                                   @ np.asarray(bm, np.float64).T)
        return out


def rope_tables(config, head_dim, positions):
    """cos, sin [B, S, rotary_dim] as LlamaRotaryEmbedding computes them."""
    params = dict(config.get("rope_parameters") or {})
    params.update(config.get("rope_scaling") or {})
    base = params.get("rope_theta", config.get("rope_theta", 10000.0))
    dim = int(head_dim * params.get("partial_rotary_factor",
                                    config.get("partial_rotary_factor", 1.0)))
    inv_freq = 1.0 / (base ** (np.arange(0, dim, 2) / dim))
    kind = params.get("rope_type", params.get("type", "default"))
    if kind == "linear":
        inv_freq = inv_freq / params["factor"]
    elif kind == "llama3":
        factor = params["factor"]
        low_freq_factor = params["low_freq_factor"]
        high_freq_factor = params["high_freq_factor"]
        old_context_len = params["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (
            high_freq_factor - low_freq_factor)
        smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        inv_freq = np.where(is_medium, smoothed, inv_freq_llama)
    freqs = positions[..., None].astype(np.float64) * inv_freq
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb), np.sin(emb)


def _rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def _apply_rope(x, cos, sin):
    # x [B, H, S, D]; cos/sin [B, S, R] rotate the first R channels.
    r = cos.shape[-1]
    cos, sin = cos[:, None], sin[:, None]
    rot, rest = x[..., :r], x[..., r:]
    return np.concatenate([rot * cos + _rotate_half(rot) * sin, rest], axis=-1)


def _attention(w, x, prefix, config, head_dim, positions, rope, window, qkv_bias, o_bias):
    bsz, seq, _ = x.shape
    heads = config["num_attention_heads"]
    kv = config.get("num_key_value_heads") or heads
    q = w.linear(x, f"{prefix}.q_proj", qkv_bias).reshape(bsz, seq, heads, head_dim)
    k = w.linear(x, f"{prefix}.k_proj", qkv_bias).reshape(bsz, seq, kv, head_dim)
    v = w.linear(x, f"{prefix}.v_proj", qkv_bias).reshape(bsz, seq, kv, head_dim)
    q, k, v = (t.transpose(0, 2, 1, 3) for t in (q, k, v))
    if rope:
        cos, sin = rope_tables(config, head_dim, positions)
        q, k = _apply_rope(q, cos, sin), _apply_rope(k, cos, sin)
    k = np.repeat(k, heads // kv, axis=1)
    v = np.repeat(v, heads // kv, axis=1)
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_dim)
    i = np.arange(seq)[:, None]
    j = np.arange(seq)[None, :]
    allowed = j <= i
    if window:
        allowed &= (i - j) < window
    scores = np.where(allowed, scores, -np.inf)
    scores = scores - scores.max(-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(-1, keepdims=True)
    out = (p @ v).transpose(0, 2, 1, 3).reshape(bsz, seq, heads * head_dim)
    return w.linear(out, f"{prefix}.o_proj", o_bias)


def _mlp(w, x, prefix, bias=False):
    return w.linear(_silu(w.linear(x, f"{prefix}.gate_proj", bias))
                    * w.linear(x, f"{prefix}.up_proj", bias), f"{prefix}.down_proj", bias)


def _conv(x, weight, bias):
    # x [B, L, C]; weight [C, 1, K]: PyTorch Conv1d(groups=C, padding=K-1)[..., :L].
    kernel = weight.shape[-1]
    xp = np.concatenate([np.zeros((x.shape[0], kernel - 1, x.shape[2])), x], axis=1)
    y = sum(weight[:, 0, k] * xp[:, k:k + x.shape[1], :] for k in range(kernel))
    return y + (bias if bias is not None else 0.0)


def _mamba1(w, x, prefix, inner, state, dt_rank, proj_bias, conv_bias, norm_eps=None):
    proj = w.linear(x, f"{prefix}.in_proj", proj_bias)
    hs, gate = proj[..., :inner], proj[..., inner:]
    hs = _silu(_conv(hs, w[f"{prefix}.conv1d.weight"],
                     w[f"{prefix}.conv1d.bias"] if conv_bias else None))
    params = w.linear(hs, f"{prefix}.x_proj")
    ts, bm, cm = (params[..., :dt_rank], params[..., dt_rank:dt_rank + state],
                  params[..., dt_rank + state:])
    if norm_eps is not None:
        ts = _rms(ts, w[f"{prefix}.dt_layernorm.weight"], norm_eps)
        bm = _rms(bm, w[f"{prefix}.b_layernorm.weight"], norm_eps)
        cm = _rms(cm, w[f"{prefix}.c_layernorm.weight"], norm_eps)
    dt = _softplus(w.linear(ts, f"{prefix}.dt_proj", bias=True))   # [B, L, I]
    a = -np.exp(w[f"{prefix}.A_log"])                               # [I, N]
    h = np.zeros((x.shape[0], inner, state))
    ys = []
    for t in range(x.shape[1]):
        h = np.exp(dt[:, t, :, None] * a) * h + (dt[:, t, :, None] * bm[:, t, None, :]
                                                 * hs[:, t, :, None])
        ys.append((h * cm[:, t, None, :]).sum(-1))
    y = np.stack(ys, axis=1) + hs * w[f"{prefix}.D"]
    return w.linear(y * _silu(gate), f"{prefix}.out_proj", proj_bias)


def _mamba2(w, x, prefix, c):
    hidden = c["hidden_size"]
    inner = c["expand"] * hidden
    heads, head_dim, groups, state = c["num_heads"], c["head_dim"], c["n_groups"], c["state_size"]
    conv_dim = inner + 2 * groups * state
    proj = w.linear(x, f"{prefix}.in_proj", c["use_bias"])
    z, xbc, dt = proj[..., :inner], proj[..., inner:inner + conv_dim], proj[..., inner + conv_dim:]
    xbc = _silu(_conv(xbc, w[f"{prefix}.conv1d.weight"],
                      w[f"{prefix}.conv1d.bias"] if c["use_conv_bias"] else None))
    hs = xbc[..., :inner]
    bm = xbc[..., inner:inner + groups * state]
    cm = xbc[..., inner + groups * state:]
    lo, hi = c.get("time_step_limit", (0.0, float("inf")))
    dt = np.clip(_softplus(dt + w[f"{prefix}.dt_bias"]), lo, hi)      # [B, L, H]
    a = -np.exp(w[f"{prefix}.A_log"])                                  # [H]
    bsz, length = x.shape[:2]
    xh = hs.reshape(bsz, length, heads, head_dim)
    bh = np.repeat(bm.reshape(bsz, length, groups, state), heads // groups, axis=2)
    ch = np.repeat(cm.reshape(bsz, length, groups, state), heads // groups, axis=2)
    h = np.zeros((bsz, heads, head_dim, state))
    ys = []
    for t in range(length):
        da = np.exp(dt[:, t] * a)[:, :, None, None]
        h = da * h + dt[:, t, :, None, None] * xh[:, t, :, :, None] * bh[:, t, :, None, :]
        ys.append((h * ch[:, t, :, None, :]).sum(-1) + w[f"{prefix}.D"][:, None] * xh[:, t])
    y = np.stack(ys, axis=1).reshape(bsz, length, inner)
    g = y * _silu(z)
    g = _rms(g, w[f"{prefix}.norm.weight"], c["layer_norm_epsilon"])
    return w.linear(g, f"{prefix}.out_proj", c["use_bias"])


def _head(w, h, config, embed, default_tied):
    if config.get("tie_word_embeddings", default_tied):
        return h @ w[embed].T
    return w.linear(h, "lm_head")


def forward(config, tensors, ids, adapters=None, adapter_ids=None):
    """Logits [B, S, vocab] (float64) of a model with weights `tensors`."""
    arch = config["architectures"][0]
    w = _Weights(tensors, adapters, adapter_ids)
    ids = np.asarray(ids)
    bsz, seq = ids.shape
    positions = np.tile(np.arange(seq), (bsz, 1))
    c = config
    hidden = c["hidden_size"]
    if arch in ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"):
        eps = c["rms_norm_eps"]
        head_dim = c.get("head_dim") or hidden // c["num_attention_heads"]
        window = c.get("sliding_window") if arch == "MistralForCausalLM" else None
        if arch == "Qwen2ForCausalLM" and not c.get("use_sliding_window"):
            window = None
        qkv_bias = arch == "Qwen2ForCausalLM" or c.get("attention_bias", False)
        o_bias = arch == "LlamaForCausalLM" and c.get("attention_bias", False)
        h = w["model.embed_tokens.weight"][ids]
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}"
            h = h + _attention(w, _rms(h, w[f"{p}.input_layernorm.weight"], eps),
                               f"{p}.self_attn", c, head_dim, positions, True, window,
                               qkv_bias, o_bias)
            h = h + _mlp(w, _rms(h, w[f"{p}.post_attention_layernorm.weight"], eps), f"{p}.mlp")
        h = _rms(h, w["model.norm.weight"], eps)
        return _head(w, h, c, "model.embed_tokens.weight", False)
    if arch in ("MambaForCausalLM", "Mamba2ForCausalLM"):
        eps = c["layer_norm_epsilon"]
        h = w["backbone.embeddings.weight"][ids]
        for i in range(c["num_hidden_layers"]):
            p = f"backbone.layers.{i}"
            x = _rms(h, w[f"{p}.norm.weight"], eps)
            if arch == "MambaForCausalLM":
                rank = c["time_step_rank"]
                rank = math.ceil(hidden / 16) if rank == "auto" else rank
                h = h + _mamba1(w, x, f"{p}.mixer", c["expand"] * hidden, c["state_size"],
                                rank, c["use_bias"], c["use_conv_bias"])
            else:
                h = h + _mamba2(w, x, f"{p}.mixer", c)
        h = _rms(h, w["backbone.norm_f.weight"], eps)
        return _head(w, h, c, "backbone.embeddings.weight", arch == "MambaForCausalLM")
    if arch == "JambaForCausalLM":
        eps = c["rms_norm_eps"]
        rank = c["mamba_dt_rank"]
        rank = math.ceil(hidden / 16) if rank == "auto" else rank
        h = w["model.embed_tokens.weight"][ids]
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}"
            x = _rms(h, w[f"{p}.input_layernorm.weight"], eps)
            if i % c["attn_layer_period"] == c["attn_layer_offset"]:
                h = h + _attention(w, x, f"{p}.self_attn", c, hidden // c["num_attention_heads"],
                                   positions, False, None, False, False)
            else:
                h = h + _mamba1(w, x, f"{p}.mamba", c["mamba_expand"] * hidden,
                                c["mamba_d_state"], rank, c["mamba_proj_bias"],
                                c["mamba_conv_bias"], norm_eps=eps)
            h = h + _mlp(w, _rms(h, w[f"{p}.pre_ff_layernorm.weight"], eps), f"{p}.feed_forward")
        h = _rms(h, w["model.final_layernorm.weight"], eps)
        return _head(w, h, c, "model.embed_tokens.weight", False)
    raise ValueError(f"no reference for {arch}")
