#!/usr/bin/env python3
"""Tailor's k-quant presets against llama.cpp's quantizer on the same model: the f16 GGUF Tailor exported is quantized
by `llama_cpp.llama_model_quantize` to each preset, and Tailor's own export to that preset must give every tensor the
same type, and a perplexity on held-back text within 0.5% of llama.cpp's file.

    python gguf_kquant_check.py F16.gguf TEXT.jsonl PRESET=TAILOR.gguf [PRESET=TAILOR.gguf ...] [--tokens N]

Needs llama-cpp-python (0.3.36), numpy and gguf-py (0.19.0). Prints one JSON line per preset.
"""
import ctypes
import json
import math
import os
import sys
import tempfile

import numpy as np
import gguf
import llama_cpp
from llama_cpp import Llama

FTYPES = {"q4_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S, "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
          "q5_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_S, "q5_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
          "q6_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K}


def types(path):
    return {t.name: t.tensor_type.name for t in gguf.GGUFReader(path).tensors}


def perplexity(path, text, n_tokens, window=256):
    llm = Llama(model_path=path, n_ctx=window, logits_all=True, verbose=False, n_threads=2)
    ids = llm.tokenize(text.encode(), add_bos=False)[:n_tokens]
    nll, count = 0.0, 0
    for start in range(0, len(ids) - 1, window):
        chunk = ids[start:start + window]
        if len(chunk) < 2:
            break
        llm.reset()
        llm.eval(chunk)
        logits = np.array(llm.scores[: len(chunk)], dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        nll -= sum(logp[i, chunk[i + 1]] for i in range(len(chunk) - 1))
        count += len(chunk) - 1
    return math.exp(nll / count), count


def main():
    f16, text_file = sys.argv[1], sys.argv[2]
    n_tokens = int(sys.argv[sys.argv.index("--tokens") + 1]) if "--tokens" in sys.argv else 2048
    pairs = [a.split("=", 1) for a in sys.argv[3:] if "=" in a]
    text = "\n\n".join(json.loads(line)["text"] for line in open(text_file) if line.strip())
    status = 0
    tmp = tempfile.mkdtemp()
    for preset, ours in pairs:
        theirs = os.path.join(tmp, f"llamacpp-{preset}.gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = FTYPES[preset]
        params.nthread = 2
        assert llama_cpp.llama_model_quantize(f16.encode(), theirs.encode(), ctypes.byref(params)) == 0
        a, b = types(ours), types(theirs)
        differing = {n: (a.get(n), b.get(n)) for n in sorted(set(a) | set(b)) if a.get(n) != b.get(n)}
        counts = {}
        for t in a.values():
            counts[t] = counts.get(t, 0) + 1
        ppl_ours, n = perplexity(ours, text, n_tokens)
        ppl_theirs, _ = perplexity(theirs, text, n_tokens)
        rel = abs(ppl_ours - ppl_theirs) / ppl_theirs
        result = {"preset": preset, "types_equal": not differing, "differing": differing, "tailor_types": counts,
                  "tokens": n, "ppl_tailor": ppl_ours, "ppl_llamacpp": ppl_theirs, "ppl_relative": rel,
                  "ppl_ok": rel <= 0.005}
        print(json.dumps(result))
        if differing or rel > 0.005:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
