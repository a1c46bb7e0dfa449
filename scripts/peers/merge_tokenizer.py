#!/usr/bin/env python3
"""chat-llama's character-level tokenizer.json with one merge ("h e" -> "he" as id 95, in place of "_"), as
GGUFExportTests makes it: llama.cpp loads no BPE vocabulary without merges. Used by the gguf_*_check.sh scripts.

    python merge_tokenizer.py IN/tokenizer.json OUT/tokenizer.json
"""
import json
import sys

tokenizer = json.load(open(sys.argv[1]))
vocab = tokenizer["model"]["vocab"]
del vocab["_"]
vocab["he"] = 95
tokenizer["model"]["merges"] = ["h e"]
json.dump(tokenizer, open(sys.argv[2], "w"))
