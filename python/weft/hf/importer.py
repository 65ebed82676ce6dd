"""Hugging Face checkpoint -> weft module with `prefill` and `decode`.

    model = import_model("path/to/hf_dir", adapters=["path/to/peft_dir"])
    open("model.mlir", "w").write(model.mlir)
    model.write_params("model.safetensors")

Signatures (B batch, S new tokens, T cached tokens):

    prefill(ids i64[B, S], [positions i64[B, S]], [adapter_ids i64[B]])
        -> (logits f32[B, S, vocab], state...)
    decode(ids i64[B, S], [positions i64[B, S]], [adapter_ids i64[B]], state...)
        -> (logits f32[B, S, vocab], state...)

With `decode_tokens`, decode's S is that static number (generation decodes
one token per call: `decode_tokens=1`), which lets the compiler pick the
kernels of a known small query count (attention's decoding forms); else it
is dynamic like prefill's. `positions` exists when the model uses RoPE; `adapter_ids` when several
adapters are loaded. The state tensors are `model.states` in order: per
attention layer key and value caches [B, T, Hkv, D] (decode returns them
with the new tokens appended, so T grows by S), per Mamba layer the conv
state [B, K-1, C] and the SSM state [B, H, P, N] (f32).
"""

import os

from weft import ir, safetensors
from weft.hf.builder import FunctionBuilder, Sources
from weft.hf.checkpoint import Checkpoint, HFError
from weft.hf.lora import Adapter, AdapterSet
from weft.hf.models import architecture


class ImportedModel:
    def __init__(self, arch, spec, module, sources, states, inputs, adapters):
        self.arch = arch
        self.spec = spec
        self.module = module
        self.sources = sources
        self.states = states
        self.inputs = inputs            # names of the non-state inputs, in order
        self.adapters = adapters        # adapter directories, in id order
        self.vocab_size = spec.vocab

    @property
    def mlir(self):
        """The module text with both entry points."""
        return self.module.text()

    def mlir_for(self, functions):
        """The module text with only `functions` (e.g. ["prefill"])."""
        subset = ir.Module(self.module.comment)
        subset.functions = [f for f in self.module.functions if f.name in functions]
        return subset.text()

    @property
    def multi_adapter(self):
        return len(self.adapters) > 1

    def param_names(self):
        return list(self.sources.values)

    def write_params(self, path):
        """Writes every parameter the module uses, as float32, to `path`."""
        values = {}
        for name, (shape, load) in self.sources.values.items():
            value = load()
            if tuple(value.shape) != tuple(shape):
                raise HFError(f"parameter '{name}': shape {list(value.shape)} != "
                              f"{list(shape)}")
            values[name] = value
        safetensors.save(path, values)


def import_model(model_dir, adapters=(), decode_tokens=None):
    if decode_tokens is not None and (not isinstance(decode_tokens, int) or decode_tokens < 1):
        raise HFError(f"decode tokens: expected a positive integer, got {decode_tokens!r}")
    checkpoint = Checkpoint(model_dir)
    arch, spec = architecture(checkpoint.config, os.path.join(model_dir, "config.json"))
    adapter_set = AdapterSet([Adapter(d) for d in adapters])
    module = ir.Module(f"{arch} imported from {os.path.basename(os.path.normpath(model_dir))}"
                       " by python3 -m weft import-hf")
    sources = Sources()
    states = inputs = None
    for mode in ("prefill", "decode"):
        f = module.function(mode)
        fb = FunctionBuilder(f, mode, checkpoint, adapter_set, sources)
        names = ["ids"]
        tokens = (None, decode_tokens if mode == "decode" else None)
        ids = f.arg("ids", tokens, "i64")
        positions = None
        if spec.uses_positions:
            positions = f.arg("positions", tokens, "i64")
            names.append("positions")
        if adapter_set.multi:
            fb.adapter_ids = f.arg("adapter_ids", (None,), "i64")
            names.append("adapter_ids")
        logits = spec.emit(fb, ids, positions)
        f.ret(logits, *fb.state_results)
        states, inputs = fb.states, names
    adapter_set.check_all_used()
    return ImportedModel(arch, spec, module, sources, states, inputs, list(adapters))
