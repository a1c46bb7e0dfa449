#!/usr/bin/env bash
# llama.cpp applies what `tailor export gguf --lora-only` writes: adapter GGUFs (f32 and f16) of peft adapters on the
# tiny llama and qwen2 fixtures (rank_pattern / alpha_pattern on both, rsLoRA on qwen2) and, when given, a real
# SmolLM2-135M-Instruct adapter, each applied by llama.cpp to Tailor's f32 export of the base and compared with peft
# (scripts/peers/gguf_lora_check.py). Results go to docs/peers.md by hand.
#
#   scripts/peers/gguf_lora_check.sh [WORK_DIR]          # SMOL_ADAPTER=runs/dpo-real/dpo adds the real model
#
# Needs: a built tailor (TAILOR, default .build/debug/tailor), a Python with torch + transformers + peft (REF_PY,
# default /tmp/lfvenv/bin/python) and one with llama-cpp-python 0.3.36 + numpy (LLAMA_PY, default /tmp/venv-gguf/bin/python).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAILOR="${TAILOR:-$ROOT/.build/debug/tailor}"
REF_PY="${REF_PY:-/tmp/lfvenv/bin/python}"
LLAMA_PY="${LLAMA_PY:-/tmp/venv-gguf/bin/python}"
WORK="${1:-$(mktemp -d)}"
CHECK="$ROOT/scripts/peers/gguf_lora_check.py"
mkdir -p "$WORK"
status=0
check() {  # name folder adapter [base export options]
  local name="$1" folder="$2" adapter="$3"; shift 3
  "$TAILOR" export gguf --model "$folder" --outtype f32 --output "$WORK/$name-base.gguf" "$@" > "$WORK/$name-base.log" 2>&1 \
    || { echo "$name: base export failed"; tail -3 "$WORK/$name-base.log"; status=1; return; }
  "$REF_PY" "$CHECK" reference "$folder" "$adapter" "$WORK/$name.ref.json" || { status=1; return; }
  for outtype in f32 f16; do
    local rtol=1e-3; [ "$outtype" = f16 ] && rtol=1e-2
    "$TAILOR" export gguf --model "$folder" --adapter "$adapter" --lora-only --outtype "$outtype" --output "$WORK/$name-lora-$outtype.gguf" \
      > "$WORK/$name-lora-$outtype.log" 2>&1 || { echo "$name $outtype: adapter export failed"; tail -3 "$WORK/$name-lora-$outtype.log"; status=1; continue; }
    printf '%s lora %s: ' "$name" "$outtype"
    "$LLAMA_PY" "$CHECK" llamacpp "$WORK/$name-base.gguf" "$WORK/$name-lora-$outtype.gguf" "$WORK/$name.ref.json" --rtol "$rtol" || status=1
  done
}
for family in llama qwen2; do
  folder="$WORK/$family"
  mkdir -p "$folder"
  cp "$ROOT/Tests/Fixtures/models/$family/"{config.json,model.safetensors} "$folder/"
  cp "$ROOT/Tests/Fixtures/generation/chat-llama/"{tokenizer_config.json,generation_config.json} "$folder/"
  # chat-llama's character-level tokenizer with one merge, as gguf_llamacpp_check.sh makes it (llama.cpp loads no BPE
  # vocabulary without merges).
  "$REF_PY" "$ROOT/scripts/peers/merge_tokenizer.py" "$ROOT/Tests/Fixtures/generation/chat-llama/tokenizer.json" "$folder/tokenizer.json"
  # The pre-tokenizer name only matters to llama.cpp's tokenizer, which this check does not use.
  cp -r "$ROOT/Tests/Fixtures/lora-variants/patterns-$family/final" "$WORK/$family-patterns"
  check "$family-patterns" "$folder" "$WORK/$family-patterns" --pre-tokenizer gpt-2
done
if [ -n "${SMOL_ADAPTER:-}" ]; then
  check smollm2 "${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf" "$SMOL_ADAPTER"
fi
exit $status
