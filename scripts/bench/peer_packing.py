#!/usr/bin/env python3
"""transformers + peft LoRA training on real variable-length chat data, padded as users do.

The same samples Tailor packs (alpaca_en_demo.json rendered with the model's chat template,
prompt masked, max_length 512), in file order, batch 4, LoRA r16 all-linear, fp32, 2 threads:
`--padding max_length` pads every sample to 512 (seed 000's tokenizer(padding="max_length")),
`--padding longest` pads each batch to its longest sample (dynamic padding). Prints one JSON
line with label tokens/s (tokens whose label is trained) over the timed steps, and peak RSS.

    python3 scripts/bench/peer_packing.py MODEL_FOLDER --padding max_length|longest [--steps 6]
"""
import argparse
import json
import resource
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--data", default="../shared/datasets/alpaca_en_demo.json")
parser.add_argument("--padding", choices=["max_length", "longest"], default="max_length")
parser.add_argument("--steps", type=int, default=6)
parser.add_argument("--batch", type=int, default=4)
parser.add_argument("--max-length", type=int, default=512)
args = parser.parse_args()
torch.set_num_threads(2)
torch.manual_seed(0)
tokenizer = AutoTokenizer.from_pretrained(args.model)
pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def ids_of(x):
    return list(x["input_ids"] if hasattr(x, "keys") else x)


samples = []
for record in json.load(open(args.data, encoding="utf-8")):
    user = record["instruction"] + ("\n" + record["input"] if record.get("input") else "")
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": record["output"]}]
    full = ids_of(tokenizer.apply_chat_template(messages, tokenize=True))[:args.max_length]
    prompt = ids_of(tokenizer.apply_chat_template(messages[:1], tokenize=True, add_generation_prompt=True))
    labels = [-100] * min(len(prompt), len(full)) + full[len(prompt):]
    samples.append((full, labels))

model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                                         task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)


def batch(i):
    group = samples[i * args.batch:(i + 1) * args.batch]
    width = args.max_length if args.padding == "max_length" else max(len(s[0]) for s in group)
    ids = torch.full((len(group), width), pad, dtype=torch.long)
    labels = torch.full((len(group), width), -100, dtype=torch.long)
    mask = torch.zeros(len(group), width, dtype=torch.long)
    for row, (s, l) in enumerate(group):
        ids[row, :len(s)] = torch.tensor(s)
        labels[row, :len(l)] = torch.tensor(l)
        mask[row, :len(s)] = 1
    return ids, labels, mask


def step(i):
    ids, labels, mask = batch(i)
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return int((labels[:, 1:] != -100).sum())


step(0)
start = time.perf_counter()
trained = sum(step(i) for i in range(1, args.steps + 1))
seconds = time.perf_counter() - start
print(json.dumps({"peer": "transformers+peft", "padding": args.padding, "steps": args.steps, "batch": args.batch,
                  "label_tokens_per_s": round(trained / seconds, 1), "step_s": round(seconds / args.steps, 2),
                  "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)}))
