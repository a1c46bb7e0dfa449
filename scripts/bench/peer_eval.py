#!/usr/bin/env python3
"""The peer of `tailor eval` for the speed comparison (scripts/bench/bench_eval.sh): transformers generate
+ the same metrics in Python, on the first N records of an alpaca file, on the CPU.

    python3 scripts/bench/peer_eval.py MODEL_FOLDER DATA.json N MAX_NEW_TOKENS [BATCH] [--dtype float32|bfloat16]

Prompts: each record's instruction (+ "\\n" + input) as one user turn through the tokenizer's chat template,
batches of BATCH (8), left padding, greedy (do_sample=False), max_new_tokens; answers decoded with
skip_special_tokens. Metrics as tailor eval computes them: LLaMA-Factory's bleu-4 and rouge-1/2/l (jieba,
rouge_chinese, NLTK method 3, per sample ×100 rounded to 4), sacrebleu corpus BLEU (13a, zh), rouge-score
rouge1/2/L (F ×100), exact and contains. Needs torch, transformers, sacrebleu, rouge-score, nltk, jieba,
rouge-chinese (PYTHONPATH may add the metric packages to a torch venv). Prints the metrics and the seconds.
"""
import json
import logging
import sys
import time

start = time.time()
import jieba  # noqa: E402
import numpy as np  # noqa: E402
import sacrebleu  # noqa: E402
import torch  # noqa: E402
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # noqa: E402
from rouge_chinese import Rouge  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

jieba.setLogLevel(logging.WARNING)
args = [a for a in sys.argv[1:] if not a.startswith("--")]
dtype = getattr(torch, sys.argv[sys.argv.index("--dtype") + 1]) if "--dtype" in sys.argv else torch.float32
if "--dtype" in sys.argv:
    args.remove(sys.argv[sys.argv.index("--dtype") + 1])
folder, data, n, new_tokens = args[0], args[1], int(args[2]), int(args[3])
batch = int(args[4]) if len(args) > 4 else 8
torch.set_num_threads(torch.get_num_threads())

records = json.load(open(data, encoding="utf-8"))[:n]
tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).eval()
prompts = []
for r in records:
    text = r["instruction"] + ("\n" + r["input"] if r.get("input") else "")
    prompts.append(tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True))
predictions = []
gen_start = time.time()
with torch.no_grad():
    for i in range(0, len(prompts), batch):
        enc = tokenizer(prompts[i:i + batch], return_tensors="pt", padding=True, add_special_tokens=False)
        out = model.generate(**enc, max_new_tokens=new_tokens, do_sample=False)
        predictions += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
gen_seconds = time.time() - gen_start
labels = [r["output"] for r in records]

metric_start = time.time()
scores = {"rouge-1": [], "rouge-2": [], "rouge-l": [], "bleu-4": []}
for pred, label in zip(predictions, labels):
    hypothesis, reference = list(jieba.cut(pred)), list(jieba.cut(label))
    if len(" ".join(hypothesis).split()) == 0 or len(" ".join(reference).split()) == 0:
        result = {"rouge-1": {"f": 0.0}, "rouge-2": {"f": 0.0}, "rouge-l": {"f": 0.0}}
    else:
        result = Rouge().get_scores(" ".join(hypothesis), " ".join(reference))[0]
    for k, v in result.items():
        scores[k].append(round(v["f"] * 100, 4))
    scores["bleu-4"].append(round(sentence_bleu([list(label)], list(pred), smoothing_function=SmoothingFunction().method3) * 100, 4))
table = {k: float(np.mean(v)) for k, v in scores.items()}
for tok in ("13a", "zh"):
    table["sacrebleu-" + tok] = sacrebleu.corpus_bleu(predictions, [labels], tokenize=tok).score
scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
rs = [scorer.score(l, p) for p, l in zip(predictions, labels)]
for k in ("rouge1", "rouge2", "rougeL"):
    table[k] = 100 * float(np.mean([r[k].fmeasure for r in rs]))
table["exact"] = 100 * float(np.mean([p.strip() == l.strip() for p, l in zip(predictions, labels)]))
table["contains"] = 100 * float(np.mean([l.strip() in p for p, l in zip(predictions, labels)]))
print(json.dumps(table, indent=1))
print(f"peer: {len(records)} samples, generation {gen_seconds:.1f} s, metrics {time.time() - metric_start:.1f} s, "
      f"total {time.time() - start:.1f} s ({dtype})")
