#!/usr/bin/env bash
# Tailor's quick start. Today it builds the release binary and runs the engine benchmark on
# SmolLM2-135M's shape (random weights, no download): a frozen-base training step (what LoRA
# costs), with tokens/s, GFLOP/s against a sgemm rate measured in the same run, and peak RSS.
# The end-to-end fine-tune of the real SmolLM2-135M-Instruct replaces it when `tailor train`
# lands (issue 8).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
start=$(date +%s)
swift build -c release --product tailor
echo "build: $(( $(date +%s) - start )) s"
.build/release/tailor bench step --preset smollm2-135m --batch 4 --seq 256 --steps 3
