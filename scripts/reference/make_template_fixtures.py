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

# ---------------------------------------------------------------- language features, one snippet each

# (name, template, variables). Each is rendered through the same transformers path (no messages).
FEATURES = [
    ("literals", "{{ 'a\\tb\\n\\'q\\' \\u00e9 \\x41' }}|{{ \"d\" 'e' }}|{{ 1_000 }}|{{ 1.5e3 }}|{{ 0x1F }}|{{ true }}|{{ None }}|{{ [1, 'a', none, true, 1.0] }}|{{ {'k': [1, {'n': none}]} }}|{{ (1, 2) | list }}", {}),
    ("arithmetic", "{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 10 / 5 }} {{ -3 | abs }} {{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 2.5 | round(0, 'floor') }} {{ true + 1 }}", {}),
    ("strings_ops", "{{ 'ab' ~ 1 ~ none ~ undefined_thing }}|{{ 'ab' * 3 }}|{{ 'b' in 'abc' }}|{{ 'x' not in 'abc' }}|{{ 'abc'[1] }}|{{ 'abcdef'[1:4] }}|{{ 'abcdef'[::-1] }}|{{ 'abcdef'[-2:] }}|{{ 'abcdef'[::2] }}|{{ 'a%sc' % 'b' }}|{{ '%d-%s' % (3, 'x') }}", {}),
    ("comparisons", "{{ 1 == 1.0 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] == [1, 2] }} {{ none == none }} {{ 1 != 2 }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ true == 1 }}", {}),
    ("logic", "{{ 0 or 'x' }}|{{ 1 and 'y' }}|{{ not 0 }}|{{ none or [] }}|{{ 'a' if 0 else 'b' }}|{{ 'a' if 1 }}|[{{ 'a' if 0 }}]|{{ not 1 == 2 }}", {}),
    ("tests", "{{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 'a' is sequence }} {{ 1 is number }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ true is true }} {{ false is false }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 2 is equalto 2 }} {{ 2 is eq(2) }} {{ none is sameas none }} {{ 'a' is in ['a'] }} {{ 1 is not string }} {{ x is not none }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 2 is gt 1 }} {{ 1 is lt 2 }} {{ 3 is ge 3 }} {{ 1 is ne 2 }} {{ 1 is callable }}", {"x": 1}),
    ("filters_text", "{{ '  hi  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'hello world' | upper }}|{{ 'HeLLo' | lower }}|{{ 'hello WORLD' | capitalize }}|{{ 'hello-world foo(bar)' | title }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'a b  c' | wordcount }}|{{ '<a href=\"x\">&\\'' | e }}|{{ 'x' | center(7) }}|{{ 'abc' | reverse }}|{{ '%s=%d' | format('a', 3) }}", {}),
    ("filters_lists", "{{ [3, 1, 2] | sort }}|{{ ['b', 'A', 'c'] | sort }}|{{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}|{{ [3, 1, 2] | sort(reverse=true) }}|{{ [1, 2, 2, 'a', 'A'] | unique | list }}|{{ [1, 2] | first }}|{{ [1, 2] | last }}|{{ [] | first }}|{{ [1, 5, 3] | max }}|{{ [4, 2] | min }}|{{ [1, 2, 3] | sum }}|{{ [1, 2, 3] | join('-') }}|{{ [1, 2, 3] | length }}|{{ 'abc' | list }}|{{ [1, 2, 3, 4, 5] | batch(2) | list }}|{{ [1, 2] | reverse | list }}|{{ [1, 2, 3] | count }}", {}),
    ("filters_dicts", "{{ d | dictsort }}|{{ d | dictsort(by='value') }}|{{ d | dictsort(reverse=true) }}|{{ d | items | list }}|{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{{ d.keys() | list }}|{{ d.values() | list }}|{{ d.get('b') }}|{{ d.get('zz', 'dflt') }}|{{ d['a'] }}|{{ d.a }}|{{ d | length }}|{{ d | list }}", {"d": {"b": 2, "a": 1, "C": 3}}),
    ("filters_select_map", "{{ people | map(attribute='name') | join(', ') }}|{{ people | selectattr('age', 'gt', 30) | map(attribute='name') | list }}|{{ people | rejectattr('admin') | map(attribute='name') | list }}|{{ people | selectattr('admin') | list | length }}|{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3, 4] | reject('even') | list }}|{{ ['a', 'b'] | map('upper') | list }}|{{ people | map(attribute='missing', default='?') | list }}|{{ people | sum(attribute='age') }}|{{ people | sort(attribute='age') | map(attribute='name') | first }}|{{ people | max(attribute='age') }}|{{ people | selectattr('name', 'equalto', 'Bo') | first }}|{{ people | join(', ', attribute='name') }}", {"people": [{"name": "Al", "age": 40, "admin": True}, {"name": "Bo", "age": 25, "admin": False}, {"name": "Cy", "age": 33}]}),
    ("filters_convert", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 'x' | float }} {{ 3 | float }} {{ 5 | string }} {{ none | string }} {{ [1] | string }} {{ true | int }}", {}),
    ("default", "[{{ missing | default('d') }}][{{ missing | d('x') }}][{{ none | default('d') }}][{{ '' | default('d', true) }}][{{ 0 | default('d', boolean=true) }}][{{ 'v' | default('d') }}]", {}),
    ("tojson", "{{ obj | tojson }}|{{ obj | tojson(indent=2) }}|{{ obj | tojson(separators=(',', ':')) }}|{{ obj | tojson(sort_keys=true) }}|{{ 'é\"<>&\\n' | tojson }}|{{ 'é😀' | tojson(ensure_ascii=true) }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson }}|{{ 1.0 | tojson }}|{{ none | tojson }}|{{ [1, [2, {'a': []}]] | tojson(indent=4) }}", {"obj": {"z": 1, "a": [1.5, True, None, "x"], "m": {"k": "v"}}}),
    ("indent", "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb\\n\\nc' | indent(2, true) }}|{{ 'a\\nb\\n\\nc' | indent(2, blank=true) }}|{{ 'a\\nb' | indent('> ') }}", {}),
    ("string_methods", "{{ '  x  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  x'.lstrip() }}|{{ 'x  '.rstrip() }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ 'aXbXc'.replace('X', '-') }}|{{ 'hello world'.title() }}|{{ 'ab'.upper() }}|{{ 'AB'.lower() }}|{{ 'hello'.capitalize() }}|{{ 'hello'.find('l') }}|{{ 'hello'.find('z') }}|{{ 'hello'.count('l') }}|{{ '-'.join(['a', 'b']) }}|{{ '{} and {}'.format('x', 'y') }}|{{ '{0}{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='n') }}|{{ 'a\\nb'.splitlines() }}|{{ 'ab'.isalpha() }}|{{ '12'.isdigit() }}", {}),
    ("list_methods", "{{ [1, 2, 3].index(2) }}|{{ [1, 1, 2].count(1) }}|{{ ([1] + [2]) }}|{{ [1, 2, 3][-1] }}|{{ [1, 2, 3][5] }}|{{ [1, 2, 3][1:] }}|{{ [1, 2, 3][::-1] }}", {}),
    ("for_loop", "{% for x in items %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem }}/{{ loop.nextitem }}/{{ loop.cycle('o', 'e') }};{% endfor %}", {"items": ["a", "b", "c"]}),
    ("for_else_filter", "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in range(10) if x is odd %}{{ x }}{{ ',' if not loop.last }}{% endfor %}|{% for x in range(2, 8, 2) %}{{ x }}{% endfor %}|{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}|{% for c in 'hi' %}{{ c }}.{% endfor %}|{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}", {}),
    ("loop_controls", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("nested_loops", "{% for row in [[1, 2], [3]] %}{% set outer = loop %}{% for v in row %}{{ outer.index }}.{{ loop.index }}={{ v }} {% endfor %}{% endfor %}", {}),
    ("scoping", "{% set x = 'o' %}{% for i in range(3) %}{% if i == 0 %}{% set x = 'a' %}{% endif %}[{{ x }}]{% endfor %}{{ x }}|{% if true %}{% set y = 'in-if' %}{% endif %}{{ y }}", {}),
    ("namespace", "{% set ns = namespace(count=0, items=[], found=false) %}{% for i in range(4) %}{% set ns.count = ns.count + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.count }} {{ ns.items }} {{ ns.found }} {{ ns.missing is defined }}", {}),
    ("set_block", "{% set body %}Hello {{ name }}!{% endset %}[{{ body }}]{% set up | upper %}shout {{ name }}{% endset %}[{{ up }}]{% set a, b = 1, 2 %}{{ a }}{{ b }}", {"name": "Ann"}),
    ("macros", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}{% macro wrap() %}<{{ caller() }}>{% endmacro %} {% call wrap() %}inner{% endcall %}{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %} {{ rec(3) }} {{ greet('D') | upper }}", {}),
    ("filter_block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}|{% filter trim | replace('a', 'o') %}   banana   {% endfilter %}", {}),
    ("raw_comment", "{% raw %}{{ not rendered }} {% if %}{% endraw %}|{# a comment #}|{{ 'after' }}", {}),
    ("dict_global", "{{ dict(a=1, b='x') }}|{{ dict({'k': 1}, j=2) }}|{{ range(3) | list }}|{{ range(5, 0, -2) | list }}", {}),
    ("whitespace_trim_blocks", "<ul>\n{% for x in items %}\n    <li>{{ x }}</li>\n{% endfor %}\n</ul>\n{% if true %}\n  yes\n{% endif %}\nend\n", {"items": [1, 2]}),
    ("whitespace_dash", "a  {%- if true -%}  b  {%- endif -%}  c\n  {{- ' d ' -}}  \ne {{ 'f' }} g\n    {%+ if true %}kept-indent{% endif %}\n  {# comment #}\nx {%- raw -%}  raw  {%- endraw -%} y", {}),
    ("whitespace_lstrip", "line1\n    {% if true %}\n    indented\n    {% endif %}\n\t{% for i in [1] %}{{ i }}{% endfor %}\ntext {% if true %}inline{% endif %}\n", {}),
    ("trailing_newline", "one\n{{ 'two' }}\n", {}),
    ("strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S %d %b %Y %B %A %a %j %I%p') }}", {}),
    ("python_repr", "{{ ['it\\'s', \"q\\\"\", 'a\\nb', 1.5, none, true] }}|{{ {'a': 'b', 1: 2} }}|{{ 1e100 }}|{{ -0.0 }}|{{ 123456789.125 }}", {}),
    ("undefined_semantics", "[{{ nope }}][{{ nope | length }}][{{ nope | list }}][{{ nope is iterable }}][{% for x in nope %}x{% endfor %}][{{ nope | default('d') }}][{{ nope == nope }}][{{ 'x' ~ nope }}][{{ d.missing }}][{{ d.missing is defined }}][{{ none.attr is defined }}]", {"d": {}}),
    ("markup", "{{ ('<b>' | safe) + '<i>' }}|{{ '<i>' + ('<b>' | safe) }}|{{ ('<b>' | safe) ~ '<i>' }}|{{ '<x>' | e | e }}", {}),
    ("unicode", "{{ 'héllo wörld' | upper }}|{{ 'straße' | upper }}|{{ 'ǅ' | lower }}|{{ '日本語'[1] }}|{{ '日本語' | length }}|{{ '😀a'[1:] }}|{{ 'é' | tojson }}|{{ 'ΑΒΓ'.lower() }}", {}),
]
FEATURE_ERRORS = [
    ("err_raise", "{{ raise_exception('Custom failure: ' ~ 42) }}", {}),
    ("err_unknown_filter", "{{ x | no_such_filter }}", {"x": 1}),
    ("unknown_filter_in_untaken_if", "{% if false %}{{ x | no_such_filter }}{% endif %}ok", {"x": 1}),
    ("err_unknown_test", "{{ x is no_such_test }}", {"x": 1}),
    ("err_call_undefined", "{{ nope() }}", {}),
    ("err_attr_of_undefined", "{{ nope.attr }}", {}),
    ("err_iterate_none", "{% for x in none %}{% endfor %}", {}),
    ("err_iterate_int", "{% for x in 5 %}{% endfor %}", {}),
    ("err_add_types", "{{ 'a' + 1 }}", {}),
    ("err_add_undefined", "{{ nope + 1 }}", {}),
    ("err_syntax_unclosed", "{% if true %}never closed", {}),
    ("err_syntax_tag", "{% frobnicate %}", {}),
    ("err_syntax_expr", "{{ 1 + }}", {}),
    ("err_unclosed_var", "hello {{ name ", {}),
    ("err_list_append", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("err_dict_update", "{% set d = {} %}{{ d.update({'a': 1}) }}", {}),
    ("err_ns_underscore", "{% set ns = namespace() %}{% set ns._x = 1 %}", {}),
    ("err_tojson_undefined", "{{ nope | tojson }}", {}),
    ("err_tojson_generator", "{{ [1] | map('string') | tojson }}", {}),
    ("err_length_generator", "{{ [1] | select | length }}", {}),
    ("err_zero_division", "{{ 1 / 0 }}", {}),
    ("err_break_outside_loop", "{% break %}", {}),
]

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


def render_feature(source, variables):
    compiled = ctu._compile_jinja_template(source)
    compiled.environment.globals["strftime_now"] = lambda fmt: PINNED_NOW.strftime(fmt)
    rendered, _ = ctu.render_jinja_template(conversations=[[]], chat_template=source, **variables)
    return rendered[0]


def make_features():
    cases = []
    for name, source, variables in FEATURES + FEATURE_ERRORS:
        case = {"name": name, "source": source, "variables": variables}
        try:
            case["expected"] = render_feature(source, variables)
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

    features = make_features()
    with open(os.path.join(OUT, "features.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": features}, f, ensure_ascii=False, indent=1)
    for case in features:
        if ("error" in case) != case["name"].startswith("err_"):
            print(f"unexpected outcome for feature {case['name']}: {case.get('error')}")

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
