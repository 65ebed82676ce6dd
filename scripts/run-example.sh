#!/usr/bin/env bash
# The main job on the bundled default: installs dependencies, builds weft,
# then generates text with a small hybrid attention + Mamba model on the CPU:
#   1. write the model as a Hugging Face checkpoint (Jamba layout: attention
#      and Mamba layers interleaved, random weights in safetensors) with
#      python3 -m weft.testing.checkpoints
#   2. python3 -m weft generate: import it into weft IR (prefill + cached
#      decode), compile it ahead of time with weft-compile, bind the weights
#      through the runtime, and decode greedily, printing tokens and tokens/s
#   3. compile and run the hand-written block examples/hybrid_block.mlir with
#      weft-compile / weft-run (the tools without Python)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" weft-opt weft-compile weft-run weft_runtime

work="$root/build/example"
mkdir -p "$work"
bin="$root/build/bin"
python=/usr/bin/python3
export PYTHONPATH="$root/python" WEFT_BIN_DIR="$bin"

echo "== python3 -m weft.testing.checkpoints JambaForCausalLM"
$python -m weft.testing.checkpoints JambaForCausalLM "$work/hybrid" --seed 0

echo "== python3 -m weft generate (prompt of 8 tokens, 24 new tokens)"
$python -m weft generate "$work/hybrid" --prompt-ids 1,2,3,4,5,6,7,8 \
  --max-new-tokens 24

echo "== weft-compile + weft-run examples/hybrid_block.mlir (batch 2, 16 tokens)"
$python -m weft random-params "$root/examples/hybrid_block.mlir" \
  -o "$work/hybrid_block.safetensors"
$python - "$work" <<'PY'
import sys
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(0)
np.save(f"{work}/ids.npy", rng.integers(0, 256, size=(2, 16), dtype=np.int64))
np.save(f"{work}/positions.npy", np.tile(np.arange(16, dtype=np.int64), (2, 1)))
PY
"$bin/weft-compile" "$root/examples/hybrid_block.mlir" \
  --params "$work/hybrid_block.safetensors" -o "$work/hybrid_block.weft"
"$bin/weft-run" "$work/hybrid_block.weft" --params "$work/hybrid_block.safetensors" \
  --input "$work/ids.npy" --input "$work/positions.npy" \
  --output-dir "$work/out" --bench 20
$python -c "
import numpy as np, sys
logits = np.load(sys.argv[1] + '/out/out0.npy')
assert np.isfinite(logits).all(), 'non-finite logits'
print('logits', logits.dtype, list(logits.shape), 'argmax row 0:', logits[0].argmax(-1).tolist())
" "$work"
