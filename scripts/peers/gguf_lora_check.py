#!/usr/bin/env python3
"""llama.cpp (llama-cpp-python) applies Tailor's adapter GGUFs (`tailor export gguf --lora-only`) to the base model's
GGUF and gives the logits peft gives with the adapter folder. Run by scripts/peers/gguf_lora_check.sh, in two phases
and two Pythons:

    python gguf_lora_check.py reference FOLDER ADAPTER OUT.json   # transformers + peft on the Hugging Face folders
    python gguf_lora_check.py llamacpp BASE.gguf LORA.gguf REF.json [--rtol R]   # llama.cpp, compared

Checked: the logits of every prompt position within `rtol` of the maximum |logit|, with the adapter applied by
llama.cpp, against peft's; and, so that the check can fail, the adapter's own effect (peft's logits with and without
it) is printed beside the difference and must be larger than the tolerance.
"""
import json
import sys

PROMPT = "Hello world, it's a test of 3 33 333 tokens!"


def reference(folder, adapter, out):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    base = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = tok(PROMPT)["input_ids"]
    with torch.no_grad():
        plain = base(input_ids=torch.tensor([ids])).logits[0]
        model = PeftModel.from_pretrained(base, adapter).eval()
        adapted = model(input_ids=torch.tensor([ids])).logits[0]
    json.dump({"folder": folder, "adapter": adapter, "prompt_ids": ids, "logits": adapted.tolist(),
               "base_logits": plain.tolist()}, open(out, "w"))


def llamacpp(base, lora, ref_path, rtol):
    import numpy as np
    import llama_cpp
    from llama_cpp import Llama

    ref = json.load(open(ref_path))
    llm = Llama(model_path=base, lora_path=lora, n_ctx=256, logits_all=True, verbose=False, n_threads=2, seed=0,
                type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32, flash_attn=False)
    ids = ref["prompt_ids"]
    llm.reset()
    llm.eval(ids)
    got = np.array(llm.scores[: len(ids)], dtype=np.float64)
    want = np.array(ref["logits"], dtype=np.float64)
    plain = np.array(ref["base_logits"], dtype=np.float64)
    scale = float(np.abs(want).max())
    diff = float(np.abs(got - want).max())
    effect = float(np.abs(want - plain).max())
    result = {"base": base, "lora": lora, "relative": diff / scale, "adapter_effect_relative": effect / scale, "rtol": rtol,
              "logits_ok": diff <= rtol * scale, "effect_above_tolerance": effect > rtol * scale}
    print(json.dumps(result))
    return 0 if result["logits_ok"] and result["effect_above_tolerance"] else 1


if __name__ == "__main__":
    if sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        rtol = float(sys.argv[sys.argv.index("--rtol") + 1]) if "--rtol" in sys.argv else 1e-3
        sys.exit(llamacpp(sys.argv[2], sys.argv[3], sys.argv[4], rtol))
