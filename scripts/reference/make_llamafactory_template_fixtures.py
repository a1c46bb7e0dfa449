#!/usr/bin/env python3
"""Writes Tests/Fixtures/data/llamafactory_templates.json: conversations encoded by LLaMA-Factory's own
template code (its `template.py` and supervised processor), token for token, with the labels its SFT
stage trains on.

    python3 scripts/reference/make_llamafactory_template_fixtures.py --lf LF_CHECKOUT

LF_CHECKOUT is a checkout of LLaMA-Factory (none of it is committed here; the fixture records its
commit). Only its data/template.py, formatter.py, tool_utils.py and processor/supervised.py run: the
modules they import for datasets, images and logging are replaced by small stand-ins below, so
neither torch nor datasets is needed, only transformers and tokenizers (requirements.txt).

Each case: {id, template, tokenizer, bos_token, eos_token, messages, mask_history, enable_thinking,
input_ids, labels}; labels use -100 for what LLaMA-Factory does not train on. The tokenizers are the
fixture tokenizers of Tests/Fixtures/tokenizers.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import types

from transformers import PreTrainedTokenizerFast

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def load_llamafactory(lf_root):
    """Imports llamafactory.data.template and the supervised processor with stand-ins for the rest."""
    src = os.path.join(lf_root, "src")
    def package(name, path):
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules[name] = module
    package("llamafactory", os.path.join(src, "llamafactory"))
    package("llamafactory.data", os.path.join(src, "llamafactory", "data"))
    package("llamafactory.data.processor", os.path.join(src, "llamafactory", "data", "processor"))
    package("llamafactory.extras", os.path.join(src, "llamafactory", "extras"))
    # extras/constants.py takes two adapter file names from peft (peft's values; peft is not needed).
    peft, peft_utils = types.ModuleType("peft"), types.ModuleType("peft.utils")
    peft_utils.SAFETENSORS_WEIGHTS_NAME, peft_utils.WEIGHTS_NAME = "adapter_model.safetensors", "adapter_model.bin"
    peft.utils = peft_utils
    sys.modules.update({"peft": peft, "peft.utils": peft_utils})
    # data_utils imports fsspec and datasets at module level for loading helpers the templates never call.
    for name in ("fsspec", "datasets"):
        stub = types.ModuleType(name)
        stub.DatasetDict = stub.concatenate_datasets = stub.interleave_datasets = object
        sys.modules[name] = stub
    # Text-only conversations: the multimodal plugin passes messages and ids through unchanged.
    mm = types.ModuleType("llamafactory.data.mm_plugin")
    class PassThrough:
        def process_messages(self, messages, *args):
            return messages
        def process_token_ids(self, input_ids, labels, *args):
            return input_ids, labels
    mm.get_mm_plugin = lambda *args, **kwargs: PassThrough()
    mm.BasePlugin = PassThrough
    sys.modules["llamafactory.data.mm_plugin"] = mm
    import llamafactory.data.template as template
    import llamafactory.data.processor.supervised as supervised
    return template, supervised


TOKENIZERS = {  # fixture tokenizer: (bos, eos) as the models' tokenizer_config.json name them
    "qwen2": (None, "<|im_end|>"),
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama2": ("<s>", "</s>"),
    "mistral": ("<s>", "</s>"),
}

# LLaMA-Factory template name -> the fixture tokenizer of the family it is for.
TEMPLATES = {
    "qwen": "qwen2", "qwen3": "qwen2", "qwen3_nothink": "qwen2", "qwen3_5": "qwen2", "qwen3_5_nothink": "qwen2",
    "chatml": "qwen2", "smollm": "qwen2", "smollm2": "qwen2", "empty": "qwen2", "default": "llama3",
    "alpaca": "llama2", "llama3": "llama3", "llama2": "llama2", "mistral": "mistral", "deepseek": "llama2",
    "vicuna": "llama2", "zephyr": "mistral",
}

CONVERSATIONS = {
    "one-turn": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4."}],
    "system": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a colour."},
               {"role": "assistant", "content": "Blue, like the sky."}],
    "multi-turn": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello. How can I help?"},
                   {"role": "user", "content": "Tell me a joke."},
                   {"role": "assistant", "content": "Why did the chicken cross the road?\nTo get to the other side."}],
    "spaces": [{"role": "user", "content": "  padded question \n"}, {"role": "assistant", "content": " padded answer  "}],
    "thought": [{"role": "user", "content": "Think: 3*3?"},
                {"role": "assistant", "content": "<think>\nThree threes.\n</think>\n\n9"}],
    "unicode": [{"role": "system", "content": "你是甄嬛。"}, {"role": "user", "content": "皇上，臣妾做不到啊！"},
                {"role": "assistant", "content": "嬛嬛一梦终觉浅。"}],
}


def encode(template_mod, supervised, name, tokname, messages, mask_history, enable_thinking):
    bos, eos = TOKENIZERS[tokname]
    path = os.path.join(REPO, "Tests", "Fixtures", "tokenizers", tokname, "tokenizer.json")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=path, bos_token=bos, eos_token=eos)
    data_args = types.SimpleNamespace(
        template=name, train_on_prompt=False, mask_history=mask_history, cutoff_len=1 << 20, tool_format=None,
        default_system=None, enable_thinking=enable_thinking, preserve_thinking=False)
    template = template_mod.get_template_and_fix_tokenizer(tokenizer, data_args)
    processor = supervised.SupervisedDatasetProcessor(template=template, tokenizer=tokenizer, processor=None,
                                                      data_args=data_args)
    system = messages[0]["content"] if messages[0]["role"] == "system" else None
    turns = messages[1:] if system is not None else messages
    input_ids, labels = processor._encode_data_example(turns[:-1], turns[-1:], system, None, [], [], [])
    return tokenizer, input_ids, labels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lf", required=True, help="a LLaMA-Factory checkout")
    parser.add_argument("--out", default=os.path.join(REPO, "Tests", "Fixtures", "data", "llamafactory_templates.json"))
    args = parser.parse_args()
    template_mod, supervised = load_llamafactory(args.lf)
    commit = subprocess.run(["git", "-C", args.lf, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cases = []
    for name, tokname in TEMPLATES.items():
        variants = [(False, True), (True, True)]
        if name in ("qwen3", "qwen3_5"):
            variants.append((False, False))
        for conv_id, messages in CONVERSATIONS.items():
            for mask_history, enable_thinking in variants:
                if mask_history and conv_id != "multi-turn":
                    continue
                tokenizer, input_ids, labels = encode(template_mod, supervised, name, tokname, messages,
                                                      mask_history, enable_thinking)
                suffix = ("/mask_history" if mask_history else "") + ("" if enable_thinking else "/no_thinking")
                cases.append({"id": f"{name}/{conv_id}{suffix}", "template": name, "tokenizer": tokname,
                              "bos_token": tokenizer.bos_token, "eos_token": tokenizer.eos_token,
                              "messages": messages, "mask_history": mask_history,
                              "enable_thinking": enable_thinking, "input_ids": input_ids, "labels": labels})
    import transformers
    doc = {"generator": "scripts/reference/make_llamafactory_template_fixtures.py",
           "llamafactory_commit": commit, "transformers": transformers.__version__,
           "date": datetime.date.today().isoformat(), "cases": cases}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
