#!/usr/bin/env python3
"""Render chat templates with transformers' own code path and write Tailor's fixtures.

    python3 scripts/reference/make_template_fixtures.py [--templates ../shared/templates]

Writes Tests/Fixtures/templates/:
  conversations.json      the conversations and tool lists, by id
  <template>.json         one file per template: its file name (or its source, for templates written
                          here), then one case per (conversation, add_generation_prompt, kwargs) with the
                          text transformers renders or the error it raises, and the {% generation %}
                          character ranges where the template has generation blocks.

Rendering goes through `transformers.utils.chat_template_utils.render_jinja_template`, the function
`apply_chat_template(tokenize=False)` calls, with `strftime_now` pinned to 2024-07-26 12:00:00 so that
date-dependent templates are deterministic. The shared templates are never copied into the repo.
"""
import argparse
import datetime
import json
import os
import re
import sys

import jinja2
import transformers
from transformers.utils import chat_template_utils as ctu

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "Tests", "Fixtures", "templates")
PINNED_NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)

# ---------------------------------------------------------------- templates written here

# SmolLM2-135M-Instruct's tokenizer_config.json chat_template.
SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# deepseek-llm-7b-chat's tokenizer_config.json chat_template.
DEEPSEEK_LLM = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}"
    "{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}"
    "{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "{{ 'Assistant:' }}{% endif %}"
)

# A ChatML template with {% generation %} around the assistant turns (for the assistant-mask ranges).
CHATML_GENERATION = (
    "{% for message in messages %}\n"
    "{% if message['role'] == 'assistant' %}\n"
    "{{- '<|im_start|>assistant\n' }}\n"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}\n"
    "{{- '\n' }}\n"
    "{% else %}\n"
    "{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}\n"
    "{% endif %}\n"
    "{% endfor %}\n"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}\n"
)

# Tailor's built-in templates, the same source text as Sources/TailorTokenizers/ChatTemplate/BuiltinChatTemplates.swift
# (a test checks that the two copies agree).
BUILTINS = {
    "alpaca": (
        "{% if messages[0]['role'] != 'system' %}{{ 'Below is an instruction that describes a task. "
        "Write a response that appropriately completes the request.\\n\\n' }}{% endif %}"
        "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}"
        "{% elif message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] + '\\n\\n' }}"
        "{% elif message['role'] == 'assistant' %}{{ '### Response:\\n' }}"
        "{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{{ '\\n\\n' }}"
        "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}"
    ),
    "chatml": (
        "{% for message in messages %}{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n' }}"
        "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
        "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
        "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    ),
    "qwen": (
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
        "{% endif %}{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n' }}"
        "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
        "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
        "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    ),
    "llama3": (
        "{{ bos_token }}{% for message in messages %}"
        "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
        "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] | trim + '<|eot_id|>' }}"
        "{% endgeneration %}{% else %}{{ message['content'] | trim + '<|eot_id|>' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
    ),
    "llama2": (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
        "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
        "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if loop.index0 == 0 and system_message != false %}"
        "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        "{% else %}{% set content = message['content'] %}{% endif %}"
        "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{% generation %}{{ ' ' + content.strip() + ' ' + eos_token }}"
        "{% endgeneration %}{% endif %}{% endfor %}"
    ),
    "mistral": (
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set system_message = messages[0]['content'] %}"
        "{% set loop_messages = messages[1:] %}{% else %}{% set system_message = '' %}"
        "{% set loop_messages = messages %}{% endif %}{% for message in loop_messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if message['role'] == 'user' %}{% if loop.first and system_message %}"
        "{{ '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}"
        "{% else %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% endif %}"
        "{% elif message['role'] == 'assistant' %}{% generation %}{{ message['content'] + eos_token }}"
        "{% endgeneration %}{% else %}{{ raise_exception('Only system, user and assistant roles are supported!') }}"
        "{% endif %}{% endfor %}"
    ),
    "deepseek": (
        "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
        "{{ 'User: ' + message['content'] + '\\n\\n' }}{% elif message['role'] == 'assistant' %}"
        "{{ 'Assistant: ' }}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}"
        "{% elif message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
    ),
}

# ---------------------------------------------------------------- conversations

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
}
TOOLS = [WEATHER_TOOL, ADD_TOOL]

CONVERSATIONS = {
    "system_single": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
    "single_user": [
        {"role": "user", "content": "Hello! How are you?"},
    ],
    "multi_turn": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross the road? To get to the other side."},
    ],
    "multi_turn_no_system": [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ],
    "tool_calls": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temperature\": 22}"},
        {"role": "assistant", "content": "It is 22 °C in Paris."},
    ],
    "tool_prompt": [
        {"role": "user", "content": "Add 2 and 3."},
    ],
    "reasoning": [
        {"role": "user", "content": "Is 17 prime?"},
        {"role": "assistant", "reasoning_content": "17 has no divisors but 1 and itself.", "content": "Yes, 17 is prime."},
        {"role": "user", "content": "And 21?"},
    ],
    "content_parts": [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "Describe "}, {"type": "text", "text": "the sea."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Blue and wide."}]},
    ],
    "unicode": [
        {"role": "user", "content": "  Schöne Grüße, «quoted» \"double\" 'single' \\ back\ttab\n新しい行 😀  "},
        {"role": "assistant", "content": "Ça va — merci! ✓\n"},
    ],
    "consecutive_users": [
        {"role": "user", "content": "First."},
        {"role": "user", "content": "Second."},
    ],
}

# (conversation id, add_generation_prompt, tools?, extra kwargs)
CASES = [
    ("system_single", False, False, {}),
    ("system_single", True, False, {}),
    ("single_user", True, False, {}),
    ("multi_turn", False, False, {}),
    ("multi_turn_no_system", True, False, {}),
    ("tool_calls", False, True, {}),
    ("tool_prompt", True, True, {}),
    ("reasoning", True, False, {}),
    ("reasoning", True, False, {"enable_thinking": False}),
    ("single_user", True, False, {"enable_thinking": True}),
    ("single_user", True, False, {"enable_thinking": False}),
    ("content_parts", False, False, {}),
    ("unicode", False, False, {}),
    ("consecutive_users", True, False, {}),
]

SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}
SPECIAL_BY_PREFIX = [
    ("meta-llama", {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}),
    ("Qwen", {"bos_token": "", "eos_token": "<|im_end|>"}),
    ("google-gemma", {"bos_token": "<bos>", "eos_token": "<eos>"}),
    ("deepseek", {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}),
]


def special_tokens(name):
    for prefix, tokens in SPECIAL_BY_PREFIX:
        if name.startswith(prefix):
            return dict(tokens)
    return dict(SPECIAL_TOKENS)


def render(source, conversation, add_generation_prompt, tools, kwargs):
    has_generation = re.search(r"\{\%-?\s*generation\s*-?\%\}", source) is not None
    compiled = ctu._compile_jinja_template(source)
    compiled.environment.globals["strftime_now"] = lambda fmt: PINNED_NOW.strftime(fmt)
    rendered, indices = ctu.render_jinja_template(
        conversations=[json.loads(json.dumps(conversation))],
        tools=tools,
        chat_template=source,
        add_generation_prompt=add_generation_prompt,
        return_assistant_tokens_mask=has_generation,
        **kwargs,
    )
    return rendered[0], (indices[0] if has_generation else None)


def make_cases(name, source):
    cases = []
    for conv_id, agp, with_tools, extra in CASES:
        kwargs = special_tokens(name)
        kwargs["date_string"] = "26 Jul 2024"
        kwargs.update(extra)
        case = {
            "conversation": conv_id,
            "add_generation_prompt": agp,
            "tools": with_tools,
            "kwargs": kwargs,
        }
        try:
            text, ranges = render(source, CONVERSATIONS[conv_id], agp, TOOLS if with_tools else None, kwargs)
            case["expected"] = text
            if ranges is not None:
                case["generation_ranges"] = [list(r) for r in ranges]
        except Exception as error:  # noqa: BLE001 - the error itself is the expected outcome
            case["error"] = {"type": type(error).__name__, "message": str(error)}
        cases.append(case)
    return cases


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--templates", default=os.path.join(REPO, "..", "shared", "templates"))
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)

    with open(os.path.join(OUT, "conversations.json"), "w", encoding="utf-8") as f:
        json.dump({"conversations": CONVERSATIONS, "tools": TOOLS}, f, ensure_ascii=False, indent=1)

    entries = []
    for file in sorted(os.listdir(args.templates)):
        if file.endswith(".jinja"):
            with open(os.path.join(args.templates, file), encoding="utf-8") as f:
                entries.append((file[: -len(".jinja")], {"file": file}, f.read()))
    entries.append(("SmolLM2-135M-Instruct", {"source": SMOLLM2}, SMOLLM2))
    entries.append(("deepseek-llm-7b-chat", {"source": DEEPSEEK_LLM}, DEEPSEEK_LLM))
    entries.append(("chatml-generation", {"source": CHATML_GENERATION}, CHATML_GENERATION))
    for builtin_name, source in BUILTINS.items():
        entries.append((f"builtin-{builtin_name}", {"builtin": builtin_name, "source": source}, source))

    summary = []
    for name, header, source in entries:
        cases = make_cases(name, source)
        doc = {"name": name, **header, "cases": cases}
        with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        errors = sum(1 for c in cases if "error" in c)
        summary.append(f"{name}: {len(cases) - errors} rendered, {errors} raised")
    with open(os.path.join(OUT, "index.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "transformers": transformers.__version__,
                "jinja2": jinja2.__version__,
                "templates": [name for name, _, _ in entries],
            },
            f,
            indent=1,
        )
    print("\n".join(summary))


if __name__ == "__main__":
    sys.exit(main())
