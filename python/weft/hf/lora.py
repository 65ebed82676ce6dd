"""peft LoRA adapters: adapter_config.json + adapter_model.safetensors.

An adapter maps module names of the base model ("model.layers.0.self_attn.
q_proj") to a pair A [r, K], B [N, r] and a scale: lora_alpha / r, or
lora_alpha / sqrt(r) with use_rslora, with rank_pattern / alpha_pattern
overrides per module. Tensor names follow peft's saved layout,
"base_model.model.<module>.lora_A.weight".
"""

import math
import os
import re

import numpy as np

from weft import safetensors
from weft.hf.checkpoint import HFError, TensorFiles, read_json

_PREFIX = "base_model.model."
_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<which>A|B)(?:\.[^.]+)?\.weight$")


def _pattern_value(patterns, module, default):
    """peft's rank_pattern / alpha_pattern: a key matches a module name or a
    suffix of it after a dot (keys may be regular expressions)."""
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?{key}$", module):
            return value
    return default


class Adapter:
    def __init__(self, directory):
        self.directory = directory
        if not os.path.isdir(directory):
            raise HFError(f"{directory}: adapter directory not found")
        config = read_json(os.path.join(directory, "adapter_config.json"), "adapter_config.json")
        self.name = os.path.basename(os.path.normpath(directory))
        where = f"{directory}/adapter_config.json"
        if config.get("peft_type", "LORA") != "LORA":
            raise HFError(f"{where}: peft_type {config.get('peft_type')!r} is not supported "
                          "(only LORA)")
        for field, ok in (("use_dora", lambda v: not v), ("fan_in_fan_out", lambda v: not v),
                          ("bias", lambda v: v in (None, "none")),
                          ("modules_to_save", lambda v: not v),
                          ("layers_to_transform", lambda v: v is None),
                          ("use_qalora", lambda v: not v),
                          ("lora_bias", lambda v: not v),
                          ("target_parameters", lambda v: not v)):
            if field in config and not ok(config[field]):
                raise HFError(f"{where}: {field}={config[field]!r} is not supported")
        try:
            self.r = int(config["r"])
            self.alpha = float(config.get("lora_alpha", 8))
        except (KeyError, TypeError, ValueError):
            raise HFError(f"{where}: 'r' and 'lora_alpha' must be numbers") from None
        if self.r < 1:
            raise HFError(f"{where}: r={self.r} must be >= 1")
        self.rslora = bool(config.get("use_rslora", False))
        rank_pattern = config.get("rank_pattern") or {}
        alpha_pattern = config.get("alpha_pattern") or {}
        targets = config.get("target_modules")

        weights = os.path.join(directory, "adapter_model.safetensors")
        if not os.path.isfile(weights):
            raise HFError(f"{directory}: adapter_model.safetensors not found")
        self.tensors = TensorFiles([weights])
        pairs = {}
        for key in self.tensors.names():
            match = _KEY.match(key)
            if not key.startswith(_PREFIX) or not match:
                raise HFError(f"{weights}: tensor '{key}' is not a LoRA A/B weight of "
                              "'base_model.model.*' (embedding adapters are not supported)")
            module = match.group("module")[len(_PREFIX):]
            pairs.setdefault(module, {})[match.group("which")] = key
        if not pairs:
            raise HFError(f"{weights}: no LoRA weights")
        self.modules = {}
        for module, keys in pairs.items():
            if set(keys) != {"A", "B"}:
                raise HFError(f"{weights}: module '{module}' lacks lora_"
                              f"{'B' if 'A' in keys else 'A'}")
            if not _targeted(targets, module):
                raise HFError(f"{weights}: module '{module}' is not in target_modules "
                              f"{targets!r}")
            r = int(_pattern_value(rank_pattern, module, self.r))
            if r < 1:
                raise HFError(f"{where}: rank_pattern gives r={r} for '{module}'")
            alpha = float(_pattern_value(alpha_pattern, module, self.alpha))
            a_shape, b_shape = self.tensors.shape(keys["A"]), self.tensors.shape(keys["B"])
            if len(a_shape) != 2 or len(b_shape) != 2 or a_shape[0] != r or b_shape[1] != r:
                raise HFError(f"{weights}: module '{module}': lora_A {list(a_shape)} and "
                              f"lora_B {list(b_shape)} do not have rank r={r}")
            scale = alpha / math.sqrt(r) if self.rslora else alpha / r
            self.modules[module] = (keys["A"], keys["B"], scale)

    def check_shape(self, module, n, k):
        key_a, key_b, _ = self.modules[module]
        a_shape, b_shape = self.tensors.shape(key_a), self.tensors.shape(key_b)
        if a_shape[1] != k or b_shape[0] != n:
            raise HFError(f"adapter {self.directory}: module '{module}': lora_A "
                          f"{list(a_shape)} / lora_B {list(b_shape)} do not fit the base "
                          f"layer [{n}, {k}] (out, in)")


def _targeted(targets, module):
    if targets is None:
        return True
    if isinstance(targets, str):
        if targets == "all-linear":
            return True
        return re.fullmatch(targets, module) is not None
    leaf = module.split(".")[-1]
    return any(leaf == t or module == t or module.endswith("." + t) for t in targets)


class AdapterSet:
    """The adapters of one import. One adapter is always applied (weft.lora
    with its scale). Several are served together with weft.lora's
    multi-adapter form: per module, A and B are stacked over the adapters
    (zero-padded to the largest rank, zeros for an adapter that does not
    target the module, B pre-multiplied by each adapter's scale) and an
    `adapter_ids` input picks one adapter per batch row (-1 = none)."""

    def __init__(self, adapters):
        self.adapters = list(adapters)
        self.used = set()

    @property
    def multi(self):
        return len(self.adapters) > 1

    def __bool__(self):
        return bool(self.adapters)

    def delta(self, fb, x, module, n, k):
        present = [a for a in self.adapters if module in a.modules]
        if not present:
            return None
        for adapter in present:
            adapter.check_shape(module, n, k)
            self.used.add((adapter.directory, module))
        if not self.multi:
            adapter = present[0]
            key_a, key_b, scale = adapter.modules[module]
            a = fb.tensor_param(adapter.tensors, key_a)
            b = fb.tensor_param(adapter.tensors, key_b)
            return fb.f.lora(x, a, b, scale=scale)
        rank = max(a.tensors.shape(a.modules[module][0])[0] for a in present)
        count = len(self.adapters)

        def stack(which):
            shape = (count, rank, k) if which == "A" else (count, n, rank)
            out = np.zeros(shape, np.float32)
            for i, adapter in enumerate(self.adapters):
                if module not in adapter.modules:
                    continue
                key_a, key_b, scale = adapter.modules[module]
                if which == "A":
                    value = adapter.tensors.get(key_a)
                    out[i, :value.shape[0], :] = value
                else:
                    value = adapter.tensors.get(key_b) * np.float32(scale)
                    out[i, :, :value.shape[1]] = value
            return out

        a = fb.computed(f"adapters.{module}.lora_A", (count, rank, k), lambda: stack("A"))
        b = fb.computed(f"adapters.{module}.lora_B", (count, n, rank), lambda: stack("B"))
        return fb.f.lora(x, a, b, scale=1.0, ids=fb.adapter_ids)

    def check_all_used(self):
        """Every adapter module must be a linear layer of the model."""
        for adapter in self.adapters:
            for module in adapter.modules:
                if (adapter.directory, module) not in self.used:
                    raise HFError(f"adapter {adapter.directory}: module '{module}' is not a "
                                  "linear layer of the model")


def save_adapter(directory, config, tensors):
    """Writes a peft adapter directory (used by tests and tools)."""
    import json

    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=1)
    safetensors.save(os.path.join(directory, "adapter_model.safetensors"), tensors)
