#!/usr/bin/env python3
"""The 20-step LoRA parity run of issue #9: transformers + peft in bf16 against `tailor train`, on
the same base weights, the same initial adapter and the same batches.

    lora_parity.py prepare WORK [--model smol135|tiny] [--device cuda|cpu] [--steps 20] [--batch 4]
        Builds a random-init model (the architecture of a real config, no hub needed) in bf16 and
        saves it to WORK/base; attaches peft LoRA (r 16, alpha 32, all seven projections, no
        dropout) and saves that untrained adapter to WORK/init-adapter; writes WORK/data.jsonl
        (pre-tokenized samples with a learnable pattern, so the loss moves) and WORK/recipe.yaml
        (tailor's side of the run); then trains the peer: the batches in file order, right-padded,
        torch.autocast bf16 with fp32 LoRA weights (as ../shared/bench/peer_hf_lora_cuda.py sets
        it up), AdamW lr 2e-3, no weight decay, clip 1.0, constant schedule. Per-step losses go
        to WORK/peer.json.
    lora_parity.py compare WORK [--tolerance 0.02]
        Reads WORK/peer.json and tailor's WORK/tailor-out/metrics.jsonl, prints both per step, and
        exits 1 when a step's losses differ by more than the tolerance (relative to the peer's).

scripts/gpu/lora_parity.sh runs both around `tailor train`.
"""
import argparse
import json
import os
import random
import sys

LR = 2e-3


def model_config(name):
    from transformers import LlamaConfig
    if name == "smol135":  # SmolLM2-135M's architecture
        return LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                           num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True, rope_theta=1e5,
                           rms_norm_eps=1e-5, max_position_embeddings=2048)
    return LlamaConfig(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=4,
                       num_key_value_heads=2, vocab_size=4096, tie_word_embeddings=False, rms_norm_eps=1e-5,
                       max_position_embeddings=1024)


def samples(count, vocab, max_length, seed=0):
    """Arithmetic runs of token ids after a masked prompt: a pattern LoRA learns within 20 steps."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        length = rng.randint(max_length // 2, max_length)
        start, stride = rng.randrange(vocab // 16), rng.choice([1, 2, 3])
        ids = [100 + (start + stride * i) % (vocab // 16) for i in range(length)]
        prompt = rng.randint(4, 16)
        out.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
    return out


def prepare(args):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
    from make_lora_fixtures import collate

    work = args.work
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    config = model_config(args.model)
    config._attn_implementation = "sdpa"
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(os.path.join(work, "base"), safe_serialization=True)
    model = model.to(args.device)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                             "up_proj", "down_proj"]))
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()  # fp32 trainable weights, as mixed-precision training keeps them
    model.save_pretrained(os.path.join(work, "init-adapter"))

    data = samples(args.steps * args.batch, config.vocab_size, args.seq)
    with open(os.path.join(work, "data.jsonl"), "w") as f:
        for sample in data:
            f.write(json.dumps(sample) + "\n")
    recipe = {
        "model_name_or_path": os.path.join(work, "base"), "adapter_name_or_path": os.path.join(work, "init-adapter"),
        "dataset": os.path.join(work, "data.jsonl"), "dataset_format": "tokenized", "max_seq_length": args.seq,
        "output_dir": os.path.join(work, "tailor-out"), "finetuning_type": "lora", "lora_dropout": 0.0,
        "per_device_train_batch_size": args.batch, "gradient_accumulation_steps": 1, "max_steps": args.steps,
        "learning_rate": LR, "lr_scheduler_type": "constant", "warmup_steps": 0, "weight_decay": 0.0,
        "max_grad_norm": 1.0, "shuffle": False, "logging_steps": 1, "save_strategy": "no",
        "device": args.device, "bf16": True,
    }
    with open(os.path.join(work, "recipe.yaml"), "w") as f:
        for key, value in recipe.items():
            f.write(f"{key}: {json.dumps(value)}\n")

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=LR, weight_decay=0.0)
    losses = []
    for step in range(args.steps):
        batch = collate(data[step * args.batch:(step + 1) * args.batch])  # right-padded, -100 labels on padding
        with torch.autocast(args.device, dtype=torch.bfloat16):
            out = model(**{key: value.to(args.device) for key, value in batch.items()})
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(out.loss.item())
        print(f"peer step {step + 1}: loss {losses[-1]:.4f}", flush=True)
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    with open(os.path.join(work, "peer.json"), "w") as f:
        json.dump({"peer": "transformers+peft bf16 autocast", "torch": torch.__version__, "device": device_name,
                   "model": args.model, "batch": args.batch, "losses": losses}, f)


def compare(args):
    with open(os.path.join(args.work, "peer.json")) as f:
        peer = json.load(f)
    tailor = {}
    with open(os.path.join(args.work, "tailor-out", "metrics.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if "loss" in record and "step" in record:
                tailor[int(record["step"])] = float(record["loss"])
    worst = 0.0
    failures = []
    print(f"{'step':>4}  {'peer':>8}  {'tailor':>8}  {'rel. diff':>9}")
    for step, expected in enumerate(peer["losses"], start=1):
        if step not in tailor:
            failures.append(f"tailor logged no loss for step {step}")
            continue
        diff = abs(tailor[step] - expected) / abs(expected)
        worst = max(worst, diff)
        print(f"{step:>4}  {expected:8.4f}  {tailor[step]:8.4f}  {diff:9.2%}")
        if diff > args.tolerance:
            failures.append(f"step {step}: tailor {tailor[step]:.4f} vs peer {expected:.4f} ({diff:.2%})")
    print(json.dumps({"device": peer["device"], "model": peer["model"], "steps": len(peer["losses"]),
                      "worst_relative_difference": round(worst, 5), "tolerance": args.tolerance,
                      "passed": not failures}))
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("work")
    p.add_argument("--model", choices=["smol135", "tiny"], default="smol135")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    c = sub.add_parser("compare")
    c.add_argument("work")
    c.add_argument("--tolerance", type=float, default=0.02)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args)
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
