"""A small builder that writes weft IR as text.

    module = Module()
    f = module.function("forward")
    ids = f.arg("ids", [None, None], "i64")           # None = dynamic dim
    table = f.param("model.embed_tokens.weight", [256, 64])
    h = f.embedding(table, ids)
    f.ret(h)
    text = module.text()

Every op method checks the operand shapes it relies on, infers the result
type as docs/Spec.md states it and returns a `Value`. The text is plain weft
dialect (validated by weft-opt in the tests); nothing here depends on MLIR.
"""

import math

import numpy as np

FLOAT_TYPES = ("f32", "f16", "bf16")
INDEX_TYPES = ("i64", "i32")


class IRError(ValueError):
    """An op built with operands of the wrong shape or type."""


class TensorType:
    def __init__(self, shape, dtype):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype

    @property
    def rank(self):
        return len(self.shape)

    def __eq__(self, other):
        return (isinstance(other, TensorType) and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __str__(self):
        dims = "".join(("?" if d is None else str(d)) + "x" for d in self.shape)
        return f"tensor<{dims}{self.dtype}>"

    __repr__ = __str__


class Value:
    """An SSA value of a function: its name (without %) and type."""

    def __init__(self, name, type):
        self.name = name
        self.type = type

    @property
    def shape(self):
        return self.type.shape

    @property
    def dtype(self):
        return self.type.dtype

    def __str__(self):
        return f"%{self.name}"


def _merge(a, b):
    """The merge of two compatible dims (docs/Spec.md): static wins."""
    if a is not None and b is not None and a != b:
        raise IRError(f"incompatible dims {a} and {b}")
    return a if a is not None else b


def _broadcast(lhs, rhs):
    out = []
    for i in range(max(len(lhs), len(rhs))):
        l = lhs[len(lhs) - 1 - i] if i < len(lhs) else 1
        r = rhs[len(rhs) - 1 - i] if i < len(rhs) else 1
        if l == 1:
            d = r
        elif r == 1:
            d = l
        elif l is None:
            d = r
        elif r is None:
            d = l
        elif l != r:
            raise IRError(f"shapes {lhs} and {rhs} do not broadcast")
        else:
            d = l
        out.append(d)
    return tuple(reversed(out))


def _float_attr(x):
    """An f64/f32 literal MLIR parses back exactly."""
    x = float(x)
    if math.isinf(x):
        return "0x7FF0000000000000" if x > 0 else "0xFFF0000000000000"
    text = repr(x)
    if "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{exponent}"
    return text if "." in text else text + ".0"


def _attrs(items):
    """Renders an attribute dictionary ("" when empty)."""
    parts = [k if v is True else f"{k} = {v}" for k, v in items if v is not None
             and v is not False]
    return " {" + ", ".join(parts) + "}" if parts else ""


def _i64_array(values):
    return "array<i64: " + ", ".join(str(int(v)) for v in values) + ">"


class Function:
    """One func.func; ops are appended in program order."""

    def __init__(self, name):
        self.name = name
        self.args = []
        self.lines = []
        self.results = None
        self._names = set()
        self._params = {}

    # --- values -----------------------------------------------------------

    def _fresh(self, hint):
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in hint) or "v"
        if base[0].isdigit():
            base = "v" + base
        name, n = base, 0
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name

    def arg(self, name, shape, dtype="f32"):
        value = Value(self._fresh(name), TensorType(shape, dtype))
        self.args.append(value)
        return value

    def _emit(self, hint, text, type):
        value = Value(self._fresh(hint), type)
        self.lines.append(f"%{value.name} = {text}")
        return value

    def _emit_multi(self, hints, text, types):
        values = [Value(self._fresh(h), t) for h, t in zip(hints, types)]
        names = ", ".join(str(v) for v in values)
        self.lines.append(f"{names} = {text}")
        return values

    @staticmethod
    def _sig(operands, results):
        ins = ", ".join(str(v.type) for v in operands)
        outs = ", ".join(str(t) for t in results)
        if len(results) != 1:
            outs = f"({outs})"
        return f"({ins}) -> {outs}"

    def _check_float(self, what, *values):
        for v in values:
            if v.dtype not in FLOAT_TYPES:
                raise IRError(f"{what}: {v} has non-float type {v.type}")

    # --- graph ops --------------------------------------------------------

    def param(self, name, shape, dtype="f32"):
        """weft.param; one value per archive name within a function."""
        key = (name, tuple(shape), dtype)
        if name in self._params:
            if self._params[name][0] != key:
                raise IRError(f"param '{name}' used with two types")
            return self._params[name][1]
        if any(d is None for d in shape):
            raise IRError(f"param '{name}' must have a static shape")
        type = TensorType(shape, dtype)
        parts = name.split(".")
        hint = parts[-1]
        if len(parts) > 1 and hint in ("weight", "bias"):
            hint = parts[-2] + ("_bias" if hint == "bias" else "")
        value = self._emit(hint, f'weft.param "{name}" : {type}', type)
        self._params[name] = (key, value)
        return value

    def constant(self, array, dtype="f32", hint="cst"):
        """arith.constant with a dense value (a splat when all equal)."""
        array = np.asarray(array, dtype=np.float64 if dtype in FLOAT_TYPES else np.int64)
        type = TensorType(array.shape, dtype)
        flat = array.reshape(-1)
        fmt = _float_attr if dtype in FLOAT_TYPES else (lambda v: str(int(v)))
        if flat.size and np.all(flat == flat[0]):
            body = fmt(flat[0])
        else:
            body = _nested(array, fmt)
        return self._emit(hint, f"arith.constant dense<{body}> : {type}", type)

    def embedding(self, table, ids):
        if table.type.rank != 2 or ids.dtype not in INDEX_TYPES:
            raise IRError("embedding: needs table[V, D] and integer ids")
        type = TensorType(ids.shape + (table.shape[1],), table.dtype)
        return self._emit("embed", f"weft.embedding {table}, {ids} : "
                          f"{self._sig([table, ids], [type])}", type)

    def _binary(self, op, lhs, rhs):
        if lhs.dtype != rhs.dtype:
            raise IRError(f"{op}: element types {lhs.dtype} and {rhs.dtype} differ")
        type = TensorType(_broadcast(lhs.shape, rhs.shape), lhs.dtype)
        return self._emit(op, f"weft.{op} {lhs}, {rhs} : {self._sig([lhs, rhs], [type])}",
                          type)

    def add(self, lhs, rhs):
        return self._binary("add", lhs, rhs)

    def sub(self, lhs, rhs):
        return self._binary("sub", lhs, rhs)

    def mul(self, lhs, rhs):
        return self._binary("mul", lhs, rhs)

    def div(self, lhs, rhs):
        return self._binary("div", lhs, rhs)

    def _unary(self, op, x, attrs=()):
        self._check_float(op, x)
        return self._emit(op, f"weft.{op} {x}{_attrs(attrs)} : {x.type}", x.type)

    def silu(self, x):
        return self._unary("silu", x)

    def gelu(self, x, tanh_approximation=False):
        return self._unary("gelu", x, [("tanh_approximation", tanh_approximation)])

    def relu(self, x):
        return self._unary("relu", x)

    def sigmoid(self, x):
        return self._unary("sigmoid", x)

    def tanh(self, x):
        return self._unary("tanh", x)

    def exp(self, x):
        return self._unary("exp", x)

    def softplus(self, x):
        return self._unary("softplus", x)

    def neg(self, x):
        return self._unary("neg", x)

    def rsqrt(self, x):
        return self._unary("rsqrt", x)

    def matmul(self, lhs, rhs, transpose_lhs=False, transpose_rhs=False):
        self._check_float("matmul", lhs, rhs)
        m, k = lhs.shape[-2:] if not transpose_lhs else lhs.shape[-1:-3:-1]
        k2, n = rhs.shape[-2:] if not transpose_rhs else rhs.shape[-1:-3:-1]
        _merge(k, k2)
        batch = _broadcast(lhs.shape[:-2], rhs.shape[:-2])
        type = TensorType(batch + (m, n), lhs.dtype)
        attrs = _attrs([("transpose_lhs", transpose_lhs), ("transpose_rhs", transpose_rhs)])
        return self._emit("mm", f"weft.matmul {lhs}, {rhs}{attrs} : "
                          f"{self._sig([lhs, rhs], [type])}", type)

    def reduce(self, kind, x, axes, keep_dims=False):
        axes = sorted(a % x.type.rank for a in axes)
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keep_dims else [
            d for i, d in enumerate(x.shape) if i not in axes]
        type = TensorType(shape, x.dtype)
        attrs = _attrs([("axes", _i64_array(axes)), ("keep_dims", keep_dims)])
        return self._emit(kind, f"weft.reduce <{kind}> {x}{attrs} : "
                          f"{self._sig([x], [type])}", type)

    def softmax(self, x, axis):
        return self._unary("softmax", x, [("axis", axis % x.type.rank)])

    def argmax(self, x, axis, keep_dims=False):
        axis %= x.type.rank
        shape = list(x.shape)
        if keep_dims:
            shape[axis] = 1
        else:
            del shape[axis]
        type = TensorType(shape, "i64")
        attrs = _attrs([("axis", axis), ("keep_dims", keep_dims)])
        return self._emit("argmax", f"weft.argmax {x}{attrs} : {self._sig([x], [type])}", type)

    def reshape(self, x, shape):
        type = TensorType(shape, x.dtype)
        def prefix(shape):
            n = 0
            while n < len(shape) and shape[n] is None:
                n += 1
            if any(d is None for d in shape[n:]):
                return -1
            return n
        if prefix(x.shape) < 0 or prefix(x.shape) != prefix(type.shape):
            raise IRError(f"reshape {x.type} -> {type}: dynamic dims must be kept as a "
                          "common leading prefix")
        static_in = int(np.prod([d for d in x.shape if d is not None], dtype=np.int64))
        static_out = int(np.prod([d for d in type.shape if d is not None], dtype=np.int64))
        if static_in != static_out:
            raise IRError(f"reshape {x.type} -> {type}: element counts differ")
        if type == x.type:
            return x
        return self._emit("r", f"weft.reshape {x} : {x.type} -> {type}", type)

    def transpose(self, x, permutation):
        type = TensorType([x.shape[p] for p in permutation], x.dtype)
        return self._emit("t", f"weft.transpose {x} {{permutation = {_i64_array(permutation)}}}"
                          f" : {self._sig([x], [type])}", type)

    def concat(self, inputs, axis):
        axis %= inputs[0].type.rank
        shape = list(inputs[0].shape)
        for v in inputs[1:]:
            if v.type.rank != len(shape) or v.dtype != inputs[0].dtype:
                raise IRError("concat: inputs differ in rank or element type")
            for d in range(len(shape)):
                if d != axis:
                    shape[d] = _merge(shape[d], v.shape[d])
        sizes = [v.shape[axis] for v in inputs]
        shape[axis] = None if None in sizes else sum(sizes)
        type = TensorType(shape, inputs[0].dtype)
        names = ", ".join(str(v) for v in inputs)
        return self._emit("cat", f"weft.concat {names} {{axis = {axis}}} : "
                          f"{self._sig(inputs, [type])}", type)

    def slice(self, x, axis, start, end, step=1):
        axis %= x.type.rank
        if not 0 <= start < end or (x.shape[axis] is not None and end > x.shape[axis]):
            raise IRError(f"slice [{start}, {end}) of dim {axis} of {x.type}")
        shape = list(x.shape)
        shape[axis] = -(-(end - start) // step)
        type = TensorType(shape, x.dtype)
        attrs = [("axis", axis), ("start", start), ("end", end)]
        if step != 1:
            attrs.append(("step", step))
        return self._emit("s", f"weft.slice {x}{_attrs(attrs)} : {self._sig([x], [type])}",
                          type)

    def split(self, x, sizes, axis=-1):
        """Consecutive slices of the given sizes along `axis` (size 0: None)."""
        out, start = [], 0
        for size in sizes:
            out.append(self.slice(x, axis, start, start + size) if size else None)
            start += size
        return out

    def cast(self, x, dtype):
        type = TensorType(x.shape, dtype)
        return self._emit("cast", f"weft.cast {x} : {x.type} -> {type}", type)

    # --- transformer ops --------------------------------------------------

    def rms_norm(self, x, weight, eps):
        self._check_float("rms_norm", x, weight)
        return self._emit("norm", f"weft.rms_norm {x}, {weight} {{eps = {_float_attr(eps)} : f64}}"
                          f" : {self._sig([x, weight], [x.type])}", x.type)

    def layer_norm(self, x, weight=None, bias=None, eps=1e-5):
        operands = [x] + [v for v in (weight, bias) if v is not None]
        text = f"weft.layer_norm {x}"
        if weight is not None:
            text += f" weight {weight}"
        if bias is not None:
            text += f" bias {bias}"
        return self._emit("ln", f"{text} {{eps = {_float_attr(eps)} : f64}} : "
                          f"{self._sig(operands, [x.type])}", x.type)

    def linear(self, x, weight, bias=None, residual=None, activation=None):
        self._check_float("linear", x, weight)
        if weight.type.rank != 2:
            raise IRError(f"linear: weight {weight.type} is not [N, K]")
        _merge(x.shape[-1], weight.shape[1])
        type = TensorType(x.shape[:-1] + (weight.shape[0],), x.dtype)
        operands, text = [x, weight], f"weft.linear {x}, {weight}"
        if bias is not None:
            operands.append(bias)
            text += f" bias {bias}"
        if residual is not None:
            operands.append(residual)
            text += f" residual {residual}"
        attrs = _attrs([("activation", activation and f"#weft.activation<{activation}>")])
        return self._emit("lin", f"{text}{attrs} : {self._sig(operands, [type])}", type)

    def lora(self, x, lora_a, lora_b, scale=1.0, ids=None):
        if (lora_a.type.rank == 3) != (ids is not None):
            raise IRError("lora: rank-3 A/B need ids, rank-2 ones must not have them")
        _merge(x.shape[-1], lora_a.shape[-1])
        _merge(lora_a.shape[-2], lora_b.shape[-1])
        type = TensorType(x.shape[:-1] + (lora_b.shape[-2],), x.dtype)
        operands, text = [x, lora_a, lora_b], f"weft.lora {x}, {lora_a}, {lora_b}"
        if ids is not None:
            operands.append(ids)
            text += f" ids {ids}"
        return self._emit("lora", f"{text} {{scale = {_float_attr(scale)} : f32}} : "
                          f"{self._sig(operands, [type])}", type)

    def rope(self, x, positions, theta=10000.0, rotary_dim=None, interleaved=False,
             inv_freq=None):
        if x.type.rank != 4:
            raise IRError(f"rope: x {x.type} is not [B, S, H, D]")
        operands, text = [x, positions], f"weft.rope {x}, {positions}"
        if inv_freq is not None:
            operands.append(inv_freq)
            text += f" inv_freq {inv_freq}"
        attrs = [("theta", None if inv_freq is not None else f"{_float_attr(theta)} : f64"),
                 ("rotary_dim", rotary_dim), ("interleaved", interleaved)]
        return self._emit("rope", f"{text}{_attrs(attrs)} : {self._sig(operands, [x.type])}",
                          x.type)

    def attention(self, q, k, v, causal=True, scale=None, window=None, softcap=None,
                  mask=None, kv_len=None):
        for t in (q, k, v):
            if t.type.rank != 4:
                raise IRError(f"attention: {t.type} is not rank 4")
        if q.shape[2] % k.shape[2]:
            raise IRError(f"attention: {q.shape[2]} query heads, {k.shape[2]} kv heads")
        batch = _merge(_merge(q.shape[0], k.shape[0]), v.shape[0])
        type = TensorType((batch, q.shape[1], q.shape[2], v.shape[3]), q.dtype)
        operands, text = [q, k, v], f"weft.attention {q}, {k}, {v}"
        if mask is not None:
            operands.append(mask)
            text += f" mask {mask}"
        if kv_len is not None:
            operands.append(kv_len)
            text += f" kv_len {kv_len}"
        attrs = [("causal", causal),
                 ("scale", None if scale is None else f"{_float_attr(scale)} : f32"),
                 ("window", window),
                 ("softcap", None if softcap is None else f"{_float_attr(softcap)} : f32")]
        return self._emit("attn", f"{text}{_attrs(attrs)} : {self._sig(operands, [type])}",
                          type)

    def causal_conv1d(self, x, weight, bias=None, state=None, activation=None):
        """Returns (y, new_state)."""
        if x.type.rank != 3 or weight.type.rank != 2:
            raise IRError("causal_conv1d: needs x[B, L, C] and weight[C, K]")
        kernel = weight.shape[1]
        state_type = TensorType((x.shape[0], kernel - 1, x.shape[2]), x.dtype)
        operands, text = [x, weight], f"weft.causal_conv1d {x}, {weight}"
        if bias is not None:
            operands.append(bias)
            text += f" bias {bias}"
        if state is not None:
            operands.append(state)
            text += f" state {state}"
        attrs = _attrs([("activation", activation and f"#weft.activation<{activation}>")])
        return self._emit_multi(
            ["conv", "conv_state"],
            f"{text}{attrs} : {self._sig(operands, [x.type, state_type])}",
            [x.type, state_type])

    def ssm_scan(self, x, dt, a, bm, cm, d=None, z=None, dt_bias=None, initial_state=None,
                 dt_softplus=False, dt_limit=None):
        """Returns (y, final_state)."""
        if x.type.rank != 4 or bm.type.rank != 4:
            raise IRError("ssm_scan: needs x[B, L, H, P] and B[B, L, G, N]")
        n = bm.shape[3]
        state_type = TensorType((x.shape[0], x.shape[2], x.shape[3], n), "f32")
        operands = [x, dt, a, bm, cm]
        text = f"weft.ssm_scan {x}, {dt}, {a}, {bm}, {cm}"
        for key, value in (("D", d), ("z", z), ("dt_bias", dt_bias),
                           ("initial_state", initial_state)):
            if value is not None:
                operands.append(value)
                text += f" {key} {value}"
        limit = None
        if dt_limit is not None:
            limit = "array<f64: " + ", ".join(_float_attr(v) for v in dt_limit) + ">"
        attrs = _attrs([("dt_softplus", dt_softplus), ("dt_limit", limit)])
        return self._emit_multi(
            ["scan", "ssm_state"],
            f"{text}{attrs} : {self._sig(operands, [x.type, state_type])}",
            [x.type, state_type])

    # --- end --------------------------------------------------------------

    def ret(self, *values):
        if self.results is not None:
            raise IRError(f"function '{self.name}' already returned")
        self.results = list(values)

    def text(self):
        if self.results is None:
            raise IRError(f"function '{self.name}' has no return")
        args = ", ".join(f"%{a.name}: {a.type}" for a in self.args)
        types = ", ".join(str(v.type) for v in self.results)
        out = f"({types})" if len(self.results) != 1 else types
        lines = [f"func.func @{self.name}({args}) -> {out} {{"]
        lines += [f"  {line}" for line in self.lines]
        lines.append(f"  return {', '.join(str(v) for v in self.results)} : {types}")
        lines.append("}")
        return "\n".join(lines)


def _nested(array, fmt):
    if array.ndim == 0:
        return fmt(array)
    if array.ndim == 1:
        return "[" + ", ".join(fmt(v) for v in array) + "]"
    return "[" + ", ".join(_nested(a, fmt) for a in array) + "]"


class Module:
    """A list of functions, printed as one module."""

    def __init__(self, comment=None):
        self.functions = []
        self.comment = comment

    def function(self, name):
        if any(f.name == name for f in self.functions):
            raise IRError(f"function '{name}' defined twice")
        f = Function(name)
        self.functions.append(f)
        return f

    def text(self):
        parts = []
        if self.comment:
            parts.append("\n".join(f"// {line}".rstrip() for line in self.comment.splitlines()))
        parts += [f.text() for f in self.functions]
        return "\n\n".join(parts) + "\n"
