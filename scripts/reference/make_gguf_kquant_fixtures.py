#!/usr/bin/env python3
"""Writes Tests/Fixtures/formats/gguf/kquant: llama.cpp's own k-quant bytes (llama_cpp.llama_model_quantize, no
importance matrix) for a tiny f32 llama GGUF whose rows are multiples of 256, for GGMLQuantizer's and the preset
mix's tests.

Run from the repository root with a Python that has llama-cpp-python (0.3.36), numpy and gguf-py (0.19.0):
    PYTHONPATH=path/to/gguf-py python scripts/reference/make_gguf_kquant_fixtures.py
Deterministic; about 300 KB.

kquant/<tensor>.f16            the input values of the committed tensors (float16-exact, stored as f16 LE; the
                               model file holds them as f32); shapes in kquant.json
kquant/<preset>-<tensor>.bin   the tensor's bytes in llama-quantize's output for that preset
kquant.json                    shapes, and for each preset every tensor's type in llama.cpp's output
"""
import ctypes
import json
import os
import tempfile

import numpy as np
import gguf
import llama_cpp

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "formats", "gguf", "kquant")
COMMITTED = ["token_embd.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "output.weight"]
PRESETS = {"q4_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S, "q5_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_S,
           "q6_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K, "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
           "q5_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M, "q2_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K,
           "q3_k_s": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_S, "q3_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_M,
           "q3_k_l": llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_L}
# The presets whose bytes are committed: together every k-quant type on the committed tensors.
BYTES = ("q2_k", "q3_k_s", "q4_k_s", "q5_k_s", "q6_k")


def tensors():
    rng = np.random.default_rng(256)
    hidden, kv, ff, vocab = 256, 64, 256, 32
    shapes = {
        "token_embd.weight": (vocab, hidden), "blk.0.attn_norm.weight": (hidden,), "blk.0.attn_q.weight": (hidden, hidden),
        "blk.0.attn_k.weight": (kv, hidden), "blk.0.attn_v.weight": (kv, hidden), "blk.0.attn_output.weight": (hidden, hidden),
        "blk.0.ffn_norm.weight": (hidden,), "blk.0.ffn_gate.weight": (ff, hidden), "blk.0.ffn_up.weight": (ff, hidden),
        "blk.0.ffn_down.weight": (hidden, ff), "output_norm.weight": (hidden,), "output.weight": (vocab, hidden),
    }
    out = {}
    for name, shape in shapes.items():
        if len(shape) == 1:
            out[name] = np.ones(shape, dtype=np.float32)
            continue
        w = rng.standard_normal(shape) * 0.05
        if name == "blk.0.attn_k.weight":
            w[0] = 0                                   # an all-zero row
            w[1] = rng.standard_normal(256) * 1e-6     # tiny values
            w[2, 17] = 3.0                             # an outlier
            w[3] = np.abs(w[3]) + 0.01                 # positive only (min clamped to 0)
            w[4] = -np.abs(w[4]) - 0.01                # negative only
            w[5, :128] = 0                             # half a row zero
        out[name] = w.astype(np.float16).astype(np.float32)
    return out


def main():
    os.makedirs(ROOT, exist_ok=True)
    data = tensors()
    tmp = tempfile.mkdtemp()
    src = os.path.join(tmp, "tiny-f32.gguf")
    w = gguf.GGUFWriter(src, "llama")
    w.add_block_count(1)
    w.add_context_length(128)
    w.add_embedding_length(256)
    w.add_feed_forward_length(256)
    w.add_head_count(4)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_dimension_count(64)
    w.add_vocab_size(32)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list([f"t{i}" for i in range(32)])
    w.add_token_types([1] * 32)
    w.add_token_merges(["t 1"])
    for name, values in data.items():
        w.add_tensor(name, values)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    meta = {"shapes": {n: list(data[n].shape) for n in COMMITTED}, "types": {}}
    for name in COMMITTED:
        data[name].astype("<f2").tofile(os.path.join(ROOT, name + ".f16"))
    for preset, ftype in PRESETS.items():
        dst = os.path.join(tmp, preset + ".gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.nthread = 1
        assert llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params)) == 0
        r = gguf.GGUFReader(dst)
        meta["types"][preset] = {t.name: t.tensor_type.name for t in r.tensors}
        if preset in BYTES:
            for t in r.tensors:
                if t.name in COMMITTED:
                    np.asarray(t.data).view(np.uint8).tofile(os.path.join(ROOT, f"{preset}-{t.name}.bin"))
    with open(os.path.join(ROOT, "..", "kquant.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print(json.dumps(meta["types"], indent=1))


if __name__ == "__main__":
    main()
