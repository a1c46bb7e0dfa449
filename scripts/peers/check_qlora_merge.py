#!/usr/bin/env python3
"""`tailor merge` of a LoRA adapter into a 4-bit base, checked with transformers + peft.

The tiny Llama (Tests/Fixtures/models/llama) is quantized to 4 bits by transformers + bitsandbytes 0.50.2 at load
(nf4 with double quantization, and fp4, as make_qlora_fixtures.py does) and saved with save_pretrained. Two peft
adapters on it are saved: one with B = 0 (peft's default init) and one with random B (init_lora_weights=False).
  - `tailor merge --model <4-bit folder> --adapter <B = 0>` writes the dequantized base as an ordinary f32 folder;
  - peft applies the random adapter to that folder (PeftModel, not merged): the reference logits, and its
    merge_and_unload;
  - `tailor merge --model <4-bit folder> --adapter <random> --dtype f32|bf16` is loaded by transformers
    (config.json without quantization_config) and compared with them.
bitsandbytes' own CPU dequantize_4bit is not the reference here: in this environment (bitsandbytes 0.50.2, torch
2.15.0, no `kernels` package) its quantize_4bit → dequantize_4bit round trip is off by 0.4 on weights of size
0.44, while the saved codes and absmax equal the fixtures' and Tailor's dequantization is within the nf4 step
(docs/peers.md).

    python3 scripts/peers/check_qlora_merge.py TAILOR [WORK_DIR]
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VARIANTS = {"nf4-dq": dict(bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True),
            "fp4": dict(bnb_4bit_quant_type="fp4", bnb_4bit_use_double_quant=False)}
IDS = torch.tensor([[3, 14, 15, 9, 2, 6, 53, 5, 77, 41, 8, 19]])


def relative(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def logits_of(model):
    model.eval()
    with torch.no_grad():
        return model(input_ids=IDS).logits[0].float()


def main(tailor, work):
    warnings.simplefilter("ignore")
    rows = []
    for variant, options in VARIANTS.items():
        quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.float32, **options)
        model = AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, "Tests", "Fixtures", "models", "llama"),
                                                     dtype=torch.float32, quantization_config=quantization)
        base = os.path.join(work, f"{variant}-base")
        model.save_pretrained(base)
        adapters = {}
        for name, init in [("zero", True), ("random", False)]:
            torch.manual_seed(3)
            peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=init))
            adapters[name] = os.path.join(work, f"{variant}-adapter-{name}")
            peft_model.save_pretrained(adapters[name])
            model = peft_model.unload()
        dequantized = os.path.join(work, f"{variant}-dequantized")
        subprocess.run([tailor, "merge", "--model", base, "--adapter", adapters["zero"], "--output", dequantized],
                       check=True, stdout=subprocess.DEVNULL)
        reference_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(dequantized, dtype=torch.float32),
                                                    adapters["random"])
        reference = logits_of(reference_model)
        peft_merged = logits_of(reference_model.merge_and_unload())
        for dtype in ["f32", "bf16"]:
            out = os.path.join(work, f"{variant}-merged-{dtype}")
            subprocess.run([tailor, "merge", "--model", base, "--adapter", adapters["random"], "--output", out, "--dtype", dtype],
                           check=True, stdout=subprocess.DEVNULL)
            config = json.load(open(os.path.join(out, "config.json")))
            merged = logits_of(AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32))
            rows.append({"variant": variant, "dtype": dtype, "quantization_config_left": "quantization_config" in config,
                         "config_dtype": config.get("dtype"),
                         "tailor_merged_vs_peft_adapted": relative(merged, reference),
                         "peft_merge_and_unload_vs_peft_adapted": relative(peft_merged, reference),
                         "greedy_equal": bool((merged.argmax(-1) == reference.argmax(-1)).all())})
    for row in rows:
        print(json.dumps(row))
    return 0 if all(r["tailor_merged_vs_peft_adapted"] < (1e-5 if r["dtype"] == "f32" else 2e-2) and not r["quantization_config_left"]
                    for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()))
