#!/usr/bin/env bash
# Generation speed side by side in one run: `tailor bench generate` in f32 and bf16, then
# transformers' generate() in fp32 and bf16 (../shared/bench/peer_hf_generate.py), for each model.
# Random weights, 128-token prompt, 128 new tokens, greedy, 2 threads. Compare Tailor's better
# dtype with the peer's better dtype, per column (prefill, decode).
#   scripts/bench/bench_generate.sh [smollm2-135m|qwen2.5-0.5b ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product tailor >/dev/null
declare -A peer=([smollm2-135m]=smol135 [qwen2.5-0.5b]=qwen05 [qwen2.5-1.5b]=qwen15)
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(smollm2-135m qwen2.5-0.5b)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
for preset in "${presets[@]}"; do
  [ -n "${peer[$preset]:-}" ] || { echo "unknown preset $preset (smollm2-135m, qwen2.5-0.5b, qwen2.5-1.5b)" >&2; exit 2; }
  for dtype in f32 bf16; do
    .build/release/tailor bench generate --preset "$preset" --dtype "$dtype" --new-tokens 128 --runs 3 | tail -1
  done
  python3 ../shared/bench/peer_hf_generate.py "${peer[$preset]}" 128 128
  python3 ../shared/bench/peer_hf_generate.py "${peer[$preset]}" 128 128 --bf16
done
