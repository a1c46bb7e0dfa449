#!/usr/bin/env python3
"""The quick start's fine-tune done by transformers + peft, for the side-by-side figure.

Same model folder (what `tailor import gguf` wrote), same data (examples/persona/persona.jsonl,
rendered with the model's chat template, prompt tokens masked), same LoRA (r 16, alpha 32,
all-linear, no dropout) and schedule (3 epochs, batch 8, lr 1e-3 cosine, warmup 0.1, max 256
tokens), fp32 on 2 CPU threads, dynamic padding. Prints one JSON line: tokens/s over the real
(non-padding) tokens, train seconds, peak RSS, final loss.

    python3 scripts/bench/peer_quickstart.py ~/.cache/tailor/smollm2/hf [DATA] [--bf16] [--ia3 | --adalora | --dora | --pissa | --olora | --loraplus | --prompt-tuning | --prefix-tuning | --p-tuning]

--bf16 sets TrainingArguments(bf16=True), as a user of transformers does for speed on a CPU with
AMX or AVX512-BF16 (torch.autocast bf16; LoRA weights and optimizer states stay fp32); compare
Tailor against the faster of the two runs.

--ia3 trains IA³ instead (IA3Config with peft's defaults for llama: k_proj, v_proj, down_proj
feed-forward), 1 epoch at lr 3e-3, as scripts/bench/bench_ia3.sh runs `tailor train`.

--adalora trains AdaLoRA instead (AdaLoraConfig with peft's defaults for llama: q_proj, v_proj;
init_r 12, target_r 4, tinit 2, tfinal 4, total_step the run's steps; update_and_allocate from a
callback's on_optimizer_step), 1 epoch at lr 2e-3, as scripts/bench/bench_adalora.sh runs `tailor train`.

--dora, --pissa and --loraplus train the quick start's LoRA (r 16, alpha 32, all-linear, 3 epochs, lr
1e-3) as DoRA (use_dora=True), from PiSSA's start (init_lora_weights="pissa": an exact SVD of each weight),
or with LoRA+'s optimizer (peft's create_loraplus_optimizer, loraplus_lr_ratio 16: the B matrices at 16× the
learning rate), as scripts/bench/bench_peft_methods.sh runs `tailor train`.

--prompt-tuning trains prompt tuning instead (PromptTuningConfig: 20 virtual tokens, prompt_tuning_init
TEXT from PROMPT_TEXT with the model's tokenizer), 1 epoch at lr 3e-2, as bench_peft_methods.sh runs it;
--prefix-tuning prefix tuning (PrefixTuningConfig: 20 virtual tokens), 1 epoch at lr 1e-2; --p-tuning P-tuning
(PromptEncoderConfig: 20 virtual tokens, the MLP encoder at the model's width), 1 epoch at lr 1e-3; --olora the
quick start's LoRA from OLoRA's start (init_lora_weights="olora": a QR of each weight).
"""
import json
import resource
import sys
import tempfile
import time

import torch
from peft import AdaLoraConfig, IA3Config, LoraConfig, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainerCallback, TrainingArguments

bf16 = "--bf16" in sys.argv[1:]
ia3 = "--ia3" in sys.argv[1:]
adalora = "--adalora" in sys.argv[1:]
dora, pissa, loraplus = ("--dora" in sys.argv[1:]), ("--pissa" in sys.argv[1:]), ("--loraplus" in sys.argv[1:])
prompt_tuning, prefix_tuning = ("--prompt-tuning" in sys.argv[1:]), ("--prefix-tuning" in sys.argv[1:])
p_tuning, olora = ("--p-tuning" in sys.argv[1:]), ("--olora" in sys.argv[1:])
PROMPT_TEXT = "Answer as the assistant this persona describes."
epochs, lr = (1, 3e-3) if ia3 else (1, 2e-3) if adalora else (1, 3e-2) if prompt_tuning else (1, 1e-2) if prefix_tuning else (1, 1e-3) if p_tuning else (3, 1e-3)
positional = [a for a in sys.argv[1:] if a not in ("--bf16", "--ia3", "--adalora", "--dora", "--pissa", "--loraplus", "--prompt-tuning", "--prefix-tuning", "--p-tuning", "--olora")]
folder = positional[0]
data_path = positional[1] if len(positional) > 1 else "examples/persona/persona.jsonl"
torch.set_num_threads(2)
torch.manual_seed(42)
tokenizer = AutoTokenizer.from_pretrained(folder)
samples = []
for line in open(data_path, encoding="utf-8"):
    messages = json.loads(line)["messages"]
    full = tokenizer.apply_chat_template(messages, tokenize=True)
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=True, add_generation_prompt=True)
    full = full["input_ids"] if hasattr(full, "keys") else full
    prompt = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
    full = list(full)[:256]
    labels = [-100] * min(len(prompt), len(full)) + full[len(prompt):]
    samples.append({"input_ids": full, "labels": labels})
real_tokens = sum(len(s["input_ids"]) for s in samples) * epochs
pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def collate(batch):
    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros(len(batch), width, dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = torch.tensor(b["input_ids"])
        labels[i, :n] = torch.tensor(b["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
callbacks = []
if ia3:
    model = get_peft_model(model, IA3Config(task_type="CAUSAL_LM"))
elif prompt_tuning:
    model = get_peft_model(model, PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=20, prompt_tuning_init="TEXT",
                                                     prompt_tuning_init_text=PROMPT_TEXT, tokenizer_name_or_path=folder))
elif prefix_tuning:
    model = get_peft_model(model, PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=20))
elif p_tuning:
    model = get_peft_model(model, PromptEncoderConfig(task_type="CAUSAL_LM", num_virtual_tokens=20))
elif adalora:
    total = -(-len(samples) // 8) * epochs
    model = get_peft_model(model, AdaLoraConfig(task_type="CAUSAL_LM", init_r=12, target_r=4, tinit=2, tfinal=4, total_step=total))

    class Allocate(TrainerCallback):
        def on_optimizer_step(self, args, state, control, **kwargs):
            model.base_model.update_and_allocate(state.global_step)

    callbacks.append(Allocate())
else:
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                                             task_type="CAUSAL_LM", use_dora=dora,
                                             init_lora_weights="pissa" if pissa else "olora" if olora else True))
optimizers = (None, None)
if loraplus:
    from peft.optimizers import create_loraplus_optimizer
    optimizers = (create_loraplus_optimizer(model=model, optimizer_cls=torch.optim.AdamW, lr=lr, loraplus_lr_ratio=16), None)
trainable = model.get_nb_trainable_parameters()[0]
with tempfile.TemporaryDirectory() as out:
    args = TrainingArguments(output_dir=out, num_train_epochs=epochs, per_device_train_batch_size=8, learning_rate=lr,
                             lr_scheduler_type="cosine", warmup_steps=0.1, logging_steps=5, save_strategy="no",
                             report_to=[], seed=42, use_cpu=True, remove_unused_columns=False, disable_tqdm=True,
                             bf16=bf16)
    trainer = Trainer(model=model, args=args, train_dataset=samples, data_collator=collate, callbacks=callbacks,
                      optimizers=optimizers)
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
print(json.dumps({"peer": "transformers+peft", "method": "IA3" if ia3 else "PROMPT_TUNING" if prompt_tuning else "PREFIX_TUNING" if prefix_tuning else "P_TUNING" if p_tuning else "OLORA" if olora else "ADALORA" if adalora else "DORA" if dora else "PISSA" if pissa else "LORA+" if loraplus else "LORA", "trainable": trainable, "torch": torch.__version__, "dtype": "bf16" if bf16 else "fp32", "train_s": round(seconds, 1),
                  "tokens_per_s": round(real_tokens / seconds, 1), "steps": result.global_step,
                  "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
                  "train_loss": round(result.training_loss, 4)}))
