"""A real Node client: tests/clients/node/quickstart.js (@grpc/grpc-js + @grpc/proto-loader, pinned
in tests/clients/node/package-lock.json and installed by scripts/client-tests with npm ci) creates a
definition, runs a job and reads it; the test checks what it printed against the server."""

import pathlib
import re
import shutil
import subprocess

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "tests" / "clients" / "node"
DEMO = {"x-gw-ims-org-id": "DEMO@AdobeOrg", "x-sandbox-name": "prod"}


def node():
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is not on PATH (scripts/client-tests needs Node.js 18 or newer)")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.fail("tests/clients/node/node_modules is missing; run through scripts/client-tests")
    return path


def test_node_quickstart_runs_a_job_and_reads_it(server):
    # Profiles for the quickstart's definition to find: two match, one does not.
    people = ["ann@node.example", "bea@node.example", "cy@elsewhere.example"]
    answer = requests.post(f"{server.rest}/profiles", headers=DEMO, timeout=30, json=[
        {"identityMap": {"Email": [{"id": e}]}, "personalEmail": {"address": e}} for e in people
    ])
    assert answer.status_code == 200, answer.text

    done = subprocess.run([node(), str(NODE_DIR / "quickstart.js"), server.grpc], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    definition = re.fullmatch(r"definition (\S+)", lines[0]).group(1)
    job_id, status, members = re.fullmatch(r"job (\S+) (\S+) members: (\d+)", lines[-1]).groups()
    # ann and bea from above, and ada whom the quickstart upserts itself.
    assert (status, members) == ("JOB_STATUS_SUCCEEDED", "3")

    # The server agrees: the job and the definition it printed exist, with those members.
    job = requests.get(f"{server.rest}/segment/jobs/{job_id}", headers=DEMO, timeout=30).json()
    assert job["status"] == "SUCCEEDED", job
    assert [s["segmentId"] for s in job["segments"]] == [definition]
    assert job["metrics"]["segmentedProfileCounter"] == {definition: 3}
