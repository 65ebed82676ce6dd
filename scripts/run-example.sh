#!/usr/bin/env bash
# The main job on the bundled default: installs dependencies, builds weft-opt
# and runs the bundled hybrid attention + Mamba model through the verifier and
# the canonicalizer, printing the result.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" weft-opt
"$root/build/bin/weft-opt" "$root/examples/hybrid_block.mlir" -canonicalize -cse
