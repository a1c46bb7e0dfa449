#!/usr/bin/env bash
# Fetches jieba 0.42.1's dictionary and HMM tables (MIT) from its PyPI sdist into the cache folder that
# `tailor eval` and the TailorMetrics tests read, and prints the folder. Does nothing but print it when
# the files are there. `tailor eval` runs the same steps itself when a jieba metric (bleu-4, rouge) is asked.
#
#   scripts/fetch_jieba.sh            # -> ~/.cache/tailor/jieba/0.42.1/{dict.txt,finalseg/prob_*.py}
#   TAILOR_CACHE=/some/dir scripts/fetch_jieba.sh
#
# Needs python3 with pip, tar and a network; exits non-zero with a message on stderr when one is missing.
set -euo pipefail
DIR="${TAILOR_CACHE:-$HOME/.cache/tailor}/jieba/0.42.1"
if [ -s "$DIR/dict.txt" ] && [ -s "$DIR/finalseg/prob_emit.py" ]; then echo "$DIR"; exit 0; fi
mkdir -p "$DIR"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "fetch_jieba: downloading jieba==0.42.1 from PyPI" >&2
if ! python3 -m pip download --quiet --no-deps --no-binary :all: --timeout 20 --retries 1 jieba==0.42.1 -d "$tmp" >&2; then
  echo "fetch_jieba: pip download failed (no network or no pip?)" >&2
  exit 1
fi
tar -xzf "$tmp/jieba-0.42.1.tar.gz" -C "$tmp" jieba-0.42.1/jieba/dict.txt jieba-0.42.1/jieba/finalseg/prob_start.py \
  jieba-0.42.1/jieba/finalseg/prob_trans.py jieba-0.42.1/jieba/finalseg/prob_emit.py
mkdir -p "$DIR/finalseg"
for f in finalseg/prob_start.py finalseg/prob_trans.py finalseg/prob_emit.py dict.txt; do
  mv "$tmp/jieba-0.42.1/jieba/$f" "$DIR/$f"
done
echo "$DIR"
