#!/usr/bin/env python3
"""peft's LoRA options beyond A and B, trained with transformers.Trainer on the tiny models of
make_model_fixtures.py: `bias` and `modules_to_save` (with the tied embeddings of llama-tied and
qwen2, whose copies untie embed_tokens from lm_head unless ensure_weight_tying is set).

For each case, writes Tests/Fixtures/lora-extras/<case>/:
  init/   the peft adapter folder before training (A, B, and the trainable full tensors)
  final/  the peft adapter folder after training (save_pretrained)
  data.safetensors       the samples, in Trainer's order (two per micro-batch)
  reference.safetensors  per-step loss and grad norm (Trainer's log_history), the learning
                         rates, and the logits [T, V] of the first sample with the trained adapter
                         and after merge_and_unload
Settings: r=4, lora_alpha=8, no dropout; 5 steps, batch 2, gradient accumulation 2, lr 1e-3,
warmup 1 + linear, weight decay 0.1 (Trainer: none on biases), max_grad_norm 1.0, adamw_torch.

    python3 scripts/reference/make_model_fixtures.py   # first: the tiny base models
    python3 scripts/reference/make_lora_extras_fixtures.py
"""
import json
import os
import shutil
import warnings

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

from make_lora_fixtures import BATCH, ACCUMULATION, Samples, save_samples, train_in_order

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "lora-extras")
STEPS = 5

CASES = {
    # q and v biases of an adapted Linear are saved as ...q_proj.base_layer.bias, k's as ...k_proj.bias.
    "qwen2-bias-all": ("qwen2", dict(target_modules=["q_proj", "v_proj", "down_proj"], bias="all")),
    "qwen2-bias-lora-only": ("qwen2", dict(target_modules=["q_proj", "o_proj"], bias="lora_only")),
    # Tied: the embed_tokens copy trains; lm_head keeps the frozen base table.
    "llama-tied-embed": ("llama-tied", dict(target_modules=["q_proj", "v_proj"], modules_to_save=["embed_tokens"])),
    # Tied: lm_head gets its own trained copy; the input embeddings stay the base table.
    "llama-tied-head": ("llama-tied", dict(target_modules="all-linear", modules_to_save=["lm_head"])),
    # Tied, both named: two independent copies (both start from the same table).
    "qwen2-embed-head": ("qwen2", dict(target_modules=["q_proj", "v_proj"], modules_to_save=["embed_tokens", "lm_head"],
                                       bias="lora_only")),
    # ensure_weight_tying: one shared copy, saved under both keys.
    "llama-tied-ensure": ("llama-tied", dict(target_modules=["q_proj"], modules_to_save=["embed_tokens", "norm"],
                                             ensure_weight_tying=True)),
}


def run(case, family, options):
    torch.manual_seed(11)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32)
    model.config._attn_implementation = "eager"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM", **options))
    folder = os.path.join(ROOT, case)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(os.path.join(folder, "init"))
    data = Samples(torch.Generator().manual_seed(97), STEPS * BATCH * ACCUMULATION, model.config.vocab_size)
    save_samples(data, folder)
    _, decay, history = train_in_order(model, data, STEPS)
    model.save_pretrained(os.path.join(folder, "final"))
    # Trainer's weight-decay group of each trainable tensor, by peft parameter name.
    trainable = {n: (1.0 if n in decay else 0.0) for n, p in model.named_parameters() if p.requires_grad}
    ids = torch.tensor([data.items[0]["input_ids"]])
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
        merged = model.merge_and_unload()(input_ids=ids).logits[0]
    save_file({**history, "logits": logits.contiguous(), "merged_logits": merged.contiguous()},
              os.path.join(folder, "reference.safetensors"),
              metadata={"decay": json.dumps(trainable)})
    print(case, "losses", history["loss"].tolist())


def main():
    for case, (family, options) in CASES.items():
        run(case, family, options)


if __name__ == "__main__":
    main()
