#!/usr/bin/env python3
"""Writes the tokenizer fixtures under Tests/Fixtures/tokenizers/ (run from the repository root).

For each synthetic tokenizer (trained here with the `tokenizers` library, in the shapes real models use):
    Tests/Fixtures/tokenizers/<name>/tokenizer.json
    Tests/Fixtures/tokenizers/<name>/tokenizer_config.json
    Tests/Fixtures/tokenizers/<name>/expected.json    {"cases": [{text, ids, ids_plain, decode, decode_skip}]}
For each real tokenizer in ../shared/tokenizers/ (never copied here), only the expected ids:
    Tests/Fixtures/tokenizers/real-<name>/expected.json
Also checks that llama.cpp's ggml-vocab-llama-bpe .inp/.out agree with shared/tokenizers/llama3/tokenizer.json.

    python3 scripts/reference/make_tokenizer_fixtures.py
Requires: tokenizers (0.23), transformers is not needed.
"""
import json
import os
import sys

from tokenizers import Tokenizer, Regex, AddedToken, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizers")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
if not os.path.isdir(SHARED):
    SHARED = "/work/shared"

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

CHINESE = (
    "今天天气很好，我们一起去公园散步吧。机器学习是人工智能的一个分支，它让计算机从数据中学习规律。"
    "微调大语言模型需要准备高质量的对话数据，例如客服问答、医疗咨询和心理辅导。"
    "请用简洁的中文回答下面的问题：什么是低秩适配（LoRA）？它为什么能节省显存？"
    "小明说：“我明天要去北京出差，大概三天后回来。”他的同事回答：“一路顺风！”"
)

# The strings every tokenizer is checked on.
CORPUS = [
    "",
    " ",
    "Hello world",
    "Hello, world! How are you doing today?",
    " leading space and trailing space ",
    "I'm sure they've said it's what we'd do, THEY'LL SEE, you'RE right.",
    "今天天气很好，我们一起去公园散步吧。",
    "机器学习是人工智能的一个分支。请用简洁的中文回答：什么是LoRA？",
    "中英混合 mixed text: 模型 fine-tuning 需要 GPU 显存 24GB。",
    "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += x[i] * 2;\n}",
    "emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇨🇳🇺🇸 ✨",
    "tabs\tand\t\tmultiple   spaces    here",
    "new\nlines\n\n\nand\r\nwindows\r\n",
    "   \n\t  \n ",
    "trailing spaces   ",
    "numbers 1234567890 3.14159 1,000,000 -42 0x1F 2024-01-01",
    "١٢٣ ٤٥٦ Arabic-Indic digits and ½ ² ³ superscripts",
    "café naïve résumé",
    "cafe\u0301 nai\u0308ve combining",
    "Å vs A\u030a and ﬁ ligature Ｆｕｌｌｗｉｄｔｈ",
    "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text",
    "<|begin_of_text|>Hello<|eot_id|>",
    "<s>[INST] hello [/INST] world</s>",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    b"bad \xff\xfe bytes \xc3( here".decode("utf-8", errors="replace"),
    "lone surrogate \ud800 here".encode("utf-8", errors="replace").decode("utf-8"),
    "replacement char \ufffd itself",
    "Ελληνικά Русский язык العربية עברית हिन्दी 日本語のテキスト 한국어",
    "zero\u200bwidth\u00a0nbsp\u3000ideographic space",
    "ALL CAPS and MiXeD cAsE words",
    "https://example.com/path?query=1&x=y#frag user@mail.org",
    "\"quotes\" 'single' `back` «guillemets» 「括号」",
    "a" * 40 + " " + "ab" * 20,
    "...!!!???---___===",
    CHINESE,
]


def corpus_for_training():
    texts = [CHINESE] * 30
    ds = os.path.join(SHARED, "datasets")
    for name in ["alpaca_en_demo.json", "identity.json", "kto_en_demo.json"]:
        path = os.path.join(ds, name)
        if os.path.exists(path):
            for row in json.load(open(path, encoding="utf-8"))[:400]:
                texts.extend(str(v) for v in row.values() if isinstance(v, str))
    path = os.path.join(ds, "v1_sft_demo.jsonl")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8").read().splitlines()[:300]:
            texts.append(line)
    texts.extend(CORPUS)
    texts.append("def f(x):\n\treturn x * 2  # code\n" * 20)
    return texts


def train(tok, vocab_size, special, alphabet=None, limit_alphabet=None):
    kwargs = dict(vocab_size=vocab_size, special_tokens=special, show_progress=False)
    if alphabet is not None:
        kwargs["initial_alphabet"] = alphabet
    if limit_alphabet is not None:
        kwargs["limit_alphabet"] = limit_alphabet
    tok.train_from_iterator(corpus_for_training(), trainers.BpeTrainer(**kwargs))
    return tok


def qwen2():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 2500, [], alphabet=pre_tokenizers.ByteLevel.alphabet())
    for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]:
        tok.add_special_tokens([AddedToken(t, normalized=False, special=True)])
    tok.add_tokens([AddedToken("<tool_call>", normalized=False, special=False),
                    AddedToken("</tool_call>", normalized=False, special=False)])
    config = {"add_bos_token": False, "add_prefix_space": False, "bos_token": None, "eos_token": "<|im_end|>",
              "pad_token": "<|endoftext|>", "unk_token": None, "model_max_length": 32768,
              "errors": "replace", "tokenizer_class": "Qwen2Tokenizer",
              "chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"}
    return tok, config


def llama3():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    train(tok, 3000, [], alphabet=pre_tokenizers.ByteLevel.alphabet())
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in specials])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "model_max_length": 131072,
              "clean_up_tokenization_spaces": True, "tokenizer_class": "PreTrainedTokenizerFast",
              "chat_template": [{"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"},
                                {"name": "tool_use", "template": "{{ tools }}"}]}
    return tok, config


def add_byte_fallback_tokens(tok, n_special):
    """Rebuild the vocab as sentencepiece does: specials, then <0x00>..<0xFF>, then the rest (merges are strings)."""
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    ordered = sorted(vocab.items(), key=lambda kv: kv[1])
    new = {}
    for token, _ in ordered[:n_special]:
        new[token] = len(new)
    for b in range(256):
        new["<0x%02X>" % b] = len(new)
    for token, _ in ordered[n_special:]:
        if token not in new:
            new[token] = len(new)
    data["model"]["vocab"] = new
    for added in data["added_tokens"]:
        added["id"] = new[added["content"]]
    return Tokenizer.from_str(json.dumps(data))


def llama2():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    train(tok, 2500, ["<unk>", "<s>", "</s>"], limit_alphabet=300)
    tok = add_byte_fallback_tokens(tok, 3)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B:1",
                                                       special_tokens=[("<s>", 1)])
    config = {"add_bos_token": True, "add_eos_token": False,
              "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": False, "normalized": False,
                            "rstrip": False, "single_word": False},
              "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": False, "normalized": False,
                            "rstrip": False, "single_word": False},
              "unk_token": "<unk>", "pad_token": None, "legacy": True, "model_max_length": 1000000000000000019884624838656,
              "tokenizer_class": "LlamaTokenizer"}
    return tok, config


def mistral():
    """Metaspace pre-tokenizer (prepend_scheme first) + NFC + byte_fallback, EOS appended by the template."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False),
                                     decoders.ByteFallback(), decoders.Fuse()])
    train(tok, 2500, ["<unk>", "<s>", "</s>"], limit_alphabet=300)
    tok = add_byte_fallback_tokens(tok, 3)
    tok.add_special_tokens([AddedToken("[INST]", normalized=False, special=True),
                            AddedToken("[/INST]", normalized=False, special=True)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
                                                       special_tokens=[("<s>", 1), ("</s>", 2)])
    config = {"add_bos_token": True, "add_eos_token": True, "bos_token": "<s>", "eos_token": "</s>",
              "unk_token": "<unk>", "model_max_length": 32768}
    return tok, config


def gpt2():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    train(tok, 2000, ["<|endoftext|>"], alphabet=pre_tokenizers.ByteLevel.alphabet())
    # Write the merges as "a b" strings, the older tokenizer.json form.
    data = json.loads(tok.to_str())
    data["model"]["merges"] = [" ".join(pair) for pair in data["model"]["merges"]]
    tok = Tokenizer.from_str(json.dumps(data))
    config = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
              "model_max_length": 1024, "add_prefix_space": False}
    return tok, config


def gpt2_prefix():
    """ByteLevel with add_prefix_space (RoBERTa-like), RobertaProcessing."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    train(tok, 1500, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False, special=True)])
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=True)
    return tok, {"bos_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>"}


def misc():
    """Exercises the less common stages: NFKC, Lowercase, Strip, Punctuation, Digits, WhitespaceSplit,
    continuing_subword_prefix / end_of_word_suffix, unk, added tokens with lstrip/rstrip/single_word/normalized,
    BertProcessing, BPEDecoder."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=["[UNK]", "[CLS]", "[SEP]"], show_progress=False,
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>", limit_alphabet=120)
    tok.train_from_iterator(corpus_for_training(), trainer)
    tok.add_special_tokens([AddedToken("[MASK]", lstrip=True, rstrip=True, normalized=False, special=True)])
    tok.add_tokens([AddedToken("hello", single_word=True, normalized=True),
                    AddedToken("wor", normalized=True)])
    tok.post_processor = processors.BertProcessing(("[SEP]", 2), ("[CLS]", 1))
    return tok, {"cls_token": "[CLS]", "sep_token": "[SEP]", "unk_token": "[UNK]", "mask_token": "[MASK]",
                 "do_lower_case": True}


def metaspace_split():
    """NFD + Metaspace(prepend always, split) + Whitespace-free BPE with an unk token, Metaspace decoder."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Replace(Regex(r"\d+"), "#")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                                 pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always",
                                                                          split=True)])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    train(tok, 1500, ["<unk>"], limit_alphabet=150)
    return tok, {"unk_token": "<unk>"}


def digits_contiguous():
    tok = Tokenizer(models.BPE(unk_token="<unk>", ignore_merges=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="merged_with_next"),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Split(Regex(r"[,.!?]"), behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\n"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"[a-z]+"), behavior="contiguous", invert=True),
    ])
    tok.decoder = decoders.Sequence([decoders.Replace(Regex("#+"), "#"), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    train(tok, 1200, ["<unk>"], limit_alphabet=150)
    return tok, {"unk_token": "<unk>"}


SYNTHETIC = {
    "qwen2": qwen2, "llama3": llama3, "llama2": llama2, "mistral": mistral, "gpt2": gpt2,
    "gpt2-prefix": gpt2_prefix, "misc": misc, "metaspace-split": metaspace_split, "digits": digits_contiguous,
}


def expected(tok):
    cases = []
    for text in CORPUS:
        ids = tok.encode(text, add_special_tokens=True).ids
        plain = tok.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids, "ids_plain": plain,
                      "decode": tok.decode(ids, skip_special_tokens=False),
                      "decode_skip": tok.decode(ids, skip_special_tokens=True)})
    return {"tokenizers_version": __import__("tokenizers").__version__, "cases": cases}


def dump(path, obj, compact=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def check_gguf_llama3():
    tj = os.path.join(SHARED, "tokenizers", "llama3", "tokenizer.json")
    inp = os.path.join(SHARED, "tokenizers", "gguf-vocab", "ggml-vocab-llama-bpe.gguf.inp")
    out = os.path.join(SHARED, "tokenizers", "gguf-vocab", "ggml-vocab-llama-bpe.gguf.out")
    if not all(os.path.exists(p) for p in [tj, inp, out]):
        print("skip gguf llama3 check: files absent")
        return
    tok = Tokenizer.from_file(tj)
    texts = open(inp, encoding="utf-8").read().split("\n__ggml_vocab_test__\n")
    lines = open(out, encoding="utf-8").read().split("\n")
    bad = 0
    for i, text in enumerate(texts):
        want = [int(x) for x in lines[i].split()]
        got = tok.encode(text, add_special_tokens=False).ids
        if got != want:
            bad += 1
            print("gguf llama-bpe mismatch", i, repr(text)[:60], got[:10], want[:10])
    print(f"gguf llama-bpe: {len(texts) - bad}/{len(texts)} strings agree with llama3/tokenizer.json")


def main():
    for name, make in SYNTHETIC.items():
        tok, config = make()
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"), pretty=False)
        dump(os.path.join(d, "tokenizer_config.json"), config)
        dump(os.path.join(d, "expected.json"), expected(tok))
        print(name, tok.get_vocab_size())
    dump(os.path.join(OUT, "qwen2", "generation_config.json"),
         {"bos_token_id": 151643, "eos_token_id": [151645, 151643], "pad_token_id": 151643, "do_sample": True,
          "temperature": 0.7, "top_p": 0.8})
    dump(os.path.join(OUT, "llama2", "special_tokens_map.json"),
         {"bos_token": "<s>", "eos_token": "</s>", "unk_token": {"content": "<unk>", "lstrip": False,
                                                                  "normalized": False, "rstrip": False,
                                                                  "single_word": False}})
    for name in ["llama3", "llama2", "deepseek-v4"]:
        path = os.path.join(SHARED, "tokenizers", name, "tokenizer.json")
        if not os.path.exists(path):
            print("skip real", name)
            continue
        dump(os.path.join(OUT, "real-" + name, "expected.json"), expected(Tokenizer.from_file(path)))
        print("real", name)
    check_gguf_llama3()


if __name__ == "__main__":
    sys.exit(main())
