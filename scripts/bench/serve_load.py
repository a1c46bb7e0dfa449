#!/usr/bin/env python3
"""A bounded load run against `tailor serve` on loopback (issue 20's load check).

    /tmp/venv-serve/bin/python scripts/bench/serve_load.py TAILOR MODEL ADAPTER [CLIENTS] [REQUESTS] [SERVE_FLAG ...]

Starts `TAILOR serve --model MODEL --adapter tuned=ADAPTER --max-batch CLIENTS [SERVE_FLAG ...]` (e.g.
`--matmul fp32`), then:
  1. alone: each distinct request (question × adapter × max_tokens, 16 of them) once, one at a time;
     then a warm-up round of CLIENTS requests at once (so every KV-cache slot's pages are in RSS);
  2. load: CLIENTS concurrent streaming clients (default 32) × REQUESTS each (default 10), cycling
     through the same requests, all in one asyncio process (so they do not take the server's cores);
and reports errors, whether every greedy answer equals the same request alone (or leaves it only at a step
where the alone run's top-2 logprobs, asked for with top_logprobs 2, are < 1e-4 apart), aggregate
generated tokens/s, p50/p99 time to first token and latency, GET /health's latency during the load
(whether the CPU kernels' worker threads starve the HTTP event loop), and the server's RSS after the
warm-up (alone) phase and after the load. Needs the `openai` client (scripts/peers/requirements-serve.txt).
"""
import asyncio
import json
import os
import sys
import time

import openai

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from serve_process import start_serve  # noqa: E402

QUESTIONS = ["Who are you?", "What is the capital of France?", "Name three colours.", "Write one sentence about the sea."]
LENGTHS = [8, 24]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def one(client, request, counted=None, top=0):
    """One greedy streamed chat request: its text, generated tokens (the usage the server reports, else its
    content chunks; `counted` collects which), time to first token and latency; with `top`, also each
    generated token and the gap between its two most likely logprobs (`steps`: [(token, gap)])."""
    start = time.perf_counter()
    first = None
    text = ""
    chunks = 0
    usage = None
    steps = []
    extra = {"logprobs": True, "top_logprobs": top} if top else {}
    stream = await client.chat.completions.create(model=request["model"], messages=[{"role": "user", "content": request["q"]}],
                                                  temperature=0, max_tokens=request["n"], stream=True,
                                                  stream_options={"include_usage": True}, **extra)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if first is None:
                first = time.perf_counter() - start
            text += chunk.choices[0].delta.content
            chunks += 1
        if top and chunk.choices and chunk.choices[0].logprobs and chunk.choices[0].logprobs.content:
            for entry in chunk.choices[0].logprobs.content:
                best = sorted((t.logprob for t in entry.top_logprobs), reverse=True)
                steps.append((entry.token, best[0] - best[1] if len(best) > 1 else float("inf")))
        if getattr(chunk, "usage", None) and chunk.usage.completion_tokens:
            usage = chunk.usage.completion_tokens
    if counted is not None:
        counted.add("usage" if usage is not None else "content chunks")
    return {"text": text, "tokens": usage if usage is not None else chunks, "steps": steps,
            "ttft": first if first is not None else time.perf_counter() - start, "latency": time.perf_counter() - start}


def divergence_gap(alone, text):
    """The gap between the alone run's two most likely logprobs (= their logits' gap) at the first token
    where `text` leaves the alone answer: the alone tokens are matched as a prefix of `text` one by one."""
    prefix = ""
    for token, gap in alone["steps"]:
        if not text.startswith(prefix + token):
            return gap
        prefix += token
    return float("inf")   # the alone answer is a prefix of text: no step to blame


async def run(port, clients, per_client, requests):
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=600)
    alone = {}
    for key, request in requests.items():
        alone[key] = await one(client, request, top=2)
    return client, alone


async def health_pings(port, stop, samples):
    """GET /health every 0.1 s while the load runs: how long the event loop takes to answer beside the kernels' workers."""
    while not stop.is_set():
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()
        samples.append(time.perf_counter() - start)
        await asyncio.sleep(0.1)


async def load(client, clients, per_client, requests, port, health, ask=None):
    """CLIENTS workers × PER_CLIENT requests each through `ask` (default `one`); GET /health pinged into `health` unless it is None."""
    ask = ask or one
    keys = list(requests)
    errors = []
    results = []

    async def worker(index):
        for r in range(per_client):
            key = keys[(index * per_client + r) % len(keys)]
            try:
                results.append((key, await ask(client, requests[key])))
            except Exception as error:  # every failure is counted and reported
                errors.append(f"{key}: {error}")

    stop = asyncio.Event()
    pinger = asyncio.ensure_future(health_pings(port, stop, health)) if health is not None else None
    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    seconds = time.perf_counter() - start
    stop.set()
    if pinger:
        await pinger
    return results, errors, seconds


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    tailor, model, adapter = sys.argv[1:4]
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    per_client = int(sys.argv[5]) if len(sys.argv) > 5 else 10
    server, port = start_serve(tailor, model, adapter, "--max-batch", str(clients), "--max-queue", str(clients * 4),
                               "--max-model-len", "512", *sys.argv[6:])
    try:
        requests = {f"{m}|{q}|{n}": {"model": m, "q": q, "n": n} for m in ["base", "tuned"] for q in QUESTIONS for n in LENGTHS}
        loop = asyncio.new_event_loop()
        client, alone = loop.run_until_complete(run(port, clients, per_client, requests))
        alone_tokens = sum(a["tokens"] for a in alone.values())
        alone_seconds = sum(a["latency"] for a in alone.values())
        # Warm-up: one round of every client at once, so every KV-cache slot has been touched (its
        # pages count in RSS from their first use) before RSS is taken.
        loop.run_until_complete(load(client, clients, 1, requests, port, []))
        warm_rss = rss_kib(server.pid)
        health = []
        results, errors, seconds = loop.run_until_complete(load(client, clients, per_client, requests, port, health))
        load_rss = rss_kib(server.pid)
        differing = [(key, r) for key, r in results if r["text"] != alone[key]["text"]]
        mismatched = [key for key, _ in differing]
        # A differing answer is allowed only where it leaves the alone one at a near tie (top-2 logits < 1e-4 apart).
        gaps = [divergence_gap(alone[key], r["text"]) for key, r in differing]
        beyond = [g for g in gaps if g >= 1e-4]
        tokens = sum(r["tokens"] for _, r in results)
        ttft = [r["ttft"] for _, r in results]
        latency = [r["latency"] for _, r in results]
        report = {
            "clients": clients, "requests": len(results) + len(errors), "errors": len(errors), "error_samples": errors[:3],
            "answers_equal_alone": len(results) - len(mismatched), "answers_differing": len(mismatched),
            "differing_samples": mismatched[:5],
            "differing_at_a_near_tie": len(gaps) - len(beyond), "differing_beyond_a_near_tie": len(beyond),
            "divergence_gaps": sorted(round(g, 6) for g in gaps)[:40],
            "aggregate_tokens_per_s": round(tokens / seconds, 1), "load_seconds": round(seconds, 1), "generated_tokens": tokens,
            "single_stream_tokens_per_s": round(alone_tokens / alone_seconds, 1),
            "ttft_p50_s": round(percentile(ttft, 50), 3), "ttft_p99_s": round(percentile(ttft, 99), 3),
            "latency_p50_s": round(percentile(latency, 50), 3), "latency_p99_s": round(percentile(latency, 99), 3),
            "health_p50_s": round(percentile(health, 50), 4), "health_p99_s": round(percentile(health, 99), 4),
            "health_max_s": round(max(health), 4), "health_samples": len(health),
            "rss_after_warmup_mib": round(warm_rss / 1024, 1), "rss_after_load_mib": round(load_rss / 1024, 1),
        }
        print(json.dumps(report, indent=2))
        ok = not errors and not beyond and load_rss <= warm_rss * 1.1
        print("serve load:", "passed" if ok else "see above")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=120)


if __name__ == "__main__":
    sys.exit(main())
