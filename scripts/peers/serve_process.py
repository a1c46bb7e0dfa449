"""Starts `tailor serve` on a free loopback port for the serve peer scripts, and waits until it answers."""
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, seconds=120):
    """The body of GET url once it answers (within `seconds`)."""
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except OSError:
            if time.time() > deadline:
                raise SystemExit(f"{url} did not answer within {seconds} s")
            time.sleep(0.2)


def start_serve(tailor, model, adapter, *extra):
    """`tailor serve --model MODEL --adapter tuned=ADAPTER --served-model-name base` plus `extra`; (process, port)."""
    port = free_port()
    process = subprocess.Popen([tailor, "serve", "--model", model, "--adapter", f"tuned={adapter}", "--port", str(port),
                                "--served-model-name", "base", *extra])
    try:
        wait_http(f"http://127.0.0.1:{port}/health")
    except SystemExit:
        process.terminate()
        raise
    return process, port
