#!/usr/bin/env python3
"""transformers.generate on the tiny models of make_model_fixtures.py, for TailorInference.

Writes Tests/Fixtures/generation/:
  <family>.json        for each family: prompts (token ids), and for each of
                         "greedy"   each prompt alone, 64 new tokens, eos disabled
                         "batched"  all prompts in one left-padded batch (attention mask)
                         "lora"     each prompt alone with the adapter in adapters/<family>/ active
                       the generated tokens and, per step, the gap between the two largest logits
                       (a test may feed the reference token on where the gap is < 1e-4).
  adapters/<family>/   a peft LoRA folder (r=4, lora_alpha=8, all-linear, init_lora_weights=False:
                       B is not zero, so the adapter changes the output)
  processors.json      each logits processor, and their combination, applied by transformers to
                       fixed logits and histories: input_ids [B, L], scores [B, V], expected [B, V]
                       (null = -inf)
  chat-llama/          a complete model folder: the llama tiny model, a 96-token byte-level BPE
                       tokenizer (ASCII and the UTF-8 bytes of 你好), a chat template whose turns
                       end with </s>, and a generation_config.json that samples
  stopping.json        eos-id lists and stop strings on chat-llama, as transformers stops

    python3 scripts/reference/make_model_fixtures.py   # first: the tiny base models
    python3 scripts/reference/make_generation_fixtures.py
"""
import json
import os
import shutil
import sys

import torch
from peft import LoraConfig, get_peft_model
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
from transformers.generation.logits_process import (LogitsProcessorList, MinPLogitsWarper,
                                                    NoRepeatNGramLogitsProcessor,
                                                    RepetitionPenaltyLogitsProcessor,
                                                    TemperatureLogitsWarper, TopKLogitsWarper,
                                                    TopPLogitsWarper)

HERE = os.path.dirname(__file__)
MODELS = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "models")
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "generation")
FAMILIES = ["llama", "llama-tied", "llama3-rope", "qwen2", "qwen3", "mistral"]
NEW_TOKENS = 64
VOCAB = 96


def gaps(scores):
    """Per step, per row: largest minus second-largest logit."""
    out = []
    for step in scores:                      # [B, V]
        top = torch.topk(step.float(), 2, dim=-1).values
        out.append((top[:, 0] - top[:, 1]).tolist())
    return [list(row) for row in zip(*out)]  # [B][steps]


def greedy(model, prompts, pad=0):
    """Left-padded greedy generation of NEW_TOKENS tokens with eos disabled."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                         do_sample=False, eos_token_id=None, pad_token_id=pad, output_logits=True,
                         return_dict_in_generate=True)
    tokens = out.sequences[:, width:].tolist()
    return tokens, gaps(out.logits)


def family_fixture(name, generator):
    model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), dtype=torch.float32).eval()
    prompts = [torch.randint(3, VOCAB, (n,), generator=generator).tolist() for n in (7, 1, 15)]
    result = {"family": name, "new_tokens": NEW_TOKENS, "prompts": prompts}
    with torch.no_grad():
        singles = [greedy(model, [p]) for p in prompts]
        result["greedy"] = {"tokens": [t[0] for t, _ in singles], "gaps": [g[0] for _, g in singles]}
        tokens, gap = greedy(model, prompts)
        result["batched"] = {"tokens": tokens, "gaps": gap}
    config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0, init_lora_weights=False)
    torch.manual_seed(7)
    peft_model = get_peft_model(model, config).eval()
    with torch.no_grad():
        # peft's non-default init makes B random but small; scale it so the adapter matters.
        for pname, p in peft_model.named_parameters():
            if "lora_B" in pname:
                p.mul_(20.0)
        singles = [greedy(peft_model, [p]) for p in prompts]
        result["lora"] = {"tokens": [t[0] for t, _ in singles], "gaps": [g[0] for _, g in singles]}
        changed = sum(a != b for a, b in zip(result["lora"]["tokens"][0], result["greedy"]["tokens"][0]))
    folder = os.path.join(ROOT, "adapters", name)
    shutil.rmtree(folder, ignore_errors=True)
    peft_model.save_pretrained(folder)
    config_path = os.path.join(folder, "adapter_config.json")
    with open(config_path) as f:
        adapter_config = json.load(f)
    adapter_config["base_model_name_or_path"] = f"Tests/Fixtures/models/{name}"
    with open(config_path, "w") as f:
        json.dump(adapter_config, f, indent=2, sort_keys=True)
    readme = os.path.join(folder, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    print(f"{name}: adapter changes {changed}/{NEW_TOKENS} tokens of prompt 0; min gap "
          f"{min(min(g) for g in result['greedy']['gaps']):.2e}")
    return result


def nan_to_null(t):
    return [[None if v == float("-inf") else v for v in row] for row in t.tolist()]


def processor_fixture(generator):
    scores = (torch.randn(3, VOCAB, generator=generator) * 3).float()
    scores[2, 5] = scores[2, 6]                      # a tie, for top-k
    input_ids = torch.randint(0, VOCAB, (3, 12), generator=generator)
    input_ids[1, 6:9] = input_ids[1, 0:3]            # repeated n-grams
    input_ids[1, 9:11] = input_ids[1, 0:2]
    cases = [
        ("repetition_penalty", {"repetition_penalty": 1.3}, [RepetitionPenaltyLogitsProcessor(1.3)]),
        ("repetition_penalty_below_one", {"repetition_penalty": 0.8}, [RepetitionPenaltyLogitsProcessor(0.8)]),
        ("no_repeat_ngram_size", {"no_repeat_ngram_size": 3}, [NoRepeatNGramLogitsProcessor(3)]),
        ("no_repeat_ngram_size_1", {"no_repeat_ngram_size": 1}, [NoRepeatNGramLogitsProcessor(1)]),
        ("temperature", {"temperature": 0.7}, [TemperatureLogitsWarper(0.7)]),
        ("top_k", {"top_k": 5}, [TopKLogitsWarper(5)]),
        ("top_p", {"top_p": 0.8}, [TopPLogitsWarper(0.8)]),
        ("top_p_small", {"top_p": 0.05}, [TopPLogitsWarper(0.05)]),
        ("min_p", {"min_p": 0.1}, [MinPLogitsWarper(0.1)]),
        # seed 001's settings, in transformers' order.
        ("combined", {"repetition_penalty": 1.1, "temperature": 0.5, "top_k": 50, "top_p": 0.8},
         [RepetitionPenaltyLogitsProcessor(1.1), TemperatureLogitsWarper(0.5), TopKLogitsWarper(50),
          TopPLogitsWarper(0.8)]),
        ("combined_all", {"repetition_penalty": 1.2, "no_repeat_ngram_size": 2, "temperature": 1.5, "top_k": 20,
                          "top_p": 0.9, "min_p": 0.05},
         [RepetitionPenaltyLogitsProcessor(1.2), NoRepeatNGramLogitsProcessor(2), TemperatureLogitsWarper(1.5),
          TopKLogitsWarper(20), TopPLogitsWarper(0.9), MinPLogitsWarper(0.05)]),
    ]
    out = {"input_ids": input_ids.tolist(), "scores": scores.tolist(), "cases": []}
    for name, params, processors in cases:
        processed = LogitsProcessorList(processors)(input_ids, scores.clone())
        out["cases"].append({"name": name, "params": params, "expected": nan_to_null(processed)})
    return out


def tiny_tokenizer():
    """96 ids: <pad> <s> </s>, the byte-level space, the UTF-8 bytes of 你好, and ASCII characters."""
    byte_chars = pre_tokenizers.ByteLevel.alphabet()
    mapping = {b: c for b, c in zip(range(256), _bytes_to_unicode())}
    specials = ["<pad>", "<s>", "</s>"]
    chinese = list(dict.fromkeys(mapping[b] for b in "你好".encode("utf-8")))
    ascii_chars = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?:;'-()/\"#$%&*+<=>@[]_"]
    vocab_list = specials + [mapping[32]] + chinese + ascii_chars
    vocab_list = vocab_list[:VOCAB]
    assert len(vocab_list) == VOCAB and len(set(vocab_list)) == VOCAB, len(vocab_list)
    assert all(c in byte_chars for c in vocab_list[3:])
    vocab = {t: i for i, t in enumerate(vocab_list)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    return tok


def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, [chr(c) for c in cs]))
    return [table[b] for b in range(256)]


CHAT_TEMPLATE = ("{% for message in messages %}<s>{{ message['role'] }}: {{ message['content'] }}</s>{% endfor %}"
                 "{% if add_generation_prompt %}<s>assistant:{% endif %}")


def chat_model_folder():
    folder = os.path.join(ROOT, "chat-llama")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(MODELS, "llama", name), folder)
    tiny_tokenizer().save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "chat_template": CHAT_TEMPLATE,
                   "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 128}, f, indent=2)
    with open(os.path.join(folder, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": [2], "pad_token_id": 0, "do_sample": True,
                   "temperature": 0.7, "top_p": 0.9, "max_new_tokens": 32}, f, indent=2)
    return folder


def stopping_fixture(folder):
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tok = PreTrainedTokenizerFast.from_pretrained(folder)
    prompt = tok("Hello, who are you?", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt])
    cases = []
    with torch.no_grad():
        free = model.generate(ids, max_new_tokens=40, do_sample=False, eos_token_id=None, pad_token_id=0)[0, len(prompt):]
        free = free.tolist()
        text = tok.decode(free)
        cases.append({"name": "free", "eos_token_id": [], "stop_strings": [], "tokens": free})
        # eos lists: the first of several ids to appear stops generation (the eos token is kept).
        for name, eos in (("eos_list", [free[30], free[12]]), ("eos_single", [free[20]]), ("eos_absent", [0])):
            out = model.generate(ids, max_new_tokens=40, do_sample=False, eos_token_id=eos, pad_token_id=0)
            cases.append({"name": name, "eos_token_id": eos, "stop_strings": [],
                          "tokens": out[0, len(prompt):].tolist()})
        # Stop strings spanning token boundaries, found in the decoded text.
        for name, stops in (("stop_string", [text[15:18]]), ("stop_strings_two", [text[25:27], text[9:12]])):
            out = model.generate(ids, max_new_tokens=40, do_sample=False, eos_token_id=None, pad_token_id=0,
                                 stop_strings=stops, tokenizer=tok)
            cases.append({"name": name, "eos_token_id": [], "stop_strings": stops,
                          "tokens": out[0, len(prompt):].tolist()})
    return {"prompt": prompt, "prompt_text": "Hello, who are you?", "max_new_tokens": 40, "cases": cases}


def main():
    os.makedirs(ROOT, exist_ok=True)
    generator = torch.Generator().manual_seed(4321)
    for name in FAMILIES:
        if "--chat-only" in sys.argv:
            break
        with open(os.path.join(ROOT, f"{name}.json"), "w") as f:
            json.dump(family_fixture(name, generator), f)
    if "--chat-only" not in sys.argv:
        with open(os.path.join(ROOT, "processors.json"), "w") as f:
            json.dump(processor_fixture(generator), f)
    folder = chat_model_folder()
    with open(os.path.join(ROOT, "stopping.json"), "w") as f:
        json.dump(stopping_fixture(folder), f, indent=1)
    with open(os.path.join(ROOT, "README.md"), "w") as f:
        f.write("Generated by scripts/reference/make_generation_fixtures.py; do not edit by hand.\n")


if __name__ == "__main__":
    main()
