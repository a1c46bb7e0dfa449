#!/usr/bin/env bash
# Prints the path of libnvrtc.so.13 from pip's nvidia-cuda-nvrtc 13.0 (the GPU machines' CUDA
# 13.0), installing the wheel first when it is missing. Prints nothing (and exits 0) when python3
# or pip cannot provide it: the kernel-compile tests then skip and say why.
#   export TAILOR_NVRTC="$(scripts/nvrtc.sh)"
set -uo pipefail
command -v python3 >/dev/null || exit 0
locate() {
  python3 - <<'PY' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("nvidia")
for root in (spec.submodule_search_locations if spec else []):
    path = os.path.join(root, "cu13", "lib", "libnvrtc.so.13")
    if os.path.exists(path):
        print(path)
        break
PY
}
path="$(locate)"
if [ -z "$path" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "nvidia-cuda-nvrtc==13.0.*" >/dev/null 2>&1 || true
  path="$(locate)"
fi
echo "$path"
