#!/usr/bin/env python3
"""Writes Tests/Fixtures/formats/gguf/spm: a tiny random Llama with a real SentencePiece tokenizer (byte_fallback),
and the tokenizer metadata llama.cpp's convert_hf_to_gguf.py writes for it, for GGUFSentencePieceExportTests.

Run from the repository root with a Python that has torch 2.15.0, transformers 5.23.0, tokenizers 0.23.3,
sentencepiece, protobuf, numpy and gguf-py 0.19.0 (/tmp/venv-gguf-spm):
    python scripts/reference/make_gguf_spm_fixtures.py CONVERT_HF_TO_GGUF.py
where CONVERT_HF_TO_GGUF.py is the converter of llama-cpp-python 0.3.36's sdist (vendor/llama.cpp/convert_hf_to_gguf.py).
The SentencePiece trainer is deterministic on one thread; about 250 KB.

spm/model/                 tokenizer.model (sentencepiece BPE, byte_fallback, trained on alpaca_en_demo.json's text,
                           a user-defined and a control piece), tokenizer.json (transformers' LlamaTokenizer made
                           from it, plus an added special token and an added plain one), tokenizer_config.json
                           (Tailor's builtin Mistral chat template, added_tokens_decoder as transformers 4 wrote it), config.json (vocab_size 4 past the tokens:
                           [PAD] ids), generation_config.json, model.safetensors (random, 2 layers, 16 wide)
spm/converter-spm.json     every tokenizer.* key of the converter's output for model/ (the tokenizer.model path)
spm/converter-llama-hf.json  the same for model/ without tokenizer.model (LlamaHfVocab, from tokenizer.json)
spm/ids.json               sentencepiece's and transformers' ids for a few texts
spm/llama2-llama-hf.json   for ../shared/tokenizers/llama2/tokenizer.json (the real Llama 2 tokenizer, no
                           tokenizer.model) in a 32000-token folder: the converter's scalar keys and the sha256 of its
                           tokens, scores and types (the lists themselves are 700 KB); skipped when the file is absent
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import gguf
import sentencepiece as spm
import torch
from transformers import AddedToken, AutoTokenizer, LlamaConfig, LlamaForCausalLM

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(REPO, "Tests", "Fixtures", "formats", "gguf", "spm")
SHARED = os.path.join(REPO, "..", "shared")
TEXTS = ["Hello world, it's a test of 3 33 333 tokens!", "  leading spaces and\ttabs\nnew lines",
         "café 東京 🙂 <tool> and <ctrl>", "[INST] What is 2+2?[/INST] 4.</s>", "new▁word and <|im_sep|>"]


def template():
    return json.load(open(os.path.join(REPO, "Tests", "Fixtures", "templates", "builtin-mistral.json")))["source"]


def train(folder):
    data = json.load(open(os.path.join(SHARED, "datasets", "alpaca_en_demo.json")))
    os.chdir(folder)  # the model stores the input's path as given: a relative one keeps the file reproducible
    text = "text.txt"
    with open(text, "w") as f:
        for row in data[:400]:
            for key in ("instruction", "input", "output"):
                if row[key]:
                    f.write(row[key].replace("\n", " ") + "\n")
    # Llama 2's trainer settings, small.
    spm.SentencePieceTrainer.train(
        input=text, model_prefix=os.path.join(folder, "sp"), model_type="bpe", vocab_size=600,
        character_coverage=0.9995, byte_fallback=True, split_digits=True, allow_whitespace_only_pieces=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, user_defined_symbols=["<tool>"], control_symbols=["<ctrl>"],
        num_threads=1, minloglevel=2)
    return os.path.join(folder, "sp.model")


def convert(converter, folder, out):
    subprocess.run([sys.executable, converter, folder, "--outtype", "f32", "--outfile", out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return gguf.GGUFReader(out)


def tokenizer_metadata(reader):
    """Every tokenizer.* key: {"type": GGUF type name, "element": for arrays, "value": strings, numbers, bools}."""
    meta = {}
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        entry = {"type": field.types[0].name.lower(), "value": field.contents()}
        if field.types[0] == gguf.GGUFValueType.ARRAY:
            entry["element"] = field.types[-1].name.lower()
        meta[name] = entry
    return meta


def digest(meta):
    out = {}
    for key, entry in meta.items():
        value = entry["value"]
        if isinstance(value, list):
            if key == "tokenizer.ggml.scores":
                blob = b"".join(struct.pack("<f", v) for v in value)
            elif key == "tokenizer.ggml.token_type":
                blob = b"".join(struct.pack("<i", v) for v in value)
            else:
                blob = b"".join(s.encode("utf-8") + b"\0" for s in value)
            out[key] = dict(entry, value={"count": len(value), "sha256": hashlib.sha256(blob).hexdigest(),
                                          "first": value[:4], "last": value[-4:]})
        else:
            out[key] = entry
    return out


def main():
    converter = sys.argv[1]
    torch.manual_seed(0)
    work = tempfile.mkdtemp()
    model_dir = os.path.join(OUT, "model")
    shutil.rmtree(model_dir, ignore_errors=True)
    os.makedirs(model_dir)
    shutil.copy(train(work), os.path.join(model_dir, "tokenizer.model"))

    # transformers' LlamaTokenizer (tokenizers-backed) made from tokenizer.model, with two added tokens.
    slow = os.path.join(work, "slow")
    os.makedirs(slow)
    shutil.copy(os.path.join(model_dir, "tokenizer.model"), slow)
    json.dump({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
               "add_bos_token": True, "add_eos_token": False, "legacy": False}, open(os.path.join(slow, "tokenizer_config.json"), "w"))
    tok = AutoTokenizer.from_pretrained(slow)
    tok.add_tokens([AddedToken("<|im_sep|>", special=True, normalized=False)], special_tokens=True)
    tok.add_tokens(["new▁word"])
    tok.chat_template = template()
    tok.save_pretrained(model_dir)
    # The template in tokenizer_config.json, where both readers look first; and `added_tokens_decoder` as
    # transformers 4 wrote it (5 no longer does; Llama 2 / Mistral folders on the hub have it), which
    # _create_vocab_sentencepiece reads for the added tokens.
    config_path = os.path.join(model_dir, "tokenizer_config.json")
    config = json.load(open(config_path))
    jinja = os.path.join(model_dir, "chat_template.jinja")
    if os.path.exists(jinja):
        config["chat_template"] = open(jinja).read()
        os.remove(jinja)
    config["added_tokens_decoder"] = {
        str(i): {"content": t.content, "lstrip": t.lstrip, "normalized": t.normalized, "rstrip": t.rstrip,
                 "single_word": t.single_word, "special": t.special}
        for i, t in sorted(tok.added_tokens_decoder.items())}
    json.dump(config, open(config_path, "w"), indent=2, ensure_ascii=False)

    n_tokens = len(tok)
    config = LlamaConfig(vocab_size=n_tokens + 4, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256, rms_norm_eps=1e-6,
                         initializer_range=0.2, rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1,
                         eos_token_id=2)
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(model_dir, safe_serialization=True)
    for name in os.listdir(model_dir):
        os.chmod(os.path.join(model_dir, name), 0o644)

    # The converter on the folder (tokenizer.model), then on a copy without it (tokenizer.json only).
    spm_meta = tokenizer_metadata(convert(converter, model_dir, os.path.join(work, "spm.gguf")))
    hf_dir = os.path.join(work, "hf")
    shutil.copytree(model_dir, hf_dir)
    os.remove(os.path.join(hf_dir, "tokenizer.model"))
    hf_meta = tokenizer_metadata(convert(converter, hf_dir, os.path.join(work, "hf.gguf")))
    for name, meta in (("converter-spm.json", spm_meta), ("converter-llama-hf.json", hf_meta)):
        json.dump(meta, open(os.path.join(OUT, name), "w"), ensure_ascii=False, indent=0)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    fast = AutoTokenizer.from_pretrained(model_dir)
    json.dump({"texts": TEXTS, "sentencepiece": [sp.encode(t) for t in TEXTS],
               "transformers": [fast(t)["input_ids"] for t in TEXTS]},
              open(os.path.join(OUT, "ids.json"), "w"), ensure_ascii=False, indent=1)

    llama2 = os.path.join(SHARED, "tokenizers", "llama2", "tokenizer.json")
    if os.path.exists(llama2):
        folder = os.path.join(work, "llama2")
        os.makedirs(folder)
        shutil.copy(llama2, folder)
        json.dump({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "add_bos_token": True, "add_eos_token": False, "legacy": False, "chat_template": template()},
                  open(os.path.join(folder, "tokenizer_config.json"), "w"))
        json.dump({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "add_bos_token": True, "add_eos_token": False, "legacy": False, "chat_template": template()},
                  open(os.path.join(OUT, "llama2-tokenizer_config.json"), "w"), indent=1)
        small = LlamaConfig(vocab_size=32000, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                            num_attention_heads=1, num_key_value_heads=1, max_position_embeddings=64,
                            tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
        LlamaForCausalLM(small).save_pretrained(folder, safe_serialization=True)
        meta = tokenizer_metadata(convert(converter, folder, os.path.join(work, "llama2.gguf")))
        json.dump(digest(meta), open(os.path.join(OUT, "llama2-llama-hf.json"), "w"), ensure_ascii=False, indent=1)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
