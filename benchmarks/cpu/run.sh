#!/usr/bin/env bash
# Builds weft and runs the CPU benchmarks; extra arguments go to bench.py
# (--quick for small shapes, --json OUT.json to keep the numbers).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/scripts/install-deps.sh"
if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok"; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -qq libopenblas0-pthread
fi
"$root/scripts/build.sh" weft-compile weft-run
exec /usr/bin/python3 "$root/benchmarks/cpu/bench.py" --bin "$root/build/bin" "$@"
