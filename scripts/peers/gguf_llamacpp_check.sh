#!/usr/bin/env bash
# llama.cpp itself reads what `tailor export gguf` writes: f32 and f16 exports of the tiny fixture families (with the
# chat-llama tokenizer) and of the real SmolLM2-135M-Instruct (imported from its GGUF), checked by
# scripts/peers/gguf_llamacpp_check.py against transformers on the same folders. Results go to docs/peers.md by hand.
#
#   scripts/peers/gguf_llamacpp_check.sh [WORK_DIR]
#
# SETS (default "families spm smollm2") picks what runs: the tiny families, the SentencePiece fixture
# (Tests/Fixtures/formats/gguf/spm/model: tokenizer.model, and the same folder without it, read as LlamaHfVocab;
# llama.cpp's ids for several texts must equal transformers'), SmolLM2. LLAMA_CPP_LIB_PATH, when set, is passed on
# (a llama-cpp-python installed with -DLLAMA_BUILD=OFF loads libllama.so from there).
#
# Needs: a built tailor (TAILOR, default .build/debug/tailor), a Python with torch + transformers + jinja2
# (REF_PY, default /tmp/lfvenv/bin/python) and one with llama-cpp-python + numpy + jinja2 (LLAMA_PY, default
# /tmp/venv-gguf/bin/python; `pip install llama-cpp-python==0.3.36 jinja2 numpy diskcache` builds llama.cpp from source).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAILOR="${TAILOR:-$ROOT/.build/debug/tailor}"
REF_PY="${REF_PY:-/tmp/lfvenv/bin/python}"
LLAMA_PY="${LLAMA_PY:-/tmp/venv-gguf/bin/python}"
WORK="${1:-$(mktemp -d)}"
CHECK="$ROOT/scripts/peers/gguf_llamacpp_check.py"
mkdir -p "$WORK"
status=0
SETS="${SETS:-families spm smollm2}"
check() {  # folder gguf-name outtype [--pre-tokenizer NAME]; TEXTS=--texts compares more texts' ids
  local folder="$1" name="$2" outtype="$3"; shift 3
  local out="$WORK/$name-$outtype.gguf" ref="$WORK/$name-$outtype.ref.json" rtol=1e-3 f16=""
  # f16: the reference holds the file's f16 weights and rounds each linear's input to f16, as llama.cpp's CPU F16
  # mat-mul does (without that rounding the logits differ by 1.1-1.5e-3; with it by at most 6.5e-4).
  [ "$outtype" = f16 ] && f16="--f16 --f16-activations"
  "$TAILOR" export gguf --model "$folder" --outtype "$outtype" --output "$out" "$@" > "$WORK/$name-$outtype.log" 2>&1 \
    || { echo "{\"file\": \"$out\", \"export_failed\": true}"; tail -3 "$WORK/$name-$outtype.log"; status=1; return; }
  "$REF_PY" "$CHECK" reference "$folder" "$ref" $f16 || { status=1; return; }
  printf '%s %s: ' "$name" "$outtype"
  "$LLAMA_PY" "$CHECK" llamacpp "$out" "$ref" --rtol "$rtol" ${TEXTS:-} || status=1
}
case " $SETS " in *" families "*) ;; *) FAMILIES_OFF=1 ;; esac
for family in llama llama-tied llama3-rope mistral qwen2 qwen3; do
  [ -n "${FAMILIES_OFF:-}" ] && break
  folder="$WORK/$family"
  mkdir -p "$folder"
  cp "$ROOT/Tests/Fixtures/models/$family/"{config.json,model.safetensors} "$folder/"
  cp "$ROOT/Tests/Fixtures/generation/chat-llama/"{tokenizer_config.json,generation_config.json} "$folder/"
  # chat-llama's character-level tokenizer with one merge ("h e" -> "he" as id 95), as GGUFExportTests makes it:
  # llama.cpp loads no BPE vocabulary without merges.
  "$REF_PY" "$ROOT/scripts/peers/merge_tokenizer.py" "$ROOT/Tests/Fixtures/generation/chat-llama/tokenizer.json" "$folder/tokenizer.json"
  for outtype in f32 f16; do check "$folder" "$family" "$outtype" --pre-tokenizer gpt-2; done
done
case " $SETS " in *" spm "*)
  for variant in spm spm-llama-hf; do
    folder="$WORK/$variant"
    rm -rf "$folder"
    cp -r "$ROOT/Tests/Fixtures/formats/gguf/spm/model" "$folder"
    [ "$variant" = spm-llama-hf ] && rm "$folder/tokenizer.model"
    for outtype in f32 f16; do TEXTS=--texts check "$folder" "$variant" "$outtype"; done
  done ;;
esac
case " $SETS " in *" smollm2 "*) ;; *) exit $status ;; esac
SMOL="$("$ROOT/scripts/fetch_smollm2.sh")" && {
  "$TAILOR" import gguf "$SMOL" --output "$WORK/smollm2" > /dev/null
  for outtype in f32 f16; do check "$WORK/smollm2" smollm2 "$outtype"; done
}
exit $status
