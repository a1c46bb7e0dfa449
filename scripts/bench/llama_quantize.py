#!/usr/bin/env python3
"""llama.cpp's quantizer (llama_cpp.llama_model_quantize, as `llama-quantize IN OUT PRESET` runs it, no imatrix) on
one GGUF file, for scripts/bench/bench_gguf_export.sh.

    python llama_quantize.py IN.gguf OUT.gguf PRESET [THREADS]    # PRESET: q2_k, q3_k_s ... q6_k

Needs llama-cpp-python (0.3.36).
"""
import ctypes
import os
import sys

import llama_cpp

FTYPES = {"q2_k": "Q2_K", "q3_k_s": "Q3_K_S", "q3_k_m": "Q3_K_M", "q3_k_l": "Q3_K_L", "q4_k_s": "Q4_K_S",
          "q4_k_m": "Q4_K_M", "q5_k_s": "Q5_K_S", "q5_k_m": "Q5_K_M", "q6_k": "Q6_K"}


def main():
    src, dst, preset = sys.argv[1:4]
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, "LLAMA_FTYPE_MOSTLY_" + FTYPES[preset])
    params.nthread = int(sys.argv[4]) if len(sys.argv) > 4 else os.cpu_count()
    return 0 if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params)) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
