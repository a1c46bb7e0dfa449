#!/usr/bin/env bash
# huggingface_hub (and transformers) against Tailor's hub cache, both ways, on the tests' mock hub (the MockHub
# executable: the same server the TailorHubTests start in-process, with the real hub's headers and an LFS redirect to
# another host). See scripts/peers/hub_cache.py; results go to docs/peers.md by hand.
#
#   scripts/peers/hub_cache.sh [WORK_DIR]
#
# Needs `swift build` (BIN, default .build/debug: tailor and MockHub) and a Python with the versions in
# scripts/peers/requirements-hub.txt (HUB_PY, default /tmp/lfvenv/bin/python).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$ROOT/.build/debug}"
HUB_PY="${HUB_PY:-/tmp/lfvenv/bin/python}"
WORK="${1:-$(mktemp -d)}"
MODEL="$ROOT/Tests/Fixtures/generation/chat-llama"
mkdir -p "$WORK"
"$BIN/MockHub" --repo tiny-org/chat-llama="$MODEL" --private tiny-org/private-llama="$MODEL" --delay-storage 3 > "$WORK/mock.log" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$WORK/mock.log" && break; sleep 0.1; done
ENDPOINT="$(sed -n 's/^listening on //p' "$WORK/mock.log")"
[ -n "$ENDPOINT" ] || { cat "$WORK/mock.log"; exit 1; }
export HF_ENDPOINT="$ENDPOINT" HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_XET=1
unset HF_TOKEN HF_HUB_CACHE HUGGINGFACE_HUB_CACHE

echo "== 1. tailor download, then huggingface_hub and transformers read the cache offline"
export HF_HOME="$WORK/tailor-home"
rm -rf "$HF_HOME"
SNAP="$("$BIN/tailor" download tiny-org/chat-llama --quiet)"
HF_TOKEN=hf_mock_token "$BIN/tailor" download tiny-org/private-llama --quiet > /dev/null
HF_HUB_OFFLINE=1 "$HUB_PY" "$ROOT/scripts/peers/hub_cache.py" read-tailor "$SNAP" "$MODEL" tiny-org/private-llama

echo "== 2. huggingface_hub downloads from the mock; tailor reads its cache offline"
export HF_HOME="$WORK/hub-home"
rm -rf "$HF_HOME"
HUB_SNAP="$("$HUB_PY" "$ROOT/scripts/peers/hub_cache.py" download tiny-org/chat-llama)"
OFFLINE_SNAP="$(HF_HUB_OFFLINE=1 "$BIN/tailor" download tiny-org/chat-llama --quiet)"
[ "$OFFLINE_SNAP" = "$HUB_SNAP" ] || { echo "tailor found $OFFLINE_SNAP, huggingface_hub wrote $HUB_SNAP"; exit 1; }
echo "tailor download --offline: $OFFLINE_SNAP (the snapshot huggingface_hub wrote)"
HF_HUB_OFFLINE=1 "$BIN/tailor" generate --model tiny-org/chat-llama --prompt "hello" --max-new-tokens 4 --greedy > "$WORK/generate.txt"
echo "tailor generate --model tiny-org/chat-llama (HF_HUB_OFFLINE=1): $(wc -c < "$WORK/generate.txt") bytes of text"

echo "== 3. tailor and huggingface_hub download one repository into one cache at once (the mock holds each LFS GET 3 s)"
export HF_HOME="$WORK/shared-home"
rm -rf "$HF_HOME"
BEFORE="$(grep -c '^GET /lfs-storage/' "$WORK/mock.log" || true)"
"$BIN/tailor" download tiny-org/chat-llama --quiet > "$WORK/both-tailor.txt" &
TAILOR_PID=$!
"$HUB_PY" "$ROOT/scripts/peers/hub_cache.py" download tiny-org/chat-llama > "$WORK/both-hub.txt"
wait $TAILOR_PID
[ "$(cat "$WORK/both-tailor.txt")" = "$(cat "$WORK/both-hub.txt")" ] || { echo "different snapshots"; exit 1; }
HF_HUB_OFFLINE=1 "$HUB_PY" "$ROOT/scripts/peers/hub_cache.py" read-tailor "$(cat "$WORK/both-tailor.txt")" "$MODEL"
GETS=$(( $(grep -c '^GET /lfs-storage/' "$WORK/mock.log") - BEFORE ))
[ "$GETS" -eq 1 ] || { echo "the LFS blob was fetched $GETS times: the two clients did not share its lock"; exit 1; }
echo "one GET of the LFS blob for both clients: they shared .locks/models--tiny-org--chat-llama/<sha256>.lock"
echo "all hub cache checks passed"
