#!/usr/bin/env python3
"""SimPO with TRL's CPOTrainer (loss_type simpo) + peft on the tiny models of make_model_fixtures.py.

For each family (llama, qwen2) and cpo_alpha (1.0, CPOTrainer's default NLL term, and 0.0, pure SimPO),
writes Tests/Fixtures/dpo/<family>-simpo-alpha<cpo_alpha>/ in make_dpo_fixtures.py's layout:
  init/                 the LoRA adapter before training (peft's init: B = 0)
  data.safetensors      the pairs as CPOTrainer tokenized them (its BOS before the prompt, EOS after each reply):
                        prompt, chosen and rejected ids back to back, with their lengths
  reference.safetensors per-step loss, grad norm, learning rate, TRL's metrics (rewards/*, logps/*, nll_loss),
                        the adapter after training
CPOTrainer reads text: each prompt and reply is a string of word tokens ("t17 t40 ..."), tokenized by a
whitespace word-level tokenizer of the model's vocabulary. Settings as make_dpo_fixtures.py: r=4, lora_alpha=8,
q_proj + v_proj; 8 pairs, batch 2 pairs, gradient accumulation 2, 5 epochs (10 steps), lr 5e-3 linear with
warmup 1, max_grad_norm 1.0, adamw_torch, no shuffle; beta 2.0, simpo_gamma 0.5 (hence a loss above zero at step 1).

    python3 scripts/reference/make_simpo_fixtures.py
"""
import os
import sys
import tempfile

import torch
from datasets import Dataset
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from torch.utils.data import SequentialSampler
from transformers import PreTrainedTokenizerFast
from trl.experimental.cpo import CPOConfig, CPOTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_lora_fixtures import Record  # noqa: E402  the learning rate each step used
from preference_common import ROOT, reply_ids, save_ids, save_reference, start_model  # noqa: E402

PAIRS, BATCH, ACCUMULATION, EPOCHS = 8, 2, 2, 5
METRICS = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected",
           "nll_loss"]


class InOrder(CPOTrainer):
    def _get_train_sampler(self, train_dataset=None):
        return SequentialSampler(train_dataset or self.train_dataset)


def text_pairs(vocab, generator):
    rows = []
    for _ in range(PAIRS):
        def draw(lo, hi):
            n = int(torch.randint(lo, hi, (1,), generator=generator))
            return " ".join(f"t{i}" for i in torch.randint(3, vocab, (n,), generator=generator).tolist())
        # Replies start with a space: CPOTrainer tokenizes prompt + reply as one string.
        rows.append({"prompt": draw(2, 6), "chosen": " " + draw(2, 7), "rejected": " " + draw(2, 7)})
    return rows


def word_tokenizer(vocab):
    tok = Tokenizer(WordLevel(vocab={f"t{i}": i for i in range(vocab)}, unk_token="t0"))
    tok.pre_tokenizer = WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="t0", eos_token="t1", bos_token="t2")


def main():
    # LoRA on both families with and without the NLL term; full fine-tuning of llama with it.
    for family, alpha, full in [("llama", 1.0, False), ("llama", 0.0, False), ("qwen2", 1.0, False), ("qwen2", 0.0, False),
                                ("llama", 1.0, True)]:
        folder = os.path.join(ROOT, f"{family}-{'full-' if full else ''}simpo-alpha{alpha:g}")
        model = start_model(family, folder, full)
        rows = text_pairs(model.config.vocab_size, torch.Generator().manual_seed(5))
        record = Record()
        with tempfile.TemporaryDirectory() as out:
            args = CPOConfig(output_dir=out, per_device_train_batch_size=BATCH, gradient_accumulation_steps=ACCUMULATION,
                             num_train_epochs=EPOCHS, learning_rate=5e-3, lr_scheduler_type="linear", warmup_steps=1,
                             weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch", logging_steps=1, save_strategy="no",
                             report_to=[], seed=0, use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, bf16=False,
                             loss_type="simpo", beta=2.0, simpo_gamma=0.5, cpo_alpha=alpha, max_length=512)
            trainer = InOrder(model=model, args=args, train_dataset=Dataset.from_list(rows),
                              processing_class=word_tokenizer(model.config.vocab_size), callbacks=[record])
            prepared = trainer.train_dataset
            trainer.train()
        save_ids(folder, reply_ids(prepared))
        tensors = save_reference(folder, trainer, record, METRICS, model, full,
                                 {"beta": [2.0], "simpo_gamma": [0.5], "cpo_alpha": [alpha]})
        print(family, alpha, "losses", [round(x, 6) for x in tensors["loss"].tolist()],
              "margins", [round(x, 5) for x in tensors["metric.rewards/margins"].tolist()])


if __name__ == "__main__":
    main()
