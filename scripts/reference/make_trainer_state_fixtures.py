#!/usr/bin/env python3
"""trainer_state.json as transformers.Trainer writes it, for TrainerStateSink's layout test.

A tiny random Llama trains 10 steps (logging_steps 2, eval every 5, save every 5) on CPU; the script keeps
checkpoint-10/trainer_state.json as trainer_state.json, and the per-step values (loss, grad_norm,
learning_rate, epoch) and eval losses of an identical logging_steps=1 run as steps.json, in
Tests/Fixtures/trainer_state/.

    python3 scripts/reference/make_trainer_state_fixtures.py
"""
import json
import os
import shutil
import tempfile

import torch
from datasets import Dataset
from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "trainer_state")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                     num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
model = LlamaForCausalLM(config)
ids = torch.randint(0, 64, (24, 8))
train = Dataset.from_dict({"input_ids": ids[:20].tolist(), "labels": ids[:20].tolist()})
valid = Dataset.from_dict({"input_ids": ids[20:].tolist(), "labels": ids[20:].tolist()})


work = tempfile.mkdtemp()
common = dict(max_steps=10, per_device_train_batch_size=2, learning_rate=1e-3, warmup_steps=2,
              lr_scheduler_type="cosine", eval_strategy="steps", eval_steps=5, save_strategy="steps",
              save_steps=5, report_to="none", use_cpu=True, seed=0, data_seed=0, dataloader_num_workers=0)
state = {}
for logging_steps in (1, 2):
    model = LlamaForCausalLM(config)
    model.load_state_dict(torch.load(os.path.join(work, "init.pt")) if logging_steps == 2 else model.state_dict())
    if logging_steps == 1:
        torch.save(model.state_dict(), os.path.join(work, "init.pt"))
    out = os.path.join(work, f"run{logging_steps}")
    args = TrainingArguments(output_dir=out, logging_steps=logging_steps, **common)
    Trainer(model=model, args=args, train_dataset=train, eval_dataset=valid).train()
    state[logging_steps] = json.load(open(os.path.join(out, "checkpoint-10", "trainer_state.json")))
    if logging_steps == 2:
        shutil.copy(os.path.join(out, "checkpoint-10", "trainer_state.json"), os.path.join(OUT, "trainer_state.json"))

steps = [e for e in state[1]["log_history"] if "loss" in e]
evals = [e for e in state[1]["log_history"] if "eval_loss" in e]
json.dump({"steps": steps, "evals": evals, "samples": len(train)}, open(os.path.join(OUT, "steps.json"), "w"), indent=1)
shutil.rmtree(work)
print("steps", [s["loss"] for s in steps])
print(open(os.path.join(OUT, "trainer_state.json")).read())
