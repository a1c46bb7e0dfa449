#!/usr/bin/env python3
"""HF `tokenizers` single-thread encode throughput on the benchmark corpus, as one JSON line.

The corpus is what TokenizeBenchmark.corpus builds in Swift: every string value of the JSON/JSONL files in
../shared/datasets (sorted by file name, in document order), repeated until ~10 MB.

    python3 scripts/bench/bench_tokenize.py [--tokenizer ../shared/tokenizers/llama3/tokenizer.json] [--mb 10]
"""
import argparse
import json
import os
import time

from tokenizers import Tokenizer


def strings(v, out):
    if isinstance(v, str):
        out.append(v)
    elif isinstance(v, list):
        for x in v:
            strings(x, out)
    elif isinstance(v, dict):
        for x in v.values():
            strings(x, out)


def corpus(folder, target):
    docs = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".jsonl"):
            for line in open(path, encoding="utf-8").read().split("\n"):
                if line:
                    strings(json.loads(line), docs)
        elif name.endswith(".json"):
            strings(json.load(open(path, encoding="utf-8")), docs)
    docs = [d for d in docs if d]
    out, size = [], 0
    while size < target:
        for d in docs:
            if size >= target:
                break
            out.append(d)
            size += len(d.encode("utf-8"))
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shared = os.path.join(os.path.dirname(root), "shared")
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default=os.path.join(shared, "tokenizers", "llama3", "tokenizer.json"))
    ap.add_argument("--datasets", default=os.path.join(shared, "datasets"))
    ap.add_argument("--mb", type=float, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = "1"
    tok = Tokenizer.from_file(args.tokenizer)
    texts = corpus(args.datasets, int(args.mb * 1_000_000))
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    best, tokens = float("inf"), 0
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        tokens = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"peer": "hf-tokenizers", "tokenizer": args.tokenizer, "threads": 1, "bytes": nbytes,
                      "tokens": tokens, "seconds": round(best, 4), "mb_per_s": round(nbytes / 1e6 / best, 3)}))


if __name__ == "__main__":
    main()
