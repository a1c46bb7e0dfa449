#!/usr/bin/env bash
# `tailor plan`'s estimate against the measured peak RSS (/usr/bin/time -v "Maximum resident set size"),
# one training run at a time: `tailor bench train` on the presets (random f32 weights, LoRA r 16 on all
# linear layers or full fine-tuning, AdamW, a warm-up step and one timed step), and `tailor train` on the
# real SmolLM2-135M-Instruct (LoRA and QLoRA, synthetic samples cut to exactly --seq tokens, 2 steps);
# last, the recipe `tailor plan --model SmolLM2 --seq 256 --global-batch 8 --output plan.yaml` recommends for this
# machine, trained for 3 steps with `tailor train plan.yaml` (the plan's estimate is its recommendation's).
# Prints one Markdown table row per run (BENCHMARKS.md, "Memory: tailor plan against the measured peak")
# and appends a JSON line to $OUT (default /tmp/bench_memory.jsonl).
# Usage: scripts/bench/bench_memory.sh [NAME ...]   (names from the list below; default: all)
# Needs: a release build (swift build -c release), /usr/bin/time; SMOLLM2 (default
# ~/.cache/tailor/smollm2/hf) for the tailor train rows. Waits while /work/notes/QUIET exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
tailor="${TAILOR:-.build/release/tailor}"
out="${OUT:-/tmp/bench_memory.jsonl}"
smollm2="${SMOLLM2:-$HOME/.cache/tailor/smollm2/hf}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name: what runs (bench PRESET METHOD BATCH SEQ CKPT | train METHOD BATCH SEQ CKPT)
configs=(
  "smol-lora:bench smollm2-135m lora 4 512 false"
  "smol-lora-ckpt:bench smollm2-135m lora 4 512 true"
  "qwen05-lora:bench qwen2.5-0.5b lora 2 512 false"
  "qwen05-lora-ckpt:bench qwen2.5-0.5b lora 2 512 true"
  "qwen15-lora:bench qwen2.5-1.5b lora 1 512 false"
  "qwen15-lora-ckpt:bench qwen2.5-1.5b lora 1 512 true"
  "smol-full:bench smollm2-135m full 4 512 false"
  "smol-full-ckpt:bench smollm2-135m full 4 512 true"
  "qwen05-full:bench qwen2.5-0.5b full 2 512 false"
  "smol-train-lora:train lora 4 512 false"
  "smol-train-qlora:train qlora 4 512 false"
  "recommended:recommended 256 8"
)

quiet_wait() { while [ -e /work/notes/QUIET ]; do sleep 30; done; }

# Peak RSS in bytes of the command line, from /usr/bin/time -v.
peak_rss() {
  /usr/bin/time -v "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; return 1; }
  awk -F': ' '/Maximum resident set size/ { print $2 * 1024 }' "$work/log"
}

# The plan's total for one configuration, in bytes (its "estimated peak memory" line, to 10 MB).
plan_total() {
  "$tailor" plan "$@" --memory 1000 --global-batch 1 | awk '/^estimated peak memory: / { printf "%.0f\n", $4 * 1e9 }'
}

# Synthetic text data: a short prompt and a reply of 700 words, so that every sample is cut to exactly
# max_seq_length tokens and a micro-batch holds batch × seq tokens, as the plan counts.
synthetic_data() {
  python3 - "$work/data.json" <<'EOF'
import json, random, sys
random.seed(0)
words = "the a of to and in is it you that he was for on are with as his they be at one have this from or had by".split()
rows = [{"instruction": "Write a long text.", "output": " ".join(random.choice(words) for _ in range(700))} for _ in range(64)]
json.dump(rows, open(sys.argv[1], "w"))
EOF
}

wanted=("$@")
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "| run | command | plan GB | measured peak RSS GB | plan / measured |"
echo "|---|---|---|---|---|"
for entry in "${configs[@]}"; do
  name="${entry%%:*}"; spec=(${entry#*:})
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  quiet_wait
  if [ "${spec[0]}" = bench ]; then
    preset="${spec[1]}" method="${spec[2]}" batch="${spec[3]}" seq="${spec[4]}" ckpt="${spec[5]}"
    flags=(--preset "$preset" --method "$method" --batch "$batch" --seq "$seq")
    [ "$ckpt" = true ] && flags+=(--gradient-checkpointing)
    command="tailor bench train ${flags[*]} --steps 1"
    measured=$(peak_rss nice -n 10 "$tailor" bench train "${flags[@]}" --steps 1)
    planned=$(plan_total --preset "$preset" --method "$method" --batch "$batch" --seq "$seq" --gradient-checkpointing "$ckpt" --r 16)
  elif [ "${spec[0]}" = recommended ]; then
    seq="${spec[1]}" global="${spec[2]}"
    [ -f "$work/data.json" ] || synthetic_data
    "$tailor" plan --model "$smollm2" --seq "$seq" --global-batch "$global" --dataset "$work/data.json" --output "$work/plan.yaml" >"$work/plan.txt"
    grep '^recommended: ' "$work/plan.txt" >&2
    command="tailor plan --model SmolLM2-135M-Instruct --seq $seq --global-batch $global --output plan.yaml; tailor train plan.yaml --max_steps 3"
    measured=$(peak_rss nice -n 10 "$tailor" train "$work/plan.yaml" --output_dir "$work/out-$name" --max_steps 3 --save_strategy no)
    grep -h 'trained 3 steps' "$work/log" >&2
    planned=$(awk '/^estimated peak memory: / { printf "%.0f\n", $4 * 1e9 }' "$work/plan.txt")
  else
    method="${spec[1]}" batch="${spec[2]}" seq="${spec[3]}" ckpt="${spec[4]}"
    [ -f "$work/data.json" ] || synthetic_data
    keys=(--model_name_or_path "$smollm2" --dataset "$work/data.json" --output_dir "$work/out-$name" --overwrite_output_dir true
          --max_seq_length "$seq" --per_device_train_batch_size "$batch" --gradient_accumulation_steps 1
          --gradient_checkpointing "$ckpt" --r 16 --lora_alpha 32 --max_steps 2 --save_strategy no --logging_steps 1 --bf16 false)
    [ "$method" = qlora ] && keys+=(--quantization_bit 4)
    command="tailor train (SmolLM2-135M-Instruct, f32 file) $method, B$batch×T$seq, 2 steps"
    measured=$(peak_rss nice -n 10 "$tailor" train "${keys[@]}")
    planned=$(plan_total --model "$smollm2" --method "$method" --batch "$batch" --seq "$seq" --gradient-checkpointing "$ckpt" --r 16)
  fi
  ratio=$(python3 -c "print(f'{$planned / $measured:.3f}')")
  printf '| %s | `%s` | %.2f | %.2f | %s |\n' "$name" "$command" "$(python3 -c "print($planned / 1e9)")" "$(python3 -c "print($measured / 1e9)")" "$ratio"
  echo "{\"run\": \"$name\", \"planned_bytes\": $planned, \"measured_peak_rss_bytes\": $measured, \"ratio\": $ratio}" >>"$out"
done
