#!/usr/bin/env python3
"""peft loads the adapters Tailor trained with `bias` / `modules_to_save`, and transformers loads
Tailor's merges of peft's adapters; both give the reference logits of make_lora_extras_fixtures.py.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-extras swift test --filter LoRAExtrasReferenceTests
    python3 scripts/peers/check_lora_extras.py /tmp/tailor-extras
"""
import os
import sys
import warnings

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "Fixtures")
FAMILY = {"llama-tied-embed": "llama-tied", "llama-tied-ensure": "llama-tied", "llama-tied-head": "llama-tied",
          "qwen2-bias-all": "qwen2", "qwen2-bias-lora-only": "qwen2", "qwen2-embed-head": "qwen2"}

warnings.filterwarnings("ignore")
kept = sys.argv[1]
worst = 0.0
for case, family in FAMILY.items():
    data = load_file(os.path.join(FIXTURES, "lora-extras", case, "data.safetensors"))
    ids = data["input_ids"][: int(data["lengths"][0])].long()[None]
    reference = load_file(os.path.join(FIXTURES, "lora-extras", case, "reference.safetensors"))
    base = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, "models", family), dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, os.path.join(kept, case)).eval()
    merged = AutoModelForCausalLM.from_pretrained(os.path.join(kept, case, "merged"), dtype=torch.float32).eval()
    with torch.no_grad():
        adapter_error = (adapted(input_ids=ids).logits[0] - reference["logits"]).abs().max().item()
        merged_error = (merged(input_ids=ids).logits[0] - reference["merged_logits"]).abs().max().item()
    print(f"{case}: Tailor's adapter in peft max|Δ| {adapter_error:.2e}; Tailor's merge in transformers max|Δ| {merged_error:.2e}")
    worst = max(worst, adapter_error, merged_error)
sys.exit(0 if worst < 1e-4 else 1)
