#!/usr/bin/env python3
"""Drives `tailor board`'s page in headless Chromium (Debian's `chromium`, over the DevTools protocol) while a run
trains, and saves screenshots before and after a few seconds.

    /tmp/venv-serve/bin/python scripts/peers/board_check.py TAILOR [SCREENSHOT_PREFIX]

Trains one short run of the tiny llama fixture to the end (r 2), starts a long one (r 4) in the background, serves
their folder with `TAILOR board`, opens the page, and checks: the table lists both runs, the long one `running` and
the short one `finished`, the chart draws one curve per run, and a few seconds later the running run's step count
and curve have grown while the page was left alone (it polls). Screenshots: PREFIX-before.png and PREFIX-after.png
(default docs/board). Needs websocket-client (scripts/peers/requirements-serve.txt). Exits 1 on a failed check.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import free_port, wait_http  # noqa: E402
from web_chat_check import DevTools  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def train(tailor, folder, data, run, steps, r):
    return subprocess.Popen([tailor, "train", "--model_name_or_path", os.path.join(ROOT, "Tests/Fixtures/models/llama"), "--dataset", data,
                             "--output_dir", os.path.join(folder, run), "--max_steps", str(steps), "--r", str(r), "--learning_rate", "0.01",
                             "--save_strategy", "no", "--logging_steps", "5", "--per_device_train_batch_size", "4"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    tailor = sys.argv[1]
    prefix = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs/board")
    work = tempfile.mkdtemp(prefix="tailor-board-check-")
    data = os.path.join(work, "train.jsonl")
    with open(data, "w") as f:
        for i in range(32):
            f.write(json.dumps({"input_ids": [1, 10 + i, 20 + i % 7, 30 + i % 5, 2], "labels": [-100, -100, 20 + i % 7, 30 + i % 5, 2]}) + "\n")
    runs = os.path.join(work, "sweep")
    if train(tailor, runs, data, "r2", 60, 2).wait() != 0:
        raise SystemExit("the short run failed")
    long_run = train(tailor, runs, data, "r4", 200000, 4)
    port, debug_port = free_port(), free_port()
    board = subprocess.Popen([tailor, "board", runs, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    profile = tempfile.mkdtemp(prefix="tailor-chromium-")
    browser = None
    failures = []
    try:
        wait_http(f"http://127.0.0.1:{port}/api/runs")
        browser = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                                    f"--remote-debugging-port={debug_port}", "--window-size=1300,900", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        targets = json.loads(wait_http(f"http://127.0.0.1:{debug_port}/json"))
        page = next(t for t in targets if t.get("type") == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Emulation.setDeviceMetricsOverride", width=1300, height=900, deviceScaleFactor=1, mobile=False)
        tools.call("Page.enable")
        tools.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
        rows_js = "[...document.querySelectorAll('#runs tr')].slice(1).map(tr => [...tr.cells].map(c => c.textContent))"
        deadline = time.time() + 60
        rows = []
        while time.time() < deadline:
            rows = tools.evaluate(rows_js) or []
            if len(rows) == 2 and any("running" in r for r in rows):
                break
            time.sleep(0.3)
        header = tools.evaluate("[...document.querySelectorAll('#runs th')].map(c => c.textContent)")
        print("header:", header)
        print("before:", rows)

        def shot(name):
            data = tools.call("Page.captureScreenshot", format="png")["data"]
            with open(name, "wb") as f:
                f.write(base64.b64decode(data))
            print("screenshot:", name)

        curves = tools.evaluate("document.querySelectorAll('#chart polyline.run').length")
        status, steps = header.index("status"), header.index("steps")
        before = {r[0]: r for r in rows}
        points_before = tools.evaluate("document.querySelector('#chart polyline.run[data-run^=\"r4\"]').getAttribute('points').split(' ').length")
        shot(prefix + "-before.png")
        time.sleep(5)
        rows = tools.evaluate(rows_js)
        after = {r[0]: r for r in rows}
        points_after = tools.evaluate("document.querySelector('#chart polyline.run[data-run^=\"r4\"]').getAttribute('points').split(' ').length")
        print("after: ", rows)
        print(f"r4 curve points: {points_before} -> {points_after}; curves drawn: {curves}")
        shot(prefix + "-after.png")
        if set(before) != {"r2", "r4"}:
            failures.append(f"the table should list r2 and r4, not {sorted(before)}")
        else:
            if before["r2"][status] != "finished" or before["r4"][status] != "running":
                failures.append(f"statuses: r2 {before['r2'][status]}, r4 {before['r4'][status]} (expected finished, running)")
            step = lambda row: int(row[steps].split("/")[0])  # noqa: E731
            if step(after["r4"]) <= step(before["r4"]):
                failures.append(f"the running run did not move on the page: {before['r4'][steps]} -> {after['r4'][steps]}")
            if points_after <= points_before:
                failures.append("the running run's curve did not grow")
        if curves != 2:
            failures.append(f"the chart should draw 2 curves, drew {curves}")
    finally:
        if browser:
            browser.terminate()
            browser.wait(timeout=30)
        board.terminate()
        board.wait(timeout=30)
        long_run.terminate()
        long_run.wait(timeout=30)
    for failure in failures:
        print("FAIL:", failure)
    print("board check:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
