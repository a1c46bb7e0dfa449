#!/usr/bin/env python3
"""peft's AdaLoRA (`AdaLoraConfig`) trained with transformers.Trainer on the tiny models of make_model_fixtures.py.

AdaLoRA adds an SVD-shaped update beside each target Linear, y += dropout(x)·(A ⊙ E)ᵀ·Bᵀ · lora_alpha /
(ranknum + 1e-5) (A [r, in], E [r, 1], B [out, r], ranknum = init_r), adds an orthogonal regulariser to
each forward's loss, and after every optimizer step (a TrainerCallback's on_optimizer_step calling
model.base_model.update_and_allocate(state.global_step), before zero_grad) scores the singular triplets
and zeroes E entries down to a shrinking budget; the settings here make the budget drop within the
10 steps and fix rank_pattern at step total_step - tfinal.

For each case, writes Tests/Fixtures/adalora/<case>/:
  init/      the peft adapter folder before training (save_pretrained: full init_r, no rank_pattern)
  final/     the peft adapter folder after training (rank_pattern in adapter_config.json, only kept ranks saved)
  data.safetensors       the samples, in Trainer's order (two per micro-batch)
  reference.safetensors  per-step loss (with the regulariser), grad norm and learning rate (Trainer's
                         log_history), `final.<module>.lora_A/E/B`: the trained tensors at full init_r
                         (masked E entries 0), the logits [T, V] of the first sample with the trained
                         adapter and after merge_and_unload, and `greedy`: generate()'s greedy tokens
                         (KV cache on) after the first sample's first 5 tokens
  metadata: `trainable` and `total` (peft's get_nb_trainable_parameters()), `options`, `decay` (the
  trained names in Trainer's weight-decay group), `steps` (the global_step each callback passed)
Settings: 10 steps, batch 2, gradient accumulation 2, lr 1e-2, warmup 1 + linear, weight decay 0.1,
max_grad_norm 1.0, adamw_torch.

    python3 scripts/reference/make_model_fixtures.py   # first: the tiny base models
    python3 scripts/reference/make_adalora_fixtures.py
"""
import json
import os
import shutil
import warnings

import torch
from peft import AdaLoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, TrainerCallback

from make_lora_fixtures import BATCH, ACCUMULATION, Samples, save_samples, train_in_order

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "adalora")
STEPS, LR, PROMPT, NEW_TOKENS = 10, 1e-2, 5, 8

CASES = {
    # peft's default targets for llama (q_proj, v_proj); budget 24 -> 8 between steps 2 and 7.
    "adalora-llama": ("llama", dict(init_r=6, target_r=2, tinit=2, tfinal=3, deltaT=1, total_step=STEPS)),
    # more targets (q, k, v with biases), masking every 2nd step, another alpha and regulariser weight.
    "adalora-qwen2": ("qwen2", dict(init_r=4, target_r=1, tinit=1, tfinal=2, deltaT=2, total_step=STEPS, lora_alpha=16,
                                    orth_reg_weight=0.3, beta1=0.8, beta2=0.9,
                                    target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"])),
}


class Allocate(TrainerCallback):
    """AdaLoRA's rank allocation after each optimizer step, before the gradients are zeroed."""

    def __init__(self, model):
        self.model = model
        self.steps = []

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)
        self.model.base_model.update_and_allocate(state.global_step)


def run(case, family, options):
    torch.manual_seed(13)
    base = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32)
    base.config._attn_implementation = "eager"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(base, AdaLoraConfig(task_type="CAUSAL_LM", **options))
    trainable, total = model.get_nb_trainable_parameters()
    folder = os.path.join(ROOT, case)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(os.path.join(folder, "init"))
    data = Samples(torch.Generator().manual_seed(96), STEPS * BATCH * ACCUMULATION, model.config.vocab_size)
    save_samples(data, folder)
    allocate = Allocate(model)
    trainer, decay, history = train_in_order(model, data, STEPS, learning_rate=LR, callbacks=[allocate])
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    finals = {}
    for name, p in model.named_parameters():
        if "lora_" in name:
            finals["final." + name.replace("base_model.model.", "").replace(".default", "")] = p.detach().contiguous()
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
    save_file({**history, **finals, "logits": logits.contiguous(), "merged_logits": merged.contiguous(),
               "greedy": greedy.to(torch.float32)},
              os.path.join(folder, "reference.safetensors"),
              metadata={"trainable": str(trainable), "total": str(total), "options": json.dumps(options),
                        "decay": json.dumps(sorted(n for n in trained if n in decay)), "steps": json.dumps(allocate.steps)})
    with open(os.path.join(folder, "final", "adapter_config.json")) as f:
        pattern = json.load(f)["rank_pattern"]
    print(case, "trainable", trainable, "of", total, "losses", [round(x, 5) for x in history["loss"].tolist()],
          "greedy", greedy.tolist(), "allocation steps", allocate.steps,
          "ranks", {k.split("model.")[-1]: sum(v) for k, v in pattern.items()})
    # Nothing but the README peft writes is left out of the fixture folders (they stay kilobytes).
    for sub in ("init", "final"):
        readme = os.path.join(folder, sub, "README.md")
        if os.path.exists(readme):
            os.remove(readme)


def main():
    for case, (family, options) in CASES.items():
        run(case, family, options)


if __name__ == "__main__":
    main()
