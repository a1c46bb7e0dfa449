#!/usr/bin/env python3
"""peft loads the prompt-, prefix- and P-tuning folders Tailor trained (PeftModel.from_pretrained) and gives
the logits Tailor computed with them (make_prompt_learning_fixtures.py's cases), within 1e-5 of the
largest logit.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-prompt swift test --filter "PromptTuningReferenceTests|PrefixTuningReferenceTests|PTuningReferenceTests"
    python3 scripts/peers/check_prompt_learning.py /tmp/tailor-prompt
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
FAMILY = {"prompt-llama": "llama", "prompt-qwen2": "qwen2", "prefix-llama": "llama", "prefix-qwen2-plain": "qwen2",
          "ptuning-llama": "llama", "ptuning-qwen2": "qwen2", "prefix-qwen2": "qwen2", "prefix-llama-projected": "llama",
          "ptuning-lstm-llama": "llama", "ptuning-lstm-qwen2": "qwen2"}

warnings.filterwarnings("ignore")
kept = sys.argv[1]
worst = 0.0
for case, family in FAMILY.items():
    folder = os.path.join(kept, case)
    data = load_file(os.path.join(FIXTURES, "prompt-learning", case, "data.safetensors"))
    ids = data["input_ids"][: int(data["lengths"][0])].long()[None]
    tailor = load_file(os.path.join(folder, "tailor_logits.safetensors"))["logits"]
    config = PeftConfig.from_pretrained(folder)
    assert config.peft_type in ("PROMPT_TUNING", "PREFIX_TUNING", "P_TUNING"), config.peft_type
    base = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, "models", family), dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, folder).eval()
    trainable, total = adapted.get_nb_trainable_parameters()
    with torch.no_grad():
        logits = adapted(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
        logits = logits[logits.shape[0] - ids.shape[1]:]  # prompt tuning answers its virtual tokens' rows too
        error = (logits - tailor).abs().max().item() / tailor.abs().max().item()
    extra = " prefix_projection" if getattr(config, "prefix_projection", False) else ""
    extra += f" {getattr(config.encoder_reparameterization_type, 'value', config.encoder_reparameterization_type)}" if config.peft_type.value == "P_TUNING" else ""
    print(f"{case}: Tailor's {config.peft_type.value}{extra} folder in peft ({config.num_virtual_tokens} virtual tokens, token_dim {config.token_dim}):"
          f" logits vs Tailor's max|Δ|/max|ref| {error:.2e}")
    worst = max(worst, error)
sys.exit(0 if worst < 1e-5 else 1)
