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
from torch.utils.data import Dataset, SequentialSampler
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

HERE = os.path.dirname(__file__)
MODEL = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models", "llama")
FOLDER = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "ddp", "llama")
STEPS, BATCH, ACCUMULATION = 6, 2, 2
SETTINGS = dict(learning_rate=5e-3, lr_scheduler_type="linear", warmup_steps=1, weight_decay=0.01, max_grad_norm=0.5,
                optim="adamw_torch")


class Samples(Dataset):
    def __init__(self, generator, count, vocab):
        self.items = []
        for _ in range(count):
            length = int(torch.randint(5, 13, (1,), generator=generator))
            ids = torch.randint(3, vocab, (length,), generator=generator)
            labels = ids.clone()
            labels[: int(torch.randint(1, length - 2, (1,), generator=generator))] = -100
            self.items.append({"input_ids": ids.tolist(), "labels": labels.tolist()})

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def collate(batch):
    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros(len(batch), width, dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = torch.tensor(b["input_ids"])
        labels[i, :n] = torch.tensor(b["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


class InOrder(Trainer):
    def _get_train_sampler(self, train_dataset=None):
        return SequentialSampler(train_dataset or self.train_dataset)


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
