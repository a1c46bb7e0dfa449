#!/usr/bin/env python3
"""Reference token ids and labels for TailorData's encoder, written by transformers.

    python3 scripts/reference/make_data_fixtures.py [--shared ../shared]

Writes Tests/Fixtures/data/encoding.json: a list of cases, each
  {id, tokenizer, template | shared_template, masking, bos_token, eos_token, extra,
   format, record, messages, tools, text, input_ids, labels}

How the reference labels are made (what Tailor must match token for token):
  * templates with {% generation %} blocks (Tailor's built-ins, the raw column template):
    transformers' apply_chat_template(tokenize=True, return_assistant_tokens_mask=True), the path
    TRL's assistant_only_loss uses; labels = input_ids where assistant_masks == 1, else -100.
  * templates without generation blocks (real Qwen2.5 / Llama 3.1 templates from ../shared, never
    copied here): "prefix differences": for each assistant message i, the span runs from
    len(render(messages[:i], add_generation_prompt=True)) to len(render(messages[:i+1]).rstrip()),
    in characters of render(messages); the text is tokenized once (add_special_tokens=False) and the
    tokens from char_to_token(start) to char_to_token(end - 1) are labeled (transformers' own rule).
  * raw column templates (seed 000/002): the raw template below, plus the BOS the tokenizer's
    post-processor adds; plain text: tokenizer(text) + [eos], every token labeled.
Tokenizers: the small fixture tokenizers in Tests/Fixtures/tokenizers/.
"""
import argparse
import datetime
import json
import os
import sys

from transformers import PreTrainedTokenizerFast
from transformers.utils import chat_template_utils as ctu

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts", "reference"))
from make_template_fixtures import BUILTINS  # noqa: E402

OUT = os.path.join(REPO, "Tests", "Fixtures", "data")
NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)

RAW = ("{% for m in messages %}{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }}"
       "{% if add_eos and loop.last %}{{ eos_token }}{% endif %}{% endgeneration %}"
       "{% else %}{{ m['content'] }}{% endif %}{% endfor %}")

TOKENIZERS = {
    "qwen2": ("<|endoftext|>", "<|im_end|>"),
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama2": ("<s>", "</s>"),
    "mistral": ("<s>", "</s>"),
}


def load_tok(name):
    bos, eos = TOKENIZERS[name]
    path = os.path.join(REPO, "Tests", "Fixtures", "tokenizers", name, "tokenizer.json")
    return PreTrainedTokenizerFast(tokenizer_file=path, bos_token=bos, eos_token=eos)


def render(source, messages, tools, agp, variables):
    rendered, generation = ctu.render_jinja_template(
        conversations=[messages], tools=tools, chat_template=source, add_generation_prompt=agp,
        return_assistant_tokens_mask=True, **variables)
    return rendered[0], generation[0]


def label_spans(tok, text, spans):
    enc = tok(text, add_special_tokens=False)
    ids = enc["input_ids"]
    labels = [-100] * len(ids)
    for s, e in spans:
        start = enc.char_to_token(s)
        end = enc.char_to_token(e - 1)
        if start is None:
            break
        for t in range(start, end + 1 if end is not None else len(ids)):
            labels[t] = ids[t]
    return ids, labels


def encode_chat(tok, source, messages, tools, variables, masking):
    text, generation = render(source, messages, tools, False, variables)
    if masking == "generation":
        out = tok.apply_chat_template(messages, tools=tools, chat_template=source, tokenize=True, return_dict=True,
                                      return_assistant_tokens_mask=True, **variables)
        ids, mask = out["input_ids"], out["assistant_masks"]
        labels = [i if m else -100 for i, m in zip(ids, mask)]
        return text, ids, labels
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt, _ = render(source, messages[:i], tools, True, variables)
        through, _ = render(source, messages[:i + 1], tools, False, variables)
        through = through.rstrip(" \n\r\t")
        assert text.startswith(prompt) and text.startswith(through), (i, prompt[-80:], text[:200])
        spans.append((len(prompt), len(through)))
    ids, labels = label_spans(tok, text, spans)
    return text, ids, labels


def alpaca_messages(r):
    msgs = []
    if r.get("system"):
        msgs.append({"role": "system", "content": r["system"]})
    for q, a in r.get("history") or []:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    prompt = r["instruction"] + ("\n" + r["input"] if r.get("input") else "")
    return msgs + [{"role": "user", "content": prompt}, {"role": "assistant", "content": r["output"]}]


ROLE = {"human": "user", "gpt": "assistant", "system": "system", "observation": "tool"}


def sharegpt_messages(r):
    msgs = [{"role": "system", "content": r["system"]}] if r.get("system") else []
    for m in r["conversations"]:
        if m["from"] == "function_call":
            call = json.loads(m["value"])
            msgs.append({"role": "assistant", "content": "",
                         "tool_calls": [{"type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]})
        else:
            msgs.append({"role": ROLE[m["from"]], "content": m["value"]})
    return msgs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"))
    args = ap.parse_args()
    ds = os.path.join(args.shared, "datasets")
    alpaca = json.load(open(os.path.join(ds, "alpaca_en_demo.json")))
    glaive = json.load(open(os.path.join(ds, "glaive_toolcall_en_demo.json")))

    records = {
        "alpaca-input": ("alpaca", next(r for r in alpaca if r["input"])),
        "alpaca-plain": ("alpaca", alpaca[0]),
        # huanhuan.json (seed 001) style, with a system prompt and history
        "alpaca-zh-history": ("alpaca", {
            "instruction": "小姐，别的秀女都在求中选，唯有咱们小姐想被撂牌子，菩萨一定记得真真儿的——",
            "input": "", "output": "嘘——都说许愿说破是不灵的。", "system": "现在你要扮演皇帝身边的女人--甄嬛",
            "history": [["你是谁？", "家父是大理寺少卿甄远道。"]]}),
        # seed 004's multi-turn psychology dialogue ("method 3": every assistant turn trained)
        "sharegpt-psych": ("sharegpt", {"conversations": [
            {"from": "human", "value": "我最近总是失眠，晚上躺在床上脑子停不下来。"},
            {"from": "gpt", "value": "听起来你很辛苦。能说说睡前一般在想些什么吗？"},
            {"from": "human", "value": "主要是工作上的事，担心做不好。"},
            {"from": "gpt", "value": "担心工作表现是很常见的压力来源。我们可以试试把担心写下来。"},
            {"from": "human", "value": "好的，我试试。"},
            {"from": "gpt", "value": "很好！如果还有困扰，随时来聊。"}]}),
        "messages-system": ("messages", {"messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "Name three primary colors."},
            {"role": "assistant", "content": "Red, blue and yellow."},
            {"role": "user", "content": "And secondary?"},
            {"role": "assistant", "content": "Green, orange and purple."}]}),
        "sharegpt-tools": ("sharegpt", glaive[0]),
    }

    def messages_of(fmt, r):
        return alpaca_messages(r) if fmt == "alpaca" else sharegpt_messages(r) if fmt == "sharegpt" else r["messages"]

    cases = []

    def add(case_id, tokname, source, masking, fmt, record, template=None, shared_template=None, extra=None):
        tok = load_tok(tokname)
        bos, eos = TOKENIZERS[tokname]
        variables = {"bos_token": bos, "eos_token": eos, **(extra or {})}
        messages = messages_of(fmt, record)
        tools = None
        if fmt == "sharegpt" and record.get("tools"):
            tools = json.loads(record["tools"]) if isinstance(record["tools"], str) else record["tools"]
        text, ids, labels = encode_chat(tok, source, messages, tools, variables, masking)
        cases.append({"id": case_id, "tokenizer": tokname, "template": template, "shared_template": shared_template,
                      "masking": masking, "bos_token": bos, "eos_token": eos, "extra": extra or {},
                      "format": fmt, "record": record, "messages": messages, "tools": tools,
                      "text": text, "input_ids": ids, "labels": labels})

    plan = [("qwen", "qwen2"), ("chatml", "qwen2"), ("llama3", "llama3"), ("alpaca", "llama2"),
            ("deepseek", "llama2"), ("llama2", "llama2"), ("mistral", "mistral")]
    for name, tokname in plan:
        for rid, (fmt, rec) in records.items():
            if rid == "sharegpt-tools" and name not in ("qwen", "chatml"):
                continue
            if name in ("llama2", "mistral") and rid == "messages-system" and name == "mistral":
                pass
            add(f"{name}/{rid}", tokname, BUILTINS[name], "generation", fmt, rec, template=name)

    # Real templates without generation blocks: prefix differences.
    shared_templates = [("Qwen-Qwen2.5-7B-Instruct.jinja", "qwen2", {}),
                        ("meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3", {"date_string": "26 Jul 2024"})]
    for fname, tokname, extra in shared_templates:
        path = os.path.join(args.shared, "templates", fname)
        if not os.path.exists(path):
            print("skipping", fname, "(not found)")
            continue
        source = open(path).read()
        for rid, (fmt, rec) in records.items():
            if rid == "sharegpt-tools":
                continue
            add(f"{fname}/{rid}", tokname, source, "prefix", fmt, rec, shared_template=fname, extra=extra)

    # Raw column templates (seed 000 medical CoT, seed 002 fortune telling with a think block).
    columns = [
        ("seed000", {"prompt": "诊断问题:{Question}\n详细分析:{Complex_CoT}\n### 答案:\n", "response": "{Response}"},
         {"Question": "患者头痛三天，伴有发热，应考虑什么？", "Complex_CoT": "发热伴头痛，需排除感染。", "Response": "考虑上呼吸道感染，建议查血常规。"}),
        ("seed002", {"prompt": "以下是描述任务的指令。\n\n### 问题:\n{Question}\n\n### 回答:\n",
                     "response": "<思考>\n{Complex_CoT}\n</思考>\n{Response}"},
         {"Question": "1992年生人，想了解健康运势", "Complex_CoT": "先看五行。", "Response": "注意休息。"}),
    ]
    for cid, tmpl, rec in columns:
        for tokname in ("qwen2", "llama2"):
            tok = load_tok(tokname)
            bos, eos = TOKENIZERS[tokname]
            fill = lambda s: s.format(**rec)
            messages = [{"role": "user", "content": fill(tmpl["prompt"])},
                        {"role": "assistant", "content": fill(tmpl["response"])}]
            out = tok.apply_chat_template(messages, chat_template=RAW, tokenize=True, return_dict=True,
                                          return_assistant_tokens_mask=True, eos_token=eos, add_eos=True)
            ids, mask = out["input_ids"], out["assistant_masks"]
            labels = [i if m else -100 for i, m in zip(ids, mask)]
            with_special = tok("a")["input_ids"]
            without = tok("a", add_special_tokens=False)["input_ids"]
            prefix = with_special[:with_special.index(without[0])]
            cases.append({"id": f"columns/{cid}/{tokname}", "tokenizer": tokname, "template": "raw",
                          "shared_template": None, "masking": "generation", "bos_token": bos, "eos_token": eos,
                          "extra": {}, "format": "columns", "column_template": tmpl, "record": rec,
                          "messages": messages, "tools": None, "text": None,
                          "input_ids": prefix + ids, "labels": [-100] * len(prefix) + labels})

    # Plain text (continued pre-training): tokenizer(text) + eos, all labeled.
    c4 = [json.loads(l) for l in open(os.path.join(ds, "c4_demo.jsonl"))][:2]
    for tokname in ("qwen2", "llama2"):
        tok = load_tok(tokname)
        bos, eos = TOKENIZERS[tokname]
        for i, rec in enumerate(c4):
            text = rec["text"][:600]
            ids = tok(text)["input_ids"]
            if ids[-1] != tok.convert_tokens_to_ids(eos):
                ids = ids + [tok.convert_tokens_to_ids(eos)]
            cases.append({"id": f"text/{i}/{tokname}", "tokenizer": tokname, "template": None, "shared_template": None,
                          "masking": "generation", "bos_token": bos, "eos_token": eos, "extra": {}, "format": "text",
                          "record": {"text": text}, "messages": [], "tools": None, "text": text,
                          "input_ids": ids, "labels": ids})

    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "encoding.json")
    with open(path, "w") as f:
        json.dump({"generator": "scripts/reference/make_data_fixtures.py", "cases": cases}, f, ensure_ascii=False, indent=0)
    print(f"wrote {len(cases)} cases to {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
