#!/usr/bin/env python3
"""Tailor's k-quant presets against llama.cpp's quantizer on the same model values. For each preset, llama.cpp
(`llama_cpp.llama_model_quantize`) quantizes the f32 and the f16 GGUF Tailor exported; Tailor's own export to that
preset from the same values (the f32 folder, and the folder `tailor import gguf` made of the f16 file) must give
every tensor the same type and the same bytes. Perplexity on held-back text is measured for each distinct file:
Tailor's preset from the f16 values against llama.cpp's from the f16 file (the 0.5% criterion), and Tailor's from
the f32 folder against llama.cpp's from the f16 file (the f16 rounding of the input alone).

    python gguf_kquant_check.py F32.gguf F16.gguf TEXT.jsonl PRESET=OURS_F32.gguf,OURS_F16.gguf ... [--tokens N]

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
          "q6_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K, "q2_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K,
          "q3_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_S, "q3_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_M,
          "q3_k_l": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_L}


def quantize(src, dst, preset):
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[preset]
    params.nthread = 2
    assert llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params)) == 0


def compare(ours, theirs):
    """Tensors whose type differs, tensors of the same type whose bytes differ, and Tailor's tensors per type."""
    a = {t.name: t for t in gguf.GGUFReader(ours).tensors}
    b = {t.name: t for t in gguf.GGUFReader(theirs).tensors}
    types = {n: (a[n].tensor_type.name if n in a else None, b[n].tensor_type.name if n in b else None)
             for n in sorted(set(a) | set(b))}
    differing_types = {n: t for n, t in types.items() if t[0] != t[1]}
    differing_bytes = [n for n, t in types.items() if t[0] == t[1]
                       and not np.array_equal(np.asarray(a[n].data).view(np.uint8), np.asarray(b[n].data).view(np.uint8))]
    counts = {}
    for t in a.values():
        counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    return differing_types, differing_bytes, counts


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
    f32, f16, text_file = sys.argv[1], sys.argv[2], sys.argv[3]
    n_tokens = int(sys.argv[sys.argv.index("--tokens") + 1]) if "--tokens" in sys.argv else 2048
    pairs = [a.split("=", 1) for a in sys.argv[4:] if "=" in a]
    text = "\n\n".join(json.loads(line)["text"] for line in open(text_file) if line.strip())
    status = 0
    tmp = tempfile.mkdtemp()
    for preset, files in pairs:
        ours32, ours16 = files.split(",")
        theirs32, theirs16 = (os.path.join(tmp, f"llamacpp-{preset}-{w}.gguf") for w in ("f32", "f16"))
        quantize(f32, theirs32, preset)
        quantize(f16, theirs16, preset)
        result = {"preset": preset}
        for label, ours, theirs in (("from_f32", ours32, theirs32), ("from_f16", ours16, theirs16)):
            types, bytes_, counts = compare(ours, theirs)
            result[label] = {"types_equal": not types, "differing_types": types, "bytes_equal": not types and not bytes_,
                             "differing_bytes": len(bytes_), "tailor_types": counts}
            if types or bytes_:
                status = 1
        ppl_ours32, n = perplexity(ours32, text, n_tokens)
        ppl_theirs16, _ = perplexity(theirs16, text, n_tokens)
        # Identical bytes give the identical perplexity; measured again only where the bytes differ.
        ppl_ours16 = ppl_theirs16 if result["from_f16"]["bytes_equal"] else perplexity(ours16, text, n_tokens)[0]
        rel16 = abs(ppl_ours16 - ppl_theirs16) / ppl_theirs16
        result.update(tokens=n, ppl_tailor_from_f32=ppl_ours32, ppl_tailor_from_f16=ppl_ours16,
                      ppl_llamacpp_from_f16=ppl_theirs16, ppl_relative_same_input=rel16,
                      ppl_relative_f32_vs_f16_input=abs(ppl_ours32 - ppl_theirs16) / ppl_theirs16, ppl_ok=rel16 <= 0.005)
        print(json.dumps(result))
        if rel16 > 0.005:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
