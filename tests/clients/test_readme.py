"""Every command the README shows is one a test runs.

The ```sh blocks of README.md run in order, each with `bash` under `set -euo pipefail` from the
repository root, against a fresh server started as `cargo run --release -- --demo` starts it (the
built binary with `--demo` and no subcommand), once the demo data's loaded line is logged. Only the
host:ports are rewritten: 127.0.0.1:50051 and 127.0.0.1:8080 become the test server's. Where the
README says what comes out, the test checks that it does. The few blocks that cannot run this way
are listed in NOT_RUN_HERE with the reason and the test that covers them instead.

The code snippets the README shows (marked `<!-- snippet: PATH -->`) must equal the files the
client tests run.
"""

import pathlib
import re
import subprocess

import pytest

from conftest import start_server, stop_server, wait_for_log

REPO = pathlib.Path(__file__).resolve().parents[2]
README = REPO / "README.md"

# Blocks not run by this test, by their first line: why, and what runs them instead.
NOT_RUN_HERE = {
    "cargo run --release -- --demo":
        "starts the server in the foreground and builds a release binary; this test starts the "
        "debug binary scripts/client-tests built with the same arguments (`--demo`, no "
        "subcommand), and every other block here runs against it",
    "SEGMENTATION_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test scripts/test":
        "is the test command itself (CI runs it through .ci/run); this test is part of it",
    "cargo build --release --locked":
        "is the Dockerfile's build step, shown as it runs there; test_deploy.py checks the two "
        "are identical, and scripts/client-tests runs the same build in the debug profile",
    "docker build -t segmentation:0.1.0 .":
        "needs a container engine, which the test environment lacks; test_deploy.py checks the "
        "Dockerfile and this section against each other",
    "docker run --rm -p 50051:50051 -p 8080:8080 \\":
        "needs a container engine; test_deploy.py checks every variable it sets is a documented "
        "setting and that the server refuses 0.0.0.0 without auth, as this section says",
    "kubectl create secret generic segmentation \\":
        "needs a Kubernetes cluster; test_deploy.py checks the manifest's probes, ports, secret "
        "keys and settings",
}

# What the README says comes out of a block: a block gets the patterns of the first marker (a
# substring) it contains, and each pattern must be found (re.search, multiline) in its stdout.
# Every marker must name a block, so an entry cannot go stale.
EXPECTED = [
    ("127.0.0.1:50051 list", [
        r"^segmentation\.v1\.SegmentJobService$", r"^grpc\.health\.v1\.Health$",
        r"segmentation\.v1\.SegmentDefinitionService is a service:",
        r"rpc WatchSegmentJob \( \.segmentation\.v1\.WatchSegmentJobRequest \) returns \( stream",
        r"segmentation\.v1\.CreateSegmentDefinitionRequest is a message:",
    ]),
    ("grpc.health.v1.Health/Check", [r'"status": "SERVING"[\s\S]*"status": "SERVING"']),
    ("pageToken", [r'"nextPageToken"', r'"name": "Gold and platinum members"']),
    ("SegmentDefinitionService/CreateSegmentDefinition", [
        r'"name": "Toronto loyalty members"', r'"version": "1"',
    ]),
    ("ProfileService/UpsertProfiles", [
        r'"status": "RECORD_STATUS_CREATED"[\s\S]*"status": "RECORD_STATUS_UPDATED"',
    ]),
    ("ProfileService/GetProfile", [
        r'"id": "anna\.garcia\.0@corp\.co\.uk"', r'"id": "ann@example\.com"', r'"eventCount": "1"',
    ]),
    ("SegmentJobService/CreateSegmentJob", [
        r'"status": "JOB_STATUS_SUCCEEDED"', r'"status": "MEMBERSHIP_STATUS_REALIZED"',
    ]),
    ("segment/definitions?limit=3'", [r'^\{"segments":\[', r'"link":\{"next":"/segment/definitions\?start=3']),
    ('"value": "person.age >"', [r'"status":400', r'1:13: unexpected end of input']),
    ("bulk-get", [r'"no-such-definition":\{[^{]*"errors":\{"404"', r'"name":"Gold and platinum members"']),
    ("segment/conversion", [r'"format":"pql/json"', r'\\"nodeType\\":\\"fnApply\\"']),
    ("127.0.0.1:8080/profiles \\", [r'"status":"created"[\s\S]*"status":"updated"']),
    ("namespace=Email&id=carol", [r'"id":"anna\.garcia\.0@corp\.co\.uk"', r'"id":"carol@example\.com"']),
    ("grpc_tools.protoc", [r"^upserted 3 profiles$",
                           r"^job \S+ JOB_STATUS_SUCCEEDED (\d+)/\1 profiles$", r"^members: 2$"]),
    ("pql check", [
        r'^person\.name\.firstName\.startsWith\("an", false\) and homeAddress\.city = "Toronto"$',
        r'"nodeType": "fnApply"', r"^ana$",
    ]),
    ("quickstart.js", [r"^job \S+ JOB_STATUS_SUCCEEDED members: 1$"]),
]


def blocks(language):
    """The fenced blocks of README.md in `language`, in order, as (line number, text)."""
    found, lines = [], README.read_text().splitlines()
    at = 0
    while at < len(lines):
        if lines[at].strip() == f"```{language}":
            start = at + 1
            at = start
            while lines[at].strip() != "```":
                at += 1
            found.append((start, "\n".join(lines[start:at]) + "\n"))
        at += 1
    return found


def first_line(block):
    return block.splitlines()[0]


def expectations(block):
    for marker, patterns in EXPECTED:
        if marker in block:
            return patterns
    return []


@pytest.fixture(scope="module")
def demo():
    # The README's `cargo run --release -- --demo`: the default command with `--demo`.
    s = start_server("--demo", command=(), timeout=600)
    wait_for_log(s, "demo sandbox loaded", timeout=60)
    yield s
    stop_server(s)


def test_every_sh_block_is_run_or_listed_with_a_reason():
    firsts = [first_line(text) for _, text in blocks("sh")]
    for listed in NOT_RUN_HERE:
        assert firsts.count(listed) == 1, f"NOT_RUN_HERE names no single README block: {listed}"
    for marker, _ in EXPECTED:
        assert any(marker in text for _, text in runnable()), f"EXPECTED names no block: {marker}"


def test_the_readme_snippets_are_the_files_the_tests_run():
    text = README.read_text()
    snippets = re.findall(r"<!-- snippet: (\S+) -->\n```\w+\n(.*?)```\n", text, re.S)
    assert {path for path, _ in snippets} == {
        "tests/clients/examples/quickstart.py", "tests/clients/node/quickstart.js",
    }
    for path, shown in snippets:
        assert shown == (REPO / path).read_text(), f"README's snippet of {path} differs from the file"


def runnable():
    return [(line, text) for line, text in blocks("sh") if first_line(text) not in NOT_RUN_HERE]


def test_the_sh_blocks_run_in_order_against_a_fresh_demo_server(demo):
    rest = demo.rest.removeprefix("http://")
    failures = []
    for line, text in runnable():
        script = text.replace("127.0.0.1:50051", demo.grpc).replace("127.0.0.1:8080", rest)
        done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        where = f"README.md line {line} ({first_line(text)!r})"
        assert done.returncode == 0, (
            f"{where} failed with exit {done.returncode}:\n{done.stdout}\n{done.stderr}")
        for pattern in expectations(text):
            if not re.search(pattern, done.stdout, re.M):
                failures.append(f"{where}: no {pattern!r} in:\n{done.stdout[-3000:]}")
    assert not failures, "\n\n".join(failures)
