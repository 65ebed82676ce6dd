#!/usr/bin/env bash
# Configures (once) and builds weft with ninja and ccache.
#   scripts/build.sh [--sanitize] [ninja targets...]
# Builds into build/ (or build-sanitize/ with --sanitize).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

build_dir="$root/build"
cmake_args=()
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build_dir="$root/build-sanitize"
  cmake_args+=(-DWEFT_ENABLE_SANITIZERS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build_dir" \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache \
    -DPython3_EXECUTABLE=/usr/bin/python3 "${cmake_args[@]}"
fi
ninja -C "$build_dir" "$@"
