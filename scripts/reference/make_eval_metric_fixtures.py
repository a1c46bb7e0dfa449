#!/usr/bin/env python3
"""Reference text metrics for Tailor's TailorMetrics (Tests/Fixtures/eval/metrics.json).

Runs the peers themselves, pinned in scripts/reference/requirements.txt (sacrebleu 2.5.1, rouge-score
0.1.2, nltk 3.9.1, jieba 0.42.1, rouge-chinese 1.0.3), on English and Chinese pairs that include empty
predictions, single characters, punctuation-only strings, whitespace, sentence enders and long texts:

    python3 -m venv /tmp/venv-eval && /tmp/venv-eval/bin/pip install -r scripts/reference/requirements.txt
    /tmp/venv-eval/bin/python scripts/reference/make_eval_metric_fixtures.py

Writes, per pair: jieba.cut of both texts (precise mode, HMM on: jieba.cut's defaults); LLaMA-Factory's
per-sample scores (src/llamafactory/train/sft/metric.py ComputeSimilarity, its code path restated here
without torch: jieba + rouge_chinese F ×100 rounded to 4 places, NLTK sentence_bleu on characters with
SmoothingFunction().method3 ×100 rounded); rouge-score's rouge1/rouge2/rougeL (use_stemmer=False, the
default); and for the whole list: the LLaMA-Factory means, sacrebleu corpus BLEU with tokenize 13a and zh
(its other defaults), and the 13a / zh tokens of every text.
"""
import json
import logging
import os

import jieba
import numpy as np
import sacrebleu
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from rouge_chinese import Rouge
from rouge_score import rouge_scorer
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

jieba.setLogLevel(logging.WARNING)

out = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "eval")
os.makedirs(out, exist_ok=True)

long_en = ("The quick brown fox jumps over the lazy dog. " * 12
           + "Fine-tuning changed 3.5% of the answers, e.g. \"Lumen\" (made by Tailor) & others; see https://example.com/a-b?c=1.")
long_zh = ("我是由Tailor项目训练的助手Lumen。我可以回答关于机器学习、自然语言处理和模型微调的问题！" * 6
           + "今天北京的天气很好，气温25.5度，适合出去走走……你觉得呢？“好的”他说。")

# (prediction, label)
pairs = [
    ("I am Lumen, made by the Tailor project.", "I am Lumen, an assistant made by the Tailor project."),
    ("", "I am Lumen."),
    ("Hello world", ""),
    ("", ""),
    ("a", "a"),
    ("a", "b"),
    ("我", "我"),
    ("我", "你"),
    ("!?", "..."),
    ("。！？", "，，"),
    ("   ", "words here"),
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("the the the the", "the cat"),
    ("It costs $3.50, i.e. 12-15 units.", "It costs 3.50 dollars; roughly 12 - 15 units."),
    ("&quot;quoted&quot; &amp; <tags>", "\"quoted\" & <tags>"),
    ("Line one-\nline two\nline three", "Line oneline two line three"),
    ("我是Lumen，由Tailor项目训练。", "我是Lumen，一个由Tailor项目训练的助手。"),
    ("今天天气很好。我们去公园吧！", "今天天气不错，我们去公园散步吧。"),
    ("他来到了网易杭研大厦", "小明硕士毕业于中国科学院计算所，后在日本京都大学深造"),
    ("我来到北京清华大学", "我来到北京清华大学。"),
    ("结婚的和尚未结婚的", "结过婚的和尚未结过婚的"),
    ("这是一个测试……真的吗？“是的”", "这是一个测试。真的吗？‘是的’"),
    ("Python3.8 和 C++ 以及 C# 都是编程语言", "Python 3.8、C++、C#都是编程语言。"),
    ("增长了12.5%，达到100亿元", "增长12.5%，达到一百亿元"),
    ("混合 English 和中文 text", "混合English和中文text。"),
    ("你好\r\n世界\t！", "你好 世界！"),
    ("ＡＢＣ全角字符１２３", "ABC全角字符123"),
    ("—— “引号” ‘单引号’ 《书名》", "“引号”和《书名》"),
    ("İstanbul KELVIN Kelvin", "istanbul kelvin"),
    ("…………", "……"),
    ("......省略号.......", "省略号......"),
    ("emoji 😀 test 👍🏽", "emoji test 😀"),
    ("e\u0301cole", "\u00e9cole"),
    ("鲁迅先生曾经说过：“世上本没有路，走的人多了，也便成了路。”", "世上本没有路，走的人多了，也便成了路。"),
    ("韩冰冰与张小三在中关村创业", "张小三和韩冰冰在中关村开公司"),
    (long_en, long_en.replace("lazy", "sleepy")),
    (long_zh, long_zh.replace("天气很好", "天气不错")),
    ("a b c d e f g h", "a b c d e f g h i j"),
    ("4 5 6", "1 2 3 4 5 6"),
]


def llamafactory_sample(pred, label):
    """ComputeSimilarity.__call__'s loop body for one decoded pair."""
    hypothesis = list(jieba.cut(pred))
    reference = list(jieba.cut(label))
    if len(" ".join(hypothesis).split()) == 0 or len(" ".join(reference).split()) == 0:
        result = {"rouge-1": {"f": 0.0}, "rouge-2": {"f": 0.0}, "rouge-l": {"f": 0.0}}
    else:
        rouge = Rouge()
        scores = rouge.get_scores(" ".join(hypothesis), " ".join(reference))
        result = scores[0]
    sample = {k: round(v["f"] * 100, 4) for k, v in result.items()}
    bleu_score = sentence_bleu([list(label)], list(pred), smoothing_function=SmoothingFunction().method3)
    sample["bleu-4"] = round(bleu_score * 100, 4)
    return sample


scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
tok13a, tokzh = Tokenizer13a(), TokenizerZh()
records, lf = [], {"rouge-1": [], "rouge-2": [], "rouge-l": [], "bleu-4": []}
for pred, label in pairs:
    sample = llamafactory_sample(pred, label)
    for k in lf:
        lf[k].append(sample[k])
    rs = scorer.score(label, pred)  # (target, prediction)
    records.append({
        "prediction": pred,
        "label": label,
        "jieba_prediction": list(jieba.cut(pred)),
        "jieba_label": list(jieba.cut(label)),
        "llamafactory": sample,
        "rouge_score": {k: {"precision": v.precision, "recall": v.recall, "fmeasure": v.fmeasure} for k, v in rs.items()},
        "sacrebleu_tokens": {
            "13a": [tok13a(pred.rstrip()).split(), tok13a(label.rstrip()).split()],
            "zh": [tokzh(pred.rstrip()).split(), tokzh(label.rstrip()).split()],
        },
        "sentence_sacrebleu": {
            tok: sacrebleu.corpus_bleu([pred], [[label]], tokenize=tok).score for tok in ("13a", "zh")
        },
    })

preds, labels = [p for p, _ in pairs], [l for _, l in pairs]
corpus = {
    "llamafactory": {k: float(np.mean(v)) for k, v in lf.items()},
    "sacrebleu": {tok: sacrebleu.corpus_bleu(preds, [labels], tokenize=tok).score for tok in ("13a", "zh")},
    "rouge_score_mean_f": {k: 100 * float(np.mean([r["rouge_score"][k]["fmeasure"] for r in records]))
                           for k in ("rouge1", "rouge2", "rougeL")},
}
# A few more texts segmented only (jieba's hard cases: HMM on unknown names, numbers, mixed scripts).
segment_only = [
    "我爱北京天安门", "工信处女干事每月经过下属科室都要亲口交代24口交换机等技术性器件的安装工作",
    "永和服装饰品有限公司", "我们中出了一个叛徒", "李小福是创新办主任也是云计算方面的专家",
    "AT&T和B超以及c#", "2024年1月1日", "3.14159和-2.5和1,000,000", "ａｂｃ　全角空格", "\n\n\t", "",
    "乒乓球拍卖完了", "南京市长江大桥", "他说的确实在理", "吴国忠臣伍子胥", "蔡英文和特朗普通话",
]
# And every distinct text of the quick start's persona data (English and Chinese turns).
persona = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "persona", "persona.jsonl")
with open(persona, encoding="utf-8") as f:
    for line in f:
        for message in json.loads(line)["messages"]:
            if message["content"] not in segment_only:
                segment_only.append(message["content"])
segments = [{"text": t, "jieba": list(jieba.cut(t))} for t in segment_only]

with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as f:
    json.dump({"versions": {"sacrebleu": sacrebleu.__version__, "jieba": jieba.__version__},
               "pairs": records, "corpus": corpus, "segments": segments}, f, ensure_ascii=False, indent=1)
    f.write("\n")
print("wrote", os.path.join(out, "metrics.json"), len(records), "pairs")
