#!/usr/bin/env bash
# The main job on the bundled default: installs dependencies, builds weft,
# then compiles the bundled hybrid attention + Mamba-2 model
# (examples/hybrid_block.mlir) ahead of time and runs it on the CPU:
#   1. draw its weights into a safetensors archive (python3 -m weft random-params)
#   2. weft-compile it into an artifact (shared object + manifest)
#   3. weft-run it on a batch of token ids and print the next-token predictions
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" weft-compile weft-run

work="$root/build/example"
mkdir -p "$work"
bin="$root/build/bin"
python=/usr/bin/python3

PYTHONPATH="$root/python" $python -m weft random-params \
  "$root/examples/hybrid_block.mlir" -o "$work/hybrid_block.safetensors"

$python - "$work" <<'PY'
import sys
import numpy as np
work = sys.argv[1]
batch, seq = 2, 16
rng = np.random.default_rng(0)
np.save(f"{work}/ids.npy", rng.integers(0, 256, size=(batch, seq), dtype=np.int64))
np.save(f"{work}/positions.npy", np.tile(np.arange(seq, dtype=np.int64), (batch, 1)))
PY

echo "== weft-compile examples/hybrid_block.mlir"
"$bin/weft-compile" "$root/examples/hybrid_block.mlir" \
  --params "$work/hybrid_block.safetensors" -o "$work/hybrid_block.weft"

echo "== weft-run (batch 2, 16 tokens)"
"$bin/weft-run" "$work/hybrid_block.weft" --params "$work/hybrid_block.safetensors" \
  --input "$work/ids.npy" --input "$work/positions.npy" \
  --output-dir "$work/out" --bench 20

$python - "$work" <<'PY'
import sys
import numpy as np
work = sys.argv[1]
logits = np.load(f"{work}/out/out0.npy")
ids = np.load(f"{work}/ids.npy")
assert np.isfinite(logits).all(), "non-finite logits"
print(f"logits: {logits.dtype}{list(logits.shape)}")
for b in range(ids.shape[0]):
    print(f"row {b}: input ids {ids[b].tolist()}")
    print(f"       argmax next  {logits[b].argmax(-1).tolist()}")
PY
