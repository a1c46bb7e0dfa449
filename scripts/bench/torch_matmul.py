"""torch.matmul GFLOP/s on the shape `tailor doctor` measures (a[1024, 1024] · b[2048, 1024]ᵀ),
fp32 and bf16, on 2 threads: best of 3 rounds of 0.3 s, as Tailor's calibration counts.
usage: python3 scripts/bench/torch_matmul.py [M N K]   (prints one JSON line)"""
import json, sys, time, torch
torch.set_num_threads(2)
m, n, k = (int(x) for x in sys.argv[1:4]) if len(sys.argv) >= 4 else (1024, 2048, 1024)
rates = {}
for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
    a = torch.rand(m, k).sub(0.5).to(dtype); b = torch.rand(n, k).sub(0.5).to(dtype)
    torch.matmul(a, b.t())
    best = 0.0
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.3:
            torch.matmul(a, b.t()); calls += 1
        best = max(best, 2 * m * n * k * calls / (time.perf_counter() - start) / 1e9)
    rates[name] = round(best, 1)
print(json.dumps({"peer": "torch.matmul", "torch": torch.__version__, "shape": [m, n, k], "gflops_fp32": rates["fp32"], "gflops_bf16": rates["bf16"]}))
