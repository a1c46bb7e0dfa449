#!/usr/bin/env python3
"""Writes Tests/Fixtures/qlora: the tiny Llama of Tests/Fixtures/models/llama quantized to 4 bits by
transformers + bitsandbytes 0.50.2 on the CPU, saved as transformers saves it, with its logits.

Run from the repository root:  python3 scripts/reference/make_qlora_fixtures.py
Needs requirements.txt (torch, transformers, safetensors) and requirements-bnb.txt (bitsandbytes).

<variant>/               save_pretrained of the 4-bit model: config.json with quantization_config, and
                         model.safetensors with each linear's packed uint8 codes and its *.absmax,
                         *.quant_map, (*.nested_absmax, *.nested_quant_map,) *.quant_state.bitsandbytes__<type>
reference.safetensors    logits.<variant> [24, 96]: the 4-bit model's logits (fp32 compute) for the batch
                         of models/llama/reference.safetensors, each packed sequence run on its own
Variants: nf4-dq (nf4, double quant, the QLoRA paper's recipe) and fp4 (fp4, no double quant).

Also Tests/Fixtures/lora/llama-qlora/: 20 QLoRA steps with transformers.Trainer + peft + bitsandbytes on the CPU
(bitsandbytes trains there: its 4-bit matmul dequantizes and runs fp32), on the nf4-dq model after peft's
prepare_model_for_kbit_training, with make_lora_fixtures.py's settings, data and initial adapter
(init/, data.safetensors, reference.safetensors as there), and Tests/Fixtures/lora/llama-qlora-bf16/: the same
run with bnb_4bit_compute_dtype=torch.bfloat16 (each 4-bit linear multiplies bf16 activations by its weight
dequantized to bf16; the LoRA path, attention and lm_head stay fp32, with no autocast).
`--bf16-only` writes only llama-qlora-bf16, leaving the other fixtures as committed. (On a CPU with AVX512-BF16,
bitsandbytes 0.50.2 repacks 4-bit weights for inference under no_grad and fails there on layers narrower than a
block, as the tiny Llama's are: main() needs a CPU without AVX512-BF16; training is unaffected.)
"""
import os
import shutil

import sys

import torch
import bitsandbytes as bnb
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "Fixtures")
BASE = os.path.join(FIXTURES, "models", "llama")
ROOT = os.path.join(FIXTURES, "qlora")
assert bnb.__version__ == "0.50.2", bnb.__version__

VARIANTS = {
    "nf4-dq": dict(bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True),
    "fp4": dict(bnb_4bit_quant_type="fp4", bnb_4bit_use_double_quant=False),
}


def sequences(ref):
    """(ids, positions) of each packed sequence in the reference batch."""
    starts = ref["seq_start"].tolist()
    bounds = sorted(set(starts)) + [len(starts)]
    return [(ref["input_ids"][a:b], ref["position_ids"][a:b]) for a, b in zip(bounds, bounds[1:])]


def qlora_training(bf16=False):
    sys.path.insert(0, HERE)
    from make_lora_fixtures import BATCH, ACCUMULATION, STEPS, Samples, save_samples, train_lora_reference

    torch.manual_seed(7)
    compute = torch.bfloat16 if bf16 else torch.float32
    config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=compute, **VARIANTS["nf4-dq"])
    model = AutoModelForCausalLM.from_pretrained(BASE, quantization_config=config, device_map="cpu", dtype=torch.float32)
    model.config._attn_implementation = "eager"
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    folder = os.path.join(FIXTURES, "lora", "llama-qlora-bf16" if bf16 else "llama-qlora")
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(os.path.join(folder, "init"))
    data = Samples(torch.Generator().manual_seed(99), STEPS * BATCH * ACCUMULATION, model.config.vocab_size)
    save_samples(data, folder)
    note = "QLoRA (nf4, double quant, %s compute): Trainer log_history per step" % ("bf16" if bf16 else "fp32")
    tensors = train_lora_reference(model, data, folder, note)
    print("qlora losses", [round(x, 4) for x in tensors["loss"].tolist()][:5], "...", tensors["loss"].tolist()[-1])


def main():
    torch.manual_seed(0)
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    ref = load_file(os.path.join(BASE, "reference.safetensors"))
    out = {}
    for name, options in VARIANTS.items():
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.float32, **options)
        model = AutoModelForCausalLM.from_pretrained(BASE, quantization_config=config, device_map="cpu", dtype=torch.float32)
        model.eval()
        rows = []
        with torch.no_grad():
            for ids, positions in sequences(ref):
                rows.append(model(ids.unsqueeze(0), position_ids=positions.unsqueeze(0)).logits[0])
        out["logits." + name] = torch.cat(rows).contiguous()
        folder = os.path.join(ROOT, name)
        model.save_pretrained(folder)
        os.remove(os.path.join(folder, "generation_config.json"))
    save_file(out, os.path.join(ROOT, "reference.safetensors"))
    print("wrote", ROOT)
    qlora_training()


if __name__ == "__main__":
    if "--bf16-only" in sys.argv:
        qlora_training(bf16=True)
    else:
        main()
        qlora_training(bf16=True)
