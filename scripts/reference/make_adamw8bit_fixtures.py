#!/usr/bin/env python3
"""bitsandbytes' AdamW8bit and its 32-bit AdamW on the CPU (bitsandbytes 0.50.2), for optim adamw_8bit /
adamw_bnb_8bit / paged_adamw_8bit and paged_adamw_32bit.

transformers' Trainer builds `bitsandbytes.optim.AdamW(..., optim_bits=8 or 32, is_paged=...)` for those
names; on the CPU paging does nothing (bnb warns once). A tensor under `min_8bit_size` (4096) elements keeps
32-bit states even with optim_bits 8, and takes bnb's 32-bit CPU update, which is not torch.optim.AdamW's
arithmetic (eps · sqrt(1 - beta2^t) inside the denominator, lr · sqrt(1 - beta2^t) / (1 - beta1^t) outside).

Writes Tests/Fixtures/optim/adamw8bit.safetensors: the starting parameters `<p>.init` and the gradient of
every step `<p>.grad.<t>` (the same for every case; values that f16 holds exactly, stored as f16), and for
each case (metadata `cases`: bits, betas, eps, steps, the steps recorded) the parameters after the recorded
steps `<case>.<p>.after.<t>` and after its last step the states as bnb holds them: `<case>.<p>.state1` /
`.state2` (uint8 codes stored as f16, or the float32 moments of a 32-bit tensor) and `.absmax1` / `.absmax2`;
`dynamic` / `udynamic` are create_dynamic_map(signed=True / False) (the run leaves them unchanged).

Parameters (two groups as Trainer makes them: weight decay 0.1 and 0): `big` [66, 64] (4224 elements: 8-bit,
a partial last block of 128), `small` [10, 30] (300: 32-bit states even with optim_bits 8), `bias` [4096]
(the smallest 8-bit tensor) in the no-decay group. The gradient of `big` is 0 in its first block at step 1 (an
all-zero block: absmax 0) and holds a few values 1000× the rest at step 4; the learning rate changes every
step as a schedule would.

    pip install --no-deps bitsandbytes==0.50.2   # beside requirements.txt's torch
    python3 scripts/reference/make_adamw8bit_fixtures.py
"""
import json
import os
import warnings

import bitsandbytes as bnb
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "optim", "adamw8bit.safetensors")
STEPS = 10
SHAPES = {"big": [66, 64], "small": [10, 30], "bias": [4096]}
CASES = {
    # name: (optim_bits, betas, eps, steps, steps whose parameters are recorded)
    "adamw_8bit": (8, (0.9, 0.999), 1e-8, STEPS, [1, 10]),
    "adamw_8bit_eps": (8, (0.8, 0.95), 1e-3, 4, [4]),
    "paged_adamw_32bit": (32, (0.9, 0.999), 1e-8, STEPS, [1, 10]),
}


def inputs():
    """The starting parameters and every step's gradients, f16-exact."""
    g = torch.Generator().manual_seed(11)
    init = {n: (torch.randn(s, generator=g) * 0.1).half().float() for n, s in SHAPES.items()}
    grads = {}
    for t in range(1, STEPS + 1):
        for n, s in SHAPES.items():
            grad = torch.randn(s, generator=g) * (0.01 * t)
            if n == "big" and t == 1:
                grad.view(-1)[:256] = 0
            if n == "big" and t == 4:
                grad.view(-1)[[3, 300, 4223]] *= 1000
            grads[(n, t)] = grad.half().float()
    return init, grads


def lr_at(step):
    return 1e-2 * (1 - step / 20)


def run(case, bits, betas, eps, steps, recorded, init, grads, out):
    params = {n: torch.nn.Parameter(init[n].clone()) for n in SHAPES}
    groups = [{"params": [params["big"], params["small"]], "weight_decay": 0.1},
              {"params": [params["bias"]], "weight_decay": 0.0}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimizer = bnb.optim.AdamW(groups, lr=lr_at(0), betas=betas, eps=eps, optim_bits=bits, is_paged=(bits == 32))
    for t in range(1, steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(t - 1)
        for n, p in params.items():
            p.grad = grads[(n, t)].clone()
        optimizer.step()
        if t in recorded:
            for n, p in params.items():
                out[f"{case}.{n}.after.{t}"] = p.detach().clone()
    for n, p in params.items():
        state = optimizer.state[p]
        for key in ["state1", "state2"]:
            out[f"{case}.{n}.{key}"] = state[key].to(torch.float16 if state[key].dtype == torch.uint8 else torch.float32).clone()
        for key in ["absmax1", "absmax2"]:
            if key in state:
                out[f"{case}.{n}.{key}"] = state[key].clone()
        for key, original in [("qmap1", "dynamic"), ("qmap2", "udynamic")]:
            if key in state:
                assert torch.equal(state[key], bnb.functional.create_dynamic_map(signed=(key == "qmap1")))
    kinds = {n: ("8bit" if optimizer.state[p]["state1"].dtype == torch.uint8 else "32bit") for n, p in params.items()}
    print(case, kinds, "big after", params["big"].detach().view(-1)[:3].tolist())
    return kinds


def main():
    out, meta = {}, {}
    init, grads = inputs()
    for n in SHAPES:
        out[f"{n}.init"] = init[n].half()
        for t in range(1, STEPS + 1):
            out[f"{n}.grad.{t}"] = grads[(n, t)].half()
    for case, (bits, betas, eps, steps, recorded) in CASES.items():
        kinds = run(case, bits, betas, eps, steps, recorded, init, grads, out)
        meta[case] = {"optim_bits": bits, "betas": list(betas), "eps": eps, "steps": steps, "recorded": recorded, "states": kinds}
    # The maps as create_dynamic_map makes them, before any quantization.
    out["dynamic"] = bnb.functional.create_dynamic_map(signed=True)
    out["udynamic"] = bnb.functional.create_dynamic_map(signed=False)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file({k: v.contiguous() for k, v in out.items()}, OUT,
              metadata={"cases": json.dumps(meta), "steps": str(STEPS), "lr": "1e-2 * (1 - (step - 1) / 20)",
                        "bitsandbytes": bnb.__version__, "torch": torch.__version__})


if __name__ == "__main__":
    main()
