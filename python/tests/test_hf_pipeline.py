"""The pass pipeline between import and compilation: a weft-opt pass listed by
`pipeline()` runs on the imported module (here weft-fuse-epilogues, which
folds the residual adds and SiLU into the linears) and the compiled model
still matches the reference."""

import numpy as np

from conftest import require_runtime
from test_hf_models import check_logits
from weft.hf import compiled, import_model
from weft.testing import checkpoints, reference

RNG = np.random.default_rng()


def test_a_pipeline_pass_runs_on_the_imported_module(tmp_path, monkeypatch):
    require_runtime()
    config = checkpoints.small_config("JambaForCausalLM")
    tensors = checkpoints.write_checkpoint(str(tmp_path / "hf"), config, RNG)
    monkeypatch.setattr(compiled, "pipeline", lambda quantize=None, target="cpu":
                        ["--weft-fuse-epilogues"])
    model = compiled.CompiledModel(import_model(str(tmp_path / "hf")), str(tmp_path / "w"),
                                   functions=("prefill",))
    optimized = (tmp_path / "w" / "model.step0.mlir").read_text()
    # Every layer's two residual adds are now linear epilogues.
    assert optimized.count(" residual ") == 2 * config["num_hidden_layers"]
    ids = RNG.integers(0, config["vocab_size"], (2, 8))
    check_logits(model.forward(ids), reference.forward(config, tensors, ids), "fused Jamba")
