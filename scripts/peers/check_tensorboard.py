#!/usr/bin/env python3
"""tensorboard's EventAccumulator reads the scalars Tailor's TensorBoardSink wrote, equal to metrics.jsonl.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-sinks swift test --filter TensorBoardSinkTests
    python3 scripts/peers/check_tensorboard.py /tmp/tailor-sinks/tensorboard

The folder is a run's output_dir: `runs/events.out.tfevents.*` and `metrics.jsonl` (same logging_steps).
"""
import json
import os
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

folder = sys.argv[1]
acc = EventAccumulator(os.path.join(folder, "runs"), size_guidance={"scalars": 0})
acc.Reload()
tags = sorted(acc.Tags()["scalars"])
f32 = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]

lines = [json.loads(line) for line in open(os.path.join(folder, "metrics.jsonl"))]
steps = [l for l in lines if l["event"] == "step"]
evals = [l for l in lines if l["event"] == "evaluation"]
expected = {
    "train/loss": [(l["step"], l["loss"]) for l in steps],
    "train/learning_rate": [(l["step"], l["learning_rate"]) for l in steps],
    "train/grad_norm": [(l["step"], l["grad_norm"]) for l in steps],
    "train/epoch": [(l["step"], l["epoch"]) for l in steps],
    "train/tokens_per_second": [(l["step"], l["tokens_per_second"]) for l in steps],
    "eval/loss": [(l["step"], l["eval_loss"]) for l in evals],
}
assert tags == sorted(expected), f"tags {tags}"
count = 0
for tag, want in expected.items():
    got = [(e.step, e.value) for e in acc.Scalars(tag)]
    assert [s for s, _ in got] == [s for s, _ in want], f"{tag} steps {got} vs {want}"
    assert all(v == f32(w) for (_, v), (_, w) in zip(got, want)), f"{tag} values {got} vs {want}"
    count += len(got)
print(json.dumps({"event_files": sorted(os.listdir(os.path.join(folder, "runs"))), "tags": tags,
                  "scalars_compared": count, "values_equal_float32": True,
                  "train_loss": [(e.step, e.value) for e in acc.Scalars("train/loss")]}))
