#!/usr/bin/env python3
"""DPO with TRL's DPOTrainer + peft on the tiny models of make_model_fixtures.py.

For each family (llama, qwen2) and loss type (sigmoid, hinge, ipo), writes
Tests/Fixtures/dpo/<family>-<loss>/ (and, for full fine-tuning with sigmoid, <family>-full-sigmoid/, with
precompute_ref_log_probs and every parameter after training, without init/; on llama, TRL's other pairwise
losses, llama-<loss>/; on qwen2, MPO's sum of sigmoid, bco_pair and sft with loss_weights 0.8, 0.2, 1.0, qwen2-mpo/):
  init/adapter_model.safetensors + adapter_config.json  the LoRA adapter before training (peft's init: B = 0)
  data.safetensors      the pairs in the order the trainer sees them: prompt, chosen and rejected ids back to back
  reference.safetensors per-step loss, grad norm, learning rate and TRL's metrics (rewards/*, logps/*, logits/*) from
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
import sys
import tempfile

import torch
from datasets import Dataset
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from torch.utils.data import SequentialSampler
from transformers import PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_lora_fixtures import Record  # noqa: E402  the learning rate each step used
from preference_common import ROOT, save_ids, save_reference, start_model  # noqa: E402

PAIRS, BATCH, ACCUMULATION, EPOCHS = 8, 2, 2, 5
METRICS = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected",
           "logits/chosen", "logits/rejected"]


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
        folder = os.path.join(ROOT, f"{family}-{suffix}")
        model = start_model(family, folder, full)
        rows = pairs(model.config.vocab_size, torch.Generator().manual_seed(5))
        save_ids(folder, {key: [r[key] for r in rows] for key in ["prompt_ids", "chosen_ids", "rejected_ids"]})
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
        tensors = save_reference(folder, trainer, record, METRICS, model, full, {
            "beta": [beta], "label_smoothing": [smoothing], "loss_weights": weights or [1.0] * len(loss_types)})
        print(family, suffix, "losses", [round(x, 6) for x in tensors["loss"].tolist()],
              "margins", [round(x, 5) for x in tensors["metric.rewards/margins"].tolist()])


if __name__ == "__main__":
    main()
