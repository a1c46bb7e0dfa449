#!/usr/bin/env python3
"""DPO with TRL's DPOTrainer + peft on the tiny models of make_model_fixtures.py.

For each family (llama, qwen2) and loss type (sigmoid, hinge, ipo), writes
Tests/Fixtures/dpo/<family>-<loss>/ (and, for full fine-tuning with sigmoid, <family>-full-sigmoid/, with
precompute_ref_log_probs and every parameter after training, without init/; on llama, TRL's other pairwise
losses, llama-<loss>/; on qwen2, MPO's sum of sigmoid, bco_pair and sft with loss_weights 0.8, 0.2, 1.0, qwen2-mpo/):
  init/adapter_model.safetensors + adapter_config.json  the LoRA adapter before training (peft's init: B = 0)
  data.safetensors      the pairs in the order the trainer sees them: prompt, chosen and rejected ids back to back
  reference.safetensors per-step loss, grad norm, learning rate and TRL's metrics (rewards/*, logps/*) from
                        log_history, and the adapter after training
Settings: r=4, lora_alpha=8, q_proj + v_proj, no dropout; 8 pairs, batch 2 pairs, gradient accumulation 2,
5 epochs (10 steps), lr 5e-3 linear with warmup 1, max_grad_norm 1.0, adamw_torch, weight decay 0, no shuffle;
beta 0.1 (hinge: 0.5). The reference is the base model with the adapter disabled (TRL's peft path).
The data is pre-tokenized random ids (this checks the loss, metrics and steps; tokenizing is tested elsewhere),
so TRL's dataset preparation is skipped and a word-level tokenizer of the model's vocabulary is given as
processing_class.

    python3 scripts/reference/make_dpo_fixtures.py
"""
import os
import shutil
import sys
import tempfile

import torch
from datasets import Dataset
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from torch.utils.data import SequentialSampler
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_lora_fixtures import Record  # noqa: E402  the learning rate each step used

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "dpo")
PAIRS, BATCH, ACCUMULATION, EPOCHS = 8, 2, 2, 5
METRICS = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"]


class InOrder(DPOTrainer):
    def _get_train_sampler(self, train_dataset=None):
        return SequentialSampler(train_dataset or self.train_dataset)

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        return dataset  # already prompt_ids / chosen_ids / rejected_ids


def pairs(vocab, generator):
    rows = []
    for _ in range(PAIRS):
        def draw(lo, hi):
            n = int(torch.randint(lo, hi, (1,), generator=generator))
            return torch.randint(3, vocab, (n,), generator=generator).tolist()
        rows.append({"prompt_ids": draw(2, 6), "chosen_ids": draw(2, 7), "rejected_ids": draw(2, 7)})
    return rows


def word_tokenizer(vocab):
    tok = Tokenizer(WordLevel(vocab={f"t{i}": i for i in range(vocab)}, unk_token="t0"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="t0", eos_token="t1", bos_token="t2")


def main():
    # (family, folder suffix, loss types, loss weights, beta, label_smoothing, full fine-tuning)
    runs = [(family, loss, [loss], None, beta, 0.0, False) for family in ["llama", "qwen2"]
            for loss, beta in [("sigmoid", 0.1), ("hinge", 0.5), ("ipo", 0.1)]]
    # Full fine-tuning: TRL's reference is the starting model; precompute_ref_log_probs computes it once, as Tailor does.
    runs += [(family, "full-sigmoid", ["sigmoid"], None, 0.1, 0.0, True) for family in ["llama", "qwen2"]]
    runs += [("llama", "full-hinge", ["hinge"], None, 0.5, 0.0, True), ("qwen2", "full-ipo", ["ipo"], None, 0.1, 0.0, True)]
    # The other pairwise losses, on llama; MPO's combination of three with loss_weights.
    runs += [("llama", loss, [loss], None, beta, smoothing, False) for loss, beta, smoothing in [
        ("robust", 0.1, 0.1), ("exo_pair", 0.1, 1e-3), ("nca_pair", 0.5, 0.0), ("bco_pair", 0.5, 0.0), ("sppo_hard", 0.5, 0.0),
        ("apo_zero", 0.5, 0.0), ("apo_down", 0.5, 0.0), ("sigmoid_norm", 0.5, 0.0), ("sft", 0.1, 0.0)]]
    runs += [("qwen2", "mpo", ["sigmoid", "bco_pair", "sft"], [0.8, 0.2, 1.0], 0.1, 0.0, False)]
    for family, suffix, loss_types, weights, beta, smoothing, full in runs:
            loss = suffix
            torch.manual_seed(11)
            model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32)
            model.config._attn_implementation = "eager"
            folder = os.path.join(ROOT, f"{family}-{suffix}")
            shutil.rmtree(folder, ignore_errors=True)
            if not full:
                model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                                         target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
                model.save_pretrained(os.path.join(folder, "init"))
            else:
                os.makedirs(folder)
            rows = pairs(model.config.vocab_size, torch.Generator().manual_seed(5))
            save_file({key: torch.tensor(sum((r[key] for r in rows), [])) for key in ["prompt_ids", "chosen_ids", "rejected_ids"]}
                      | {key + "_lengths": torch.tensor([len(r[key]) for r in rows]) for key in ["prompt_ids", "chosen_ids", "rejected_ids"]},
                      os.path.join(folder, "data.safetensors"))
            record = Record()
            with tempfile.TemporaryDirectory() as out:
                args = DPOConfig(output_dir=out, per_device_train_batch_size=BATCH, gradient_accumulation_steps=ACCUMULATION,
                                 num_train_epochs=EPOCHS, learning_rate=5e-3, lr_scheduler_type="linear", warmup_steps=1,
                                 weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch", logging_steps=1, save_strategy="no",
                                 report_to=[], seed=0, use_cpu=True, dataloader_num_workers=0, disable_tqdm=True,
                                 beta=beta, loss_type=loss_types, loss_weights=weights, label_smoothing=smoothing,
                                 max_length=None, bf16=False,  # TRL defaults to bf16
                                 precompute_ref_log_probs=full)
                trainer = InOrder(model=model, args=args, train_dataset=Dataset.from_list(rows),
                                  processing_class=word_tokenizer(model.config.vocab_size), callbacks=[record])
                trainer.train()
            logs = [e for e in trainer.state.log_history if "loss" in e]
            tensors = {
                "loss": torch.tensor([e["loss"] for e in logs], dtype=torch.float64),
                "grad_norm": torch.tensor([float(e["grad_norm"]) for e in logs], dtype=torch.float64),
                "lr": torch.tensor(record.lrs, dtype=torch.float64),
                "beta": torch.tensor([beta], dtype=torch.float64),
                "label_smoothing": torch.tensor([smoothing], dtype=torch.float64),
                "loss_weights": torch.tensor(weights or [1.0] * len(loss_types), dtype=torch.float64),
            }
            for key in METRICS:
                tensors["metric." + key] = torch.tensor([e[key] for e in logs], dtype=torch.float64)
            for name, p in model.named_parameters():
                if full:
                    tensors["final." + name] = p.detach().contiguous()
                elif "lora_" in name:  # as peft saves them: no base_model.model. prefix, no adapter name
                    tensors["final." + name.replace("base_model.model.", "", 1).replace(".default", "")] = p.detach().contiguous()
            save_file(tensors, os.path.join(folder, "reference.safetensors"))
            print(family, loss, "losses", [round(x, 6) for x in tensors["loss"].tolist()],
                  "margins", [round(x, 5) for x in tensors["metric.rewards/margins"].tolist()])


if __name__ == "__main__":
    main()
