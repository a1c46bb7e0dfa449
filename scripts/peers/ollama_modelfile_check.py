#!/usr/bin/env python3
"""The Modelfile `tailor export gguf` writes renders, in Go's text/template with Ollama's chat values
(scripts/peers/ollama_template_render.go), exactly what transformers' apply_chat_template renders from the model
folder's Jinja template (its BOS left out, as llama.cpp adds it). Run by scripts/peers/ollama_modelfile_check.sh:

    python ollama_modelfile_check.py FOLDER MODELFILE   # prints one JSON line; exit 1 when a conversation differs
"""
import json
import os
import subprocess
import sys
import tempfile

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4."}, {"role": "user", "content": "And 3+3?"}],
    [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
     {"role": "user", "content": "Multi\nline\n\nquestion?"}, {"role": "assistant", "content": "Yes."}, {"role": "user", "content": "Bye"}],
]


def main(folder, modelfile):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(CONVERSATIONS, f)
    here = os.path.dirname(os.path.abspath(__file__))
    go = subprocess.run(["go", "run", os.path.join(here, "ollama_template_render.go"), modelfile, f.name],
                        capture_output=True, text=True, check=True)
    os.remove(f.name)
    rendered_go = json.loads(go.stdout)
    system_line = next((l for l in open(modelfile).read().splitlines() if l.startswith("SYSTEM")), None)
    results = []
    for messages, got in zip(CONVERSATIONS, rendered_go):
        want = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        if tok.bos_token and want.startswith(tok.bos_token):
            want = want[len(tok.bos_token):]
        results.append({"turns": len(messages), "equal": got == want, **({} if got == want else {"go": got, "jinja": want})})
    ok = all(r["equal"] for r in results)
    print(json.dumps({"modelfile": modelfile, "conversations": len(results), "all_equal": ok, "system": system_line,
                      "differing": [r for r in results if not r["equal"]]}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
