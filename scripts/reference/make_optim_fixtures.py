#!/usr/bin/env python3
"""Learning-rate schedules and one AdamW step, from transformers and torch.

Writes Tests/Fixtures/optim/schedules.json (each lr_scheduler_type's learning rate for every
step, from transformers.get_scheduler over a dummy optimizer) and adamw.safetensors (one
torch.optim.AdamW step at step 3 from given parameter, gradient and moment tensors).

    python3 scripts/reference/make_optim_fixtures.py
"""
import json
import os

import torch
from safetensors.torch import save_file
from transformers import get_scheduler

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "optim")


def schedules():
    cases = []
    for kind in ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                 "inverse_sqrt"]:
        for warmup, total in [(0, 10), (3, 20), (2, 5)]:
            extra = {"num_cycles": 2} if kind == "cosine_with_restarts" and total == 20 else {}
            optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
            scheduler = get_scheduler(kind, optimizer, num_warmup_steps=warmup, num_training_steps=total,
                                      scheduler_specific_kwargs=extra)
            lrs = []
            for _ in range(total + 2):
                lrs.append(optimizer.param_groups[0]["lr"])
                optimizer.step()
                scheduler.step()
            cases.append({"kind": kind, "warmup": warmup, "total": total, "base_lr": 3e-4,
                          "num_cycles": extra.get("num_cycles"), "lrs": lrs})
    return cases


def adamw():
    g = torch.Generator().manual_seed(5)
    param = torch.randn(257, generator=g)
    grad = torch.randn(257, generator=g)
    m = 0.1 * torch.randn(257, generator=g)
    v = 0.1 * torch.rand(257, generator=g)
    p = torch.nn.Parameter(param.clone())
    opt = torch.optim.AdamW([p], lr=1e-3, betas=(0.9, 0.95), eps=1e-6, weight_decay=0.1, foreach=False)
    p.grad = grad.clone()
    opt.state[p] = {"step": torch.tensor(2.0), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
    opt.step()
    state = opt.state[p]
    return {"param": param, "grad": grad, "m": m, "v": v, "param_after": p.detach().clone(),
            "m_after": state["exp_avg"].clone(), "v_after": state["exp_avg_sq"].clone()}


def main():
    os.makedirs(ROOT, exist_ok=True)
    with open(os.path.join(ROOT, "schedules.json"), "w") as f:
        json.dump(schedules(), f, indent=1)
    save_file(adamw(), os.path.join(ROOT, "adamw.safetensors"),
              metadata={"lr": "1e-3", "betas": "0.9,0.95", "eps": "1e-6", "weight_decay": "0.1", "step": "3"})


if __name__ == "__main__":
    main()
