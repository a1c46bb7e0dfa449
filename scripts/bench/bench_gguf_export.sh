#!/usr/bin/env bash
# `tailor export gguf --outtype q4_k_m` against llama.cpp's own route to the same file, convert_hf_to_gguf.py
# --outtype f16 then llama-quantize q4_k_m (llama_cpp.llama_model_quantize), on one model folder (default: the real
# SmolLM2-135M-Instruct imported with `tailor import gguf`, which has the tokenizer convert_hf_to_gguf.py needs).
# Runs the two in turn RUNS times (default 3) after a warm-up of each, with /usr/bin/time -v; prints each run's wall
# seconds, user+sys CPU seconds and peak RSS (for llama.cpp's route the larger of its two processes), then the
# medians as Markdown rows (BENCHMARKS.md, "GGUF export"). The outputs of both routes are compared tensor by tensor
# at the end (scripts/peers/gguf_compare_tensors.py: the types agree; the bytes too where the folder holds f16-exact
# values, since convert_hf_to_gguf.py rounds to f16 first). Run it on an otherwise idle machine.
#
#   scripts/bench/bench_gguf_export.sh [MODEL_DIR]
#   scripts/bench/bench_gguf_export.sh memory [WORK_DIR]     # PRESET=qwen2.5-1.5b for the smaller shapes
#
# `memory`: the exporter's own peak RSS on the Qwen2.5-7B shapes (random bf16 weights written by
# scripts/bench/make_random_folder.py, 15.2 GB, the chat-llama fixture tokenizer with one merge), exported to q4_k_m,
# against 1.5 x its largest tensor in f32 plus the mapped input (the folder's size). Needs about 20 GB of free disk
# under WORK_DIR (default: a temporary folder); everything written is removed afterwards.
#
# Needs: a release tailor (TAILOR, default .build/release/tailor); CONV_PY, a Python with torch, transformers,
# sentencepiece and numpy (convert_hf_to_gguf.py's needs); LLAMA_CPP, the llama.cpp tree vendored in
# llama-cpp-python's sdist (convert_hf_to_gguf.py, conversion/, gguf-py/); LLAMA_PY, a Python with
# llama-cpp-python 0.3.36 and gguf-py (for the comparison).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAILOR="${TAILOR:-$ROOT/.build/release/tailor}"
CONV_PY="${CONV_PY:-/tmp/venv-gguf-conv/bin/python}"
LLAMA_PY="${LLAMA_PY:-/tmp/venv-gguf/bin/python}"
LLAMA_CPP="${LLAMA_CPP:-/tmp/llamacpp-src}"
RUNS="${RUNS:-3}"
work="$(mktemp -d "${2:-${TMPDIR:-/tmp}}/bench-gguf.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# "wall cpu rss_bytes" of one command, from /usr/bin/time -v.
measure() {
  /usr/bin/time -v "$@" > "$work/time.log" 2>&1 || { tail -5 "$work/time.log" >&2; return 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3 ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2]) }
              /User time/ { cpu += $2 } /System time/ { cpu += $2 }
              /Maximum resident set size/ { rss = $2 * 1024 } END { printf "%.2f %.2f %d\n", wall, cpu, rss }' "$work/time.log"
}

if [ "${1:-}" = memory ]; then
  preset="${PRESET:-qwen2.5-7b}"
  folder="$work/$preset"
  facts=$(python3 "$ROOT/scripts/bench/make_random_folder.py" "$folder" "$preset")
  fixture="$ROOT/Tests/Fixtures/generation/chat-llama"
  cp "$fixture/tokenizer_config.json" "$fixture/generation_config.json" "$folder/"
  python3 "$ROOT/scripts/peers/merge_tokenizer.py" "$fixture/tokenizer.json" "$folder/tokenizer.json"
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(uptime | sed 's/.*load/load/')"
  echo "# $facts"
  read -r wall cpu rss < <(measure "$TAILOR" export gguf --model "$folder" --outtype q4_k_m --pre-tokenizer gpt-2 --output "$work/out.gguf")
  echo "$facts" | python3 -c '
import json, sys
f = json.load(sys.stdin)
preset, wall, cpu, rss = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
largest, mapped = f["largest_f32_bytes"], f["bytes"]
bound = 1.5 * largest + mapped
verdict = "under" if rss < bound else "OVER"
print(f"| {preset} shapes (random bf16) -> q4_k_m | {wall:.0f} s | {cpu:.0f} CPU s | peak RSS {rss / 1e9:.2f} GB | "
      f"1.5 x {largest / 1e9:.2f} GB + {mapped / 1e9:.2f} GB = {bound / 1e9:.2f} GB | {verdict} |")' "$preset" "$wall" "$cpu" "$rss"
  exit 0
fi
model="${1:-}"
if [ -z "$model" ]; then
  model="$work/smollm2"
  "$TAILOR" import gguf "$("$ROOT/scripts/fetch_smollm2.sh")" --output "$model" > /dev/null
fi

tailor_run() { measure "$TAILOR" export gguf --model "$model" --outtype q4_k_m --output "$work/tailor.gguf"; }
llamacpp_run() {
  local a b
  a=$(measure "$CONV_PY" "$LLAMA_CPP/convert_hf_to_gguf.py" "$model" --outtype f16 --outfile "$work/f16.gguf") || return 1
  b=$(measure "$LLAMA_PY" "$ROOT/scripts/bench/llama_quantize.py" "$work/f16.gguf" "$work/llamacpp.gguf" q4_k_m) || return 1
  rm -f "$work/f16.gguf"
  echo "$a $b" | awk '{ printf "%.2f %.2f %d\n", $1 + $4, $2 + $5, ($3 > $6 ? $3 : $6) }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(uptime | sed 's/.*load/load/')"
tailor_run > /dev/null
llamacpp_run > /dev/null
: > "$work/tailor.txt"; : > "$work/llamacpp.txt"
for i in $(seq "$RUNS"); do
  t=$(tailor_run); l=$(llamacpp_run)
  echo "run $i: tailor $t | convert_hf_to_gguf.py + llama-quantize $l (wall s, cpu s, peak RSS bytes)"
  echo "$t" >> "$work/tailor.txt"; echo "$l" >> "$work/llamacpp.txt"
done
row() {  # file label
  local wall cpu rss
  wall=$(cut -d' ' -f1 "$1" | median); cpu=$(cut -d' ' -f2 "$1" | median); rss=$(cut -d' ' -f3 "$1" | median)
  awk -v l="$2" -v w="$wall" -v c="$cpu" -v r="$rss" 'BEGIN { printf "| %s | %s | %s | %.0f MB |\n", l, w, c, r / 1e6 }'
}
echo "| route to SmolLM2 q4_k_m | wall s (median of $RUNS) | CPU s | peak RSS |"
echo "|---|---|---|---|"
row "$work/tailor.txt" "tailor export gguf --outtype q4_k_m"
row "$work/llamacpp.txt" "convert_hf_to_gguf.py --outtype f16 + llama-quantize q4_k_m"
PYTHONPATH="$LLAMA_CPP/gguf-py${PYTHONPATH:+:$PYTHONPATH}" "$LLAMA_PY" "$ROOT/scripts/peers/gguf_compare_tensors.py" \
  "$work/tailor.gguf" "$work/llamacpp.gguf" | tail -1
