#!/usr/bin/env python3
"""peft's IA³ (`IA3Config`) trained with transformers.Trainer on the tiny models of make_model_fixtures.py.

IA³ learns one vector `ia3_l` per target Linear, initialised to ones: a feed-forward module
(`feedforward_modules`) scales its input, y = W·(x ⊙ l) + b (l [1, in]); any other scales its
output, bias included, y = (W·x + b) ⊙ l (l [out, 1]).

For each case, writes Tests/Fixtures/ia3/<case>/:
  init/      the peft adapter folder before training (save_pretrained)
  final/     the peft adapter folder after training
  data.safetensors       the samples, in Trainer's order (two per micro-batch)
  reference.safetensors  per-step loss, grad norm and learning rate (Trainer's log_history), the
                         logits [T, V] of the first sample with the trained adapter and after
                         merge_and_unload, and `greedy`: generate()'s greedy tokens (KV cache on)
                         after the first sample's first 5 tokens
  metadata: `trainable` and `total` (peft's get_nb_trainable_parameters(), what
  print_trainable_parameters prints), `decay` (the trained names in Trainer's weight-decay group)
Settings: 10 steps, batch 2, gradient accumulation 2, lr 1e-2, warmup 1 + linear, weight decay 0.1,
max_grad_norm 1.0, adamw_torch.

    python3 scripts/reference/make_model_fixtures.py   # first: the tiny base models
    python3 scripts/reference/make_ia3_fixtures.py
"""
import json
import os
import shutil
import warnings

import torch
from peft import IA3Config, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

from make_lora_fixtures import BATCH, ACCUMULATION, Samples, save_samples, train_in_order

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "ia3")
STEPS, LR, PROMPT, NEW_TOKENS = 10, 1e-2, 5, 8

CASES = {
    # peft's defaults for llama: k_proj, v_proj, down_proj; down_proj feed-forward.
    "ia3-llama": ("llama", dict()),
    # q, k and v have biases, which output scaling scales too.
    "ia3-qwen2": ("qwen2", dict(target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"],
                                feedforward_modules=["up_proj", "down_proj"])),
    # all-linear, a regular expression for feedforward_modules, and a trained copy of lm_head.
    "ia3-llama-save": ("llama", dict(target_modules="all-linear", feedforward_modules=r".*mlp\.(gate_proj|down_proj)",
                                     modules_to_save=["lm_head"])),
}


def run(case, family, options):
    torch.manual_seed(13)
    base = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32)
    base.config._attn_implementation = "eager"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(base, IA3Config(task_type="CAUSAL_LM", **options))
    trainable, total = model.get_nb_trainable_parameters()
    folder = os.path.join(ROOT, case)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(os.path.join(folder, "init"))
    data = Samples(torch.Generator().manual_seed(97), STEPS * BATCH * ACCUMULATION, model.config.vocab_size)
    save_samples(data, folder)
    trainer, decay, history = train_in_order(model, data, STEPS, learning_rate=LR)
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    model.save_pretrained(os.path.join(folder, "final"))
    ids = torch.tensor([data.items[0]["input_ids"]])
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
        prompt = ids[:, :PROMPT]
        out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
                             min_new_tokens=NEW_TOKENS, do_sample=False, use_cache=True, eos_token_id=None, pad_token_id=0)
        greedy = out[0, PROMPT:]
        merged = model.merge_and_unload()(input_ids=ids).logits[0]
    save_file({**history, "logits": logits.contiguous(), "merged_logits": merged.contiguous(),
               "greedy": greedy.to(torch.float32)},
              os.path.join(folder, "reference.safetensors"),
              metadata={"trainable": str(trainable), "total": str(total), "options": json.dumps(options),
                        "decay": json.dumps(sorted(n for n in trained if n in decay))})
    print(case, "trainable", trainable, "of", total, "losses", [round(x, 5) for x in history["loss"].tolist()],
          "greedy", greedy.tolist(), "decayed", sum(n in decay for n in trained), "of", len(trained))


def main():
    for case, (family, options) in CASES.items():
        run(case, family, options)


if __name__ == "__main__":
    main()
