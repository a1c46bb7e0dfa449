#!/usr/bin/env python3
"""Two GGUF files tensor by tensor: the type of each, and where the types agree whether the bytes are identical
(else how many of its blocks differ). Used to find why a Tailor k-quant export and llama.cpp's quantization of a
model differ.

    python gguf_compare_tensors.py A.gguf B.gguf [--all]     # --all prints equal tensors too

Needs numpy and gguf-py (0.19.0). Prints one line per differing tensor and a JSON summary; exit 1 when any differ.
"""
import json
import sys

import numpy as np
import gguf


def tensors(path):
    return {t.name: t for t in gguf.GGUFReader(path).tensors}


def main():
    a_path, b_path = sys.argv[1], sys.argv[2]
    show_all = "--all" in sys.argv
    a, b = tensors(a_path), tensors(b_path)
    summary = {"tensors": len(set(a) | set(b)), "type_differs": 0, "bytes_equal": 0, "bytes_differ": 0, "missing": 0}
    for name in sorted(set(a) | set(b), key=lambda n: (n.split(".")[1].zfill(3) if n.startswith("blk.") else "", n)):
        if name not in a or name not in b:
            summary["missing"] += 1
            print(f"{name}: only in {'A' if name in a else 'B'}")
            continue
        ta, tb = a[name], b[name]
        if ta.tensor_type != tb.tensor_type:
            summary["type_differs"] += 1
            print(f"{name}: type {ta.tensor_type.name} / {tb.tensor_type.name}")
            continue
        da, db = np.asarray(ta.data).view(np.uint8).reshape(-1), np.asarray(tb.data).view(np.uint8).reshape(-1)
        if da.shape == db.shape and np.array_equal(da, db):
            summary["bytes_equal"] += 1
            if show_all:
                print(f"{name}: {ta.tensor_type.name} equal")
            continue
        summary["bytes_differ"] += 1
        block, size = gguf.GGML_QUANT_SIZES[ta.tensor_type]
        blocks_a, blocks_b = da.reshape(-1, size), db.reshape(-1, size)
        differing = int(np.any(blocks_a != blocks_b, axis=1).sum())
        print(f"{name}: {ta.tensor_type.name} bytes differ in {differing} of {len(blocks_a)} blocks")
    print(json.dumps(summary))
    return 0 if summary["type_differs"] == summary["bytes_differ"] == summary["missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
