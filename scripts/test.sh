#!/usr/bin/env bash
# Runs the whole test suite. Installs OpenBLAS and zlib headers first when missing, NVRTC from pip
# (for the CUDA kernel-compile tests, which skip without it; no GPU is needed) and jieba's dictionary.
# Tests build optimised (-c release) with testing enabled: the kernels run as users run them, and
# the tests that drive the real SmolLM2 model take seconds instead of minutes.
# With no arguments, the model, training and generation reference tests then run again on every
# other OpenBLAS kernel family this CPU can run (TAILOR_BLAS_CORETYPE), so one machine checks
# every GEMM path it has; arguments are passed to `swift test` and skip that.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Every target lists exactly the package modules its files import (needs python3; skipped without it).
if command -v python3 >/dev/null; then swift package dump-package | python3 scripts/check_target_imports.py; fi
# No unchecked narrowing conversion (Int(x), Int32(x) ... of a non-literal) in Sources outside the
# lines marked `// allowed: <why>` (see docs/architecture.md; needs python3, skipped without it).
if command -v python3 >/dev/null; then python3 scripts/check_narrowing.py; else echo "python3 not found: scripts/check_narrowing.py skipped"; fi
if [ -z "${TAILOR_NVRTC:-}" ]; then TAILOR_NVRTC="$(./scripts/nvrtc.sh)"; export TAILOR_NVRTC; fi
# jieba 0.42.1's dictionary (pip download from PyPI, once into ~/.cache/tailor) for the jieba metric tests,
# which skip, saying so, when it cannot be had.
if [ -z "${TAILOR_JIEBA_DIR:-}" ]; then ./scripts/fetch_jieba.sh >/dev/null || echo "jieba's dictionary could not be fetched: the jieba metric tests will skip"; fi
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --skip-build "$@"
[ "$#" -eq 0 ] || exit 0

# The cores below the one Tailor chooses from cpuid (the widest): what other CPUs, or an
# OpenBLAS that does not know this one, would run.
flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
has() { for f in "$@"; do case "$flags" in *" $f "*) ;; *) return 1 ;; esac; done; }
cores=()
if has avx512f avx512bw avx512dq avx512vl; then cores+=(Haswell); fi
if has avx2 fma; then cores+=(SandyBridge); fi
if has avx; then cores+=(Prescott); fi
for core in "${cores[@]}"; do
    echo "== reference tests again with TAILOR_BLAS_CORETYPE=$core"
    TAILOR_BLAS_CORETYPE="$core" swift test -c release -Xswiftc -enable-testing --skip-build \
        --filter 'TailorModelsTests|TailorTrainingTests|TailorInferenceTests|CPUFeaturesTests|CPUKernelParityTests'
done
