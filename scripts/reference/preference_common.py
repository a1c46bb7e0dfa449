"""What the preference fixture scripts (make_dpo/simpo/orpo/kto_fixtures.py) share: the starting model,
the ids they save, the logged steps and the trained tensors, written in one layout that
Tests/TailorTrainingTests/Run/DPOTrainingRunTests.swift reads."""
import os
import shutil

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "dpo")


def start_model(family, folder, full):
    """The tiny model of `family` (seeded, eager attention) and a fresh `folder`: with LoRA (r 4, alpha 8, q_proj and
    v_proj, no dropout) the adapter before training is saved in folder/init; full fine-tuning trains every weight."""
    torch.manual_seed(11)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32)
    model.config._attn_implementation = "eager"
    shutil.rmtree(folder, ignore_errors=True)
    if full:
        os.makedirs(folder)
        return model
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                             target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    model.save_pretrained(os.path.join(folder, "init"))
    return model


def save_ids(folder, lists, extra=None):
    """data.safetensors: each key's id lists back to back, with `<key>_lengths`, and `extra` tensors."""
    tensors = {key: torch.tensor(sum(v, [])) for key, v in lists.items()}
    tensors |= {key + "_lengths": torch.tensor([len(x) for x in v]) for key, v in lists.items()}
    save_file(tensors | (extra or {}), os.path.join(folder, "data.safetensors"))


def reply_ids(prepared):
    """The prompt, chosen and rejected ids of CPOTrainer's / ORPOTrainer's prepared rows (replies after the prompt)."""
    ids = {"prompt_ids": [], "chosen_ids": [], "rejected_ids": []}
    for example in prepared:
        prompt = list(example["prompt_input_ids"])
        ids["prompt_ids"].append(prompt)
        for side in ["chosen", "rejected"]:
            whole = list(example[f"{side}_input_ids"])
            assert whole[:len(prompt)] == prompt, "the trainer's reply ids follow the prompt's"
            ids[f"{side}_ids"].append(whole[len(prompt):])
    return ids


def save_reference(folder, trainer, record, metrics, model, full, scalars):
    """reference.safetensors: each logged step's loss, grad norm, learning rate and `metrics` (NaN where a step
    logged none), `scalars`, and the trained adapter (peft's names) or every weight; returns the tensors."""
    logs = [e for e in trainer.state.log_history if "loss" in e]
    tensors = {
        "loss": torch.tensor([e["loss"] for e in logs], dtype=torch.float64),
        "grad_norm": torch.tensor([float(e["grad_norm"]) for e in logs], dtype=torch.float64),
        "lr": torch.tensor(record.lrs, dtype=torch.float64),
    }
    tensors |= {key: torch.tensor(value, dtype=torch.float64) for key, value in scalars.items()}
    for key in metrics:
        tensors["metric." + key] = torch.tensor([e.get(key, float("nan")) for e in logs], dtype=torch.float64)
    for name, p in model.named_parameters():
        if full:
            tensors["final." + name] = p.detach().contiguous()
        elif "lora_" in name:  # as peft saves them: no base_model.model. prefix, no adapter name
            tensors["final." + name.replace("base_model.model.", "", 1).replace(".default", "")] = p.detach().contiguous()
    save_file(tensors, os.path.join(folder, "reference.safetensors"))
    return tensors
