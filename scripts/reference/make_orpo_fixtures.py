#!/usr/bin/env python3
"""ORPO with TRL's ORPOTrainer + peft on the tiny models of make_model_fixtures.py.

For each family (llama, qwen2), writes Tests/Fixtures/dpo/<family>-orpo/ in make_dpo_fixtures.py's layout
(init/, data.safetensors with the pairs as ORPOTrainer tokenized them, reference.safetensors with every step's
loss, grad norm, learning rate and TRL's metrics: rewards/*, logps/*, nll_loss, log_odds_ratio, log_odds_chosen,
and the adapter after training). Text pairs, tokenizer and settings as make_simpo_fixtures.py; beta 0.5.

    python3 scripts/reference/make_orpo_fixtures.py
"""
import os
import shutil
import sys
import tempfile

import torch
from datasets import Dataset
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from torch.utils.data import SequentialSampler
from transformers import AutoModelForCausalLM
from trl.experimental.orpo import ORPOConfig, ORPOTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_lora_fixtures import Record  # noqa: E402
from make_simpo_fixtures import ACCUMULATION, BATCH, EPOCHS, MODELS, ROOT, text_pairs, word_tokenizer  # noqa: E402

METRICS = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected",
           "nll_loss", "log_odds_ratio", "log_odds_chosen"]
BETA = 0.5


class InOrder(ORPOTrainer):
    def _get_train_sampler(self, train_dataset=None):
        return SequentialSampler(train_dataset or self.train_dataset)


def main():
    for family, full in [("llama", False), ("qwen2", False), ("qwen2", True)]:
        torch.manual_seed(11)
        model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32)
        model.config._attn_implementation = "eager"
        folder = os.path.join(ROOT, f"{family}-{'full-' if full else ''}orpo")
        shutil.rmtree(folder, ignore_errors=True)
        if full:
            os.makedirs(folder)
        else:
            model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                                     target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
            model.save_pretrained(os.path.join(folder, "init"))
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
        ids = {"prompt_ids": [], "chosen_ids": [], "rejected_ids": []}
        for example in prepared:
            prompt = list(example["prompt_input_ids"])
            ids["prompt_ids"].append(prompt)
            for side in ["chosen", "rejected"]:
                whole = list(example[f"{side}_input_ids"])
                assert whole[:len(prompt)] == prompt, "ORPOTrainer's reply ids follow the prompt's"
                ids[f"{side}_ids"].append(whole[len(prompt):])
        save_file({key: torch.tensor(sum(v, [])) for key, v in ids.items()}
                  | {key + "_lengths": torch.tensor([len(x) for x in v]) for key, v in ids.items()},
                  os.path.join(folder, "data.safetensors"))
        logs = [e for e in trainer.state.log_history if "loss" in e]
        tensors = {
            "loss": torch.tensor([e["loss"] for e in logs], dtype=torch.float64),
            "grad_norm": torch.tensor([float(e["grad_norm"]) for e in logs], dtype=torch.float64),
            "lr": torch.tensor(record.lrs, dtype=torch.float64),
            "beta": torch.tensor([BETA], dtype=torch.float64),
        }
        for key in METRICS:
            tensors["metric." + key] = torch.tensor([e[key] for e in logs], dtype=torch.float64)
        for name, p in model.named_parameters():
            if full:
                tensors["final." + name] = p.detach().contiguous()
            elif "lora_" in name:
                tensors["final." + name.replace("base_model.model.", "", 1).replace(".default", "")] = p.detach().contiguous()
        save_file(tensors, os.path.join(folder, "reference.safetensors"))
        print(family, "losses", [round(x, 6) for x in tensors["loss"].tolist()],
              "margins", [round(x, 5) for x in tensors["metric.rewards/margins"].tolist()])


if __name__ == "__main__":
    main()
