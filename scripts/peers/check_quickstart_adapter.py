#!/usr/bin/env python3
"""peft applies the quick start's adapter to the imported SmolLM2 folder with Tailor's logits.

    ./scripts/quickstart.sh
    TAILOR_QUICKSTART_ADAPTER=runs/quickstart/adapter TAILOR_KEEP_OUTPUT=/tmp/qs-peer \
        swift test --filter QuickstartAdapterPeerTests
    python3 scripts/peers/check_quickstart_adapter.py ~/.cache/tailor/smollm2/hf runs/quickstart/adapter /tmp/qs-peer
"""
import json
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

base_folder, adapter, keep = sys.argv[1:4]
model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32), adapter).eval()
ours = load_file(f"{keep}/tailor_logits.safetensors")
with torch.no_grad():
    theirs = model(input_ids=ours["input_ids"].long()[None]).logits[0]
diff = (theirs - ours["logits"]).abs().max().item()
scale = theirs.abs().max().item()
print(json.dumps({"peft_loaded": True, "positions": theirs.shape[0], "max_abs_diff": diff, "max_abs_logit": scale,
                  "relative": diff / scale}))
assert diff <= 1e-4 * scale, "logits differ"
