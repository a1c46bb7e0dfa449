#!/usr/bin/env bash
# Builds the release `tailor` with the Swift runtime linked in (--static-swift-stdlib), strips it
# and xz-compresses it into gpu-carry/, for the GPU machine (no Swift there; what is carried is
# capped at 64 MiB). OpenBLAS, libcuda, cuBLAS and NVRTC are all loaded at run time, so the binary
# starts there. Carry gpu-carry/ (it is git-ignored) and run scripts/gpu/selftest.sh on the device.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --static-swift-stdlib --product tailor --scratch-path .build-static
mkdir -p gpu-carry
strip -o gpu-carry/tailor .build-static/release/tailor
xz -T0 -6 -f -k gpu-carry/tailor
rm gpu-carry/tailor
ls -l gpu-carry/
