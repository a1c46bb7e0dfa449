#!/usr/bin/env python3
"""Writes Tests/Fixtures/bnb4bit: bitsandbytes 0.50.2's CPU NF4/FP4 block quantization, for the Swift quantizer's tests.

Run from the repository root:  python3 scripts/reference/make_bnb4bit_fixtures.py
Needs torch and bitsandbytes==0.50.2 (requirements-bnb.txt); runs on the CPU. Deterministic; about 150 KB.

codes.json              the NF4 and FP4 code tables, FP4's sort order, and the 256-entry signed dynamic map
                        (create_dynamic_map) that double quantization uses, all as float32 bit patterns
cases.json              one entry per case: quant type, blocksize, double quant, input dtype, shape, offset bits
<input>.bin             the input values (little-endian, in the case's input dtype); shared by several cases
<case>.packed           quantize_4bit's packed bytes (element 2i in the high nibble, 2i+1 in the low one)
<case>.absmax           float32 absmax per block (without double quant)
<case>.qabsmax          uint8 codes of absmax - offset (with double quant), and
<case>.nested_absmax    float32 absmax per block of 256 of those
<case>.dequant          dequantize_4bit's output in the input dtype
The inputs hold random normal values and edge cases: values exactly at the midpoints between codes
(a block whose absmax is 1), +0 and -0, all-zero blocks, huge (1e30) and tiny (1e-30, subnormal) values,
a lone outlier (no NaN or inf: an fp16 input's huge values stay below 65504), a partial last block, an odd element count (the packer pads a zero) and an odd last
dimension (bnb's CPU dequantizer takes its generic path for those).
"""
import json
import os
import struct

import torch
import bitsandbytes as bnb
import bitsandbytes.functional as F
from bitsandbytes.backends.default.ops import _get_4bit_quantize_bounds

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "bnb4bit")
assert bnb.__version__ == "0.50.2", bnb.__version__


def bits(t):
    return [struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in t.float().tolist()]


def edge_block(code, size, gen):
    """A block of `size` values whose absmax is exactly 1: the code's midpoints, the codes, +-0 and noise."""
    ordered = torch.sort(code).values
    mids = (ordered[:-1] + ordered[1:]) / 2                        # float32, as bnb computes its bounds
    vals = torch.cat([torch.tensor([1.0, -1.0, 0.0, -0.0]), mids, -mids, ordered,
                      torch.nextafter(mids, torch.tensor(2.0)), torch.nextafter(mids, torch.tensor(-2.0))])
    out = torch.rand(size, generator=gen) * 1.8 - 0.9
    out[: min(size, vals.numel())] = vals[:size]
    return out


def make_input(n, gen, code, huge=1e30):
    x = torch.randn(n, generator=gen)
    blocks = [edge_block(code, 32, gen)]
    blocks.append(torch.zeros(32))                                 # all zero: absmax 0
    blocks.append(torch.randn(32, generator=gen).clamp(-2, 2) * huge)  # huge (finite in the input dtype)
    blocks.append(torch.randn(32, generator=gen) * 1e-30)          # tiny
    sub = torch.randn(32, generator=gen) * 1e-39                   # float32 subnormals
    blocks.append(sub)
    outlier = torch.randn(32, generator=gen) * 0.01
    outlier[7] = -50.0
    blocks.append(outlier)
    head = torch.cat(blocks)
    x[: min(n, head.numel())] = head[:n]
    return x


CASES = []  # (name, quant_type, blocksize, double_quant, dtype, shape, input name)


def main():
    os.makedirs(ROOT, exist_ok=True)
    gen = torch.Generator().manual_seed(17)
    nf4 = F.get_4bit_type("nf4", device="cpu")
    fp4 = F.get_4bit_type("fp4", device="cpu")
    dynamic = F.create_dynamic_map().float()
    _, fp4_order = _get_4bit_quantize_bounds("fp4", torch.device("cpu"))
    json.dump({"nf4": bits(nf4), "fp4": bits(fp4), "fp4_order": fp4_order.tolist(), "dynamic": bits(dynamic)},
              open(os.path.join(ROOT, "codes.json"), "w"), indent=1)

    inputs = {}
    # name: (shape, dtype); the edge blocks come first, with 32 values each (the smallest blocksize).
    shapes = {
        "a": ((5, 77), torch.float32),          # 385 values: odd count, odd last dim, partial last block everywhere
        "b": ((6, 96), torch.float32),          # 576 values: even last dim (bnb's C dequantizer), partial for 256
        "c": ((3, 1100), torch.bfloat16),       # 3300 values: bf16 input, partial last block for 2048 and 4096
        "d": ((90, 96), torch.bfloat16),        # 8640 values = 270 blocks of 32: two nested blocks of 256, one partial
        "e": ((4, 64), torch.float16),          # fp16 input
    }
    for name, (shape, dtype) in shapes.items():
        n = shape[0] * shape[1]
        x = make_input(n, gen, nf4 if name != "b" else fp4, huge=3e4 if dtype == torch.float16 else 1e30)
        x = x.reshape(shape).to(dtype)
        inputs[name] = x
        x.contiguous().view(torch.uint8).numpy().tofile(os.path.join(ROOT, name + ".bin"))

    plan = []
    for qt in ("nf4", "fp4"):
        for bs in (32, 64, 128):
            plan.append((qt, bs, False, "a"))
        plan += [(qt, 64, True, "a"), (qt, 256, False, "b"), (qt, 64, False, "b"), (qt, 2048, True, "c"),
                 (qt, 4096, False, "c"), (qt, 32, True, "d"), (qt, 64, True, "e")]
    plan.append(("nf4", 512, False, "c"))
    plan.append(("fp4", 1024, True, "c"))

    cases = []
    for qt, bs, dq, inp in plan:
        x = inputs[inp]
        name = f"{qt}_bs{bs}_{'dq' if dq else 'plain'}_{inp}"
        packed, state = F.quantize_4bit(x, blocksize=bs, compress_statistics=dq, quant_type=qt)
        deq = F.dequantize_4bit(packed, state)
        assert deq.dtype == x.dtype and deq.shape == x.shape
        packed.contiguous().numpy().tofile(os.path.join(ROOT, name + ".packed"))
        entry = {"name": name, "quant_type": qt, "blocksize": bs, "double_quant": dq, "input": inp,
                 "dtype": str(x.dtype).replace("torch.", ""), "shape": list(x.shape),
                 "packed_bytes": packed.numel()}
        if dq:
            state.absmax.numpy().tofile(os.path.join(ROOT, name + ".qabsmax"))
            state.state2.absmax.float().numpy().tofile(os.path.join(ROOT, name + ".nested_absmax"))
            assert state.state2.blocksize == 256
            assert torch.equal(state.state2.code, dynamic)
            entry["offset_bits"] = bits(state.offset.reshape(1))[0]
        else:
            state.absmax.float().numpy().tofile(os.path.join(ROOT, name + ".absmax"))
        deq.contiguous().view(torch.uint8).numpy().tofile(os.path.join(ROOT, name + ".dequant"))
        cases.append(entry)
    json.dump(cases, open(os.path.join(ROOT, "cases.json"), "w"), indent=1)
    print("wrote", len(cases), "cases to", ROOT)


if __name__ == "__main__":
    main()
