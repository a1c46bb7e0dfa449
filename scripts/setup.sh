#!/usr/bin/env bash
# Installs what Tailor needs on a fresh Debian/Ubuntu machine: OpenBLAS (the CPU GEMM).
# Idempotent: does nothing when it is already there.
set -euo pipefail
if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so'; then
  echo "setup: installing OpenBLAS (libopenblas-dev)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas-dev >/dev/null
fi
