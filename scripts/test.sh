#!/usr/bin/env bash
# Runs the whole test suite. Installs OpenBLAS and zlib headers first when missing.
# Tests build optimised (-c release) with testing enabled: the kernels run as users run them, and
# the tests that drive the real SmolLM2 model take seconds instead of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --skip-build "$@"
