"""numpy float64 references of weft op semantics (docs/Spec.md).

Written from the spec, independently of the lowerings.
"""

import math

import numpy as np

_erf = np.vectorize(math.erf)


def silu(x):
    return x / (1.0 + np.exp(-x))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def softplus(x):
    return np.logaddexp(0.0, x)


UNARY = {
    "silu": silu,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "exp": np.exp,
    "softplus": softplus,
    "neg": lambda x: -x,
    "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "gelu": gelu,
}

ACTIVATION = {
    "none": lambda x: x,
    "silu": silu,
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
    "relu": lambda x: np.maximum(x, 0.0),
}


# --- Contractions -----------------------------------------------------------


def matmul(lhs, rhs, transpose_lhs=False, transpose_rhs=False):
    """weft.matmul: swap the last two dims where asked, then a batched product
    with numpy broadcasting of the batch dims."""
    if transpose_lhs:
        lhs = np.swapaxes(lhs, -1, -2)
    if transpose_rhs:
        rhs = np.swapaxes(rhs, -1, -2)
    batch = np.broadcast_shapes(lhs.shape[:-2], rhs.shape[:-2])
    lhs = np.broadcast_to(lhs, batch + lhs.shape[-2:])
    rhs = np.broadcast_to(rhs, batch + rhs.shape[-2:])
    return np.einsum("...mk,...kn->...mn", lhs, rhs)


def linear(x, weight, bias=None, activation="none", residual=None):
    """weft.linear: x W^T, then bias, activation, residual (in that order)."""
    t = np.einsum("...k,nk->...n", x, weight)
    if bias is not None:
        t = t + bias
    t = ACTIVATION[activation](t)
    if residual is not None:
        t = t + residual
    return t


def dequantize(qweight, scales, group_size, zeros=None):
    """The weight of weft.qlinear. `qweight` and `zeros` hold the logical
    integer values (signed without zeros, unsigned with them)."""
    _, k = qweight.shape
    g = k if group_size == -1 else group_size
    group = np.arange(k) // g  # column k belongs to group k / g
    q = qweight.astype(np.float64)
    if zeros is not None:
        q = q - zeros.astype(np.float64)[:, group]
    return scales.astype(np.float64)[:, group] * q


def qlinear(x, qweight, scales, group_size, zeros=None, bias=None,
            activation="none", residual=None):
    """weft.qlinear: weft.linear on the dequantized weight."""
    weight = dequantize(qweight, scales, group_size, zeros)
    return linear(x, weight, bias, activation, residual)


def lora(x, lora_a, lora_b, scale=1.0, ids=None):
    """weft.lora: scale * (x A^T) B^T; with rank-3 tables the adapter of each
    token is ids[row] (ids of rank 1) or ids[token] (x's leading shape), and
    id -1 gives a zero delta."""
    if ids is None:
        return scale * np.einsum("...j,nj->...n",
                                 np.einsum("...k,jk->...j", x, lora_a), lora_b)
    lead = x.shape[:-1]
    if ids.ndim == 1 and len(lead) > 1:  # one id per batch row
        ids = ids.reshape(ids.shape + (1,) * (len(lead) - 1))
    ids = np.broadcast_to(ids, lead)
    result = np.zeros(lead + (lora_b.shape[1],))
    for index in np.ndindex(*lead):
        a = int(ids[index])
        if a == -1:
            continue
        t = lora_a[a] @ x[index]
        result[index] = scale * (lora_b[a] @ t)
    return result


# --- Normalization and reductions ---------------------------------------------


def rms_norm(x, weight, eps=1e-5):
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(ms + eps) * weight


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    mean = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mean) ** 2, axis=-1, keepdims=True)  # biased
    y = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def reduce(x, kind, axes, keep_dims=False):
    axes = tuple(axes)
    if kind == "sum":
        return np.sum(x, axis=axes, keepdims=keep_dims)
    if kind == "max":
        return np.max(x, axis=axes, keepdims=keep_dims)
    if kind == "mean":
        count = np.prod([x.shape[a] for a in axes])
        return np.sum(x, axis=axes, keepdims=keep_dims) / count
    raise ValueError(kind)


def argmax(x, axis, keep_dims=False):
    """The smallest index holding the maximum along `axis`, as int64."""
    x = np.moveaxis(x, axis, -1)
    is_max = x == np.max(x, axis=-1, keepdims=True)
    n = x.shape[-1]
    # Smallest index whose element equals the maximum.
    index = np.min(np.where(is_max, np.arange(n), n), axis=-1).astype(np.int64)
    if keep_dims:
        index = np.expand_dims(index, axis)
    return index


# --- Shape ops ----------------------------------------------------------------


def embedding(table, ids):
    """result[i..., d] = table[ids[i...], d]."""
    out = np.empty(ids.shape + (table.shape[1],), dtype=table.dtype)
    for index in np.ndindex(*ids.shape):
        out[index] = table[int(ids[index])]
    return out


def transpose(x, permutation):
    """result.shape[k] = x.shape[permutation[k]]."""
    out = np.empty(tuple(x.shape[p] for p in permutation), dtype=x.dtype)
    for j in np.ndindex(*out.shape):
        i = [0] * x.ndim
        for k, p in enumerate(permutation):
            i[p] = j[k]
        out[j] = x[tuple(i)]
    return out


def concat(inputs, axis):
    return np.concatenate(inputs, axis=axis)


def slice_(x, axis, start, end, step=1):
    """result[..., i, ...] = x[..., start + i * step, ...] for
    i in [0, ceil((end - start) / step))."""
    count = -(-(end - start) // step)
    return np.take(x, [start + i * step for i in range(count)], axis=axis)


def float_to_int(x):
    """Float to integer cast: truncation toward zero (as float64 integers)."""
    return np.trunc(np.asarray(x, dtype=np.float64))


# --- attention, rope, ssm_scan, causal_conv1d ---------------------------------


def attention(q, k, v, mask=None, kv_len=None, scale=None, causal=False,
              window=None, softcap=None):
    """weft.attention: (output [B, Sq, Hq, Dv], lse [B, Hq, Sq]).

    Query head h reads kv head h / (Hq / Hkv); causal visibility is bottom-right
    aligned to the kv_len[b] valid keys. A row without a visible key gives zeros
    and lse = -inf. Mask values at keys that are not visible are never read."""
    batch, sq, hq, d = q.shape
    sk, hkv, dv = k.shape[1], k.shape[2], v.shape[3]
    group = hq // hkv
    if scale is None:
        scale = 1.0 / math.sqrt(d)
    output = np.zeros((batch, sq, hq, dv))
    lse = np.full((batch, hq, sq), -np.inf)
    j = np.arange(sk)
    for b in range(batch):
        valid = sk if kv_len is None else int(kv_len[b])
        offset = valid - sq
        for h in range(hq):
            hk = h // group
            for i in range(sq):
                visible = j < valid
                if causal:
                    visible &= j <= i + offset
                if window is not None:
                    visible &= i + offset - j < window
                if not visible.any():
                    continue
                s = scale * (k[b, visible, hk, :] @ q[b, i, h, :])
                if softcap is not None:
                    s = softcap * np.tanh(s / softcap)
                if mask is not None:
                    mb = 0 if mask.shape[0] == 1 else b
                    mh = 0 if mask.shape[1] == 1 else h
                    s = s + mask[mb, mh, i, visible]
                m = np.max(s)
                e = np.exp(s - m)
                z = np.sum(e)
                output[b, i, h, :] = (e / z) @ v[b, visible, hk, :]
                lse[b, h, i] = m + np.log(z)
    return output, lse


def rope_angles(positions, half, rotary_dim, theta=10000.0, inv_freq=None):
    """The rotation angles [B, S, half] of weft.rope. The spec computes the
    angle in f32: f32(position) * f32(inv_freq[i]), one f32 rounding (the
    frequency table is an f32 tensor, theta^(-2i/R) rounded once)."""
    if inv_freq is None:
        inv_freq = theta ** (-2.0 * np.arange(half) / rotary_dim)
    freq = np.asarray(inv_freq, dtype=np.float64).astype(np.float32)
    angle = positions.astype(np.float32)[..., None] * freq
    return angle.astype(np.float64)


def rope(x, positions, theta=10000.0, rotary_dim=None, interleaved=False,
         inv_freq=None):
    """weft.rope on x [B, S, H, D] with positions [B, S]: rotates the leading
    rotary_dim channels (pairs (i, i + R/2), or (2i, 2i + 1) interleaved), the
    rest pass through. The angle is the f32 angle of rope_angles."""
    r = x.shape[-1] if rotary_dim is None else rotary_dim
    half = r // 2
    angle = rope_angles(positions, half, r, theta, inv_freq)[:, :, None, :]
    c, s = np.cos(angle), np.sin(angle)
    if interleaved:
        first, second = np.arange(0, r, 2), np.arange(1, r, 2)
    else:
        first, second = np.arange(half), np.arange(half, r)
    result = np.array(x, dtype=np.float64)
    a, b = x[..., first], x[..., second]
    result[..., first] = a * c - b * s
    result[..., second] = b * c + a * s
    return result


def ssm_scan(x, dt, a, bm, cm, d=None, z=None, dt_bias=None,
             initial_state=None, dt_softplus=False, dt_limit=None):
    """weft.ssm_scan: (y [B, L, H, P], final_state [B, H, P, N]), the
    recurrence evaluated step by step. `a` is [H, N] or [H] (scalar per head),
    `d` is [H] or [H, P]; head h reads group h / (H / G)."""
    batch, length, heads, p = x.shape
    groups, n = bm.shape[2], bm.shape[3]
    group_of = np.arange(heads) // (heads // groups)
    decay_rate = a if a.ndim == 2 else a[:, None]  # [H, N] or [H, 1]
    if initial_state is None:
        state = np.zeros((batch, heads, p, n))
    else:
        state = np.array(initial_state, dtype=np.float64)
    y = np.zeros((batch, length, heads, p))
    for t in range(length):
        step = dt[:, t, :]  # [B, H]
        if dt_bias is not None:
            step = step + dt_bias
        if dt_softplus:
            step = softplus(step)
        if dt_limit is not None:
            step = np.minimum(np.maximum(step, dt_limit[0]), dt_limit[1])
        step = step[:, :, None, None]  # [B, H, 1, 1]
        decay = np.exp(step * decay_rate[None, :, None, :])
        b_t = bm[:, t][:, group_of][:, :, None, :]  # [B, H, 1, N]
        c_t = cm[:, t][:, group_of][:, :, None, :]
        x_t = x[:, t][..., None]  # [B, H, P, 1]
        state = decay * state + step * x_t * b_t
        out = np.sum(state * c_t, axis=-1)  # [B, H, P]
        if d is not None:
            out = out + (d[:, None] if d.ndim == 1 else d) * x[:, t]
        if z is not None:
            out = out * silu(z[:, t])
        y[:, t] = out
    return y, state


def causal_conv1d(x, weight, bias=None, state=None, activation="none"):
    """weft.causal_conv1d: (y [B, L, C], new_state [B, K-1, C]) over
    xp = concat(state or zeros, x) along the sequence."""
    batch, length, channels = x.shape
    kernel = weight.shape[1]
    if state is None:
        state = np.zeros((batch, kernel - 1, channels))
    xp = np.concatenate([np.asarray(state, dtype=np.float64),
                         np.asarray(x, dtype=np.float64)], axis=1)
    y = np.zeros((batch, length, channels))
    for t in range(length):
        for tap in range(kernel):
            y[:, t] += weight[:, tap] * xp[:, t + tap]
    if bias is not None:
        y = y + bias
    return ACTIVATION[activation](y), xp[:, length:length + kernel - 1]
