#!/usr/bin/env bash
# The 20-step bf16 LoRA run of issue #9, tailor against transformers + peft on the same base
# weights, initial adapter and batches (scripts/gpu/lora_parity.py says how each side is set up).
#   On the GPU machine (binary from scripts/gpu/pack.sh, carried as gpu-carry/):
#     scripts/gpu/lora_parity.sh               # smol135 architecture, --device cuda
#   Here, to check the harness itself on the CPU (release build of tailor):
#     scripts/gpu/lora_parity.sh tiny cpu
# Output goes to $OUT when the device tool sets it; exit status 1 when a step differs by over 2%.
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${1:-smol135}"
device="${2:-cuda}"
out="${OUT:-/tmp/tailor-parity-out}"
work="$(mktemp -d /tmp/tailor-parity.XXXXXX)"
mkdir -p "$out"
if [ -f gpu-carry/tailor.xz ]; then
    xz -d -k -c gpu-carry/tailor.xz > "$work/tailor" && chmod +x "$work/tailor"
    tailor="$work/tailor"
else
    tailor=".build/release/tailor"
fi
if [ "$device" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/nvidia-smi.txt"
fi
python3 scripts/gpu/lora_parity.py prepare "$work" --model "$model" --device "$device" 2>&1 | tee "$out/peer.txt"
TAILOR_KERNEL_CACHE="$work/kernels" "$tailor" train "$work/recipe.yaml" 2>&1 | tee "$out/tailor-train.txt"
cp "$work/tailor-out/metrics.jsonl" "$out/tailor-metrics.jsonl"
cp "$work/peer.json" "$out/peer.json"
python3 scripts/gpu/lora_parity.py compare "$work" | tee "$out/parity.txt"
exit "${PIPESTATUS[0]}"
