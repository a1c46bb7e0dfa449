#!/usr/bin/env python3
"""ORPO with TRL's ORPOTrainer + peft on the tiny models of make_model_fixtures.py.

For each family (llama, qwen2), writes Tests/Fixtures/dpo/<family>-orpo/ in make_dpo_fixtures.py's layout
(init/, data.safetensors with the pairs as ORPOTrainer tokenized them, reference.safetensors with every step's
loss, grad norm, learning rate and TRL's metrics: rewards/*, logps/*, nll_loss, log_odds_ratio, log_odds_chosen,
and the adapter after training). Text pairs, tokenizer and settings as make_simpo_fixtures.py; beta 0.5.

    python3 scripts/reference/make_orpo_fixtures.py
"""
import os
import sys
import tempfile

import torch
from datasets import Dataset
from torch.utils.data import SequentialSampler
from trl.experimental.orpo import ORPOConfig, ORPOTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_lora_fixtures import Record  # noqa: E402
from make_simpo_fixtures import ACCUMULATION, BATCH, EPOCHS, text_pairs, word_tokenizer  # noqa: E402
from preference_common import ROOT, reply_ids, save_ids, save_reference, start_model  # noqa: E402

METRICS = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected",
           "nll_loss", "log_odds_ratio", "log_odds_chosen"]
BETA = 0.5


class InOrder(ORPOTrainer):
    def _get_train_sampler(self, train_dataset=None):
        return SequentialSampler(train_dataset or self.train_dataset)


def main():
    for family, full in [("llama", False), ("qwen2", False), ("qwen2", True)]:
        folder = os.path.join(ROOT, f"{family}-{'full-' if full else ''}orpo")
        model = start_model(family, folder, full)
        rows = text_pairs(model.config.vocab_size, torch.Generator().manual_seed(5))
        record = Record()
        with tempfile.TemporaryDirectory() as out:
            args = ORPOConfig(output_dir=out, per_device_train_batch_size=BATCH, gradient_accumulation_steps=ACCUMULATION,
                              num_train_epochs=EPOCHS, learning_rate=5e-3, lr_scheduler_type="linear", warmup_steps=1,
                              weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch", logging_steps=1, save_strategy="no",
                              report_to=[], seed=0, use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, bf16=False,
                              beta=BETA, max_length=512)
            trainer = InOrder(model=model, args=args, train_dataset=Dataset.from_list(rows),
                              processing_class=word_tokenizer(model.config.vocab_size), callbacks=[record])
            prepared = trainer.train_dataset
            trainer.train()
        save_ids(folder, reply_ids(prepared))
        tensors = save_reference(folder, trainer, record, METRICS, model, full, {"beta": [BETA]})
        print(family, "losses", [round(x, 6) for x in tensors["loss"].tolist()],
              "margins", [round(x, 5) for x in tensors["metric.rewards/margins"].tolist()])


if __name__ == "__main__":
    main()
