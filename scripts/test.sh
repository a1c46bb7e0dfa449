#!/usr/bin/env bash
# Runs the whole test suite. Installs OpenBLAS and zlib headers first when missing, and NVRTC
# from pip (for the CUDA kernel-compile tests, which skip without it; no GPU is needed).
# Tests build optimised (-c release) with testing enabled: the kernels run as users run them, and
# the tests that drive the real SmolLM2 model take seconds instead of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Every target lists exactly the package modules its files import (needs python3; skipped without it).
if command -v python3 >/dev/null; then swift package dump-package | python3 scripts/check_target_imports.py; fi
if [ -z "${TAILOR_NVRTC:-}" ]; then TAILOR_NVRTC="$(./scripts/nvrtc.sh)"; export TAILOR_NVRTC; fi
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --skip-build "$@"
