#!/usr/bin/env python3
"""peft loads the IA³ adapters Tailor trained (PeftModel.from_pretrained) and gives the logits Tailor
computed with them, and transformers loads Tailor's merges of peft's IA³ adapters with peft's
merge_and_unload logits (make_ia3_fixtures.py); each within 1e-5 of the largest logit.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-ia3 swift test --filter IA3ReferenceTests
    python3 scripts/peers/check_ia3.py /tmp/tailor-ia3
"""
import json
import os
import sys
import warnings

import torch
from peft import PeftConfig, PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "Fixtures")
FAMILY = {"ia3-llama": "llama", "ia3-qwen2": "qwen2", "ia3-llama-save": "llama"}

warnings.filterwarnings("ignore")
kept = sys.argv[1]
worst = 0.0
for case, family in FAMILY.items():
    folder = os.path.join(kept, case)
    data = load_file(os.path.join(FIXTURES, "ia3", case, "data.safetensors"))
    ids = data["input_ids"][: int(data["lengths"][0])].long()[None]
    reference = load_file(os.path.join(FIXTURES, "ia3", case, "reference.safetensors"))
    tailor = load_file(os.path.join(folder, "tailor_logits.safetensors"))["logits"]
    config = PeftConfig.from_pretrained(folder)
    assert config.peft_type == "IA3", config.peft_type
    base = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, "models", family), dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, folder).eval()
    trainable, total = adapted.get_nb_trainable_parameters()
    merged = AutoModelForCausalLM.from_pretrained(os.path.join(folder, "merged"), dtype=torch.float32).eval()
    with torch.no_grad():
        scale = tailor.abs().max().item()
        adapter_error = (adapted(input_ids=ids).logits[0] - tailor).abs().max().item() / scale
        trained_gap = (tailor - reference["logits"]).abs().max().item() / scale
        merged_error = (merged(input_ids=ids).logits[0] - reference["merged_logits"]).abs().max().item() / scale
    print(f"{case}: Tailor's IA³ folder in peft vs Tailor's logits max|Δ|/max|ref| {adapter_error:.2e}"
          f" (Tailor's training vs peft's: {trained_gap:.2e}); Tailor's merge in transformers {merged_error:.2e};"
          f" feedforward_modules {json.dumps(sorted(config.feedforward_modules) if isinstance(config.feedforward_modules, set) else config.feedforward_modules)}")
    worst = max(worst, adapter_error, merged_error)
sys.exit(0 if worst < 1e-5 else 1)
