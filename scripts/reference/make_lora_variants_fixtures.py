#!/usr/bin/env python3
"""peft's LoRA variants trained with transformers.Trainer on the tiny models of make_model_fixtures.py:
DoRA (`use_dora`), LoRA+ (peft's `create_loraplus_optimizer`), `rank_pattern` / `alpha_pattern`,
and the initialisations that change the base weights (`init_lora_weights` "pissa", "olora").

For each case, writes Tests/Fixtures/lora-variants/<case>/:
  init/      the peft adapter folder before training (save_pretrained)
  final/     the peft adapter folder after training
  converted/ (PiSSA, OLoRA) the trained adapter as a plain LoRA of rank 2r on the original base
             (save_pretrained(path_initial_model_for_weight_conversion=...))
  data.safetensors       the samples, in Trainer's order (two per micro-batch)
  reference.safetensors  per-step loss and grad norm (Trainer's log_history), the learning rates
                         of each optimizer group, the logits [T, V] of the first sample with the
                         trained adapter and after merge_and_unload, and (PiSSA, OLoRA) the
                         residual base weights `residual.<module>.weight` peft's init left
  metadata: `trainable` and `total`, peft's get_nb_trainable_parameters() (print_trainable_parameters)
Settings: r=4, lora_alpha=8, no dropout; 10 steps, batch 2, gradient accumulation 2, lr 1e-3,
warmup 1 + linear, weight decay 0.1, max_grad_norm 1.0, adamw_torch (LoRA+: torch.optim.AdamW from
create_loraplus_optimizer with loraplus_weight_decay 0.1, under Trainer's schedule).

    python3 scripts/reference/make_model_fixtures.py   # first: the tiny base models
    python3 scripts/reference/make_lora_variants_fixtures.py [case ...]
"""
import json
import os
import shutil
import sys
import tempfile
import warnings

import torch
from peft import LoraConfig, get_peft_model
from peft.optimizers import create_loraplus_optimizer
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

from make_lora_fixtures import BATCH, ACCUMULATION, Samples, save_samples, train_in_order

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "lora-variants")
STEPS = 10

CASES = {
    "dora-llama": ("llama", dict(target_modules="all-linear", use_dora=True), None),
    # q, k and v have biases: DoRA scales the base output without its bias.
    "dora-qwen2": ("qwen2", dict(target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"], use_dora=True), None),
    "loraplus-llama": ("llama", dict(target_modules="all-linear"), 16.0),
    # Biases (1-D, no decay) and DoRA magnitudes (1-D, decay) join lora_B's group.
    "loraplus-qwen2": ("qwen2", dict(target_modules=["q_proj", "v_proj", "o_proj"], bias="lora_only", use_dora=True), 8.0),
    # Keys are regular expressions matched against the end of a module's name, first match wins.
    "patterns-llama": ("llama", dict(target_modules="all-linear",
                                     rank_pattern={"q_proj": 8, r"layers\.1\.mlp\.down_proj": 2, "model.layers.0.mlp.up_proj": 6},
                                     alpha_pattern={"v_proj": 32, r".*\.1\.self_attn\.o_proj": 2}), None),
    # "proj" matches no module: a key must match whole dotted parts at the end of the name.
    "patterns-qwen2": ("qwen2", dict(target_modules=["q_proj", "k_proj", "v_proj", "gate_proj"], use_rslora=True,
                                     rank_pattern={"^model.layers.0.self_attn.k_proj": 2, "proj": 6},
                                     alpha_pattern={"gate_proj": 3}), None),
    "pissa-llama": ("llama", dict(target_modules=["q_proj", "v_proj", "gate_proj"], init_lora_weights="pissa"), None),
    "pissa-qwen2": ("qwen2", dict(target_modules=["q_proj", "o_proj", "up_proj"], init_lora_weights="pissa"), None),
    "olora-llama": ("llama", dict(target_modules=["q_proj", "k_proj", "down_proj"], init_lora_weights="olora"), None),
    "olora-qwen2": ("qwen2", dict(target_modules=["v_proj", "gate_proj"], init_lora_weights="olora"), None),
    # torch.svd_lowrank's random projection (torch's generator): Tailor's draw differs, so its tests compare
    # what does not depend on the draw (the converged top-r product) within the measured error.
    "pissa-niter-llama": ("llama", dict(target_modules=["q_proj", "v_proj", "gate_proj"], init_lora_weights="pissa_niter_4"), None),
}


def first_sample(data):
    return torch.tensor([data.items[0]["input_ids"]])


def run(case, family, options, loraplus_ratio):
    torch.manual_seed(13)
    base = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32)
    base.config._attn_implementation = "eager"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM", **options))
    trainable, total = model.get_nb_trainable_parameters()
    folder = os.path.join(ROOT, case)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(os.path.join(folder, "init"))
    tensors = {}
    mutates_base = str(options.get("init_lora_weights")).startswith(("pissa", "olora"))
    if mutates_base:
        for name, param in model.named_parameters():
            if name.endswith("base_layer.weight"):
                key = name.replace("base_model.model.", "").replace(".base_layer", "")
                tensors["residual." + key] = param.detach().clone().contiguous()
    data = Samples(torch.Generator().manual_seed(96), STEPS * BATCH * ACCUMULATION, model.config.vocab_size)
    save_samples(data, folder)
    optimizer = None
    if loraplus_ratio is not None:
        optimizer = create_loraplus_optimizer(model, torch.optim.AdamW, lr=1e-3, loraplus_lr_ratio=loraplus_ratio,
                                              loraplus_weight_decay=0.1)
    trainer, _, history = train_in_order(model, data, STEPS, optimizer=optimizer)
    if optimizer is not None:
        # lr of each group at each step: groupA, embedding, groupB, groupB_no_decay.
        history["group_lr"] = torch.tensor([g["lr"] for g in optimizer.param_groups], dtype=torch.float64)
        history["group_sizes"] = torch.tensor([len(g["params"]) for g in optimizer.param_groups], dtype=torch.float64)
    model.save_pretrained(os.path.join(folder, "final"))
    if mutates_base:
        with tempfile.TemporaryDirectory() as scratch:
            initial = os.path.join(scratch, "initial")
            shutil.copytree(os.path.join(folder, "init"), initial)
            model.save_pretrained(os.path.join(folder, "converted"), path_initial_model_for_weight_conversion=initial)
    ids = first_sample(data)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
        merged = model.merge_and_unload()(input_ids=ids).logits[0]
    save_file({**history, **tensors, "logits": logits.contiguous(), "merged_logits": merged.contiguous()},
              os.path.join(folder, "reference.safetensors"),
              metadata={"trainable": str(trainable), "total": str(total), "options": json.dumps(options)})
    print(case, "trainable", trainable, "losses", [round(x, 5) for x in history["loss"].tolist()])


def main():
    # Case names as arguments write only those (e.g. pissa-niter-llama); none writes every case.
    chosen = sys.argv[1:] or list(CASES)
    for case in chosen:
        family, options, ratio = CASES[case]
        run(case, family, options, ratio)


if __name__ == "__main__":
    main()
