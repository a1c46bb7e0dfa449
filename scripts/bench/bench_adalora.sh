#!/usr/bin/env bash
# AdaLoRA on the quick start's data, side by side in one run: `tailor train --peft_type ADALORA`
# (peft's default targets for llama: q_proj, v_proj; init_r 12, target_r 4, tinit 2, tfinal 4,
# total_step the run's steps) and transformers + peft's AdaLoraConfig under Trainer with
# update_and_allocate after each optimizer step (scripts/bench/peer_quickstart.py --adalora): the
# same SmolLM2-135M-Instruct folder, samples, 1 epoch, batch 8, lr 2e-3 cosine, warmup 0.1, max 256
# tokens, fp32. Run ./scripts/quickstart.sh once first.
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
[ -f "$model/config.json" ] || { echo "run ./scripts/quickstart.sh first (no $model)" >&2; exit 2; }
swift build -c release --product tailor >/dev/null
out=$(mktemp -d)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
.build/release/tailor train --model_name_or_path "$model" --dataset examples/persona/persona.jsonl --output_dir "$out/adapter" \
  --peft_type ADALORA --init_r 12 --target_r 4 --tinit 2 --tfinal 4 --num_train_epochs 1 --per_device_train_batch_size 8 \
  --learning_rate 2e-3 --lr_scheduler_type cosine --warmup_ratio 0.1 --max_seq_length 256 --logging_steps 15 --save_strategy no \
  --seed 42 2>/dev/null | grep -E "^trainable|^trained"
python3 scripts/bench/peer_quickstart.py "$model" --adalora 2>/dev/null | tail -1
rm -rf "$out"
