#!/usr/bin/env python3
"""KTO with TRL's KTOTrainer + peft on the tiny models of make_model_fixtures.py.

For each family (llama, qwen2), writes Tests/Fixtures/dpo/<family>-kto/:
  init/                 the LoRA adapter before training (peft's init: B = 0)
  data.safetensors      the examples as KTOTrainer tokenized them: prompt_ids and completion_ids back to back with
                        their lengths, and label (1 desirable, 0 not); its KL completions are not saved: Tailor draws
                        them itself, and a different draw would change every kl and loss
  reference.safetensors per-step loss, grad norm, learning rate and TRL's metrics (kl, rewards/*, logps/*), the
                        adapter after training
KTOTrainer reads text: prompts and completions are strings of word tokens ("t17 t40 ..."), each completion ending
in the EOS word t1 (so KTOTrainer adds none), tokenized by a whitespace word-level tokenizer of the model's
vocabulary. Settings: r=4, lora_alpha=8, q_proj + v_proj; 12 examples (7 desirable), batch 3, gradient
accumulation 2, 5 epochs (10 steps), lr 5e-3 linear with warmup 1, max_grad_norm 1.0, adamw_torch, sequential
order (KTOTrainer's requirement); beta 0.5, desirable_weight 1.0, undesirable_weight 1.5.

    python3 scripts/reference/make_kto_fixtures.py
"""
import os
import sys
import tempfile

import torch
from datasets import Dataset
from trl import KTOConfig, KTOTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_lora_fixtures import Record  # noqa: E402
from make_simpo_fixtures import word_tokenizer  # noqa: E402
from preference_common import ROOT, save_ids, save_reference, start_model  # noqa: E402

EXAMPLES, BATCH, ACCUMULATION, EPOCHS, BETA = 12, 3, 2, 5, 0.5
METRICS = ["kl", "rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected",
           "logits/chosen", "logits/rejected"]


def examples(vocab, generator):
    rows = []
    for i in range(EXAMPLES):
        def draw(lo, hi):
            n = int(torch.randint(lo, hi, (1,), generator=generator))
            return " ".join(f"t{i}" for i in torch.randint(3, vocab, (n,), generator=generator).tolist())
        rows.append({"prompt": draw(2, 6), "completion": " " + draw(2, 6) + " t1", "label": i % 2 == 0 or i == 7})
    return rows


def main():
    for family, full in [("llama", False), ("qwen2", False), ("llama", True)]:
        folder = os.path.join(ROOT, f"{family}-{'full-' if full else ''}kto")
        model = start_model(family, folder, full)
        rows = examples(model.config.vocab_size, torch.Generator().manual_seed(5))
        record = Record()
        with tempfile.TemporaryDirectory() as out:
            args = KTOConfig(output_dir=out, per_device_train_batch_size=BATCH, gradient_accumulation_steps=ACCUMULATION,
                             num_train_epochs=EPOCHS, learning_rate=5e-3, lr_scheduler_type="linear", warmup_steps=1,
                             weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch", logging_steps=1, save_strategy="no",
                             report_to=[], seed=0, use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, bf16=False,
                             beta=BETA, desirable_weight=1.0, undesirable_weight=1.5, max_length=None,
                             train_sampling_strategy="sequential",
                             precompute_ref_log_probs=full)  # full fine-tuning: the reference computed once, as Tailor does
            trainer = KTOTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                                 processing_class=word_tokenizer(model.config.vocab_size), callbacks=[record])
            prepared = trainer.train_dataset
            trainer.train()
        save_ids(folder, {key: [list(e[key]) for e in prepared] for key in ["prompt_ids", "completion_ids"]},
                 {"label": torch.tensor([int(e["label"]) for e in prepared])})
        tensors = save_reference(folder, trainer, record, METRICS, model, full, {"beta": [BETA]})
        print(family, "losses", [round(x, 6) for x in tensors["loss"].tolist()],
              "kl", [round(x, 5) for x in tensors["metric.kl"].tolist()])


if __name__ == "__main__":
    main()
