#!/usr/bin/env python3
"""Tiny random Llama-family models and their PyTorch logits, loss and gradients.

Writes Tests/Fixtures/models/<name>/ for each family: an HF folder (config.json +
model.safetensors, float32) and reference.safetensors holding, for one fixed batch of two rows
(row 0: one sequence with a masked prompt; row 1: two packed sequences with restarting
positions), the inputs, the logits of every token, the mean cross-entropy over label tokens
(transformers' shift: position t predicts label t+1, within each sequence), and the gradient of
that loss with respect to every parameter.

Packed rows are computed as their sequences run one by one (what attention restricted to each
sequence means), so the fixture does not depend on any attention-mask convention.

    pip install -r scripts/reference/requirements.txt
    python3 scripts/reference/make_model_fixtures.py
"""
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "models")
VOCAB = 96
COMMON = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
              rms_norm_eps=1e-6, initializer_range=0.2, torch_dtype="float32")


def families():
    yield "llama", LlamaForCausalLM, LlamaConfig(**COMMON, rope_theta=10000.0, tie_word_embeddings=False,
                                                 bos_token_id=1, eos_token_id=2)
    # SmolLM / Llama 3.2-1B style: tied input and output embeddings.
    yield "llama-tied", LlamaForCausalLM, LlamaConfig(**COMMON, rope_theta=100000.0, tie_word_embeddings=True,
                                                      bos_token_id=1, eos_token_id=2)
    # Llama 3.1/3.2 rope scaling, with wavelengths on all three sides of the smoothing band.
    yield "llama3-rope", LlamaForCausalLM, LlamaConfig(
        **COMMON, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
        rope_parameters=dict(rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
                             high_freq_factor=4.0, original_max_position_embeddings=64))
    # q/k/v projections with biases.
    yield "qwen2", Qwen2ForCausalLM, Qwen2Config(**COMMON, rope_theta=1000000.0, tie_word_embeddings=True,
                                                 use_sliding_window=False, bos_token_id=1, eos_token_id=2)
    # q_norm/k_norm and an explicit head_dim different from hidden_size / heads.
    yield "qwen3", Qwen3ForCausalLM, Qwen3Config(**COMMON, head_dim=12, rope_theta=1000000.0,
                                                 tie_word_embeddings=True, use_sliding_window=False,
                                                 bos_token_id=1, eos_token_id=2)
    yield "mistral", MistralForCausalLM, MistralConfig(**COMMON, rope_theta=10000.0, sliding_window=None,
                                                       tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)


def batch(generator):
    """Two rows of 12 tokens: row 0 one sequence, row 1 sequences of 5 and 7 tokens."""
    ids = torch.randint(3, VOCAB, (2, 12), generator=generator)
    labels = ids.clone()
    labels[0, :4] = -100            # a masked prompt
    labels[1, 0:2] = -100           # first packed sample's prompt
    labels[1, 5:8] = -100           # second packed sample's prompt
    sequences = [(0, 0, 12), (1, 0, 5), (1, 5, 12)]
    return ids, labels, sequences


def run(model, ids, labels, sequences):
    logits_rows, losses, count = [], [], 0
    for row, start, end in sequences:
        out = model(input_ids=ids[row:row + 1, start:end])
        logits = out.logits[0]                                  # [L, V]
        logits_rows.append(logits)
        target = labels[row, start + 1:end]                     # position t predicts token t+1
        valid = target != -100
        losses.append(torch.nn.functional.cross_entropy(logits[:-1][valid], target[valid], reduction="sum"))
        count += int(valid.sum())
    loss = torch.stack(losses).sum() / count
    return torch.cat(logits_rows, 0), loss


def main():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1234)
    ids, labels, sequences = batch(generator)
    positions = torch.cat([torch.arange(e - s) for _, s, e in sequences]).to(torch.int64)
    seq_start = torch.cat([torch.full((e - s,), r * 12 + s) for r, s, e in sequences]).to(torch.int64)
    for index, (name, cls, config) in enumerate(families()):
        torch.manual_seed(100 + index)
        model = cls(config).float().eval()
        # Norm weights are ones at init: make them random so their gradients mean something.
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "norm" in pname:
                    p.copy_(1 + 0.2 * torch.randn_like(p))
                if pname.endswith(".bias"):
                    p.copy_(0.1 * torch.randn_like(p))
        folder = os.path.join(ROOT, name)
        shutil.rmtree(folder, ignore_errors=True)
        model.save_pretrained(folder, safe_serialization=True)
        for extra in ("generation_config.json",):
            path = os.path.join(folder, extra)
            if os.path.exists(path):
                os.remove(path)
        logits, loss = run(model, ids, labels, sequences)
        model.zero_grad()
        loss.backward()
        tensors = {
            "input_ids": ids.reshape(-1).to(torch.int64),
            "labels": labels.reshape(-1).to(torch.int64),
            "position_ids": positions,
            "seq_start": seq_start,
            "logits": logits.detach().contiguous(),
            "loss": loss.detach().reshape(1),
        }
        for pname, p in model.named_parameters():
            tensors["grad." + pname] = p.grad.detach().contiguous()
        save_file(tensors, os.path.join(folder, "reference.safetensors"),
                  metadata={"torch": torch.__version__, "note": "loss = mean CE over label tokens"})
        print(f"{name}: loss {loss.item():.6f}, {sum(p.numel() for p in model.parameters())} parameters")
    with open(os.path.join(ROOT, "README.md"), "w") as f:
        f.write("Generated by scripts/reference/make_model_fixtures.py; do not edit by hand.\n")


if __name__ == "__main__":
    main()
