#!/usr/bin/env bash
# The quick start's fine-tune, side by side in one run: `tailor train` and transformers + peft
# (scripts/bench/peer_quickstart.py) on the folder `tailor import gguf` wrote, same data, LoRA,
# schedule and epochs. Run ./scripts/quickstart.sh once first (it fetches and imports the model).
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
[ -f "$model/config.json" ] || { echo "run ./scripts/quickstart.sh first (no $model)" >&2; exit 2; }
swift build -c release --product tailor >/dev/null
out=$(mktemp -d)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
.build/release/tailor train --model_name_or_path "$model" --dataset examples/persona/persona.jsonl --output_dir "$out/adapter" \
  --finetuning_type lora --r 16 --lora_alpha 32 --target_modules all-linear \
  --num_train_epochs 3 --per_device_train_batch_size 8 --learning_rate 1e-3 --lr_scheduler_type cosine \
  --warmup_ratio 0.1 --max_seq_length 256 --logging_steps 45 --save_strategy no --seed 42 2>/dev/null | grep "^trained"
python3 scripts/bench/peer_quickstart.py "$model" 2>/dev/null | tail -1
rm -rf "$out"
