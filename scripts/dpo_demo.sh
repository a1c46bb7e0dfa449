#!/usr/bin/env bash
# A real DPO run: SmolLM2-135M-Instruct (the quick start's model) on a slice of LLaMA-Factory's
# dpo_en_demo.json, beside an SFT-only adapter trained on the same slice's chosen replies, both
# then scored on held-back pairs against the base model.
#
#   ./scripts/quickstart.sh          # once: fetches and imports the model
#   ./scripts/dpo_demo.sh [OUT]      # default OUT: runs/dpo-demo
#
# The first TRAIN pairs train, the last HELD pairs are held back (pairs whose prompt alone fills
# MAX_LENGTH are dropped, as TRL drops them). Two runs, both LoRA r16 / alpha 32 on every linear
# layer, EPOCHS epochs, 4 pairs (or records) per micro-batch, gradient accumulation 2, lr LR cosine
# with warmup 0.1, seed 42 (FTX: LLaMA-Factory's pref_ftx, the DPO run's SFT term; default 0):
#   OUT/sft   stage sft on the training pairs' prompt + chosen reply (the SFT-only adapter)
#   OUT/dpo   stage dpo (sigmoid, beta 0.1) on the training pairs, evaluated on the held pairs each epoch
# It prints how the DPO run's rewards/accuracies and margins moved, then `tailor eval --metrics
# rewards` scores both adapters on the held pairs with the base model as the reference (OUT/eval).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/dpo-demo}"
train_pairs="${TRAIN:-220}" held_pairs="${HELD:-80}"
epochs="${EPOCHS:-2}" max_length="${MAX_LENGTH:-512}" lr="${LR:-2e-4}" ftx="${FTX:-0}"
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
[ -f "$model/config.json" ] || { echo "run ./scripts/quickstart.sh first (no $model)" >&2; exit 2; }
tailor="${TAILOR_BIN:-.build/release/tailor}"
[ -n "${TAILOR_BIN:-}" ] || swift build -c release --product tailor >/dev/null
mkdir -p "$out/data"
python3 - "$out/data" "$train_pairs" "$held_pairs" <<'PY'
import json, sys
folder, train, held = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pairs = json.load(open("../shared/datasets/dpo_en_demo.json", encoding="utf-8"))
assert train + held <= len(pairs), f"dpo_en_demo.json has {len(pairs)} pairs"
def dump(name, rows):
    with open(f"{folder}/{name}", "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False, indent=1)
dump("train.json", pairs[:train])
dump("held.json", pairs[len(pairs) - held:])
dump("train_sft.json", [{"conversations": p["conversations"] + [p["chosen"]]} for p in pairs[:train]])
PY
common=(--model_name_or_path "$model" --finetuning_type lora --lora_rank 16 --lora_alpha 32 --lora_target all
        --num_train_epochs "$epochs" --per_device_train_batch_size 4 --gradient_accumulation_steps 2 --learning_rate "$lr"
        --lr_scheduler_type cosine --warmup_ratio 0.1 --logging_steps 1 --save_strategy no --seed 42)
"$tailor" train "${common[@]}" --stage sft --dataset "$out/data/train_sft.json" --cutoff_len "$max_length" --output_dir "$out/sft" | grep "^trained"
"$tailor" train "${common[@]}" --stage dpo --pref_beta 0.1 --pref_loss sigmoid --pref_ftx "$ftx" --max_length "$max_length" --dataset "$out/data/train.json" \
  --eval_dataset "$out/data/held.json" --eval_strategy epoch --per_device_eval_batch_size 4 --output_dir "$out/dpo" | grep "^trained"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def evals(run):
    return [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl") if "eval_loss" in l]
def train(run):
    return [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl") if '"loss"' in l]
steps = train("dpo")
third = max(1, len(steps) // 3)
def mean(rows, key): return sum(r[key] for r in rows) / len(rows)
print("dpo training, first vs last third of the steps: "
      f"rewards/accuracies {mean(steps[:third], 'rewards/accuracies'):.3f} -> {mean(steps[-third:], 'rewards/accuracies'):.3f}, "
      f"rewards/margins {mean(steps[:third], 'rewards/margins'):.4f} -> {mean(steps[-third:], 'rewards/margins'):.4f}")
for row in evals("dpo"):
    print(f"held-back pairs at epoch {row.get('epoch', 0):.2f}, dpo adapter against the base: eval_rewards/accuracies "
          f"{row['eval_rewards/accuracies']:.4f}  eval_rewards/margins {row['eval_rewards/margins']:.4f}  eval_loss {row['eval_loss']:.4f}")
PY
"$tailor" eval --model "$model" --adapter sft="$out/sft" --adapter dpo="$out/dpo" --dataset "$out/data/held.json" \
  --metrics rewards --beta 0.1 --max-length "$max_length" --eval-batch-size 4 --output "$out/eval"
