#!/usr/bin/env python3
"""Writes Tests/Fixtures/formats/gguf/quant: inputs and gguf.quants.quantize's bytes, for GGMLQuantizer's tests.

Run from the repository root:  python3 scripts/reference/make_gguf_quant_fixtures.py
Needs numpy and gguf (0.19.0; the gguf-py folder of llama.cpp at the same version works too, on PYTHONPATH).
Deterministic; total about 10 KB.

quant/input.f32        16 blocks of 32 float32 values (little-endian): random normal ones and edge cases
                       (all zero, a constant block, ties of magnitude with opposite signs, values that scale to
                       exact halves, huge 1e30 and tiny 1e-30 values, one outlier, negative-only, subnormals)
quant/<TYPE>.bin       gguf.quants.quantize(input, TYPE) for F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1
"""
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "formats", "gguf", "quant")


def blocks():
    rng = np.random.default_rng(19)
    rows = [rng.standard_normal(32) for _ in range(6)]
    rows.append(np.zeros(32))                                     # all zero: d = 0, id = 0
    rows.append(np.full(32, 0.75))                                 # constant: max == min
    tie = rng.standard_normal(32) * 0.1
    tie[3], tie[20] = -2.0, 2.0                                    # |max| tie: the first (negative) one wins
    rows.append(tie)
    rows.append(np.arange(-16, 16, dtype=np.float64) * 0.5)       # many values scale to exact .5
    rows.append(np.arange(-127, 129, 8, dtype=np.float64))         # q8_0 scales these to integers and halves
    rows.append(rng.standard_normal(32) * 1e30)                    # huge (f16 overflows to inf)
    rows.append(rng.standard_normal(32) * 1e-30)                   # tiny (f16 flushes to zero)
    outlier = rng.standard_normal(32)
    outlier[9] = 40.0
    rows.append(outlier)
    rows.append(-np.abs(rng.standard_normal(32)) - 1)              # negative only
    rows.append(rng.standard_normal(32) * 1e-38)                   # float32 subnormals
    return np.stack(rows).astype(np.float32)


def main():
    os.makedirs(ROOT, exist_ok=True)
    data = blocks()
    data.astype("<f4").tofile(os.path.join(ROOT, "input.f32"))
    for t in [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]:
        with np.errstate(all="ignore"):
            q = quantize(data, t)
        np.ascontiguousarray(q).view(np.uint8).tofile(os.path.join(ROOT, t.name + ".bin"))
    print("wrote", ROOT)


if __name__ == "__main__":
    main()
