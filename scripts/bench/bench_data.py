#!/usr/bin/env python3
"""HF side of the data benchmark: format + tokenize + assistant-mask N Alpaca samples with
datasets.map (batched, num_proc = all cores), the same tokenizer and the same chat template
Tailor uses. Compare with:

    tailor data bench ../shared/datasets/alpaca_en_demo.json --model M --template llama3 --samples 100000

    python3 scripts/bench/bench_data.py --tokenizer M/tokenizer.json --bos '<|begin_of_text|>' --eos '<|eot_id|>' --template llama3
"""
import argparse
import json
import os
import sys
import time

from datasets import Dataset
from transformers import PreTrainedTokenizerFast

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "reference"))
from make_template_fixtures import BUILTINS  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "datasets", "alpaca_en_demo.json"))
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--bos", default="<|begin_of_text|>")
    ap.add_argument("--eos", default="<|eot_id|>")
    ap.add_argument("--template", default="llama3")
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--num-proc", type=int, default=os.cpu_count())
    args = ap.parse_args()
    rows = json.load(open(args.data))
    rows = (rows * (args.samples // len(rows) + 1))[:args.samples]
    ds = Dataset.from_list(rows)
    source = BUILTINS[args.template]

    def fmt(batch):
        tok = fmt.tok
        out_ids, out_labels = [], []
        for ins, inp, out in zip(batch["instruction"], batch["input"], batch["output"]):
            prompt = ins + ("\n" + inp if inp else "")
            msgs = [{"role": "user", "content": prompt}, {"role": "assistant", "content": out}]
            enc = tok.apply_chat_template(msgs, chat_template=source, tokenize=True, return_dict=True,
                                          return_assistant_tokens_mask=True)
            ids = enc["input_ids"]
            out_ids.append(ids)
            out_labels.append([i if m else -100 for i, m in zip(ids, enc["assistant_masks"])])
        return {"input_ids": out_ids, "labels": out_labels}

    fmt.tok = PreTrainedTokenizerFast(tokenizer_file=args.tokenizer, bos_token=args.bos, eos_token=args.eos)
    start = time.perf_counter()
    mapped = ds.map(fmt, batched=True, num_proc=args.num_proc, remove_columns=ds.column_names,
                    load_from_cache_file=False, desc=None)
    seconds = time.perf_counter() - start
    tokens = sum(len(x) for x in mapped["input_ids"])
    print(json.dumps({"samples": len(mapped), "tokens": tokens, "seconds": round(seconds, 3),
                      "samples_per_s": round(len(mapped) / seconds), "num_proc": args.num_proc}))


if __name__ == "__main__":
    main()
