"""Peer of `tailor bench train --method qlora`: transformers + peft + bitsandbytes QLoRA on this CPU, as a user
writes it (seeds 002/003): a bf16 folder loaded with BitsAndBytesConfig(load_in_4bit, nf4, double quantization,
compute dtype bfloat16), prepare_model_for_kbit_training (gradient checkpointing on, the unquantized parameters
in fp32), LoRA r 16 on every linear, AdamW, torch.autocast bf16 (TrainingArguments(bf16=True)).
Random weights in the shapes of the preset's real config, written once to FOLDER by a child process (so the
measured process's peak RSS is the training's alone).
usage: python peer_qlora.py PRESET(qwen2.5-1.5b|smollm2-135m) FOLDER [batch] [seq] [steps]
prints one JSON line: tokens/s, step seconds, peak RSS, loss."""
import json, os, resource, subprocess, sys, time

preset, folder = sys.argv[1], sys.argv[2]
making = sys.argv[3:4] == ["--make"]
B = int(sys.argv[3]) if len(sys.argv) > 3 and not making else 4
T = int(sys.argv[4]) if len(sys.argv) > 4 else 256
steps = int(sys.argv[5]) if len(sys.argv) > 5 else 1

import torch
torch.set_num_threads(os.cpu_count() or 2)

def config():
    from transformers import LlamaConfig, Qwen2Config
    if preset == "qwen2.5-1.5b":
        return Qwen2Config(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                           num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, rope_theta=1e6,
                           max_position_embeddings=32768, rms_norm_eps=1e-6)
    return LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                       num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True, rope_theta=1e5, rms_norm_eps=1e-5)

if making:
    from transformers import AutoModelForCausalLM
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config(), torch_dtype=torch.bfloat16).save_pretrained(folder)
    sys.exit(0)
if not os.path.exists(os.path.join(folder, "config.json")):
    subprocess.run([sys.executable, __file__, preset, folder, "--make"], check=True)

from transformers import AutoModelForCausalLM, BitsAndBytesConfig
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
import bitsandbytes
quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=torch.bfloat16)
model = AutoModelForCausalLM.from_pretrained(folder, quantization_config=quantization, device_map="cpu",
                                             torch_dtype=torch.bfloat16, attn_implementation="sdpa")
model = prepare_model_for_kbit_training(model)  # gradient checkpointing on, as for every k-bit model
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
    target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
torch.manual_seed(0)
ids = torch.randint(0, model.config.vocab_size, (B, T))

def step():
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(input_ids=ids, labels=ids)
    out.loss.backward(); opt.step(); opt.zero_grad()
    return out.loss.item()

step()  # warm-up
t0 = time.perf_counter()
for _ in range(steps):
    loss = step()
dt = (time.perf_counter() - t0) / steps
quantized = sum(1 for m in model.modules() if isinstance(m, bitsandbytes.nn.Linear4bit))
print(json.dumps({"peer": "transformers+peft+bitsandbytes", "torch": torch.__version__, "bitsandbytes": bitsandbytes.__version__,
                  "preset": preset, "linear4bit": quantized, "batch": B, "seq": T, "tokens_per_s": round(B * T / dt, 1),
                  "step_s": round(dt, 2), "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
                  "loss": round(loss, 3)}))
