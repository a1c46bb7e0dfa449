#!/usr/bin/env python3
"""LoRA training with transformers.Trainer + peft on the tiny models of make_model_fixtures.py.

For each family, writes Tests/Fixtures/lora/<name>/:
  init/adapter_model.safetensors + adapter_config.json  the adapter before training (peft's init)
  data.safetensors     the micro-batches, in the order Trainer sees them (sequential sampler)
  reference.safetensors per-step loss, learning rate and grad norm from Trainer's log_history,
                        and the adapter after training
Settings: r=4, lora_alpha=8, all-linear, no dropout; 20 steps, batch 2, gradient accumulation 2,
lr 2e-3, warmup 3 + cosine, weight decay 0.01, max_grad_norm 0.5, optim adamw_torch, no shuffle.
Rows are right-padded with an attention mask (labels -100 on padding), which for a causal model
is the same computation as Tailor's rows of independent sequences.

    python3 scripts/reference/make_model_fixtures.py   # first: the tiny base models
    python3 scripts/reference/make_lora_fixtures.py
"""
import os
import shutil
import tempfile

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from torch.utils.data import Dataset, SequentialSampler
from transformers import AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "lora")
STEPS, BATCH, ACCUMULATION = 20, 2, 2


class Samples(Dataset):
    def __init__(self, generator, count, vocab):
        self.items = []
        for _ in range(count):
            length = int(torch.randint(5, 13, (1,), generator=generator))
            ids = torch.randint(3, vocab, (length,), generator=generator)
            labels = ids.clone()
            prompt = int(torch.randint(1, length - 2, (1,), generator=generator))
            labels[:prompt] = -100
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


class Record(TrainerCallback):
    def __init__(self):
        self.lrs = []

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        self.lrs.append(optimizer.param_groups[0]["lr"])


def save_samples(data, folder):
    """data.safetensors: every sample's ids and labels back to back, and their lengths."""
    save_file({"input_ids": torch.tensor(sum((s["input_ids"] for s in data.items), [])),
               "labels": torch.tensor(sum((s["labels"] for s in data.items), [])),
               "lengths": torch.tensor([len(s["input_ids"]) for s in data.items])},
              os.path.join(folder, "data.safetensors"))


def train_in_order(model, data, steps, optimizer=None, callbacks=(), **settings):
    """`steps` Trainer steps over `data` in file order (batch 2, gradient accumulation 2, logging
    every step). `settings` override lr 1e-3, linear schedule, warmup 1, weight decay 0.1,
    max_grad_norm 1.0, adamw_torch; `optimizer` (e.g. peft's create_loraplus_optimizer) replaces
    Trainer's own, with Trainer's schedule over its groups; `callbacks` are more TrainerCallbacks
    (e.g. AdaLoRA's rank allocation after each optimizer step). Returns the trainer, the names in
    Trainer's weight-decay group, and the per-step loss, grad norm and learning rate (of the
    first group) as float64 tensors."""
    options = dict(learning_rate=1e-3, lr_scheduler_type="linear", warmup_steps=1, weight_decay=0.1,
                   max_grad_norm=1.0, optim="adamw_torch")
    options.update(settings)
    record = Record()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=BATCH, gradient_accumulation_steps=ACCUMULATION,
            max_steps=steps, logging_steps=1, save_strategy="no", report_to=[], seed=0, use_cpu=True,
            dataloader_num_workers=0, remove_unused_columns=False, disable_tqdm=True, **options)
        trainer = InOrder(model=model, args=args, train_dataset=data, data_collator=collate, callbacks=[record, *callbacks],
                          optimizers=(optimizer, None))
        decay = set(trainer.get_decay_parameter_names(model))
        trainer.train()
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    history = {
        "loss": torch.tensor([e["loss"] for e in logs], dtype=torch.float64),
        "grad_norm": torch.tensor([float(e["grad_norm"]) for e in logs], dtype=torch.float64),
        "lr": torch.tensor(record.lrs, dtype=torch.float64),
    }
    return trainer, decay, history


def full_fine_tuning():
    """5 steps of full fine-tuning (every parameter) of the tied-embedding Llama."""
    name, steps = "llama-tied", 5
    torch.manual_seed(7)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), dtype=torch.float32)
    model.config._attn_implementation = "eager"
    folder = os.path.join(ROOT, "full-" + name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    data = Samples(torch.Generator().manual_seed(98), steps * BATCH * ACCUMULATION, model.config.vocab_size)
    save_samples(data, folder)
    trainer, decay, tensors = train_in_order(model, data, steps)
    for pname, p in model.named_parameters():
        tensors["final." + pname] = p.detach().contiguous()
        tensors["decay." + pname] = torch.tensor([1.0 if pname in decay else 0.0])
    save_file(tensors, os.path.join(folder, "reference.safetensors"))
    print(name, "full fine-tuning losses", tensors["loss"].tolist())


def main():
    full_fine_tuning()
    for name in ["llama", "qwen2"]:
        torch.manual_seed(7)
        model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), dtype=torch.float32)
        model.config._attn_implementation = "eager"
        config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
        model = get_peft_model(model, config)
        folder = os.path.join(ROOT, name)
        shutil.rmtree(folder, ignore_errors=True)
        model.save_pretrained(os.path.join(folder, "init"))
        data = Samples(torch.Generator().manual_seed(99), STEPS * BATCH * ACCUMULATION, model.config.vocab_size)
        save_samples(data, folder)
        tensors = train_lora_reference(model, data, folder, "Trainer log_history loss/grad_norm per step; lr used by each step")
        losses = tensors["loss"].tolist()
        print(name, "losses", [round(x, 4) for x in losses][:5], "...", losses[-1])


def train_lora_reference(model, data, folder, note):
    """The LoRA runs' STEPS Trainer steps (lr 2e-3, warmup 3 + cosine, weight decay 0.01, clipping 0.5), and
    folder/reference.safetensors: the per-step history and the trained lora_A / lora_B."""
    _, _, tensors = train_in_order(model, data, STEPS, learning_rate=2e-3, lr_scheduler_type="cosine",
                                   warmup_steps=3, weight_decay=0.01, max_grad_norm=0.5)
    for pname, p in model.named_parameters():
        if "lora_" in pname:
            key = pname.replace("base_model.model.", "").replace(".default", "")
            tensors["final." + key] = p.detach().contiguous()
    save_file(tensors, os.path.join(folder, "reference.safetensors"), metadata={"steps": str(STEPS), "note": note})
    return tensors


if __name__ == "__main__":
    main()
