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
gguf/  (see make_gguf_fixtures)
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


if __name__ == "__main__":
    which = sys.argv[1:] or ["safetensors", "gguf"]
    if "safetensors" in which:
        make_safetensors()
    if "gguf" in which and "make_gguf" in globals():
        make_gguf()
