#!/usr/bin/env python3
"""The serve load of serve_load.py against `tailor serve` and its peers, on the base model, one after another.

    /tmp/venv-serve/bin/python scripts/bench/serve_peers.py --tailor TAILOR --model HF_FOLDER \
        [--llama-server LLAMA_SERVER --gguf MODEL-f16.gguf] [--transformers-python PYTHON] \
        [--clients 32] [--requests 10] [--only tailor,llama,transformers]

Each server serves the base model alone (no peer serves a different adapter per row) on a free loopback port:
  - tailor:       `TAILOR serve --model HF_FOLDER --max-batch CLIENTS --max-model-len 512`
  - llama:        `LLAMA_SERVER -m GGUF -np CLIENTS -cb -c 512·CLIENTS --jinja -t <cores>` (llama.cpp's server,
                  continuous batching over CLIENTS slots of 512 positions)
  - transformers: `PYTHON -m transformers.cli.transformers serve HF_FOLDER --continuous-batching --device cpu`
For each: the 8 distinct greedy chat requests (4 questions × max_tokens 8 or 24) one at a time ("alone",
single-stream tokens/s), a warm-up round of CLIENTS at once, then CLIENTS concurrent streaming clients ×
REQUESTS each, all in this one asyncio process. Prints one JSON object per server (the same fields as
serve_load.py: errors, answers equal to alone, aggregate and single-stream generated tokens/s, p50/p99 time
to first token and latency, server RSS), then a summary of the ratios. Generated tokens are the usage a
server reports, or its content chunks where it reports none (`tokens_counted_by`).
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys

import openai

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "peers"))
from serve_load import QUESTIONS, LENGTHS, load, one, percentile, rss_kib  # noqa: E402
from serve_process import free_port, wait_http  # noqa: E402


def measure(name, process, port, model, clients, per_client):
    requests = {f"{q}|{n}": {"model": model, "q": q, "n": n} for q in QUESTIONS for n in LENGTHS}
    counted = set()
    loop = asyncio.new_event_loop()
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=1200)
    alone = {}
    for key, request in requests.items():
        alone[key] = loop.run_until_complete(one(client, request, counted))
    def ask(c, r):
        return one(c, r, counted)
    loop.run_until_complete(load(client, clients, 1, requests, port, None, ask))   # warm-up: every slot touched
    warm_rss = rss_kib(process.pid)
    results, errors, seconds = loop.run_until_complete(load(client, clients, per_client, requests, port, None, ask))
    load_rss = rss_kib(process.pid)
    loop.run_until_complete(client.close())
    loop.close()
    mismatched = [key for key, r in results if r["text"] != alone[key]["text"]]
    tokens = sum(r["tokens"] for _, r in results)
    ttft = [r["ttft"] for _, r in results] or [0]
    latency = [r["latency"] for _, r in results] or [0]
    alone_tokens = sum(a["tokens"] for a in alone.values())
    alone_seconds = sum(a["latency"] for a in alone.values())
    return {
        "server": name, "clients": clients, "requests": len(results) + len(errors), "errors": len(errors),
        "error_samples": errors[:3], "answers_equal_alone": len(results) - len(mismatched), "answers_differing": len(mismatched),
        "differing_samples": mismatched[:3], "aggregate_tokens_per_s": round(tokens / seconds, 1), "load_seconds": round(seconds, 1),
        "generated_tokens": tokens, "single_stream_tokens_per_s": round(alone_tokens / alone_seconds, 1),
        "batched_over_single": round((tokens / seconds) / (alone_tokens / alone_seconds), 2),
        "ttft_p50_s": round(percentile(ttft, 50), 3), "ttft_p99_s": round(percentile(ttft, 99), 3),
        "latency_p50_s": round(percentile(latency, 50), 3), "latency_p99_s": round(percentile(latency, 99), 3),
        "rss_after_warmup_mib": round(warm_rss / 1024, 1), "rss_after_load_mib": round(load_rss / 1024, 1),
        "tokens_counted_by": sorted(counted), "sample_answer": alone[next(iter(alone))]["text"][:80],
    }


def start(command, port, seconds=600, env=None):
    process = subprocess.Popen(command, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", seconds)
    except SystemExit:
        process.terminate()
        raise
    return process


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tailor", required=True)
    parser.add_argument("--model", required=True, help="the Hugging Face model folder")
    parser.add_argument("--llama-server")
    parser.add_argument("--gguf")
    parser.add_argument("--transformers-python")
    parser.add_argument("--transformers-flag", action="append", default=[],
                        help="more flags for transformers serve, e.g. --transformers-flag=--cb-num-blocks=128 (its default sizes the KV cache from the machine's memory)")
    parser.add_argument("--llama-flag", action="append", default=[],
                        help="more flags for llama-server, e.g. --llama-flag=--threads-http=64")
    parser.add_argument("--tailor-flag", action="append", default=[],
                        help="more flags for tailor serve, e.g. --tailor-flag=--max-num-batched-tokens=512")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--only", default="tailor,llama,transformers")
    args = parser.parse_args()
    wanted = args.only.split(",")
    cores = os.cpu_count() or 1
    reports = []
    runs = []
    if "tailor" in wanted:
        port = free_port()
        runs.append(("tailor serve", [args.tailor, "serve", "--model", args.model, "--port", str(port), "--served-model-name", "base",
                                      "--max-batch", str(args.clients), "--max-queue", str(args.clients * 4), "--max-model-len", "512", *args.tailor_flag],
                     port, "base", None))
    if "llama" in wanted and args.llama_server and args.gguf:
        port = free_port()
        runs.append(("llama-server -np %d -cb" % args.clients,
                     [args.llama_server, "-m", args.gguf, "--host", "127.0.0.1", "--port", str(port), "-np", str(args.clients), "-cb",
                      "-c", str(512 * args.clients), "--jinja", "-t", str(cores), *args.llama_flag], port, "base", None))
    if "transformers" in wanted and args.transformers_python:
        port = free_port()
        runs.append(("transformers serve --continuous-batching",
                     [args.transformers_python, "-m", "transformers.cli.transformers", "serve", args.model, "--continuous-batching",
                      "--device", "cpu", "--host", "127.0.0.1", "--port", str(port), *args.transformers_flag], port, args.model, None))
    for name, command, port, model, env in runs:
        print(f"== {name}: {' '.join(command)}", flush=True)
        process = start(command, port, env=env)
        try:
            report = measure(name, process, port, model, args.clients, args.requests)
        finally:
            process.terminate()
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
        print(json.dumps(report, indent=2), flush=True)
        reports.append(report)
    by = {r["server"].split()[0]: r for r in reports}
    if "tailor" in by:
        summary = {"tailor_batched_over_single": by["tailor"]["batched_over_single"]}
        for peer in ["llama-server", "transformers"]:
            if peer in by:
                summary[f"tailor_over_{peer}"] = round(by["tailor"]["aggregate_tokens_per_s"] / by[peer]["aggregate_tokens_per_s"], 2)
        print(json.dumps({"summary": summary}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
