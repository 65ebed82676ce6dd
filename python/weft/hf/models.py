"""The supported architectures: config parsing and the forward pass in weft
ops, following the Hugging Face modeling code (docs/Python.md lists the exact
semantics).

Each architecture class parses config.json in its constructor (raising
HFError naming the field for anything unsupported) and emits the model with
`emit(fb, ids, positions)`, returning the logits. Blocks shared between
architectures (attention, SwiGLU MLP, the Mamba mixers) are functions here.
"""

import math

import numpy as np

from weft.hf.checkpoint import HFError
from weft.hf.config import Config

# --- RoPE ----------------------------------------------------------------------


def rope_inv_freq(cfg, head_dim):
    """(rotary_dim, inv_freq array or None for the default table, theta)."""
    params = cfg.get("rope_parameters") or {}
    scaling = cfg.get("rope_scaling") or {}
    if not isinstance(params, dict) or not isinstance(scaling, dict):
        cfg.fail("rope_scaling", "expected an object")
    merged = dict(params)
    merged.update(scaling)
    theta = merged.get("rope_theta", cfg.get("rope_theta", 10000.0))
    factor_partial = merged.get("partial_rotary_factor", cfg.get("partial_rotary_factor", 1.0))
    for name, value in (("rope_theta", theta), ("partial_rotary_factor", factor_partial)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            cfg.fail(name, f"expected a positive number, got {value!r}")
    theta, factor_partial = float(theta), float(factor_partial)
    rotary_dim = int(head_dim * factor_partial)
    if rotary_dim % 2 or not 0 < rotary_dim <= head_dim:
        cfg.fail("partial_rotary_factor", f"gives an unusable rotary dim {rotary_dim}")
    rope_type = merged.get("rope_type", merged.get("type", "default"))
    field = "rope_parameters" if params and not scaling else "rope_scaling"
    inv_freq = 1.0 / theta ** (np.arange(0, rotary_dim, 2, dtype=np.int64).astype(np.float64)
                               / rotary_dim)
    if rope_type == "default":
        return rotary_dim, None, theta
    if rope_type == "linear":
        factor = merged.get("factor")
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
            cfg.fail(field, f"linear scaling needs a positive factor, got {factor!r}")
        return rotary_dim, inv_freq / float(factor), theta
    if rope_type == "llama3":
        try:
            factor = float(merged["factor"])
            low = float(merged["low_freq_factor"])
            high = float(merged["high_freq_factor"])
            old_len = float(merged["original_max_position_embeddings"])
        except (KeyError, TypeError, ValueError):
            cfg.fail(field, "llama3 scaling needs factor, low_freq_factor, high_freq_factor "
                            "and original_max_position_embeddings")
        low_wavelen, high_wavelen = old_len / low, old_len / high
        wavelen = 2 * math.pi / inv_freq
        scaled = np.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_len / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return rotary_dim, np.where(medium, smoothed, scaled), theta
    cfg.fail(field, f"rope type {rope_type!r} is not supported (supported: default, "
                    "linear, llama3)")


# --- shared blocks ---------------------------------------------------------------


def attention(fb, x, prefix, layer, heads, kv_heads, head_dim, hidden, positions=None,
              rope=None, window=None, qkv_bias=False, o_bias=False):
    """Self-attention with a KV cache: q/k/v/o_proj, optional RoPE, causal
    (sliding window) attention over the cache followed by the new keys."""
    f = fb.f
    q = fb.linear(x, f"{prefix}.q_proj", heads * head_dim, hidden, bias=qkv_bias)
    k = fb.linear(x, f"{prefix}.k_proj", kv_heads * head_dim, hidden, bias=qkv_bias)
    v = fb.linear(x, f"{prefix}.v_proj", kv_heads * head_dim, hidden, bias=qkv_bias)
    q = f.reshape(q, (*q.shape[:2], heads, head_dim))
    k = f.reshape(k, (*k.shape[:2], kv_heads, head_dim))
    v = f.reshape(v, (*v.shape[:2], kv_heads, head_dim))
    if rope is not None:
        rotary_dim, inv_freq, theta = rope
        table = f.constant(inv_freq, hint="inv_freq") if inv_freq is not None else None
        kwargs = dict(theta=theta, inv_freq=table,
                      rotary_dim=rotary_dim if rotary_dim != head_dim else None)
        q = f.rope(q, positions, **kwargs)
        k = f.rope(k, positions, **kwargs)
    cache_shape = (None, None, kv_heads, head_dim)
    k_cache = fb.state(f"layers.{layer}.key", cache_shape)
    v_cache = fb.state(f"layers.{layer}.value", cache_shape)
    if k_cache is not None:
        k = f.concat([k_cache, k], axis=1)
        v = f.concat([v_cache, v], axis=1)
    fb.write_state(k)
    fb.write_state(v)
    out = f.attention(q, k, v, causal=True, window=window)
    out = f.reshape(out, (*out.shape[:2], heads * head_dim))
    return fb.linear(out, f"{prefix}.o_proj", hidden, heads * head_dim, bias=o_bias)


def swiglu_mlp(fb, x, prefix, hidden, intermediate, bias=False):
    f = fb.f
    gate = fb.linear(x, f"{prefix}.gate_proj", intermediate, hidden, bias=bias)
    up = fb.linear(x, f"{prefix}.up_proj", intermediate, hidden, bias=bias)
    return fb.linear(f.mul(f.silu(gate), up), f"{prefix}.down_proj", hidden, intermediate,
                     bias=bias)


def conv_weight(fb, name, channels, kernel):
    """nn.Conv1d depthwise weight [C, 1, K] as weft's [C, K] (a free reshape)."""
    return fb.f.reshape(fb.weight(name, (channels, 1, kernel)), (channels, kernel))


def neg_exp(fb, name, shape):
    """A = -exp(A_log), computed from the stored parameter."""
    return fb.f.neg(fb.f.exp(fb.weight(name, shape)))


def mamba1_mixer(fb, x, prefix, layer, hidden, inner, state, kernel, dt_rank, proj_bias,
                 conv_bias, bcdt_norm_eps=None):
    """Mamba-1 (HF MambaMixer / JambaMambaMixer): in_proj -> [x, z];
    depthwise causal conv + SiLU on x; x_proj -> [dt, B, C] (Jamba: RMSNorm on
    each); dt_proj (bias inside the scan, softplus); selective scan with
    A = -exp(A_log), D skip, SiLU(z) gate; out_proj."""
    f = fb.f
    xz = fb.linear(x, f"{prefix}.in_proj", 2 * inner, hidden, bias=proj_bias)
    xs, z = f.split(xz, [inner, inner])
    conv_state = fb.state(f"layers.{layer}.conv", (None, kernel - 1, inner))
    bias = fb.weight(f"{prefix}.conv1d.bias", (inner,)) if conv_bias else None
    xc, new_conv = f.causal_conv1d(xs, conv_weight(fb, f"{prefix}.conv1d.weight", inner, kernel),
                                   bias=bias, state=conv_state, activation="silu")
    fb.write_state(new_conv)
    params = fb.linear(xc, f"{prefix}.x_proj", dt_rank + 2 * state, inner)
    dt, bm, cm = f.split(params, [dt_rank, state, state])
    if bcdt_norm_eps is not None:
        dt = fb.rms_norm(dt, f"{prefix}.dt_layernorm.weight", bcdt_norm_eps, dt_rank)
        bm = fb.rms_norm(bm, f"{prefix}.b_layernorm.weight", bcdt_norm_eps, state)
        cm = fb.rms_norm(cm, f"{prefix}.c_layernorm.weight", bcdt_norm_eps, state)
    dt = fb.linear(dt, f"{prefix}.dt_proj", inner, dt_rank)  # bias added by the scan
    ssm_state = fb.state(f"layers.{layer}.ssm", (None, inner, 1, state))
    y, new_ssm = f.ssm_scan(
        f.reshape(xc, (*xc.shape[:2], inner, 1)), dt,
        neg_exp(fb, f"{prefix}.A_log", (inner, state)),
        f.reshape(bm, (*bm.shape[:2], 1, state)), f.reshape(cm, (*cm.shape[:2], 1, state)),
        d=fb.weight(f"{prefix}.D", (inner,)), z=f.reshape(z, (*z.shape[:2], inner, 1)),
        dt_bias=fb.weight(f"{prefix}.dt_proj.bias", (inner,)), initial_state=ssm_state,
        dt_softplus=True)
    fb.write_state(new_ssm)
    return fb.linear(f.reshape(y, (*y.shape[:2], inner)), f"{prefix}.out_proj", hidden, inner,
                     bias=proj_bias)


def mamba2_mixer(fb, x, prefix, layer, c):
    """Mamba-2 (HF Mamba2Mixer): in_proj -> [z, xBC, dt]; causal conv + SiLU
    on xBC -> [x, B, C]; SSD scan with scalar A = -exp(A_log) per head,
    dt_bias, softplus, D skip, time_step_limit; y * SiLU(z) then RMSNorm
    (MambaRMSNormGated, over the whole inner dim); out_proj."""
    f = fb.f
    inner, heads, head_dim = c.inner, c.heads, c.head_dim
    groups, state = c.groups, c.state
    conv_dim = inner + 2 * groups * state
    proj = fb.linear(x, f"{prefix}.in_proj", inner + conv_dim + heads, c.hidden,
                     bias=c.use_bias)
    z, xbc, dt = f.split(proj, [inner, conv_dim, heads])
    conv_state = fb.state(f"layers.{layer}.conv", (None, c.kernel - 1, conv_dim))
    bias = fb.weight(f"{prefix}.conv1d.bias", (conv_dim,)) if c.conv_bias else None
    xbc, new_conv = f.causal_conv1d(
        xbc, conv_weight(fb, f"{prefix}.conv1d.weight", conv_dim, c.kernel), bias=bias,
        state=conv_state, activation="silu")
    fb.write_state(new_conv)
    xs, bm, cm = f.split(xbc, [inner, groups * state, groups * state])
    ssm_state = fb.state(f"layers.{layer}.ssm", (None, heads, head_dim, state))
    y, new_ssm = f.ssm_scan(
        f.reshape(xs, (*xs.shape[:2], heads, head_dim)), dt,
        neg_exp(fb, f"{prefix}.A_log", (heads,)),
        f.reshape(bm, (*bm.shape[:2], groups, state)), f.reshape(cm, (*cm.shape[:2], groups, state)),
        d=fb.weight(f"{prefix}.D", (heads,)),
        dt_bias=fb.weight(f"{prefix}.dt_bias", (heads,)), initial_state=ssm_state,
        dt_softplus=True, dt_limit=c.dt_limit)
    fb.write_state(new_ssm)
    gated = f.mul(f.reshape(y, (*y.shape[:2], inner)), f.silu(z))
    normed = fb.rms_norm(gated, f"{prefix}.norm.weight", c.eps, inner)
    return fb.linear(normed, f"{prefix}.out_proj", c.hidden, inner, bias=c.use_bias)


def lm_head(fb, h, embed_name, tied, vocab, hidden):
    if tied:
        return fb.f.linear(h, fb.weight(embed_name, (vocab, hidden)))
    if not fb.has_weight("lm_head.weight"):
        raise HFError(f"{fb.ckpt.directory}: checkpoint has no tensor 'lm_head.weight' "
                      "(tie_word_embeddings is false)")
    return fb.linear(h, "lm_head", vocab, hidden)


def _check_act(cfg, field="hidden_act"):
    cfg.expect(field, ("silu", "swish"), "silu")


# --- architectures -----------------------------------------------------------------


class Llama:
    """LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM."""

    uses_positions = True

    def __init__(self, cfg, arch):
        self.arch = arch
        self.hidden = cfg.int("hidden_size")
        self.layers = cfg.int("num_hidden_layers")
        self.heads = cfg.int("num_attention_heads")
        self.kv_heads = cfg.int("num_key_value_heads", self.heads)
        if self.heads % self.kv_heads:
            cfg.fail("num_key_value_heads", f"{self.kv_heads} does not divide "
                                            f"num_attention_heads {self.heads}")
        self.head_dim = cfg.int("head_dim", self.hidden // self.heads)
        self.intermediate = cfg.int("intermediate_size")
        self.vocab = cfg.int("vocab_size")
        self.eps = cfg.float("rms_norm_eps", 1e-6)
        self.tied = cfg.bool("tie_word_embeddings", False)
        _check_act(cfg)
        cfg.reject("attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar",
                   "use_qk_norm", "qk_layernorm", "logits_scaling", "embedding_multiplier")
        self.rope = rope_inv_freq(cfg, self.head_dim)
        if arch == "Qwen2ForCausalLM":
            self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
        elif arch == "MistralForCausalLM":
            self.qkv_bias = self.o_bias = self.mlp_bias = False
        else:
            self.qkv_bias = self.o_bias = cfg.bool("attention_bias", False)
            self.mlp_bias = cfg.bool("mlp_bias", False)
        self.windows = self._windows(cfg, arch)

    def _windows(self, cfg, arch):
        """The sliding window of each layer (None = full attention)."""
        window = cfg.get("sliding_window")
        if window is not None:
            window = cfg.int("sliding_window")
        types = cfg.get("layer_types")
        if arch == "LlamaForCausalLM":
            cfg.reject("sliding_window")
            return [None] * self.layers
        if types is None:
            if arch == "Qwen2ForCausalLM":
                use = cfg.bool("use_sliding_window", False)
                first = cfg.int("max_window_layers", self.layers, minimum=0)
                types = ["sliding_attention" if use and i >= first else "full_attention"
                         for i in range(self.layers)]
            else:
                types = ["sliding_attention" if window else "full_attention"] * self.layers
        if not isinstance(types, list) or len(types) != self.layers:
            cfg.fail("layer_types", f"expected a list of {self.layers} entries")
        out = []
        for t in types:
            if t not in ("full_attention", "sliding_attention"):
                cfg.fail("layer_types", f"layer type {t!r} is not supported")
            if t == "sliding_attention" and not window:
                cfg.fail("sliding_window", "sliding attention layers need a window")
            out.append(window if t == "sliding_attention" else None)
        return out

    def emit(self, fb, ids, positions):
        f = fb.f
        h = f.embedding(fb.weight("model.embed_tokens.weight", (self.vocab, self.hidden)), ids)
        for i in range(self.layers):
            p = f"model.layers.{i}"
            x = fb.rms_norm(h, f"{p}.input_layernorm.weight", self.eps, self.hidden)
            a = attention(fb, x, f"{p}.self_attn", i, self.heads, self.kv_heads, self.head_dim,
                          self.hidden, positions, self.rope, self.windows[i], self.qkv_bias,
                          self.o_bias)
            h = f.add(h, a)
            x = fb.rms_norm(h, f"{p}.post_attention_layernorm.weight", self.eps, self.hidden)
            h = f.add(h, swiglu_mlp(fb, x, f"{p}.mlp", self.hidden, self.intermediate,
                                    self.mlp_bias))
        h = fb.rms_norm(h, "model.norm.weight", self.eps, self.hidden)
        return lm_head(fb, h, "model.embed_tokens.weight", self.tied, self.vocab, self.hidden)


def _dt_rank(cfg, field, hidden):
    value = cfg.get(field, "auto")
    if value == "auto":
        return math.ceil(hidden / 16)
    return cfg.int(field)


class Mamba:
    """MambaForCausalLM (Mamba-1)."""

    uses_positions = False

    def __init__(self, cfg, arch):
        self.hidden = cfg.int("hidden_size")
        self.layers = cfg.int("num_hidden_layers")
        self.vocab = cfg.int("vocab_size")
        self.state = cfg.int("state_size", 16)
        self.kernel = cfg.int("conv_kernel", 4)
        expand = cfg.int("expand", 2)
        self.inner = cfg.int("intermediate_size", expand * self.hidden)
        if self.inner != expand * self.hidden:
            cfg.fail("intermediate_size", f"{self.inner} != expand * hidden_size")
        self.dt_rank = _dt_rank(cfg, "time_step_rank", self.hidden)
        self.eps = cfg.float("layer_norm_epsilon", 1e-5)
        self.use_bias = cfg.bool("use_bias", False)
        self.conv_bias = cfg.bool("use_conv_bias", True)
        self.tied = cfg.bool("tie_word_embeddings", True)
        _check_act(cfg)

    def emit(self, fb, ids, positions):
        f = fb.f
        h = f.embedding(fb.weight("backbone.embeddings.weight", (self.vocab, self.hidden)), ids)
        for i in range(self.layers):
            p = f"backbone.layers.{i}"
            x = fb.rms_norm(h, f"{p}.norm.weight", self.eps, self.hidden)
            h = f.add(h, mamba1_mixer(fb, x, f"{p}.mixer", i, self.hidden, self.inner,
                                      self.state, self.kernel, self.dt_rank, self.use_bias,
                                      self.conv_bias))
        h = fb.rms_norm(h, "backbone.norm_f.weight", self.eps, self.hidden)
        return lm_head(fb, h, "backbone.embeddings.weight", self.tied, self.vocab, self.hidden)


class Mamba2:
    """Mamba2ForCausalLM."""

    uses_positions = False

    def __init__(self, cfg, arch):
        self.hidden = cfg.int("hidden_size")
        self.layers = cfg.int("num_hidden_layers")
        self.vocab = cfg.int("vocab_size")
        self.state = cfg.int("state_size", 128)
        self.kernel = cfg.int("conv_kernel", 4)
        self.heads = cfg.int("num_heads", 128)
        self.head_dim = cfg.int("head_dim", 64)
        self.groups = cfg.int("n_groups", 8)
        expand = cfg.int("expand", 2)
        self.inner = expand * self.hidden
        if self.heads * self.head_dim != self.inner:
            cfg.fail("num_heads", f"num_heads * head_dim = {self.heads * self.head_dim} != "
                                  f"expand * hidden_size = {self.inner}")
        if self.heads % self.groups:
            cfg.fail("n_groups", f"{self.groups} does not divide num_heads {self.heads}")
        self.eps = cfg.float("layer_norm_epsilon", 1e-5)
        self.use_bias = cfg.bool("use_bias", False)
        self.conv_bias = cfg.bool("use_conv_bias", True)
        self.tied = cfg.bool("tie_word_embeddings", False)
        if not cfg.bool("rms_norm", True):
            cfg.fail("rms_norm", "false is not supported")
        if cfg.bool("norm_before_gate", False):
            cfg.fail("norm_before_gate", "true is not supported (transformers gates before "
                                         "the norm)")
        limit = cfg.get("time_step_limit", [0.0, float("inf")])
        if not isinstance(limit, (list, tuple)) or len(limit) != 2:
            cfg.fail("time_step_limit", f"expected [min, max], got {limit!r}")
        lo, hi = float(limit[0]), float(limit[1])
        self.dt_limit = None if (lo, hi) == (0.0, float("inf")) else (lo, hi)
        _check_act(cfg)

    def emit(self, fb, ids, positions):
        f = fb.f
        h = f.embedding(fb.weight("backbone.embeddings.weight", (self.vocab, self.hidden)), ids)
        for i in range(self.layers):
            p = f"backbone.layers.{i}"
            x = fb.rms_norm(h, f"{p}.norm.weight", self.eps, self.hidden)
            h = f.add(h, mamba2_mixer(fb, x, f"{p}.mixer", i, self))
        h = fb.rms_norm(h, "backbone.norm_f.weight", self.eps, self.hidden)
        return lm_head(fb, h, "backbone.embeddings.weight", self.tied, self.vocab, self.hidden)


class Jamba:
    """JambaForCausalLM with dense MLPs: attention (no RoPE) and Mamba-1 layers
    (with dt/B/C RMSNorms) interleaved by attn_layer_period / offset."""

    uses_positions = False

    def __init__(self, cfg, arch):
        self.hidden = cfg.int("hidden_size")
        self.layers = cfg.int("num_hidden_layers")
        self.vocab = cfg.int("vocab_size")
        self.heads = cfg.int("num_attention_heads")
        self.kv_heads = cfg.int("num_key_value_heads", self.heads)
        if self.hidden % self.heads or self.heads % self.kv_heads:
            cfg.fail("num_attention_heads", "must divide hidden_size and be a multiple of "
                                            "num_key_value_heads")
        self.head_dim = self.hidden // self.heads
        self.intermediate = cfg.int("intermediate_size")
        self.eps = cfg.float("rms_norm_eps", 1e-6)
        self.tied = cfg.bool("tie_word_embeddings", False)
        period = cfg.int("attn_layer_period", 8)
        offset = cfg.int("attn_layer_offset", 4, minimum=0)
        self.types = ["attention" if i % period == offset else "mamba"
                      for i in range(self.layers)]
        experts = cfg.int("num_experts", 16)
        e_period = cfg.int("expert_layer_period", 2)
        e_offset = cfg.int("expert_layer_offset", 1, minimum=0)
        for i in range(self.layers):
            if experts > 1 and i % e_period == e_offset:
                cfg.fail("num_experts", f"layer {i} is a mixture-of-experts layer "
                                        f"(num_experts={experts}, expert_layer_period="
                                        f"{e_period}, expert_layer_offset={e_offset}): "
                                        "MoE layers are unsupported")
        self.state = cfg.int("mamba_d_state", 16)
        self.kernel = cfg.int("mamba_d_conv", 4)
        self.inner = cfg.int("mamba_expand", 2) * self.hidden
        self.dt_rank = _dt_rank(cfg, "mamba_dt_rank", self.hidden)
        self.conv_bias = cfg.bool("mamba_conv_bias", True)
        self.proj_bias = cfg.bool("mamba_proj_bias", False)
        cfg.reject("sliding_window")
        _check_act(cfg)

    def emit(self, fb, ids, positions):
        f = fb.f
        h = f.embedding(fb.weight("model.embed_tokens.weight", (self.vocab, self.hidden)), ids)
        for i, kind in enumerate(self.types):
            p = f"model.layers.{i}"
            x = fb.rms_norm(h, f"{p}.input_layernorm.weight", self.eps, self.hidden)
            if kind == "attention":
                mixed = attention(fb, x, f"{p}.self_attn", i, self.heads, self.kv_heads,
                                  self.head_dim, self.hidden)
            else:
                mixed = mamba1_mixer(fb, x, f"{p}.mamba", i, self.hidden, self.inner,
                                     self.state, self.kernel, self.dt_rank, self.proj_bias,
                                     self.conv_bias, bcdt_norm_eps=self.eps)
            h = f.add(h, mixed)
            x = fb.rms_norm(h, f"{p}.pre_ff_layernorm.weight", self.eps, self.hidden)
            h = f.add(h, swiglu_mlp(fb, x, f"{p}.feed_forward", self.hidden, self.intermediate))
        h = fb.rms_norm(h, "model.final_layernorm.weight", self.eps, self.hidden)
        return lm_head(fb, h, "model.embed_tokens.weight", self.tied, self.vocab, self.hidden)


ARCHITECTURES = {
    "LlamaForCausalLM": Llama,
    "MistralForCausalLM": Llama,
    "Qwen2ForCausalLM": Llama,
    "MambaForCausalLM": Mamba,
    "Mamba2ForCausalLM": Mamba2,
    "JambaForCausalLM": Jamba,
}


def architecture(config, where):
    """The architecture object for a config.json dict."""
    cfg = Config(config, where)
    archs = config.get("architectures")
    if not isinstance(archs, list) or len(archs) != 1 or not isinstance(archs[0], str):
        cfg.fail("architectures", f"expected one architecture name, got {archs!r}")
    arch = archs[0]
    if arch not in ARCHITECTURES:
        cfg.fail("architectures", f"{arch} is not supported (supported: "
                                  f"{', '.join(ARCHITECTURES)})")
    dtype = config.get("torch_dtype", config.get("dtype"))
    if dtype not in (None, "float32", "float16", "bfloat16"):
        cfg.fail("torch_dtype", f"{dtype!r} is not supported")
    return arch, ARCHITECTURES[arch](cfg, arch)
