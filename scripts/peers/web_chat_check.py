#!/usr/bin/env python3
"""Drives `tailor serve`'s chat page in headless Chromium (Debian's `chromium` package, over the
DevTools protocol) and saves a screenshot.

    /tmp/venv-serve/bin/python scripts/peers/web_chat_check.py TAILOR MODEL ADAPTER [SCREENSHOT]

Starts `TAILOR serve --model MODEL --adapter tuned=ADAPTER` on a free loopback port, opens `/`,
turns on side-by-side mode (base | tuned), sends one message, waits for both streamed answers,
checks that they are there and differ, exports the conversation and checks it is one `messages`
JSONL line, and writes the screenshot (default docs/serve-chat.png). Needs websocket-client
(scripts/peers/requirements-serve.txt). Exits 1 on a failed check.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

import websocket

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import free_port, start_serve, wait_http  # noqa: E402


class DevTools:
    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=120)
        self.next = 0

    def call(self, method, **params):
        self.next += 1
        self.ws.send(json.dumps({"id": self.next, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    tailor, model, adapter = sys.argv[1:4]
    screenshot = sys.argv[4] if len(sys.argv) > 4 else "docs/serve-chat.png"
    debug_port = free_port()
    server, port = start_serve(tailor, model, adapter)
    profile = tempfile.mkdtemp(prefix="tailor-chromium-")
    browser = None
    failures = []
    try:
        browser = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                                    f"--remote-debugging-port={debug_port}", "--window-size=1400,860", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        targets = json.loads(wait_http(f"http://127.0.0.1:{debug_port}/json"))
        page = next(t for t in targets if t.get("type") == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Emulation.setDeviceMetricsOverride", width=1400, height=860, deviceScaleFactor=1, mobile=False)
        tools.call("Page.enable")
        tools.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
        deadline = time.time() + 30
        while time.time() < deadline and not tools.evaluate("document.querySelectorAll('#pane1 option').length >= 2"):
            time.sleep(0.2)
        models = tools.evaluate("[...document.querySelectorAll('#pane0 option')].map(o => o.value)")
        print("models in the page:", models)
        if models != ["base", "tuned"]:
            failures.append(f"the model list shows {models}, expected ['base', 'tuned']")
        question = "Who are you?"
        tools.evaluate(f"""(() => {{
            const box = document.getElementById('compare'); box.checked = true; box.dispatchEvent(new Event('change'));
            document.getElementById('system').value = 'You are a helpful assistant.';
            document.getElementById('max_tokens').value = '40';
            document.getElementById('input').value = {json.dumps(question)};
            document.getElementById('send').click(); }})()""")
        deadline = time.time() + 300
        states = []
        while time.time() < deadline:
            states = tools.evaluate("[...document.querySelectorAll('.msg.assistant, .msg.error')].map(m => m.dataset.state)")
            if len(states) == 2 and all(s in ("done", "error") for s in states):
                break
            time.sleep(0.3)
        answers = tools.evaluate("[0, 1].map(i => [...document.querySelectorAll('#pane' + i + ' .msg.assistant .content')].map(e => e.textContent))")
        print("base answer: ", answers[0])
        print("tuned answer:", answers[1])
        if states != ["done", "done"]:
            failures.append(f"both answers should finish streaming; states: {states}")
        elif not answers[0][0] or not answers[1][0]:
            failures.append("an answer is empty")
        elif answers[0][0] == answers[1][0]:
            failures.append("side by side, the base and the tuned adapter gave the same answer")
        tools.evaluate("document.getElementById('exportButton').click()")
        line = tools.evaluate("document.getElementById('export').value")
        exported = json.loads(line)
        roles = [m["role"] for m in exported["messages"]]
        print("exported:", line[:160], "...")
        if roles != ["system", "user", "assistant"] or exported["messages"][2]["content"] != answers[0][0]:
            failures.append(f"the export should be system, user, assistant with the base's answer; roles {roles}")
        shot = tools.call("Page.captureScreenshot", format="png")
        os.makedirs(os.path.dirname(screenshot) or ".", exist_ok=True)
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("screenshot:", screenshot)
    finally:
        if browser:
            browser.terminate()
            browser.wait(timeout=30)
        server.terminate()
        server.wait(timeout=60)
    for failure in failures:
        print("FAIL:", failure)
    print("web chat check:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
