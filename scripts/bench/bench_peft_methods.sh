#!/usr/bin/env bash
# One speed and memory row per PEFT method on the quick start's data, side by side in one run:
# `tailor train` with its defaults (bf16 products where the CPU has them) and transformers + peft under
# Trainer (scripts/bench/peer_quickstart.py) with bf16=True (PEER_DTYPES="fp32 bf16" runs both), on the
# same SmolLM2-135M-Instruct folder and samples. DoRA, PiSSA and LoRA+ train the quick start's LoRA
# (r 16, alpha 32, all-linear, 3 epochs, batch 8, lr 1e-3 cosine, warmup 0.1, max 256 tokens); IA³
# (1 epoch, lr 3e-3) and AdaLoRA (1 epoch, lr 2e-3, init_r 12, target_r 4, tinit 2, tfinal 4) as
# bench_ia3.sh and bench_adalora.sh run them; prompt tuning 20 virtual tokens from a text, 1 epoch, lr 3e-2;
# prefix tuning 20 virtual tokens, 1 epoch, lr 1e-2; P-tuning 20 virtual tokens (MLP encoder at the model's width),
# 1 epoch, lr 1e-3; OLoRA the quick start's LoRA from a QR of each weight.
# Run ./scripts/quickstart.sh once first.
#     scripts/bench/bench_peft_methods.sh [dora pissa olora loraplus ia3 adalora prompt-tuning prefix-tuning p-tuning]
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
[ -f "$model/config.json" ] || { echo "run ./scripts/quickstart.sh first (no $model)" >&2; exit 2; }
tailor="${TAILOR_BIN:-.build/release/tailor}"
[ -n "${TAILOR_BIN:-}" ] || swift build -c release --product tailor >/dev/null
methods=("$@")
[ ${#methods[@]} -gt 0 ] || methods=(dora pissa olora loraplus ia3 adalora prompt-tuning prefix-tuning p-tuning)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
lora=(--finetuning_type lora --r 16 --lora_alpha 32 --target_modules all-linear --num_train_epochs 3 --learning_rate 1e-3)
for method in "${methods[@]}"; do
  case "$method" in
    dora) flags=("${lora[@]}" --use_dora true) ;;
    pissa) flags=("${lora[@]}" --init_lora_weights pissa) ;;
    olora) flags=("${lora[@]}" --init_lora_weights olora) ;;
    loraplus) flags=("${lora[@]}" --loraplus_lr_ratio 16) ;;
    ia3) flags=(--peft_type IA3 --num_train_epochs 1 --learning_rate 3e-3) ;;
    adalora) flags=(--peft_type ADALORA --init_r 12 --target_r 4 --tinit 2 --tfinal 4 --num_train_epochs 1 --learning_rate 2e-3) ;;
    prompt-tuning) flags=(--peft_type PROMPT_TUNING --num_virtual_tokens 20 --prompt_tuning_init TEXT
                          --prompt_tuning_init_text "Answer as the assistant this persona describes." --num_train_epochs 1 --learning_rate 3e-2) ;;
    prefix-tuning) flags=(--peft_type PREFIX_TUNING --num_virtual_tokens 20 --num_train_epochs 1 --learning_rate 1e-2) ;;
    p-tuning) flags=(--peft_type P_TUNING --num_virtual_tokens 20 --num_train_epochs 1 --learning_rate 1e-3) ;;
    *) echo "unknown method $method (dora, pissa, olora, loraplus, ia3, adalora, prompt-tuning, prefix-tuning, p-tuning)" >&2; exit 2 ;;
  esac
  echo "== $method"
  "$tailor" train --model_name_or_path "$model" --dataset examples/persona/persona.jsonl --output_dir "$out/$method" "${flags[@]}" \
    --per_device_train_batch_size 8 --lr_scheduler_type cosine --warmup_ratio 0.1 --max_seq_length 256 --logging_steps 100 \
    --save_strategy no --seed 42 2>/dev/null | grep -E "^trainable|^trained"
  for dtype in ${PEER_DTYPES:-bf16}; do
    python3 scripts/bench/peer_quickstart.py "$model" "--$method" $([ "$dtype" = bf16 ] && echo --bf16) 2>/dev/null | tail -1
  done
done
