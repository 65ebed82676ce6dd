#!/usr/bin/env python3
"""Makes the Hugging Face fixtures under test/Data/hf with transformers and
peft (run where they are installed, e.g. the GPU test machine):

    python3 scripts/make-hf-fixtures.py OUT_DIR

For each supported architecture: a tiny randomly initialised checkpoint
(config.json + model.safetensors as save_pretrained writes them), random
token ids, and the logits transformers computes for them in float64 from the
stored float32 weights. Some models also get a peft LoRA adapter with random
(non-zero) A and B, and the logits with the adapter applied. Sizes come from
weft.testing.checkpoints.small_config, so the fixtures cover what the numpy
reference tests cover. python/tests/test_hf_fixtures.py compares weft's
hf-logits with them.
"""

import json
import math
import os
import sys
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python"))
from weft.testing.checkpoints import small_config  # noqa: E402

import transformers  # noqa: E402

# name -> (architecture, config overrides, LoRA target modules or None).
# peft refuses Mamba's out_proj and conv1d as LoRA targets.
FIXTURES = {
    "llama": ("LlamaForCausalLM", {}, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                       "up_proj", "down_proj"]),
    "mistral": ("MistralForCausalLM", {}, ["q_proj", "k_proj", "v_proj", "o_proj"]),
    "qwen2": ("Qwen2ForCausalLM", {}, "all-linear"),
    "mamba": ("MambaForCausalLM", {}, ["in_proj", "x_proj"]),
    "mamba2": ("Mamba2ForCausalLM", {}, ["in_proj"]),
    "jamba": ("JambaForCausalLM", {}, ["q_proj", "v_proj", "o_proj", "in_proj", "out_proj",
                                       "gate_proj", "down_proj"]),
}
BATCH, SEQ = 2, 19  # longer than Mistral's window (5), over a Mamba-2 chunk (16)


def randomize(model, generator):
    """Replaces transformers' initialisation (zero biases, unit norms, tiny
    weights) by values that make every parameter matter to the logits."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = p.shape
            if name.endswith("A_log"):
                value = p + 0.1 * torch.randn(shape, generator=generator)
            elif name.endswith(".D") or "norm" in name:
                value = 1.0 + 0.1 * torch.randn(shape, generator=generator)
            elif name.endswith("dt_bias") or name.endswith("dt_proj.bias"):
                value = p + 0.1 * torch.randn(shape, generator=generator)
            elif name.endswith("bias"):
                value = 0.1 * torch.randn(shape, generator=generator)
            elif "embed_tokens" in name or name.endswith("embeddings.weight"):
                value = torch.randn(shape, generator=generator)
            elif p.dim() == 3:  # depthwise conv1d [C, 1, K]
                value = torch.randn(shape, generator=generator) / math.sqrt(shape[-1])
            elif p.dim() == 2:
                value = torch.randn(shape, generator=generator) / math.sqrt(shape[1])
            else:
                value = p + 0.1 * torch.randn(shape, generator=generator)
            p.copy_(value.to(p.dtype))


def logits_of(model, ids):
    model = model.to(torch.float64).eval()
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(ids)).logits
    model.to(torch.float32)
    return out.to(torch.float32).numpy()


def make(name, arch, overrides, lora_targets, out_dir, seed):
    generator = torch.Generator().manual_seed(seed)
    config_dict = small_config(arch, **overrides)
    config_dict.pop("torch_dtype", None)
    config_cls = transformers.AutoConfig.for_model
    model_type = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral",
                  "Qwen2ForCausalLM": "qwen2", "MambaForCausalLM": "mamba",
                  "Mamba2ForCausalLM": "mamba2", "JambaForCausalLM": "jamba"}[arch]
    config = config_cls(model_type, **config_dict)
    config._attn_implementation = "eager"
    model = getattr(transformers, arch)(config).to(torch.float32)
    randomize(model, generator)
    directory = os.path.join(out_dir, name)
    model.save_pretrained(directory, safe_serialization=True)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, config.vocab_size, size=(BATCH, SEQ), dtype=np.int64)
    np.save(os.path.join(directory, "input_ids.npy"), ids)
    np.save(os.path.join(directory, "logits.npy"), logits_of(model, ids))
    files = sorted(os.listdir(directory))
    if lora_targets:
        import peft
        lora = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, use_rslora=(name == "llama"),
                               target_modules=lora_targets)
        wrapped = peft.get_peft_model(model, lora)
        with torch.no_grad():
            for pname, p in wrapped.named_parameters():
                if "lora_A" in pname or "lora_B" in pname:
                    p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(p.shape[1]))
        adapter_dir = os.path.join(directory, "adapter")
        wrapped.save_pretrained(adapter_dir)
        np.save(os.path.join(directory, "logits_adapter.npy"), logits_of(wrapped, ids))
        files.append("adapter/")
    print(f"{name}: {arch}, {sum(p.numel() for p in model.parameters())} parameters, {files}")


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    import peft
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "peft": peft.__version__}
    failed = []
    for seed, (name, (arch, overrides, lora)) in enumerate(FIXTURES.items()):
        try:
            make(name, arch, overrides, lora, out_dir, seed + 1)
        except Exception:  # keep going: one report for every architecture
            traceback.print_exc()
            failed.append(name)
    with open(os.path.join(out_dir, "VERSIONS.json"), "w") as f:
        json.dump(versions, f, indent=1)
    print("versions:", versions, "failed:", failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
