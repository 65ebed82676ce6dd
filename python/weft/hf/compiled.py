"""Compiling an imported model and running it: forward passes and greedy
generation with cached decode.

    model = import_model(hf_dir)
    compiled = CompiledModel(model, workdir)
    logits = compiled.forward(ids)
    tokens, stats = compiled.generate(prompt_ids, max_new_tokens=16)

Between import and weft-compile the module goes through `pipeline(...)`:
the list of weft-opt pass flags for the requested transformations. Adding a
transformation is one entry there.
"""

import os
import time

import numpy as np

from weft import runtime, tools
from weft.hf.checkpoint import HFError


# Weight-only round-to-nearest schemes of --quantize (docs/Quantization.md):
# int8 per output channel, symmetric; int4 in groups of 32 input features with
# zero points. Layers whose input size the group does not divide stay float.
QUANTIZE = {
    "int8": "bits=8 group-size=-1 symmetric=true",
    "int4": "bits=4 group-size=32 symmetric=false",
}


def pipeline(quantize=None, target="cpu"):
    """weft-opt flags applied to an imported module before compilation.

    Each entry is one weft-opt flag, run in order. A flag may name the
    parameter archive as `{params}` and, for passes that rewrite weights
    (weft-quantize, weft-merge-lora), the archive to write as `{params_out}`,
    e.g. "--weft-quantize=bits=8 params={params} params-out={params_out}";
    later steps, weft-compile and the runtime then use the written archive."""
    if target not in ("cpu", "cuda"):
        raise HFError(f"--target {target}: expected cpu or cuda")
    passes = []
    if quantize is not None:
        if quantize not in QUANTIZE:
            raise HFError(f"--quantize {quantize}: expected int8 or int4")
        passes.append(f"--weft-quantize={QUANTIZE[quantize]} params={{params}} "
                      "params-out={params_out}")
    return passes


class CompiledModel:
    """An imported model compiled to an artifact in `workdir`, params bound."""

    def __init__(self, model, workdir, quantize=None, target="cpu",
                 functions=("prefill", "decode"), compile_options=()):
        self.model = model
        passes = pipeline(quantize, target)
        os.makedirs(workdir, exist_ok=True)
        source = os.path.join(workdir, "model.mlir")
        with open(source, "w") as f:
            f.write(model.mlir_for(functions))
        # A single f32 checkpoint file is bound as is (parameters keep their
        # Hugging Face names); otherwise (shards, bf16/f16, adapters) the used
        # parameters are written to one f32 archive.
        params = model.sources.single_file()
        if params is None:
            params = os.path.join(workdir, "model.safetensors")
            model.write_params(params)
        # One weft-opt run per step so that weight-rewriting passes chain: each
        # reads the archive the previous one wrote.
        for step, flag in enumerate(passes):
            optimized = os.path.join(workdir, f"model.step{step}.mlir")
            params_out = os.path.join(workdir, f"model.step{step}.safetensors")
            tools.optimize(source, optimized,
                           [flag.format(params=params, params_out=params_out)])
            source = optimized
            if "{params_out}" in flag:
                params = params_out
        artifact = os.path.join(workdir, "model.weft")
        tools.compile_artifact(source, artifact, params, target, compile_options)
        self.artifact = runtime.Artifact(artifact)
        self.artifact.bind_params(params)
        self.prefill_fn = self.artifact["prefill"]
        self.decode_fn = self.artifact["decode"] if "decode" in functions else None

    def _inputs(self, ids, start, adapter_ids):
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        inputs = [ids]
        if "positions" in self.model.inputs:
            positions = start + np.arange(ids.shape[1], dtype=np.int64)
            inputs.append(np.ascontiguousarray(np.broadcast_to(positions, ids.shape)))
        if self.model.multi_adapter:
            if adapter_ids is None:
                raise HFError("several adapters are loaded: pass adapter ids (one per row)")
            adapter_ids = np.ascontiguousarray(adapter_ids, dtype=np.int64)
            if adapter_ids.shape != (ids.shape[0],):
                raise HFError(f"adapter ids: expected shape [{ids.shape[0]}], got "
                              f"{list(adapter_ids.shape)}")
            if ((adapter_ids < -1) | (adapter_ids >= len(self.model.adapters))).any():
                raise HFError(f"adapter ids must be -1 or in [0, {len(self.model.adapters)})")
            inputs.append(adapter_ids)
        elif adapter_ids is not None:
            raise HFError("adapter ids given but fewer than two adapters are loaded")
        return inputs

    @staticmethod
    def _call(function, inputs):
        """Logits as a numpy array; the state (KV cache, scan and conv states)
        stays with the runtime as Tensors, on the GPU for cuda artifacts, and
        goes back into the next call without a copy."""
        logits, *state = function(*inputs, as_tensors=True)
        return logits.numpy(), state

    def prefill(self, ids, adapter_ids=None):
        """(logits [B, S, vocab], state list) for a fresh sequence."""
        return self._call(self.prefill_fn, self._inputs(ids, 0, adapter_ids))

    def decode(self, ids, start, state, adapter_ids=None):
        """Runs new tokens `ids` [B, S] at positions start.. on `state`."""
        return self._call(self.decode_fn, [*self._inputs(ids, start, adapter_ids), *state])

    def forward(self, ids, adapter_ids=None):
        return self.prefill(ids, adapter_ids)[0]

    def forward_cached(self, ids, decoded, adapter_ids=None):
        """The logits of every position of `ids` [B, S], the last `decoded`
        tokens computed by decode calls of one token each on the cache that
        prefill left (the path generation takes), the others by prefill."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        length = ids.shape[1]
        if not 0 < decoded < length:
            raise HFError(f"decode-last {decoded}: expected 1 to {length - 1} for "
                          f"{length} tokens")
        logits, state = self.prefill(ids[:, :length - decoded], adapter_ids)
        steps = [logits]
        for position in range(length - decoded, length):
            step, state = self.decode(ids[:, position:position + 1], position, state,
                                      adapter_ids)
            steps.append(step)
        return np.concatenate(steps, axis=1)

    def generate(self, prompt, max_new_tokens, adapter_ids=None):
        """Greedy generation: prefill the prompt, then decode one token at a
        time on the cached state. Returns (tokens [B, max_new_tokens], stats)
        with the prefill and decode wall times (after a one-token warm-up)."""
        prompt = np.ascontiguousarray(prompt, dtype=np.int64)
        # Untimed warm-up on one token: the first call of an artifact starts
        # its worker threads and maps the parameters.
        _, warm = self.prefill(prompt[:, :1], adapter_ids)
        self.decode(prompt[:, :1], 1, warm, adapter_ids)
        t0 = time.perf_counter()
        logits, state = self.prefill(prompt, adapter_ids)
        t1 = time.perf_counter()
        token = logits[:, -1].argmax(-1)
        tokens = [token]
        length = prompt.shape[1]
        for _ in range(max_new_tokens - 1):
            logits, state = self.decode(token[:, None], length, state, adapter_ids)
            length += 1
            token = logits[:, -1].argmax(-1)
            tokens.append(token)
        t2 = time.perf_counter()
        batch = prompt.shape[0]
        stats = dict(prefill_s=t1 - t0, decode_s=t2 - t1,
                     prefill_tokens=batch * prompt.shape[1],
                     decode_tokens=batch * (max_new_tokens - 1))
        return np.stack(tokens, axis=1), stats
