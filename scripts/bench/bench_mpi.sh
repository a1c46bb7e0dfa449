#!/usr/bin/env bash
# Data parallelism on this machine: the all-reduce next to a plain MPI_Allreduce loop, and training
# throughput with 1, 2 and 4 ranks at the same global batch.
#
#   ./scripts/quickstart.sh        # once: fetches and imports SmolLM2-135M-Instruct
#   scripts/bench/bench_mpi.sh     # TAILOR_BIN=.build/release/tailor to skip the build
#
# 1. `tailor launch --nproc N -- bench allreduce` (Tailor's communicator: Open MPI's non-blocking
#    all-reduce polled against ddp_timeout) and scripts/bench/mpi_allreduce_loop.c (blocking MPI_Allreduce,
#    built with mpicc) on the same sizes, N = 2 and 4 (4 ranks on a 2-core machine are oversubscribed).
# 2. LoRA r16 (all linear layers) on the real SmolLM2-135M-Instruct, alpaca_en_demo.json, cutoff_len 256,
#    STEPS steps of a global batch of 4 rows: 1 process (batch 2 × accumulation 2, all cores), 2 ranks
#    (batch 2 each, the cores split between them) and 4 ranks (batch 1 each). Tokens/s from `trained ...`.
set -euo pipefail
cd "$(dirname "$0")/../.."
tailor="${TAILOR_BIN:-.build/release/tailor}"
[ -n "${TAILOR_BIN:-}" ] || swift build -c release --product tailor >/dev/null
steps="${STEPS:-8}"
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
[ -f "$model/config.json" ] || { echo "run ./scripts/quickstart.sh first (no $model)" >&2; exit 2; }
loop="$(mktemp -d)/mpi_allreduce_loop"
mpicc -O2 -o "$loop" scripts/bench/mpi_allreduce_loop.c
root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
sizes=1024,16384,262144,4194304,16777216
for n in 2 4; do
  echo "== all-reduce, $n ranks: tailor bench allreduce"
  "$tailor" launch --nproc "$n" -- bench allreduce --sizes "$sizes" --iterations 20 | grep -v '^{'
  echo "== all-reduce, $n ranks: MPI_Allreduce loop"
  mpirun "${root[@]}" --oversubscribe -np "$n" "$loop" 20 ${sizes//,/ }
done
out="$(mktemp -d)"
common=(--model_name_or_path "$model" --dataset ../shared/datasets/alpaca_en_demo.json --cutoff_len 256 --max_steps "$steps"
        --finetuning_type lora --lora_rank 16 --lora_target all --learning_rate 1e-4 --logging_steps 1 --save_strategy no
        --train_sampling_strategy sequential --seed 42)
run() {  # name ranks batch accumulation
  local args=("${common[@]}" --per_device_train_batch_size "$3" --gradient_accumulation_steps "$4" --output_dir "$out/$1")
  local line
  if [ "$2" -eq 1 ]; then line="$("$tailor" train "${args[@]}" 2>/dev/null | grep '^trained')"
  else line="$("$tailor" launch --nproc "$2" -- train "${args[@]}" 2>/dev/null | grep '^trained')"; fi
  echo "$1 ($2 rank(s), batch $3 × accumulation $4): $line"
}
echo "== LoRA training, global batch 4 rows, $steps steps"
run one 1 2 2
run two 2 2 1
run four 4 1 1
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def losses(name):
    return [json.loads(l)["loss"] for l in open(f"{out}/{name}/metrics.jsonl") if '"grad_norm"' in l]
base = losses("one")
for name in ["two", "four"]:
    worst = max(abs(a - b) / abs(a) for a, b in zip(base, losses(name)))
    print(f"{name}: losses within {worst:.2e} relative of one process's")
PY
rm -rf "$out"
