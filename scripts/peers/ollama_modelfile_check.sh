#!/usr/bin/env bash
# The Ollama Modelfiles `tailor export gguf` writes (ChatML, Llama 3, Mistral) render in Go's text/template, with the
# values Ollama's template.Execute passes, what transformers renders from the model's Jinja template. The model is
# the SentencePiece fixture (Tests/Fixtures/formats/gguf/spm/model) with each chat template put into its
# tokenizer_config.json. Ollama itself is not run (no Ollama binary here; PyPI's `ollama` is only its client).
#
#   scripts/peers/ollama_modelfile_check.sh [WORK_DIR]
#
# Needs: a built tailor (TAILOR, default .build/release/tailor), Go (`apt-get install golang-go`; 1.19 works) and a
# Python with transformers + jinja2 (REF_PY, default /tmp/venv-gguf-spm/bin/python).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAILOR="${TAILOR:-$ROOT/.build/release/tailor}"
REF_PY="${REF_PY:-/tmp/venv-gguf-spm/bin/python}"
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK"
status=0
for template in SmolLM2-135M-Instruct Qwen-Qwen2.5-7B-Instruct builtin-llama3 builtin-mistral; do
  folder="$WORK/$template"
  rm -rf "$folder"
  cp -r "$ROOT/Tests/Fixtures/formats/gguf/spm/model" "$folder"
  "$REF_PY" - "$ROOT/Tests/Fixtures/templates/$template.json" "$folder/tokenizer_config.json" "$ROOT/../shared/templates" <<'PY'
import json, os, sys
fixture = json.load(open(sys.argv[1]))
source = fixture.get("source") or open(os.path.join(sys.argv[3], fixture["file"])).read()
config = json.load(open(sys.argv[2]))
config["chat_template"] = source
json.dump(config, open(sys.argv[2], "w"), ensure_ascii=False)
PY
  "$TAILOR" export gguf --model "$folder" --outtype f32 --output "$WORK/$template.gguf" > "$WORK/$template.log" 2>&1 \
    || { echo "$template: export failed"; tail -3 "$WORK/$template.log"; status=1; continue; }
  [ -f "$WORK/$template.Modelfile" ] || { echo "$template: no Modelfile: $(grep -i modelfile "$WORK/$template.log")"; status=1; continue; }
  printf '%s: ' "$template"
  "$REF_PY" "$ROOT/scripts/peers/ollama_modelfile_check.py" "$folder" "$WORK/$template.Modelfile" || status=1
done
exit $status
