#!/usr/bin/env python3
"""llama.cpp (llama-cpp-python) loads Tailor's GGUF exports and gives the logits and greedy tokens of the model folder
they were exported from. Run by scripts/peers/gguf_llamacpp_check.sh, in two phases and two Pythons:

    python gguf_llamacpp_check.py reference FOLDER OUT.json [--f16 [--f16-activations]]  # transformers on the folder
    python gguf_llamacpp_check.py llamacpp FILE.gguf REF.json [--rtol R] [--texts]  # llama.cpp on Tailor's export

Transformers is the reference Tailor's own forward pass is tested against (Tests/Fixtures, 1e-5); the checks are:
logits of every prompt position within `rtol` of the maximum |logit| (1e-3; for f16 exports against transformers
with the weights narrowed to f16 and, with --f16-activations, each linear's input rounded to f16), 64 greedy tokens
(argmax, no stopping) identical, llama.cpp's tokenizer giving transformers' ids for the prompt, and the chat
template read back from the file equal to the folder's and rendering the same prompt.
"""
import json
import re
import sys

PROMPT = "Hello world, it's a test of 3 33 333 tokens!"
# More texts for the tokenizer comparison (`llamacpp ... --texts` makes their ids part of the verdict): spaces,
# tabs and newlines, characters outside a small vocabulary (SentencePiece byte fallback), special tokens in text.
TEXTS = [PROMPT, "  leading spaces and\ttabs\nnew lines", "café 東京 🙂 <tool> and <ctrl>", "[INST] What is 2+2?[/INST] 4.</s>"]
MESSAGES = [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "What is 2+2?"}]
STEPS = 64


def reference(folder, out, f16=False, f16_activations=False):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    if f16:  # the values an f16 export holds: 2-D weights narrowed, 1-D tensors kept
        for p in model.parameters():
            if p.dim() == 2:
                p.data = p.data.half().float()
    if f16_activations:  # and each linear's input rounded to f16, as llama.cpp's CPU F16 mat-mul converts it
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.register_forward_pre_hook(lambda _, args: (args[0].half().float(),) + tuple(args[1:]))
    ids = tok(PROMPT)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
        # Greedy with the KV cache, never stopping early (eos disabled, exactly STEPS new tokens).
        generated = model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             do_sample=False, max_new_tokens=STEPS, min_new_tokens=STEPS, eos_token_id=None,
                             pad_token_id=0)
        seq = generated[0].tolist()
    template = tok.chat_template
    rendered = tok.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True) if template else None
    json.dump({"folder": folder, "prompt_ids": ids, "texts_ids": [tok(t)["input_ids"] for t in TEXTS],
               "logits": logits.tolist(), "greedy": seq[len(ids):],
               "chat_template": template, "rendered": rendered,
               "bos_token": tok.bos_token, "eos_token": tok.eos_token}, open(out, "w"))


def llamacpp(path, ref_path, rtol, texts=False):
    import numpy as np
    import jinja2
    import llama_cpp
    from llama_cpp import Llama

    ref = json.load(open(ref_path))
    # An f32 KV cache (llama.cpp's default is f16, which alone moves logits by ~1e-3).
    llm = Llama(model_path=path, n_ctx=256, logits_all=True, verbose=False, n_threads=2, seed=0,
                type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32, flash_attn=False)
    result = {"file": path, "loaded": True}
    ids = ref["prompt_ids"]
    # Tokenizer: llama.cpp's ids for the prompt (BOS as the file says) equal transformers'.
    add_bos = llm.metadata.get("tokenizer.ggml.add_bos_token", "false") == "true"
    ours = llm.tokenize(PROMPT.encode(), add_bos=add_bos, special=True)
    result["tokenizer_ids_equal"] = ours == ids
    if "texts_ids" in ref:
        got_texts = [llm.tokenize(t.encode(), add_bos=add_bos, special=True) for t in TEXTS]
        result["texts_ids_equal"] = got_texts == ref["texts_ids"]
        if not result["texts_ids_equal"]:
            result["texts_ids_differ"] = [[t, a, b] for t, a, b in zip(TEXTS, got_texts, ref["texts_ids"]) if a != b]
    llm.reset()
    llm.eval(ids)
    got = np.array(llm.scores[: len(ids)], dtype=np.float64)
    want = np.array(ref["logits"], dtype=np.float64)
    diff = float(np.abs(got - want).max())
    scale = float(np.abs(want).max())
    result.update(max_abs_diff=diff, relative=diff / scale, rtol=rtol, logits_ok=diff <= rtol * scale)
    seq = []
    for _ in range(STEPS):
        nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        seq.append(nxt)
        llm.eval([nxt])
    result["greedy_equal"] = seq == ref["greedy"]
    if not result["greedy_equal"]:
        first = next(i for i, (a, b) in enumerate(zip(seq, ref["greedy"])) if a != b)
        result["greedy_first_difference"] = first
    template = llm.metadata.get("tokenizer.chat_template")
    result["chat_template_equal"] = template == ref["chat_template"]
    if template:
        env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = lambda m: (_ for _ in ()).throw(Exception(m))
        # transformers' {% generation %} marks (Tailor's builtin templates have them) render as nothing.
        plain = re.sub(r"{%-?\s*(end)?generation\s*-?%}", "", template)
        rendered = env.from_string(plain).render(messages=MESSAGES, add_generation_prompt=True,
                                                    bos_token=ref["bos_token"] or "", eos_token=ref["eos_token"] or "")
        result["chat_rendered_equal"] = rendered == ref["rendered"]
    result["eos_token_id"] = llm.token_eos()
    result["eot_token_id"] = int(llm.metadata["tokenizer.ggml.eot_token_id"]) if "tokenizer.ggml.eot_token_id" in llm.metadata else None
    print(json.dumps(result))
    ok = result["logits_ok"] and result["greedy_equal"] and result["chat_template_equal"] and result["tokenizer_ids_equal"]
    ok = ok and (not texts or result.get("texts_ids_equal", False))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3], f16="--f16" in sys.argv, f16_activations="--f16-activations" in sys.argv)
    else:
        rtol = float(sys.argv[sys.argv.index("--rtol") + 1]) if "--rtol" in sys.argv else 1e-3
        sys.exit(llamacpp(sys.argv[2], sys.argv[3], rtol, texts="--texts" in sys.argv))
