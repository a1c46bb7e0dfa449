#!/usr/bin/env python3
"""Writes Tests/Fixtures/formats/gguf/preset-mix.json: the type llama.cpp's quantizer (llama_cpp.llama_model_quantize,
no importance matrix) gives every tensor of real model shapes for each k-quant preset, for GGUFPresetMixTests.

The models are Tailor's presets SmolLM2-135M (llama, 576-wide rows: llama.cpp falls back to other types for most
tensors) and Qwen2.5-1.5B (qwen2, 1536-wide rows, 28 layers, 12 query heads on 2 kv heads, biases on q/k/v), both
tied, written as f16 GGUFs with zero weights in convert_hf_to_gguf.py's tensor order: without an importance matrix
llama.cpp chooses types from names, shapes, layer counts and head counts only, never from values.

Run from the repository root with a Python that has llama-cpp-python (0.3.36), numpy and gguf-py (0.19.0):
    python scripts/reference/make_gguf_preset_mix_fixtures.py
Needs about 3.5 GB of free disk under the temporary folder (removed afterwards) and a few minutes.
"""
import ctypes
import json
import os
import shutil
import tempfile

import numpy as np
import gguf
import llama_cpp

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "formats", "gguf", "preset-mix.json")
PRESETS = {"q2_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K, "q3_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_S,
           "q3_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_M, "q3_k_l": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_L,
           "q4_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S, "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
           "q5_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_S, "q5_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
           "q6_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K}
# Tailor's ModelPresets (Sources/TailorModels/ModelPresets.swift).
MODELS = {
    "smollm2-135m": dict(arch="llama", vocab=49152, hidden=576, ff=1536, layers=30, heads=9, kv=3, bias=False),
    "qwen2.5-1.5b": dict(arch="qwen2", vocab=151936, hidden=1536, ff=8960, layers=28, heads=12, kv=2, bias=True),
}


def shapes(m):
    """(name, numpy shape) in convert_hf_to_gguf.py's order for a tied model; numpy shapes are (rows, row length)."""
    head_dim = m["hidden"] // m["heads"]
    kv_dim = m["kv"] * head_dim
    out = [("token_embd.weight", (m["vocab"], m["hidden"]))]
    for i in range(m["layers"]):
        b = f"blk.{i}."
        out.append((b + "attn_norm.weight", (m["hidden"],)))
        out.append((b + "attn_q.weight", (m["hidden"], m["hidden"])))
        out.append((b + "attn_k.weight", (kv_dim, m["hidden"])))
        out.append((b + "attn_v.weight", (kv_dim, m["hidden"])))
        if m["bias"]:
            out += [(b + "attn_q.bias", (m["hidden"],)), (b + "attn_k.bias", (kv_dim,)), (b + "attn_v.bias", (kv_dim,))]
        out.append((b + "attn_output.weight", (m["hidden"], m["hidden"])))
        out.append((b + "ffn_norm.weight", (m["hidden"],)))
        out.append((b + "ffn_gate.weight", (m["ff"], m["hidden"])))
        out.append((b + "ffn_up.weight", (m["ff"], m["hidden"])))
        out.append((b + "ffn_down.weight", (m["hidden"], m["ff"])))
    out.append(("output_norm.weight", (m["hidden"],)))
    return out


def write(path, m):
    w = gguf.GGUFWriter(path, m["arch"])
    w.add_block_count(m["layers"])
    w.add_context_length(2048)
    w.add_embedding_length(m["hidden"])
    w.add_feed_forward_length(m["ff"])
    w.add_head_count(m["heads"])
    w.add_head_count_kv(m["kv"])
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list([f"t{i}" for i in range(m["vocab"])])
    w.add_token_types([1] * m["vocab"])
    w.add_token_merges(["t 1"])
    for name, shape in shapes(m):
        dtype = np.float32 if len(shape) == 1 else np.float16
        w.add_tensor(name, np.zeros(shape, dtype=dtype))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    tmp = tempfile.mkdtemp()
    result = {}
    try:
        for model, m in MODELS.items():
            src = os.path.join(tmp, model + "-f16.gguf")
            write(src, m)
            entry = {"config": {k: v for k, v in m.items()}, "shapes": {n: list(s) for n, s in shapes(m)}, "types": {}}
            for preset, ftype in PRESETS.items():
                dst = os.path.join(tmp, f"{model}-{preset}.gguf")
                params = llama_cpp.llama_model_quantize_default_params()
                params.ftype = ftype
                params.nthread = 2
                assert llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params)) == 0
                entry["types"][preset] = {t.name: t.tensor_type.name for t in gguf.GGUFReader(dst).tensors}
                os.remove(dst)
            os.remove(src)
            result[model] = entry
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(OUT, "w") as f:
        json.dump(result, f, indent=0, sort_keys=True)
    for model, entry in result.items():
        for preset, types in entry["types"].items():
            counts = {}
            for t in types.values():
                counts[t] = counts.get(t, 0) + 1
            print(model, preset, counts)


if __name__ == "__main__":
    main()
