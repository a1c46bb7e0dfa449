#!/usr/bin/env python3
"""Writes a Hugging Face model folder's config.json and random bf16 weights in a real model's shapes (Qwen2.5-7B by
default), for the GGUF exporter's memory benchmark (`scripts/bench/bench_gguf_export.sh memory`, which adds the
tokenizer). Values are random bits with a small exponent (|w| in [2^-7, 2^-6)), written shard by shard; what is
measured does not depend on them.

    python make_random_folder.py OUT_DIR [qwen2.5-7b]

Needs numpy. Qwen2.5-7B: 7.6e9 parameters, 15.2 GB on disk; qwen2.5-1.5b: 3.1 GB.
"""
import json
import os
import struct
import sys

import numpy as np

# config.json values of Qwen/Qwen2.5-7B and Qwen/Qwen2.5-1.5B on the Hugging Face hub.
MODELS = {
    "qwen2.5-7b": dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=152064, hidden_size=3584,
                       intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                       rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=131072,
                       tie_word_embeddings=False, bos_token_id=151643, eos_token_id=151643, hidden_act="silu",
                       torch_dtype="bfloat16"),
    "qwen2.5-1.5b": dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=151936, hidden_size=1536,
                         intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                         rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=32768,
                         tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151643, hidden_act="silu",
                         torch_dtype="bfloat16"),
}


def tensors(c):
    h, kv = c["hidden_size"], c["num_key_value_heads"] * (c["hidden_size"] // c["num_attention_heads"])
    out = [("model.embed_tokens.weight", (c["vocab_size"], h))]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (h,)), (p + "post_attention_layernorm.weight", (h,)),
                (p + "self_attn.q_proj.weight", (h, h)), (p + "self_attn.q_proj.bias", (h,)),
                (p + "self_attn.k_proj.weight", (kv, h)), (p + "self_attn.k_proj.bias", (kv,)),
                (p + "self_attn.v_proj.weight", (kv, h)), (p + "self_attn.v_proj.bias", (kv,)),
                (p + "self_attn.o_proj.weight", (h, h)),
                (p + "mlp.gate_proj.weight", (c["intermediate_size"], h)),
                (p + "mlp.up_proj.weight", (c["intermediate_size"], h)),
                (p + "mlp.down_proj.weight", (h, c["intermediate_size"]))]
    out += [("model.norm.weight", (h,))]
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", (c["vocab_size"], h)))
    return out


def write_shard(path, items, rng):
    header, offset = {}, 0
    for name, shape in items:
        size = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape in items:
            n = int(np.prod(shape))
            if len(shape) == 1:
                f.write(np.full(n, 0x3F80, dtype="<u2").tobytes())  # 1.0
                continue
            for start in range(0, n, 1 << 26):
                bits = rng.integers(0, 1 << 16, size=min(1 << 26, n - start), dtype=np.uint16)
                f.write(((bits & 0x807F) | 0x3C00).astype("<u2").tobytes())


def main():
    out, name = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "qwen2.5-7b"
    c = MODELS[name]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    shards, current, size = [], [], 0
    for item in tensors(c):
        current.append(item)
        size += int(np.prod(item[1])) * 2
        if size > 4 << 30:
            shards.append(current)
            current, size = [], 0
    if current:
        shards.append(current)
    weight_map = {}
    for i, items in enumerate(shards):
        file = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_shard(os.path.join(out, file), items, rng)
        weight_map.update({n: file for n, _ in items})
    total = sum(int(np.prod(s)) * 2 for _, s in tensors(c))
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
              open(os.path.join(out, "model.safetensors.index.json"), "w"))
    json.dump(c, open(os.path.join(out, "config.json"), "w"), indent=1)
    print(json.dumps({"folder": out, "parameters": total // 2, "bytes": total,
                      "largest_f32_bytes": max(int(np.prod(s)) for _, s in tensors(c)) * 4}))


if __name__ == "__main__":
    main()
