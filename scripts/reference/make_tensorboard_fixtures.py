#!/usr/bin/env python3
"""Reference TensorBoard event bytes for Tailor's writer (Tests/Fixtures/tensorboard/).

Builds the records exactly as torch.utils.tensorboard.SummaryWriter does (the `brain.Event:2` record, then
one Event per `add_scalar` with the Summary from torch's `summary.scalar`), framed by tensorboard's own
RecordWriter, but with pinned wall times so the bytes are reproducible:

    python3 scripts/reference/make_tensorboard_fixtures.py

Writes `events.reference.tfevents` and `scalars.json` (the inputs: tag, value, step, wall_time per event).
"""
import io
import json
import os

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.summary.writer.record_writer import RecordWriter
from torch.utils.tensorboard.summary import scalar

out = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "tensorboard")
os.makedirs(out, exist_ok=True)

scalars = [
    # tag, value, step, wall_time
    ("train/loss", 2.3125, 1, 1700000000.25),
    ("train/learning_rate", 0.0002, 1, 1700000000.25),
    ("train/grad_norm", 0.0, 2, 1700000001.5),
    ("eval/loss", 1.75, 300, 1700000002.0),
    ("train/tokens_per_second", 12345.678, 123456789, 1700000003.125),
]

buffer = io.BytesIO()
writer = RecordWriter(buffer)
writer.write(Event(wall_time=1700000000.0, file_version="brain.Event:2").SerializeToString())
for tag, value, step, wall_time in scalars:
    writer.write(Event(wall_time=wall_time, step=step, summary=scalar(tag, value)).SerializeToString())

with open(os.path.join(out, "events.reference.tfevents"), "wb") as f:
    f.write(buffer.getvalue())
with open(os.path.join(out, "scalars.json"), "w") as f:
    json.dump({"file_version_wall_time": 1700000000.0,
               "scalars": [{"tag": t, "value": v, "step": s, "wall_time": w} for t, v, s, w in scalars]}, f, indent=1)
print(f"wrote {len(buffer.getvalue())} bytes to {out}")
