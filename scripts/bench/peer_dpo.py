#!/usr/bin/env python3
"""DPO with LoRA in TRL, for the side-by-side figure of scripts/bench/bench_dpo.sh.

TRL's DPOTrainer with a peft LoraConfig and no ref_model, as TRL's docs advise for peft (the reference
is the base under the disabled adapter, no second copy), on the same pairs Tailor trains (the first N
of LLaMA-Factory's dpo_en_demo.json, turned into TRL's conversational prompt / chosen / rejected), the
same LoRA (r 16, alpha 32, all-linear, no dropout), 4 pairs per step, max_length 512 (keep_start),
beta 0.1, sigmoid, lr 5e-5 constant, one epoch, on 2 CPU threads. Prints one JSON line: tokens/s over
the real (non-padding) tokens of every chosen and rejected sequence, train seconds, peak RSS, last loss.

    python3 scripts/bench/peer_dpo.py ~/.cache/tailor/smollm2/hf PAIRS.json [--bf16]

--bf16 sets DPOConfig(bf16=True) (torch.autocast bf16; LoRA weights and optimizer states stay fp32);
compare Tailor against the faster of the two runs.
"""
import json
import resource
import sys
import time

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer

bf16 = "--bf16" in sys.argv[1:]
folder, pairs_path = [a for a in sys.argv[1:] if a != "--bf16"][:2]
torch.set_num_threads(2)
ROLES = {"human": "user", "gpt": "assistant", "system": "system", "observation": "tool", "function_call": "assistant"}
rows = []
for pair in json.load(open(pairs_path, encoding="utf-8")):
    prompt = [{"role": ROLES[t["from"]], "content": t["value"]} for t in pair["conversations"]]
    rows.append({"prompt": prompt,
                 "chosen": [{"role": "assistant", "content": pair["chosen"]["value"]}],
                 "rejected": [{"role": "assistant", "content": pair["rejected"]["value"]}]})
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
args = DPOConfig(output_dir="/tmp/peer-dpo", per_device_train_batch_size=4, gradient_accumulation_steps=1,
                 num_train_epochs=1, learning_rate=5e-5, lr_scheduler_type="constant", beta=0.1, loss_type="sigmoid",
                 max_length=512, truncation_mode="keep_start", logging_steps=1, save_strategy="no", report_to=[],
                 bf16=bf16, use_cpu=True, seed=42, dataloader_num_workers=0, disable_tqdm=True)
lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer, peft_config=lora)
data = trainer.train_dataset
tokens = sum(min(len(p) + len(c), 512) + min(len(p) + len(r), 512)
             for p, c, r in zip(data["prompt_ids"], data["chosen_ids"], data["rejected_ids"]))
start = time.perf_counter()
result = trainer.train()
seconds = time.perf_counter() - start
losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
print(json.dumps({"peer": "trl DPOTrainer + peft", "bf16": bf16, "pairs": len(data), "steps": trainer.state.global_step,
                  "tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1),
                  "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 3),
                  "last_loss": losses[-1] if losses else None}))
