#!/usr/bin/env bash
# Packed variable-length batches vs padded ones, side by side in one run: `tailor train
# --packing` on alpaca_en_demo.json (SmolLM2-135M-Instruct imported by the quick start, LoRA r16
# all-linear, batch 4 rows of up to 512 tokens) against transformers + peft padding every sample
# to 512 and padding to the longest in each batch (scripts/bench/peer_packing.py). The figure is
# label tokens/s. Run ./scripts/quickstart.sh once first.
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
[ -f "$model/config.json" ] || { echo "run ./scripts/quickstart.sh first (no $model)" >&2; exit 2; }
steps="${1:-6}"
swift build -c release --product tailor >/dev/null
out=$(mktemp -d)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
.build/release/tailor train --model_name_or_path "$model" --dataset ../shared/datasets/alpaca_en_demo.json --output_dir "$out/a" \
  --r 16 --lora_alpha 32 --target_modules all-linear --packing true --max_seq_length 512 --per_device_train_batch_size 4 \
  --max_steps "$steps" --learning_rate 2e-4 --logging_steps "$steps" --save_strategy no --shuffle false 2>/dev/null | grep "^trained"
python3 scripts/bench/peer_packing.py "$model" --padding max_length --steps "$steps" 2>/dev/null | tail -1
python3 scripts/bench/peer_packing.py "$model" --padding longest --steps "$steps" 2>/dev/null | tail -1
rm -rf "$out"
