#!/usr/bin/env bash
# Installs what Tailor needs on a fresh Debian/Ubuntu machine: OpenBLAS (the CPU GEMM), oneDNN
# (bf16 products on CPUs with AMX or AVX512-BF16; loaded at run time, fp32 without it), zlib's
# headers (PNG output) and Open MPI (data-parallel training: `tailor launch`, `mpirun ... tailor train`;
# loaded at run time, so Tailor builds and trains in one process without it).
# Idempotent: does nothing when they are already there.
set -euo pipefail
missing=()
ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so' || missing+=(libopenblas-dev)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
case "$(uname -m)" in x86_64 | aarch64) ldconfig -p 2>/dev/null | grep -q 'libdnnl\.so\.2' || missing+=(libdnnl2) ;; esac
command -v mpirun >/dev/null || missing+=(openmpi-bin)
command -v ip >/dev/null || missing+=(iproute2)  # the two-host test makes network namespaces
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
