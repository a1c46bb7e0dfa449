#!/usr/bin/env bash
# Engine benchmark, side by side in one run: `tailor bench step` (frozen base, input gradients
# only) against transformers + peft LoRA training (../shared/bench/peer_hf_lora.py), fp32,
# on this CPU. Usage: scripts/bench/bench_step.sh [smollm2-135m|qwen2.5-0.5b] [batch] [seq]
# Needs: pip install torch transformers peft (for the peer).
set -euo pipefail
cd "$(dirname "$0")/../.."
preset="${1:-smollm2-135m}"; batch="${2:-4}"; seq="${3:-256}"
case "$preset" in
  smollm2-135m) peer_model=smol135 ;;
  qwen2.5-0.5b) peer_model=qwen05 ;;
  *) echo "unknown preset $preset" >&2; exit 2 ;;
esac
peer="${PEER_SCRIPT:-../shared/bench/peer_hf_lora.py}"
swift build -c release --product tailor >/dev/null
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
.build/release/tailor bench step --preset "$preset" --batch "$batch" --seq "$seq" --steps 5
if [ -f "$peer" ]; then
  python3 "$peer" "$peer_model" "$batch" "$seq" 3
else
  echo "peer script $peer not found; skipping the peer" >&2
fi
