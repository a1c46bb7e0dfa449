#!/usr/bin/env python3
"""Learning-rate schedules, one AdamW step, SGD steps and an SGD Trainer run, from transformers and torch.

Writes Tests/Fixtures/optim/schedules.json (each lr_scheduler_type's learning rate for every
step, from transformers.get_scheduler over a dummy optimizer), adamw.safetensors (one
torch.optim.AdamW step at step 3 from given parameter, gradient and moment tensors),
sgd.safetensors (4 torch.optim.SGD steps per case with changing learning rates: the parameter
and momentum buffer after each step; cases in its metadata) and sgd-trainer/ (5 steps of full
fine-tuning of the tiny tied Llama with transformers.Trainer, optim="sgd",
optim_args="momentum=0.9,nesterov=True", weight decay 0.1 on Trainer's decay group; the data,
per-step loss / grad norm / lr, and the final weights), and length_grouped.json
(transformers.trainer_pt_utils.get_length_grouped_indices on given lengths, with torch.randperm
replaced by a given permutation, since Tailor draws its own permutations).

    python3 scripts/reference/make_optim_fixtures.py
"""
import json
import os
import shutil
import sys

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


SGD_CASES = [
    {"momentum": 0.9, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    {"momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.01},
    {"momentum": 0.9, "dampening": 0.1, "nesterov": False, "weight_decay": 0.05},
    {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.1},
]
SGD_LRS = [0.1, 0.05, 0.02, 0.01]


def sgd():
    """Each case: param, then for every step k the gradient grad{k} and, after the step,
    param{k} and (with momentum) buffer{k}. The buffer appears on step 0, as torch creates it."""
    tensors = {}
    for index, case in enumerate(SGD_CASES):
        g = torch.Generator().manual_seed(11 + index)
        param = torch.randn(257, generator=g)
        p = torch.nn.Parameter(param.clone())
        opt = torch.optim.SGD([p], lr=SGD_LRS[0], foreach=False, **case)
        tensors[f"case{index}.param"] = param
        for step, lr in enumerate(SGD_LRS):
            grad = torch.randn(257, generator=g)
            opt.param_groups[0]["lr"] = lr
            p.grad = grad.clone()
            opt.step()
            tensors[f"case{index}.grad{step}"] = grad
            tensors[f"case{index}.param{step}"] = p.detach().clone()
            buffer = opt.state[p].get("momentum_buffer")
            if buffer is not None:
                tensors[f"case{index}.buffer{step}"] = buffer.clone()
    return tensors


def sgd_trainer():
    """5 steps of full fine-tuning with Trainer and optim sgd (Nesterov momentum 0.9)."""
    sys.path.insert(0, os.path.dirname(__file__))
    from make_lora_fixtures import ACCUMULATION, BATCH, MODELS, Samples, save_samples, train_in_order
    from transformers import AutoModelForCausalLM

    steps = 5
    torch.manual_seed(7)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, "llama-tied"), dtype=torch.float32)
    model.config._attn_implementation = "eager"
    folder = os.path.join(ROOT, "sgd-trainer")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    data = Samples(torch.Generator().manual_seed(97), steps * BATCH * ACCUMULATION, model.config.vocab_size)
    save_samples(data, folder)
    trainer, _, tensors = train_in_order(model, data, steps, learning_rate=0.05, optim="sgd",
                                         optim_args="momentum=0.9,nesterov=True")
    assert isinstance(trainer.optimizer.optimizer if hasattr(trainer.optimizer, "optimizer") else trainer.optimizer,
                      torch.optim.SGD)
    for pname, p in model.named_parameters():
        tensors["final." + pname] = p.detach().contiguous()
    save_file(tensors, os.path.join(folder, "reference.safetensors"),
              metadata={"optim": "sgd", "optim_args": "momentum=0.9,nesterov=True", "learning_rate": "0.05",
                        "weight_decay": "0.1", "steps": str(steps)})
    print("sgd trainer losses", tensors["loss"].tolist())


def length_grouped():
    from transformers import trainer_pt_utils

    cases = []
    g = torch.Generator().manual_seed(3)
    for count, batch in [(1003, 4), (37, 2), (5, 8), (400, 6)]:
        lengths = torch.randint(1, 60, (count,), generator=g).tolist()  # many ties
        permutation = torch.randperm(count, generator=g)
        real = torch.randperm
        torch.randperm = lambda n, generator=None, p=permutation: p.clone()
        try:
            order = trainer_pt_utils.get_length_grouped_indices(lengths, batch)
        finally:
            torch.randperm = real
        cases.append({"lengths": lengths, "batch_size": batch, "permutation": permutation.tolist(), "order": order})
    return cases


def main():
    os.makedirs(ROOT, exist_ok=True)
    with open(os.path.join(ROOT, "schedules.json"), "w") as f:
        json.dump(schedules(), f, indent=1)
    save_file(adamw(), os.path.join(ROOT, "adamw.safetensors"),
              metadata={"lr": "1e-3", "betas": "0.9,0.95", "eps": "1e-6", "weight_decay": "0.1", "step": "3"})
    save_file(sgd(), os.path.join(ROOT, "sgd.safetensors"),
              metadata={"cases": json.dumps(SGD_CASES), "lrs": json.dumps(SGD_LRS)})
    with open(os.path.join(ROOT, "length_grouped.json"), "w") as f:
        json.dump(length_grouped(), f)
    sgd_trainer()


if __name__ == "__main__":
    main()
