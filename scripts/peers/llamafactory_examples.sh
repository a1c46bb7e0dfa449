#!/usr/bin/env bash
# Runs LLaMA-Factory's own example recipes through `tailor train --dry-run`.
#   scripts/peers/llamafactory_examples.sh LF_CHECKOUT MODEL_FOLDER
# LF_CHECKOUT: a checkout of LLaMA-Factory (its examples/ and data/dataset_info.json; none of it is
# committed here). MODEL_FOLDER: a local model with tokenizer.json and a chat template, which
# replaces the hub name each example trains. Each example keeps every other key (its `template`
# too: LLaMA-Factory's template names are Tailor's); only model_name_or_path and output_dir change,
# and dataset_dir points at LF's data/ with the demo files of ../shared/datasets.
# SFT, full, pretraining, dpo and the QLoRA one (quantization_bit: 4) must dry-run; rm must stop with
# "not implemented"; kto (per_device_train_batch_size 1) must stop asking for a batch of 2, which
# TRL's batch KL estimate needs (LLaMA-Factory builds its KL pairs while preprocessing instead).
# TAILOR_BIN: the binary (default .build/release/tailor).
set -euo pipefail
lf="$1"; model="$2"
tailor="${TAILOR_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/.build/release/tailor}"
shared="$(cd "$(dirname "$0")/../../.." && pwd)/shared/datasets"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
cp "$lf/data/dataset_info.json" "$work/data/"
for f in "$shared"/*.json "$shared"/*.jsonl; do ln -s "$f" "$work/data/"; done
failed=0
for example in train_lora/qwen3_lora_sft train_full/qwen3_full_sft train_lora/qwen3_lora_pretrain \
               train_lora/qwen3_lora_dpo train_lora/qwen3_lora_kto train_lora/qwen3_lora_reward \
               train_qlora/qwen3_lora_sft_otfq; do
    sed -e "s#^model_name_or_path:.*#model_name_or_path: $model#" -e "s#^output_dir:.*#output_dir: $work/out#" \
        "$lf/examples/$example.yaml" > "$work/recipe.yaml"
    echo "dataset_dir: $work/data" >> "$work/recipe.yaml"
    if output=$("$tailor" train "$work/recipe.yaml" --dry-run 2>&1); then result=ok; else result=refused; fi
    case "$example" in
        *kto) expected=refused; grep -q "must be at least 2 for stage kto" <<<"$output" || expected=wrong-error ;;
        *reward) expected=refused; grep -q "is not implemented in Tailor yet" <<<"$output" || expected=wrong-error ;;
        *) expected=ok ;;
    esac
    line=$(grep -m1 -E '^(data:|Error:)' <<<"$output" || true)
    echo "$example: $result ($line)"
    if [ "$result" != "$expected" ]; then failed=1; echo "$output" | tail -5; fi
    if grep -q "is not a known option" <<<"$output"; then failed=1; echo "$example: an unknown key"; fi
done
exit $failed
