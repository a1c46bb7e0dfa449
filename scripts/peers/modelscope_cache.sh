#!/usr/bin/env bash
# The real modelscope client against Tailor's ModelScope cache, both ways, on the tests' mock hub (the MockHub
# executable, whose /api/v1 routes answer as ModelScope's read API, with an LFS redirect to another host).
# See scripts/peers/modelscope_cache.py; results go to docs/peers.md by hand.
#
#   scripts/peers/modelscope_cache.sh [WORK_DIR]
#
# Needs `swift build` (BIN, default .build/debug: tailor and MockHub) and a Python with the versions in
# scripts/peers/requirements-modelscope.txt (MS_PY, default /tmp/venv-ms/bin/python).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$ROOT/.build/debug}"
MS_PY="${MS_PY:-/tmp/venv-ms/bin/python}"
WORK="${1:-$(mktemp -d)}"
MODEL="$ROOT/Tests/Fixtures/generation/chat-llama"
mkdir -p "$WORK"
"$BIN/MockHub" --repo tiny-org/chat-llama="$MODEL" > "$WORK/mock.log" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$WORK/mock.log" && break; sleep 0.1; done
ENDPOINT="$(sed -n 's/^listening on //p' "$WORK/mock.log")"
[ -n "$ENDPOINT" ] || { cat "$WORK/mock.log"; exit 1; }
export MODELSCOPE_ENDPOINT="$ENDPOINT"
unset MODELSCOPE_API_TOKEN

echo "== 1. tailor download --source modelscope, then the modelscope client finds the files (offline, then online without refetching)"
export MODELSCOPE_CACHE="$WORK/tailor-cache"
rm -rf "$MODELSCOPE_CACHE"
SNAP="$("$BIN/tailor" download tiny-org/chat-llama --source modelscope --quiet)"
BEFORE="$(grep -c '^GET /api/v1/models/tiny-org/chat-llama/repo$' "$WORK/mock.log" || true)"
"$MS_PY" "$ROOT/scripts/peers/modelscope_cache.py" read-tailor "$SNAP" "$MODEL"
AFTER="$(grep -c '^GET /api/v1/models/tiny-org/chat-llama/repo$' "$WORK/mock.log" || true)"
[ "$AFTER" -eq "$BEFORE" ] || { echo "the client fetched $((AFTER - BEFORE)) files again: it did not accept Tailor's"; exit 1; }
echo "the client fetched no file again: Tailor's sizes and sha256 are what it checks"

echo "== 2. the modelscope client downloads from the mock; tailor reads its cache offline and generates from it"
export MODELSCOPE_CACHE="$WORK/client-cache"
rm -rf "$MODELSCOPE_CACHE"
CLIENT_SNAP="$("$MS_PY" "$ROOT/scripts/peers/modelscope_cache.py" download tiny-org/chat-llama | tail -1)"
OFFLINE_SNAP="$("$BIN/tailor" download tiny-org/chat-llama --source modelscope --offline --quiet)"
[ "$OFFLINE_SNAP" = "$CLIENT_SNAP" ] || { echo "tailor found $OFFLINE_SNAP, the client wrote $CLIENT_SNAP"; exit 1; }
echo "tailor download --source modelscope --offline: $OFFLINE_SNAP (the folder the client wrote)"
USE_MODELSCOPE_HUB=1 "$BIN/tailor" generate --model tiny-org/chat-llama --offline --prompt "hello" --max-new-tokens 4 --greedy > "$WORK/generate.txt"
echo "USE_MODELSCOPE_HUB=1 tailor generate --model tiny-org/chat-llama --offline: $(wc -c < "$WORK/generate.txt") bytes of text"
echo "all ModelScope cache checks passed"
