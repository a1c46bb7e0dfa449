#!/bin/sh
# One thread: the batch-invariant bf16 row kernel (Sources/CIntrinsics/row_products.c) against oneDNN's bf16
# matmul on SmolLM2-135M's product shapes, for 1 to 1024 rows; best of 5 rounds each, and the largest
# difference between the two (summation order only). Needs an AVX512-BF16 CPU and libdnnl2 (scripts/setup.sh).
#     scripts/bench/bench_row_products.sh
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${TMPDIR:-/tmp}/tailor-row-products-bench
cc -O2 -I"$root/Sources/CIntrinsics/include" -I"$root/Sources/CBLAS/include" "$root/scripts/bench/row_products_bench.c" \
    "$root/Sources/CIntrinsics/row_products.c" "$root/Sources/CBLAS/"*.c -ldl -lpthread -lm -o "$out"
"$out"
