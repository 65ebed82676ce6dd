#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (lit, GoogleTest, pytest)
# through the check-weft target. Pass --sanitize to run under ASan/UBSan.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$@" check-weft
