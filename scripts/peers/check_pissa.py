#!/usr/bin/env python3
"""peft loads the PiSSA / OLoRA adapters Tailor trained (LoRAPiSSAReferenceTests) and their rank-2r
conversions to plain LoRA, on the original tiny base models, and computes Tailor's logits.

- converted/ (init_lora_weights true, r 2r): a plain LoRA on the original base; its logits must equal
  Tailor's within 1e-5 relative to the largest logit.
- adapter/ (init_lora_weights "pissa" / "olora"): peft's from_pretrained runs the init again on the
  original base (torch's SVD / QR) and applies Tailor's trained A and B to that adjusted base. Tailor's
  A and B were trained on Tailor's adjusted base (OpenBLAS's SVD), so the two f32 SVDs' difference shows
  (measured 2026-12-02: 5.9e-6 for PiSSA, 9e-7 for OLoRA, whose QR has no sign freedom); held to 1e-5 too.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-pissa swift test --filter LoRAPiSSAReferenceTests
    python3 scripts/peers/check_pissa.py /tmp/tailor-pissa
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
FAMILY = {"pissa-llama": "llama", "pissa-qwen2": "qwen2", "olora-llama": "llama", "olora-qwen2": "qwen2"}

warnings.filterwarnings("ignore")
kept = sys.argv[1]
ok = True
for case, family in FAMILY.items():
    data = load_file(os.path.join(FIXTURES, "lora-variants", case, "data.safetensors"))
    ids = data["input_ids"][: int(data["lengths"][0])].long()[None]
    tailor = load_file(os.path.join(kept, case, "tailor_logits.safetensors"))["logits"]
    scale = tailor.abs().max().item()
    errors = {}
    for sub in ("converted", "adapter"):
        base = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, "models", family), dtype=torch.float32)
        base.config._attn_implementation = "eager"
        adapted = PeftModel.from_pretrained(base, os.path.join(kept, case, sub)).eval()
        with torch.no_grad():
            errors[sub] = (adapted(input_ids=ids).logits[0] - tailor).abs().max().item() / scale
    print(f"{case}: converted (plain LoRA) in peft max|Δ|/max|Tailor| {errors['converted']:.2e}; "
          f"PiSSA/OLoRA adapter in peft (peft's own adjusted base) {errors['adapter']:.2e}")
    ok = ok and errors["converted"] < 1e-5 and errors["adapter"] < 1e-5
sys.exit(0 if ok else 1)
