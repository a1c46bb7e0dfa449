#!/usr/bin/env python3
"""peft loads Tailor's adapter folder and gives Tailor's logits.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-adapter swift test --filter PeftAdapterWriterTests
    python3 scripts/peers/check_peft_adapter.py /tmp/tailor-adapter
"""
import json
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

folder = sys.argv[1]
config = json.load(open(f"{folder}/adapter_config.json"))
base = AutoModelForCausalLM.from_pretrained(config["base_model_name_or_path"], dtype=torch.float32)
model = PeftModel.from_pretrained(base, folder).eval()
ours = load_file(f"{folder}/tailor_logits.safetensors")
ids = ours["input_ids"].long()[None]
with torch.no_grad():
    theirs = model(input_ids=ids).logits[0]
    plain = base.get_base_model()(input_ids=ids).logits[0] if hasattr(base, "get_base_model") else None
diff = (theirs - ours["logits"]).abs().max().item()
scale = theirs.abs().max().item()
print(json.dumps({"peft_loaded": True, "max_abs_diff": diff, "max_abs_logit": scale, "relative": diff / scale}))
assert diff <= 1e-4 * scale, "logits differ"
