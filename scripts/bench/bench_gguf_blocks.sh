#!/usr/bin/env bash
# Issue 17's GGUF row: the quick start's fine-tune (persona data, 45 steps) on the real SmolLM2-135M-Instruct
# Q4_1 GGUF trained on its ggml blocks as they are (`--model_name_or_path FILE.gguf`), against the same run
# on its f32 import (`tailor import gguf`), in rounds (blocks, import, blocks, import, ...), with fp32
# products (bf16: false: the two must agree loss for loss) and with this CPU's default (bf16 products
# where the CPU has them). Prints one JSON line per run (seconds, tokens/s, final loss, peak RSS) and, per
# round and products, the largest relative difference of a step's loss between the two runs
# (trainer_state.json's full-precision losses).
#   scripts/bench/bench_gguf_blocks.sh [ROUNDS]        TAILOR_BIN=path skips the release build
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
tailor=${TAILOR_BIN:-.build/release/tailor}
[ -n "${TAILOR_BIN:-}" ] || swift build -c release --product tailor >/dev/null
gguf=$(scripts/fetch_smollm2.sh)
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
[ -f "$model/config.json" ] || $tailor import gguf "$gguf" --output "$model" >/dev/null 2>&1
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "$(nproc) cores; $($tailor doctor 2>/dev/null | grep -E '^(bf16|blas core):' | tr '\n' ' ')"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
train() {  # $1: row name, $2: model, $3: products (fp32 | default)
  local out="$work/$1-$3"; rm -rf "$out"
  local products=(); [ "$3" = fp32 ] && products=(--bf16 false)
  $tailor train --model_name_or_path "$2" --dataset examples/persona/persona.jsonl --output_dir "$out" \
    --finetuning_type lora --r 16 --lora_alpha 32 --target_modules all-linear \
    --num_train_epochs 3 --per_device_train_batch_size 8 --learning_rate 1e-3 --lr_scheduler_type cosine \
    --warmup_ratio 0.1 --max_seq_length 256 --logging_steps 1 --save_strategy no --seed 42 "${products[@]}" 2>/dev/null \
    | sed -n "s/^trained 45 steps in \([0-9.]*\) s, \([0-9.]*\) tokens\/s.*final loss \([0-9.]*\), peak RSS \([0-9.]*\) GB.*/{\"row\": \"$1\", \"products\": \"$3\", \"train_s\": \1, \"tokens_per_s\": \2, \"loss\": \3, \"peak_rss_gb\": \4}/p"
}
for round in $(seq "$rounds"); do
  echo "# round $round"
  for products in fp32 default; do
    train gguf-blocks "$gguf" "$products"
    train f32-import "$model" "$products"
    python3 - "$work/gguf-blocks-$products" "$work/f32-import-$products" "$products" <<'EOF'
import json, sys
def losses(folder):
    return [h["loss"] for h in json.load(open(folder + "/trainer_state.json"))["log_history"] if "loss" in h]
a, b = losses(sys.argv[1]), losses(sys.argv[2])
worst = max(abs(x - y) / abs(y) for x, y in zip(a, b))
print(json.dumps({"compare": "gguf-blocks vs f32-import", "products": sys.argv[3], "steps": len(a), "max_rel_loss_diff": worst}))
EOF
  done
done
