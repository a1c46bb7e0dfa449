#!/usr/bin/env python3
"""peft's prompt-learning methods trained with transformers.Trainer on the tiny models of make_model_fixtures.py.

- Prompt tuning (`PromptTuningConfig`): a table `prompt_embeddings` [P, C] of virtual-token
  embeddings put before every sequence's token embeddings (positions 0..P-1; the sequence's own
  tokens then start at P), labels -100 there.
- P-tuning (`PromptEncoderConfig`): the same virtual tokens, but their embeddings are computed each
  step by peft's prompt encoder over an embedding table [P, C]: MLP, Linear(C, H) ReLU Linear(H, H)
  ReLU Linear(H, C); LSTM, a bidirectional LSTM of encoder_num_layers layers (H per direction) then
  Linear(2H, 2H) ReLU Linear(2H, C). The saved folder holds only the encoder's output.
- Prefix tuning (`PrefixTuningConfig`): learned keys and values [P, L·2·Hkv·D] put in every
  layer's KV cache in front of the sequence (no rotary embedding on them; the sequence's own
  positions start at P); with `prefix_projection` computed by Linear(T, H) Tanh Linear(H, L·2·T)
  over an embedding table [P, T] (T = Hkv·D, peft's token_dim).

For each case, writes Tests/Fixtures/prompt-learning/<case>/:
  init/      the peft adapter folder before training (save_pretrained)
  final/     the peft adapter folder after training
  encoder-init.safetensors, encoder-final.safetensors   the prompt encoder's own parameters as
             peft names them inside `prompt_encoder.default` (embedding.weight, mlp_head.*, transform.*),
             where the saved folder holds only what they compute
  data.safetensors       the samples, in Trainer's order (two per micro-batch)
  reference.safetensors  per-step loss, grad norm and learning rate, the logits [T, V] of the first
                         sample's own tokens with the trained adapter, and `greedy`: generate()'s
                         greedy tokens (KV cache on) after the first sample's first 5 tokens
  metadata: `trainable` and `total` (peft's get_nb_trainable_parameters()), `decay` (the trained
  names in Trainer's weight-decay group)
Settings: 10 steps, batch 2 (right-padded), gradient accumulation 2, lr 1e-2, warmup 1 + linear,
weight decay 0.1, max_grad_norm 1.0, adamw_torch.

    python3 scripts/reference/make_model_fixtures.py   # first: the tiny base models
    python3 scripts/reference/make_prompt_learning_fixtures.py [CASE ...]   # every case, or those named
"""
import json
import os
import shutil
import sys
import warnings

import torch
from peft import PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

from make_lora_fixtures import BATCH, ACCUMULATION, Samples, save_samples, train_in_order

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "prompt-learning")
STEPS, LR, PROMPT, NEW_TOKENS = 10, 1e-2, 5, 8

CASES = {
    "prompt-llama": ("llama", PromptTuningConfig, dict(num_virtual_tokens=4)),
    "prompt-qwen2": ("qwen2", PromptTuningConfig, dict(num_virtual_tokens=3)),
    "ptuning-llama": ("llama", PromptEncoderConfig, dict(num_virtual_tokens=4, encoder_hidden_size=16)),
    "ptuning-qwen2": ("qwen2", PromptEncoderConfig, dict(num_virtual_tokens=3, encoder_hidden_size=24)),
    "prefix-llama": ("llama", PrefixTuningConfig, dict(num_virtual_tokens=4)),
    "prefix-qwen2-plain": ("qwen2", PrefixTuningConfig, dict(num_virtual_tokens=5)),
    "prefix-qwen2": ("qwen2", PrefixTuningConfig, dict(num_virtual_tokens=3, prefix_projection=True, encoder_hidden_size=16)),
    "prefix-llama-projected": ("llama", PrefixTuningConfig, dict(num_virtual_tokens=4, prefix_projection=True, encoder_hidden_size=12)),
    "ptuning-lstm-llama": ("llama", PromptEncoderConfig,
                           dict(num_virtual_tokens=4, encoder_hidden_size=8, encoder_reparameterization_type="LSTM")),
    "ptuning-lstm-qwen2": ("qwen2", PromptEncoderConfig,
                           dict(num_virtual_tokens=3, encoder_hidden_size=6, encoder_reparameterization_type="LSTM", encoder_num_layers=1)),
}


def encoder_tensors(model):
    return {name: p.detach().clone().contiguous() for name, p in model.prompt_encoder["default"].named_parameters()}


def run(case, family, config_class, options):
    torch.manual_seed(13)
    base = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32)
    base.config._attn_implementation = "eager"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(base, config_class(task_type="CAUSAL_LM", **options))
    trainable, total = model.get_nb_trainable_parameters()
    folder = os.path.join(ROOT, case)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(os.path.join(folder, "init"))
    save_file(encoder_tensors(model), os.path.join(folder, "encoder-init.safetensors"))
    data = Samples(torch.Generator().manual_seed(97), STEPS * BATCH * ACCUMULATION, model.config.vocab_size)
    save_samples(data, folder)
    trainer, decay, history = train_in_order(model, data, STEPS, learning_rate=LR)
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    model.save_pretrained(os.path.join(folder, "final"))
    save_file(encoder_tensors(model), os.path.join(folder, "encoder-final.safetensors"))
    ids = torch.tensor([data.items[0]["input_ids"]])
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
        if logits.shape[0] > ids.shape[1]:  # prompt and P-tuning return the virtual tokens' rows too
            logits = logits[logits.shape[0] - ids.shape[1]:]
        prompt = ids[:, :PROMPT]
        out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
                             min_new_tokens=NEW_TOKENS, do_sample=False, use_cache=True, eos_token_id=None, pad_token_id=0)
        greedy = out[0, PROMPT:]
    save_file({**history, "logits": logits.contiguous(), "greedy": greedy.to(torch.float32)},
              os.path.join(folder, "reference.safetensors"),
              metadata={"trainable": str(trainable), "total": str(total), "options": json.dumps(options),
                        "decay": json.dumps(sorted(n for n in trained if n in decay))})
    print(case, "trainable", trainable, "of", total, "losses", [round(x, 5) for x in history["loss"].tolist()],
          "greedy", greedy.tolist(), "decayed", sum(n in decay for n in trained), "of", len(trained))


def main(names):
    """Writes every case, or only those named on the command line."""
    for case, (family, config_class, options) in CASES.items():
        if not names or case in names:
            run(case, family, config_class, options)


if __name__ == "__main__":
    main(sys.argv[1:])
