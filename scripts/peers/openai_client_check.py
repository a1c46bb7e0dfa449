#!/usr/bin/env python3
"""The official `openai` Python client against `tailor serve` (scripts/peers/requirements-serve.txt).

    /tmp/venv-serve/bin/python scripts/peers/openai_client_check.py TAILOR MODEL ADAPTER

Starts `TAILOR serve --model MODEL --adapter tuned=ADAPTER` on a free loopback port and checks,
with the client as users call it:
  - models.list() lists the base and the adapter (parent = the base);
  - chat and completions, streaming and not, greedy (temperature 0): `model: tuned` gives the
    answer `TAILOR generate --adapter ADAPTER --greedy` gives, `model: base` the base's; the
    streamed text equals the whole one;
  - usage: prompt_tokens and completion_tokens equal `tailor generate`'s counts, and the stream's
    usage chunk (stream_options.include_usage) equals the whole answer's;
  - errors come back as the client's exceptions (NotFoundError for an unknown model,
    BadRequestError for a prompt over the context).
Exits 1 on a failed check.
"""
import json
import os
import subprocess
import sys
import tempfile

import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import start_serve  # noqa: E402

QUESTIONS = ["Who are you?", "What is the capital of France?"]
# Plain-text prompts for /v1/completions, which continue rather than end at once.
PROMPTS = ["Once upon a time, in a small village,", "The three primary colours are"]
TOKENS = 40


def generate(tailor, model, adapter, items, raw):
    """`tailor generate --prompts` on JSON lines; its records."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for item in items:
            f.write(json.dumps(item) + "\n")
    command = [tailor, "generate", "--model", model, "--prompts", f.name, "--greedy", "--max-new-tokens", str(TOKENS)]
    if adapter:
        command += ["--adapter", adapter]
    if raw:
        command.append("--raw")
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    tailor, model, adapter = sys.argv[1:]
    failures = []

    def check(condition, what):
        print(("ok   " if condition else "FAIL ") + what)
        if not condition:
            failures.append(what)

    expected = {}
    for name, folder in [("base", None), ("tuned", adapter)]:
        expected[name, "chat"] = generate(tailor, model, folder, [{"messages": [{"role": "user", "content": q}]} for q in QUESTIONS], raw=False)
        expected[name, "text"] = generate(tailor, model, folder, [{"prompt": p} for p in PROMPTS], raw=True)

    server, port = start_serve(tailor, model, adapter)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
        models = {m.id: m for m in client.models.list().data}
        check(sorted(models) == ["base", "tuned"], f"models.list() lists base and tuned: {sorted(models)}")
        check(getattr(models.get("tuned"), "parent", None) == "base", "the adapter's parent is the base")
        for name in ["base", "tuned"]:
            for q, want in zip(QUESTIONS, expected[name, "chat"]):
                whole = client.chat.completions.create(model=name, messages=[{"role": "user", "content": q}], temperature=0,
                                                       max_tokens=TOKENS)
                text = whole.choices[0].message.content
                check(text == want["completion"], f"chat {name} '{q}': {text!r} == tailor generate's")
                check(whole.usage.prompt_tokens == want["prompt_tokens"] and whole.usage.completion_tokens == want["completion_tokens"],
                      f"chat {name} usage {whole.usage.prompt_tokens}+{whole.usage.completion_tokens} == "
                      f"{want['prompt_tokens']}+{want['completion_tokens']}")
                chunks = list(client.chat.completions.create(model=name, messages=[{"role": "user", "content": q}], temperature=0,
                                                             max_tokens=TOKENS, stream=True, stream_options={"include_usage": True}))
                streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
                check(streamed == text, f"chat {name} streamed text equals the whole one")
                check(len({c.id for c in chunks}) == 1, f"chat {name}: one id on every chunk")
                check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens,
                      f"chat {name}: the usage chunk equals the whole answer's usage")
                reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
                check(reasons == [whole.choices[0].finish_reason], f"chat {name}: finish_reason once, on the last chunk: {reasons}")
            for q, want in zip(PROMPTS, expected[name, "text"]):
                whole = client.completions.create(model=name, prompt=q, temperature=0, max_tokens=TOKENS)
                check(whole.choices[0].text == want["completion"], f"completion {name} '{q}' == tailor generate --raw's")
                check(whole.usage.prompt_tokens == want["prompt_tokens"] and whole.usage.completion_tokens == want["completion_tokens"],
                      f"completion {name} usage {whole.usage.prompt_tokens}+{whole.usage.completion_tokens}")
                streamed = "".join(c.choices[0].text for c in client.completions.create(model=name, prompt=q, temperature=0,
                                                                                         max_tokens=TOKENS, stream=True) if c.choices)
                check(streamed == whole.choices[0].text, f"completion {name} streamed text equals the whole one")
        base = client.chat.completions.create(model="base", messages=[{"role": "user", "content": QUESTIONS[0]}], temperature=0, max_tokens=TOKENS)
        tuned = client.chat.completions.create(model="tuned", messages=[{"role": "user", "content": QUESTIONS[0]}], temperature=0, max_tokens=TOKENS)
        check(base.choices[0].message.content != tuned.choices[0].message.content, "the adapter answers differently from the base")
        try:
            client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
            check(False, "an unknown model raises NotFoundError")
        except openai.NotFoundError as error:
            check("does not exist" in str(error), "an unknown model raises NotFoundError")
        try:
            client.completions.create(model="base", prompt="word " * 9000, max_tokens=10)
            check(False, "a prompt over the context raises BadRequestError")
        except openai.BadRequestError as error:
            check("maximum context length" in str(error), "a prompt over the context raises BadRequestError")
    finally:
        server.terminate()
        server.wait(timeout=60)
    print("openai client check:", f"FAILED ({len(failures)})" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
