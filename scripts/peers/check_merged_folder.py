#!/usr/bin/env python3
"""transformers loads Tailor's merged model folder and gives the logits Tailor's adapter gave.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-merged swift test --filter MergeTests
    python3 scripts/peers/check_merged_folder.py /tmp/tailor-merged
"""
import json
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

folder = sys.argv[1]
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
ours = load_file(f"{folder}/tailor_logits.safetensors")
with torch.no_grad():
    theirs = model(input_ids=ours["input_ids"].long()[None]).logits[0]
diff = (theirs - ours["logits"]).abs().max().item()
scale = theirs.abs().max().item()
print(json.dumps({"transformers_loaded": True, "max_abs_diff": diff, "relative": diff / scale}))
assert diff <= 1e-4 * scale, "logits differ"
