#!/usr/bin/env bash
# Issue 16's speed rows, side by side in one run on this CPU, in rounds (A B C, A B C, ...) so that
# medians and ratios hold on a noisy machine: for each training row, Tailor with bf16 products
# (its default where the CPU has AMX or AVX512-BF16) and transformers + peft in fp32 and with
# --bf16 (autocast); the quick start's fine-tune the same way; then generation (bench_generate.sh).
#   scripts/bench/bench_cpu_bf16.sh [ROUNDS] [ROWS...]    ROWS: smollm2 qwen05 quickstart generate
# Peers need torch, transformers and peft on python3's path (BENCHMARKS.md names the versions).
# PEER_DTYPES="bf16" runs only the peer's --bf16 side (its best on a CPU with bf16 instructions;
# default "fp32 bf16"). Prints one JSON line per run (tokens/s, peak RSS); take medians per row.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; shift || true
rows=("$@"); [ ${#rows[@]} -gt 0 ] || rows=(smollm2 qwen05 quickstart generate)
read -r -a peer_dtypes <<< "${PEER_DTYPES:-fp32 bf16}"
flag() { [ "$1" = bf16 ] && echo --bf16 || true; }
swift build -c release --product tailor >/dev/null
tailor=.build/release/tailor
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "$(nproc) cores; $($tailor doctor 2>/dev/null | grep -E '^(bf16|blas core):' | tr '\n' ' ')"
quickstart_tailor() {
  local out; out=$(mktemp -d)
  $tailor train --model_name_or_path "$model" --dataset examples/persona/persona.jsonl --output_dir "$out/adapter" \
    --finetuning_type lora --r 16 --lora_alpha 32 --target_modules all-linear \
    --num_train_epochs 3 --per_device_train_batch_size 8 --learning_rate 1e-3 --lr_scheduler_type cosine \
    --warmup_ratio 0.1 --max_seq_length 256 --logging_steps 45 --save_strategy no --seed 42 2>/dev/null \
    | sed -n 's/^trained 45 steps in \([0-9.]*\) s, \([0-9.]*\) tokens\/s.*final loss \([0-9.]*\), peak RSS \([0-9.]*\) GB.*/{"tool": "tailor", "row": "quickstart", "train_s": \1, "tokens_per_s": \2, "loss": \3, "peak_rss_gb": \4}/p'
  rm -rf "$out"
}
for round in $(seq "$rounds"); do
  echo "# round $round"
  for row in "${rows[@]}"; do
    case $row in
      smollm2|qwen05)
        preset=$([ "$row" = smollm2 ] && echo smollm2-135m || echo qwen2.5-0.5b)
        peer=$([ "$row" = smollm2 ] && echo smol135 || echo qwen05)
        $tailor bench train --preset "$preset" --dtype bf16 --steps 3 | tail -1
        for d in "${peer_dtypes[@]}"; do python3 ../shared/bench/peer_hf_lora.py "$peer" 4 256 3 $(flag "$d") | tail -1; done ;;
      quickstart)
        [ -f "$model/config.json" ] || { echo "run ./scripts/quickstart.sh first (no $model)" >&2; exit 2; }
        quickstart_tailor
        for d in "${peer_dtypes[@]}"; do python3 scripts/bench/peer_quickstart.py "$model" $(flag "$d") 2>/dev/null | tail -1; done ;;
      generate)
        scripts/bench/bench_generate.sh smollm2-135m qwen2.5-0.5b | grep -v '^#' ;;
      *) echo "unknown row $row (smollm2 qwen05 quickstart generate)" >&2; exit 2 ;;
    esac
  done
done
