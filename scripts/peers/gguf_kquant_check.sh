#!/usr/bin/env bash
# Tailor's k-quant presets vs llama.cpp's quantizer on the real SmolLM2-135M-Instruct (imported from its GGUF):
# Tailor's f32 and f16 exports quantized by llama_cpp.llama_model_quantize, against Tailor's own exports to the same
# preset from the same values (the f32 folder; the folder imported from the f16 export): per-tensor types and bytes
# identical, perplexity on ../shared/datasets/c4_demo.jsonl within 0.5%. See scripts/peers/gguf_kquant_check.py;
# results go to docs/peers.md by hand.
#
#   scripts/peers/gguf_kquant_check.sh [WORK_DIR] [PRESET ...]     # default presets: q4_k_m q6_k
#
# Needs a built tailor (TAILOR) and a Python with llama-cpp-python, numpy and gguf-py (LLAMA_PY; gguf-py may come
# on PYTHONPATH).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAILOR="${TAILOR:-$ROOT/.build/debug/tailor}"
LLAMA_PY="${LLAMA_PY:-/tmp/venv-gguf/bin/python}"
TEXT="${TEXT:-$ROOT/../shared/datasets/c4_demo.jsonl}"
WORK="${1:-$(mktemp -d)}"
shift || true
if [ "$#" -eq 0 ]; then PRESETS=(q4_k_m q6_k); else PRESETS=("$@"); fi
mkdir -p "$WORK"
SMOL="$("$ROOT/scripts/fetch_smollm2.sh")"
[ -f "$WORK/smollm2/config.json" ] || "$TAILOR" import gguf "$SMOL" --output "$WORK/smollm2" > /dev/null
for outtype in f32 f16; do
  "$TAILOR" export gguf --model "$WORK/smollm2" --outtype $outtype --output "$WORK/smollm2-$outtype.gguf" > /dev/null 2>&1
done
# The f16 file's values as a folder: what a model whose weights are f16 (or bf16) gives Tailor.
rm -rf "$WORK/smollm2-f16"
"$TAILOR" import gguf "$WORK/smollm2-f16.gguf" --output "$WORK/smollm2-f16" > /dev/null
args=()
for preset in "${PRESETS[@]}"; do
  "$TAILOR" export gguf --model "$WORK/smollm2" --outtype "$preset" --output "$WORK/smollm2-tailor-$preset.gguf" 2>/dev/null
  "$TAILOR" export gguf --model "$WORK/smollm2-f16" --outtype "$preset" --output "$WORK/smollm2-f16-tailor-$preset.gguf" 2>/dev/null
  args+=("$preset=$WORK/smollm2-tailor-$preset.gguf,$WORK/smollm2-f16-tailor-$preset.gguf")
done
"$LLAMA_PY" "$ROOT/scripts/peers/gguf_kquant_check.py" "$WORK/smollm2-f32.gguf" "$WORK/smollm2-f16.gguf" "$TEXT" "${args[@]}" \
  --tokens "${TOKENS:-2048}"
