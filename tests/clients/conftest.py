"""Shared fixtures for the client tests: a real `segmentation` server on loopback.

`scripts/client-tests` builds the binary and sets SEGMENTATION_BIN; each fixture starts its own
server process on a fresh SQLite file with ports picked by the OS (`127.0.0.1:0`) and reads the
bound addresses from the server's JSON `listening` log line.
"""

import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

import pytest

ORG = "CLIENTS@AdobeOrg"
SANDBOX = "prod"


@dataclass
class Server:
    grpc: str  # host:port
    rest: str  # http://host:port
    process: subprocess.Popen
    log: list

    def headers(self, org=ORG, sandbox=SANDBOX):
        return {"x-gw-ims-org-id": org, "x-sandbox-name": sandbox}

    def metadata(self, org=ORG, sandbox=SANDBOX):
        return (("x-gw-ims-org-id", org), ("x-sandbox-name", sandbox))


def binary():
    path = os.environ.get("SEGMENTATION_BIN")
    if not path or not os.path.exists(path):
        pytest.fail("SEGMENTATION_BIN is not set to the built server; run through scripts/client-tests")
    return path


def start_server(*extra_args, env=None):
    """Starts the server with `extra_args` and waits for its `listening` line (30 s at most)."""
    workdir = tempfile.mkdtemp(prefix="seg-client-")
    args = [
        binary(),
        "serve",
        "--grpc-addr", "127.0.0.1:0",
        "--rest-addr", "127.0.0.1:0",
        "--database-url", f"sqlite://{workdir}/db.sqlite?mode=rwc",
        "--log-format", "json",
        "--job-poll-interval-ms", "100",
        *extra_args,
    ]
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    log = []
    ready = threading.Event()
    found = {}

    def pump():
        for line in process.stdout:
            log.append(line)
            if not ready.is_set():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                fields = record.get("fields", record)
                if fields.get("message") == "listening":
                    found["grpc"] = fields["grpc"]
                    found["rest"] = fields["rest"]
                    ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 30
    while not ready.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the server did not start:\n" + "".join(log))
    return Server(grpc=found["grpc"], rest=f"http://{found['rest']}", process=process, log=log)


def stop_server(server):
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        pytest.fail("the server did not stop within 15 s of SIGTERM")


@pytest.fixture(scope="module")
def server():
    """One server per test module (dev mode, SQLite)."""
    s = start_server()
    yield s
    stop_server(s)
