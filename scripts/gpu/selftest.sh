#!/usr/bin/env bash
# On the GPU machine: unpacks the binary scripts/gpu/pack.sh made and runs the GPU checks.
# Output (and the kernel cache) go to $OUT when the device tool sets it.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/tailor-gpu}"
mkdir -p "$out"
xz -d -k -c gpu-carry/tailor.xz > /tmp/tailor && chmod +x /tmp/tailor
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/nvidia-smi.txt"
TAILOR_KERNEL_CACHE=/tmp/tailor-kernels /tmp/tailor selftest --device cuda 2>&1 | tee "$out/selftest.txt"
exit "${PIPESTATUS[0]}"
