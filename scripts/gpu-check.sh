#!/usr/bin/env bash
# GPU checks in two halves, for a GPU machine that has CUDA, PyTorch and
# transformers but no LLVM/MLIR (so it cannot run weft-compile):
#
#   scripts/gpu-check.sh prepare [DIR]   # here: compile everything for cuda
#   scripts/gpu-check.sh pack [DIR]      # here: the cache as DIR/cache.tar.xz
#   scripts/gpu-check.sh run [DIR] [OUT] # there: run it, compare, benchmark
#   scripts/gpu-check.sh sanitize [DIR] [OUT]  # there: the thread-block
#       kernels' numerical tests under compute-sanitizer (memcheck: out of
#       bounds and misaligned accesses; racecheck: shared-memory hazards;
#       synccheck: barriers), each failing on the first error it reports
#
# `prepare` fills DIR (default .device) with weft-run, the runtime library and
# an artifact cache (WEFT_ARTIFACT_CACHE, see python/weft/tools.py) holding
# every program of the numerical suite (the thread-block forms of attention
# and the scan included) and of the Hugging Face fixture tests, compiled for
# --target=cuda; the fixtures also with the fused thread-block kernels
# (WEFT_GPU_FORMS=blocks) and with attention's register forms
# (WEFT_GPU_FORMS=registers). Copy DIR with the source tree to the GPU machine
# and run `run` there: the suites then take their programs from the cache and
# draw fresh random inputs and numpy references on that machine. `pack`
# (after `prepare` and `benchmarks/gpu/bench.py --prepare`) compresses the
# cache (about 80 MB of artifacts, 4 MB packed) for the trip; `run` and
# `sanitize` unpack it when DIR has the archive and no cache.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: gpu-check.sh prepare|pack|run|sanitize [DIR] [OUT]}
dir=$(realpath -m "${2:-.device}")
out=${3:-${OUT:-/tmp/weft-gpu-check}}
py=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1 WEFT_TARGET=cuda WEFT_ARTIFACT_CACHE="$dir/cache"

unpack_cache() {
  if [ ! -d "$dir/cache" ] && [ -f "$dir/cache.tar.xz" ]; then
    tar -C "$dir" -xJf "$dir/cache.tar.xz"
  fi
}

case "$mode" in
prepare)
  bin=${WEFT_BUILD_DIR:-build}
  mkdir -p "$dir/bin" "$dir/lib"
  cp "$bin/bin/weft-run" "$dir/bin/"
  cp "$bin/lib/libweft_runtime.so" "$dir/lib/"
  export WEFT_BIN_DIR=$PWD/$bin/bin WEFT_COMPILE_ONLY=1
  "$py" -m pytest -q -p no:cacheprovider test/Numerics python/tests/test_hf_fixtures.py
  for forms in blocks registers; do
    WEFT_GPU_FORMS=$forms "$py" -m pytest -q -p no:cacheprovider python/tests/test_hf_fixtures.py
  done
  echo "cache: $(ls "$dir/cache" | wc -l) entries, $(du -sh "$dir/cache" | cut -f1)"
  ;;
pack)
  tar -C "$dir" -cJf "$dir/cache.tar.xz" cache
  echo "packed: $(du -sh "$dir/cache.tar.xz" | cut -f1) $dir/cache.tar.xz"
  ;;
run)
  unpack_cache
  mkdir -p "$out"
  export WEFT_BIN_DIR=$dir/bin LD_LIBRARY_PATH=$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  status=0
  "$py" -m pytest -q -p no:cacheprovider -rs test/Numerics python/tests/test_hf_fixtures.py \
    2>&1 | tee "$out/numerics.log" || status=1
  for forms in blocks registers; do
    WEFT_GPU_FORMS=$forms "$py" -m pytest -q -p no:cacheprovider -rs \
      python/tests/test_hf_fixtures.py 2>&1 | tee "$out/fixtures-$forms.log" || status=1
  done
  exit $status
  ;;
sanitize)
  unpack_cache
  mkdir -p "$out"
  export WEFT_BIN_DIR=$dir/bin LD_LIBRARY_PATH=$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  sanitizer=$(command -v compute-sanitizer || echo "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer")
  if [ ! -x "$sanitizer" ]; then
    echo "gpu-check.sh sanitize: skipped: compute-sanitizer not found (PATH, \$CUDA_HOME/bin)"
    exit 0
  fi
  # Freed device blocks go back to the driver (the runtime's block cache
  # would hide use after free from memcheck).
  export WEFT_CUDA_CACHE_MB=0
  status=0
  for tool in memcheck racecheck synccheck; do
    WEFT_RUN_PREFIX="$sanitizer --tool $tool --error-exitcode 99 --print-limit 8" \
      "$py" -m pytest -q -p no:cacheprovider -rs test/Numerics/test_attention.py \
      test/Numerics/test_contraction.py test/Numerics/test_sequence.py \
      test/Numerics/test_gpu_loops.py test/Numerics/test_simt_kernels.py \
      test/Numerics/test_attention_registers.py test/Numerics/test_attention_decode.py \
      test/Numerics/test_ssm_chunks.py \
      -k "blocks or tiles or race_free or simt or registers or attention_decode or chunks" \
      2>&1 | tee "$out/sanitize-$tool.log" || status=1
  done
  exit $status
  ;;
*)
  echo "gpu-check.sh: unknown mode '$mode' (expected prepare, pack, run or sanitize)" >&2
  exit 2
  ;;
esac
