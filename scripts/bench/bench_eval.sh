#!/usr/bin/env bash
# tailor eval against a transformers generate + metrics script (scripts/bench/peer_eval.py) on the same
# CPU, one after the other: the first N records of ../shared/datasets/alpaca_en_demo.json on SmolLM2-135M-
# Instruct (the quick start's imported folder), greedy, batch 8, MAX_NEW_TOKENS new tokens, the generation
# metrics only (no perplexity), whole-process wall time of each.
#   scripts/bench/bench_eval.sh [N=200] [MAX_NEW_TOKENS=64]
# PEER_DTYPE: the peer's torch dtype (float32, default, or bfloat16).
# Needs the peer's Python (PEER_PYTHON, default python3) with torch, transformers and the metric packages
# of scripts/reference/requirements.txt, and the SmolLM2 folder (scripts/quickstart.sh imports it).
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-200}"; new="${2:-64}"
model="${TAILOR_CACHE:-$HOME/.cache/tailor}/smollm2/hf"
data=../shared/datasets/alpaca_en_demo.json
tailor="${TAILOR_BIN:-.build/release/tailor}"   # TAILOR_BIN: a release binary built already (no build here)
[ -n "${TAILOR_BIN:-}" ] || swift build -c release --product tailor >/dev/null
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
t0=$(date +%s.%N)
"$tailor" eval --model "$model" --dataset "$data" --max-samples "$n" --max-new-tokens "$new" --batch-size 8 \
  --metrics bleu-4,rouge,sacrebleu,rouge-score,exact,contains --output /tmp/tailor-bench-eval
t1=$(date +%s.%N)
"${PEER_PYTHON:-python3}" scripts/bench/peer_eval.py "$model" "$data" "$n" "$new" 8 --dtype "${PEER_DTYPE:-float32}"
t2=$(date +%s.%N)
python3 -c "a=$t1-$t0; b=$t2-$t1; print(f'tailor eval {a:.1f} s, peer {b:.1f} s, ratio {b/a:.2f}x')"
