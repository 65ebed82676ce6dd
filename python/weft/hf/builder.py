"""Emitting one entry function of an imported model (prefill or decode).

A `FunctionBuilder` wraps an ir.Function with what the model code needs:
weights by Hugging Face name (shape-checked against the checkpoint), linear
layers with their LoRA deltas, and generation state. In `prefill` a state
read returns None (empty cache, zero SSM / conv state); in `decode` it is a
function input. Every state written is a result, in the same order as the
decode inputs, so `decode(..., *prefill(...)[1:])` chains.
"""

from weft.hf.checkpoint import HFError


class StateSpec:
    """One generation state tensor: name, shape (None = batch / cache length)
    and dtype."""

    def __init__(self, name, shape, dtype="f32"):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = dtype


class Sources:
    """Where every parameter's value comes from, shared by the functions."""

    def __init__(self):
        self.values = {}   # name -> (shape, callable returning float32 array)
        self.origins = {}  # name -> (file, dtype) for tensors used as stored

    def add(self, name, shape, load, origin=None):
        if name in self.values and self.values[name][0] != tuple(shape):
            raise HFError(f"parameter '{name}' used with shapes {self.values[name][0]} "
                          f"and {tuple(shape)}")
        self.values[name] = (tuple(shape), load)
        self.origins[name] = origin

    def single_file(self):
        """The one file holding every parameter as stored in f32, if there is
        one: then it can be bound as is, without writing an archive."""
        files = {o for o in self.origins.values()}
        if len(files) != 1:
            return None
        (origin,) = files
        return origin[0] if origin is not None and origin[1] == "F32" else None


class FunctionBuilder:
    def __init__(self, function, mode, checkpoint, adapters, sources):
        assert mode in ("prefill", "decode")
        self.f = function
        self.mode = mode
        self.ckpt = checkpoint
        self.adapters = adapters
        self.sources = sources
        self.states = []         # StateSpec, in order
        self.state_results = []  # Values written, same order
        self.adapter_ids = None

    # --- inputs and weights -------------------------------------------------

    def weight(self, name, shape=None):
        """weft.param for checkpoint tensor `name`, checked against `shape`."""
        tensors = self.ckpt.tensors
        if name not in tensors:
            raise HFError(f"{self.ckpt.directory}: checkpoint has no tensor '{name}'")
        actual = tensors.shape(name)
        if shape is not None and tuple(actual) != tuple(shape):
            raise HFError(f"{self.ckpt.directory}: tensor '{name}' has shape {list(actual)}, "
                          f"the config implies {list(shape)}")
        self.sources.add(name, actual, lambda: tensors.get(name),
                         (tensors.path(name), tensors.dtype(name)))
        return self.f.param(name, actual)

    def has_weight(self, name):
        return name in self.ckpt.tensors

    def state(self, name, shape, dtype="f32"):
        """The state read at this point: None in prefill, an input in decode."""
        self.states.append(StateSpec(name, shape, dtype))
        if self.mode == "prefill":
            return None
        return self.f.arg(name.replace(".", "_"), shape, dtype)

    def write_state(self, value):
        self.state_results.append(value)

    # --- layers ---------------------------------------------------------------

    def linear(self, x, module, n, k, bias=False):
        """`module`(x) for an nn.Linear named `module` with weight [n, k],
        plus every adapter's delta on it."""
        w = self.weight(f"{module}.weight", (n, k))
        b = self.weight(f"{module}.bias", (n,)) if bias else None
        y = self.f.linear(x, w, bias=b)
        delta = self.adapters.delta(self, x, module, n, k) if self.adapters else None
        return self.f.add(y, delta) if delta is not None else y

    def rms_norm(self, x, name, eps, size):
        return self.f.rms_norm(x, self.weight(name, (size,)), eps)

    def computed(self, name, shape, load):
        """A parameter the importer computes (stacked adapters): `load()`
        returns its float32 value."""
        self.sources.add(name, shape, load)
        return self.f.param(name, shape)

    def tensor_param(self, files, name):
        """A parameter read as is from other safetensors files (adapters)."""
        shape = files.shape(name)
        self.sources.add(name, shape, lambda: files.get(name),
                         (files.path(name), files.dtype(name)))
        return self.f.param(name, shape)
