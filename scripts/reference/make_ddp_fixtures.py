#!/usr/bin/env python3
"""Data-parallel LoRA training with transformers.Trainer + peft under torchrun (gloo, CPU, 2 ranks).

    torchrun --nproc_per_node 2 scripts/reference/make_ddp_fixtures.py

Writes Tests/Fixtures/ddp/llama/:
  init/               peft's adapter before training (Tailor starts from it: adapter_name_or_path)
  train.jsonl         the samples (input_ids + labels), in the order both programs read them
  reference.json      per-step loss and grad_norm from Trainer's log_history (rank 0), and the settings
Settings: the tiny llama of make_model_fixtures.py, LoRA r 4 / alpha 8 on q_proj, v_proj and down_proj,
no dropout; 6 steps of per_device_train_batch_size 2 × gradient_accumulation_steps 2 × 2 ranks, file
order (each rank takes every other batch, as accelerate shards a sequential sampler), lr 5e-3 linear with
warmup 1, weight decay 0.01, max_grad_norm 0.5, adamw_torch, average_tokens_across_devices=True (the loss of
every micro-batch is normalised by the label tokens of the whole global step, as Tailor's is).
"""
import json
import os
import shutil
import tempfile

import torch
import torch.distributed as dist
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, TrainingArguments

from make_lora_fixtures import InOrder, Samples, collate  # the LoRA fixtures' samples, padding and file order

HERE = os.path.dirname(__file__)
MODEL = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models", "llama")
FOLDER = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "ddp", "llama")
STEPS, BATCH, ACCUMULATION = 6, 2, 2
SETTINGS = dict(learning_rate=5e-3, lr_scheduler_type="linear", warmup_steps=1, weight_decay=0.01, max_grad_norm=0.5,
                optim="adamw_torch")


def main():
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    assert world == 2, "run under torchrun --nproc_per_node 2"
    torch.manual_seed(7)
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32)
    model.config._attn_implementation = "eager"
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "down_proj"], task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    data = Samples(torch.Generator().manual_seed(101), STEPS * BATCH * ACCUMULATION * world, model.config.vocab_size)
    if rank == 0:
        shutil.rmtree(FOLDER, ignore_errors=True)
        model.save_pretrained(os.path.join(FOLDER, "init"))
        with open(os.path.join(FOLDER, "train.jsonl"), "w") as f:
            for item in data.items:
                f.write(json.dumps(item) + "\n")
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=BATCH, gradient_accumulation_steps=ACCUMULATION, max_steps=STEPS,
            logging_steps=1, save_strategy="no", report_to=[], seed=0, use_cpu=True, ddp_backend="gloo",
            average_tokens_across_devices=True, dataloader_num_workers=0, remove_unused_columns=False, disable_tqdm=True,
            **SETTINGS)
        trainer = InOrder(model=model, args=args, train_dataset=data, data_collator=collate)
        trainer.train()
    if rank == 0:
        logs = [e for e in trainer.state.log_history if "loss" in e]
        reference = {
            "note": "transformers.Trainer + peft under torchrun --nproc_per_node 2 (gloo, CPU), average_tokens_across_devices=True",
            "world_size": world, "per_device_train_batch_size": BATCH, "gradient_accumulation_steps": ACCUMULATION,
            "max_steps": STEPS, **SETTINGS,
            "loss": [e["loss"] for e in logs], "grad_norm": [float(e["grad_norm"]) for e in logs],
        }
        with open(os.path.join(FOLDER, "reference.json"), "w") as f:
            json.dump(reference, f, indent=1)
        print("losses", reference["loss"])
    dist.barrier()


if __name__ == "__main__":
    main()
