#!/usr/bin/env bash
# Runs the seeded fuzzers of every reader of outside data (config.json, generation_config.json,
# tokenizer.json, tokenizer_config.json and chat templates, adapter_config.json, safetensors and
# GGUF headers, dataset JSON/JSONL/CSV, YAML recipes) longer than the test suite does.
#   scripts/fuzz.sh                 50 times the committed case counts (TAILOR_FUZZ_CASES=large)
#   TAILOR_FUZZ_CASES=N scripts/fuzz.sh    N cases per fuzzer
#   TAILOR_FUZZ_SEED=S scripts/fuzz.sh     another seed (each run prints the seeds it used)
# Each fuzzer prints its seed and case count; a failure names the seed and case and saves the input.
set -euo pipefail
cd "$(dirname "$0")/.."
export TAILOR_FUZZ_CASES="${TAILOR_FUZZ_CASES:-large}"
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --skip-build --filter 'FuzzTests' 2>&1 | tee /dev/stderr \
    | awk '/^fuzz .* cases, /{n += $3} END {print "fuzz.sh: " n " cases in all"}'
