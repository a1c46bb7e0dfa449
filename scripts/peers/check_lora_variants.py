#!/usr/bin/env python3
"""peft loads the DoRA, LoRA+ and rank_pattern / alpha_pattern adapters Tailor trained, and
transformers loads Tailor's merges of peft's adapters; both give the reference logits of
make_lora_variants_fixtures.py (1e-5 relative to the largest logit).

    TAILOR_KEEP_OUTPUT=/tmp/tailor-variants swift test --filter LoRAVariantsReferenceTests
    python3 scripts/peers/check_lora_variants.py /tmp/tailor-variants
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
FAMILY = {"dora-llama": "llama", "dora-qwen2": "qwen2", "loraplus-llama": "llama", "loraplus-qwen2": "qwen2",
          "patterns-llama": "llama", "patterns-qwen2": "qwen2"}

warnings.filterwarnings("ignore")
kept = sys.argv[1]
worst = 0.0
for case, family in FAMILY.items():
    data = load_file(os.path.join(FIXTURES, "lora-variants", case, "data.safetensors"))
    ids = data["input_ids"][: int(data["lengths"][0])].long()[None]
    reference = load_file(os.path.join(FIXTURES, "lora-variants", case, "reference.safetensors"))
    base = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, "models", family), dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, os.path.join(kept, case)).eval()
    merged = AutoModelForCausalLM.from_pretrained(os.path.join(kept, case, "merged"), dtype=torch.float32).eval()
    with torch.no_grad():
        scale = reference["logits"].abs().max().item()
        adapter_error = (adapted(input_ids=ids).logits[0] - reference["logits"]).abs().max().item() / scale
        merged_error = (merged(input_ids=ids).logits[0] - reference["merged_logits"]).abs().max().item() / scale
    print(f"{case}: Tailor's adapter in peft max|Δ|/max|ref| {adapter_error:.2e}; Tailor's merge in transformers {merged_error:.2e}")
    worst = max(worst, adapter_error, merged_error)
sys.exit(0 if worst < 1e-5 else 1)
