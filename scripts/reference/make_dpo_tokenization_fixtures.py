#!/usr/bin/env python3
"""How TRL's DPOTrainer tokenizes conversational preference data, for Tailor's pair encoder.

Runs the pinned TRL's own DPOTrainer._prepare_dataset (extract the prompt, render the prompt with
add_generation_prompt and prompt + each reply with the chat template, tokenize, split at the prefix the
prompt's ids share with both) on the first records of LLaMA-Factory's dpo_en_demo.json (sharegpt form,
as Tailor reads them) and a few hand-made ones (system turn, multi-turn prompt, TRL's implicit prompt),
with two tokenizers and templates: the small qwen2 tokenizer fixture under Qwen2.5-7B-Instruct's template
(its default system prompt), and the chat-llama fixture's own template (whose generation prompt
"<s>assistant:" is not a token prefix of "<s>assistant: reply": TRL's divergence rule decides).

Writes Tests/Fixtures/dpo/tokenization.json.

    python3 scripts/reference/make_dpo_tokenization_fixtures.py
"""
import json
import os
import tempfile
import types

from datasets import Dataset
from transformers import AutoTokenizer
from trl import DPOConfig, DPOTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
SHARED = os.path.join(ROOT, "..", "shared")
ROLES = {"human": "user", "gpt": "assistant", "system": "system"}


def demo_records(count):
    with open(os.path.join(SHARED, "datasets", "dpo_en_demo.json")) as f:
        data = json.load(f)[:count]
    return data


def to_trl(record):
    """A record in the form Tailor reads (sharegpt or TRL's), as TRL's conversational columns."""
    if "conversations" in record:
        prompt = [{"role": ROLES[m["from"]], "content": m["value"]} for m in record["conversations"]]
        reply = lambda m: [{"role": "assistant", "content": m["value"]}]
        return {"prompt": prompt, "chosen": reply(record["chosen"]), "rejected": reply(record["rejected"])}
    return record


def hand_made():
    return [
        {"prompt": [{"role": "system", "content": "You answer in one word."}, {"role": "user", "content": "Sky colour?"}],
         "chosen": [{"role": "assistant", "content": "Blue."}], "rejected": [{"role": "assistant", "content": "Green, mostly."}]},
        {"prompt": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                    {"role": "user", "content": "Tell me a joke."}],
         "chosen": [{"role": "assistant", "content": "Why did the chicken cross the road? To get to the other side."}],
         "rejected": [{"role": "assistant", "content": "No."}]},
        # TRL's implicit prompt: no prompt column, the shared start of chosen and rejected is the prompt.
        {"chosen": [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "4"}],
         "rejected": [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "5"}]},
    ]


def tokenize(tokenizer, records):
    rows = [to_trl(r) for r in records]
    # One DPOTrainer method, without building a trainer: the conversational path uses no other state.
    args = DPOConfig(output_dir=tempfile.mkdtemp(), max_length=None, dataset_num_proc=None, report_to=[], bf16=False, use_cpu=True)
    fake = types.SimpleNamespace(_tokenizer=tokenizer)
    out = []
    for row in rows:  # one by one: TRL's map needs the same columns in every row
        prepared = DPOTrainer._prepare_dataset(fake, Dataset.from_list([row]), tokenizer, args, "train")
        example = prepared[0]
        out.append({key: list(example[key]) for key in ["prompt_ids", "chosen_ids", "rejected_ids"]})
    return out


def main():
    records = demo_records(5) + hand_made()
    cases = []
    qwen = AutoTokenizer.from_pretrained(os.path.join(ROOT, "Tests", "Fixtures", "tokenizers", "qwen2"))
    with open(os.path.join(SHARED, "templates", "Qwen-Qwen2.5-7B-Instruct.jinja")) as f:
        qwen_template = f.read()
    qwen.chat_template = qwen_template
    cases.append({"tokenizer": "tokenizers/qwen2", "template": qwen_template, "expected": tokenize(qwen, records)})
    llama = AutoTokenizer.from_pretrained(os.path.join(ROOT, "Tests", "Fixtures", "generation", "chat-llama"))
    cases.append({"tokenizer": "generation/chat-llama", "template": None, "expected": tokenize(llama, records)})
    path = os.path.join(ROOT, "Tests", "Fixtures", "dpo", "tokenization.json")
    with open(path, "w") as f:
        json.dump({"records": records, "cases": cases}, f, ensure_ascii=False)
        f.write("\n")
    for case in cases:
        print(case["tokenizer"], [(len(e["prompt_ids"]), len(e["chosen_ids"]), len(e["rejected_ids"])) for e in case["expected"]])


if __name__ == "__main__":
    main()
