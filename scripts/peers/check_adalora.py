#!/usr/bin/env python3
"""peft loads the AdaLoRA adapters Tailor trained (PeftModel.from_pretrained: rank_pattern in
adapter_config.json, only the kept ranks saved) and gives the logits Tailor computed with them, and
transformers loads Tailor's merges of peft's AdaLoRA adapters with peft's merge_and_unload logits
(make_adalora_fixtures.py); each within 1e-5 of the largest logit.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-adalora swift test --filter AdaLoRAReferenceTests
    python3 scripts/peers/check_adalora.py /tmp/tailor-adalora
"""
import os
import sys
import warnings

import torch
from peft import PeftConfig, PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "Fixtures")
FAMILY = {"adalora-llama": "llama", "adalora-qwen2": "qwen2"}

warnings.filterwarnings("ignore")
kept = sys.argv[1]
worst = 0.0
for case, family in FAMILY.items():
    folder = os.path.join(kept, case)
    data = load_file(os.path.join(FIXTURES, "adalora", case, "data.safetensors"))
    ids = data["input_ids"][: int(data["lengths"][0])].long()[None]
    reference = load_file(os.path.join(FIXTURES, "adalora", case, "reference.safetensors"))
    tailor = load_file(os.path.join(folder, "tailor_logits.safetensors"))["logits"]
    config = PeftConfig.from_pretrained(folder)
    assert config.peft_type == "ADALORA", config.peft_type
    peft_final = PeftConfig.from_pretrained(os.path.join(FIXTURES, "adalora", case, "final"))
    same_pattern = config.rank_pattern == peft_final.rank_pattern
    base = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, "models", family), dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, folder).eval()
    merged = AutoModelForCausalLM.from_pretrained(os.path.join(folder, "merged"), dtype=torch.float32).eval()
    with torch.no_grad():
        scale = tailor.abs().max().item()
        adapter_error = (adapted(input_ids=ids).logits[0] - tailor).abs().max().item() / scale
        trained_gap = (tailor - reference["logits"]).abs().max().item() / scale
        merged_error = (merged(input_ids=ids).logits[0] - reference["merged_logits"]).abs().max().item() / scale
    ranks = sum(sum(v) for v in config.rank_pattern.values())
    print(f"{case}: Tailor's AdaLoRA folder in peft vs Tailor's logits max|Δ|/max|ref| {adapter_error:.2e}"
          f" (Tailor's training vs peft's: {trained_gap:.2e}); Tailor's merge in transformers {merged_error:.2e};"
          f" rank_pattern equal to peft's: {same_pattern} ({ranks} ranks kept)")
    worst = max(worst, adapter_error, merged_error)
    if not same_pattern:
        worst = 1.0
sys.exit(0 if worst < 1e-5 else 1)
