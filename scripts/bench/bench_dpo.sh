#!/usr/bin/env bash
# DPO with LoRA side by side in one run: `tailor train --stage dpo` and TRL's DPOTrainer + peft
# (scripts/bench/peer_dpo.py, fp32 and bf16), SmolLM2-135M-Instruct as `tailor import gguf` wrote it,
# the first PAIRS (default 32) pairs of dpo_en_demo.json, 4 pairs per step, max_length 512, LoRA r16 /
# alpha 32 on every linear layer, beta 0.1 sigmoid, lr 5e-5 constant, one epoch. Each prints tokens/s
# over the real tokens of every chosen and rejected sequence and its peak RSS.
# Run ./scripts/quickstart.sh once first (it fetches and imports the model).
#   PYTHON=/path/to/venv/bin/python scripts/bench/bench_dpo.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
[ -f "$model/config.json" ] || { echo "run ./scripts/quickstart.sh first (no $model)" >&2; exit 2; }
python="${PYTHON:-python3}"
swift build -c release --product tailor >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$python" -c "import json,sys; json.dump(json.load(open('../shared/datasets/dpo_en_demo.json'))[:int(sys.argv[1])], open(sys.argv[2], 'w'))" \
  "${PAIRS:-32}" "$out/pairs.json"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
.build/release/tailor train --model_name_or_path "$model" --stage dpo --dataset "$out/pairs.json" --output_dir "$out/adapter" \
  --finetuning_type lora --lora_rank 16 --lora_alpha 32 --lora_target all --pref_beta 0.1 --pref_loss sigmoid --max_length 512 \
  --num_train_epochs 1 --per_device_train_batch_size 4 --learning_rate 5e-5 --lr_scheduler_type constant \
  --logging_steps 1 --save_strategy no --seed 42 2>/dev/null | grep "^trained"
"$python" scripts/bench/peer_dpo.py "$model" "$out/pairs.json" 2>/dev/null | tail -1
"$python" scripts/bench/peer_dpo.py "$model" "$out/pairs.json" --bf16 2>/dev/null | tail -1
