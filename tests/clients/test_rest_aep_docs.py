"""The REST gateway driven as an AEP user drives Adobe's Segmentation API: real `curl` processes
making the calls of AEP's segment-definition and segment-job guides, with the same headers
(`Authorization: Bearer`, `x-api-key`, `x-gw-ims-org-id`, `x-sandbox-name`, `Content-Type`) and the
request bodies of Adobe's OpenAPI file (tests/data/aep-segmentation-openapi.yaml) or of the
guides, with only the host and the ids changed.

Every answer's body is validated against the file's schema of its path, method and status
(`aep_openapi.assert_response`, with the documented exceptions of docs/rest.md). The server runs
with a static bearer token, as a deployment with auth does, not in dev mode.
"""

import json
import os
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass

import pytest

import aep_openapi
from aep_openapi import assert_response, assert_valid
from conftest import start_server, stop_server

ORG = "AEPDOCS0123456789@AdobeOrg"
API_KEY = "aep-docs-client"
ACCESS_TOKEN = "aep-docs-" + "t" * 40
SANDBOX = "prod"
OTHER_SANDBOX = "dev"
JOBS_SANDBOX = "jobs"
BASE = "/data/core/ups"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


@pytest.fixture(scope="module")
def host():
    tokens = [{"token": ACCESS_TOKEN, "org": ORG, "client_id": API_KEY, "sandboxes": [SANDBOX, OTHER_SANDBOX, JOBS_SANDBOX]}]
    server = start_server(env={"SEGMENTATION_AUTH_STATIC_TOKENS": json.dumps(tokens)})
    yield server.rest
    stop_server(server)


@dataclass
class Reply:
    status: int
    headers: dict
    text: str

    def json(self):
        return json.loads(self.text)


def curl(method, url, body=None, sandbox=SANDBOX):
    """One curl call as the AEP guides write it: `curl -X METHOD URL -H ... [-d BODY]`."""
    with tempfile.TemporaryDirectory() as tmp:
        head, out = os.path.join(tmp, "head"), os.path.join(tmp, "body")
        args = ["curl", "-sS", "-X", method, url, "-H", f"Authorization: Bearer {ACCESS_TOKEN}"]
        if body is not None:
            args += ["-H", "Content-Type: application/json"]
        args += ["-H", f"x-gw-ims-org-id: {ORG}", "-H", f"x-api-key: {API_KEY}", "-H", f"x-sandbox-name: {sandbox}"]
        if body is not None:
            args += ["-d", body if isinstance(body, str) else json.dumps(body, indent=4)]
        args += ["-D", head, "-o", out, "-w", "%{http_code}"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"curl failed: {done.stderr}"
        headers = {}
        with open(head, encoding="latin-1") as f:
            for line in f.read().splitlines()[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
        with open(out, encoding="utf-8") as f:
            text = f.read()
        return Reply(status=int(done.stdout), headers=headers, text=text)


def expect(reply, status, path, method):
    """Asserts the status, then validates the body against the file (when it has one)."""
    assert reply.status == status, f"{method.upper()} {path}: {reply.status} {reply.text}"
    if status == 204:
        assert reply.text == "", "a 204 carries no body"
        return None
    body = reply.json()
    if status >= 400:
        assert_valid(aep_openapi.ERROR_BODY, body, f"{method.upper()} {path} {status}")
    else:
        assert_response(path, method, status, body)
    return body


def test_the_openapi_copy_is_unmodified():
    assert aep_openapi.sha256_of_copy() == aep_openapi.recorded_sha256()


def test_segment_definitions_as_in_the_aep_guide(host):
    url = f"{host}{BASE}/segment/definitions"

    # Create: the file's two request examples (pql/text and pql/json). Both carry the same name,
    # so the second is refused in the same sandbox (422, "already exists") and created in another.
    text_example = aep_openapi.request_example("/segment/definitions", "post", "pql/text")
    json_example = aep_openapi.request_example("/segment/definitions", "post", "pql/json")
    created = expect(curl("POST", url, text_example), 200, "/segment/definitions", "post")
    seg_id = created["id"]
    assert created["expression"] == text_example["expression"]
    assert created["evaluationInfo"] == text_example["evaluationInfo"]
    assert created["name"] == text_example["name"] and created["imsOrgId"] == ORG
    expect(curl("POST", url, json_example), 422, "/segment/definitions", "post")
    in_dev = curl("POST", url, json_example, sandbox=OTHER_SANDBOX)
    other_id = expect(in_dev, 200, "/segment/definitions", "post")["id"]
    assert in_dev.headers["x-location"] == f"{BASE}/segment/definitions/{other_id}"

    # List (the guide's `?limit=2`), then get by id.
    listed = expect(curl("GET", f"{url}?limit=2"), 200, "/segment/definitions", "get")
    assert [s["id"] for s in listed["segments"]] == [seg_id]
    assert listed["page"]["totalCount"] == 1 and listed["link"] == {}
    got = expect(curl("GET", f"{url}/{seg_id}"), 200, "/segment/definitions/{SEGMENT_ID}", "get")
    assert got == created

    # Overwrite with the guide's PATCH body: the whole definition, read-only fields set to 0.
    patch = {
        "id": seg_id,
        "name": "Updated people who ordered in the last 30 days",
        "profileInstanceId": "ups",
        "description": "Last 30 days",
        "expression": {"type": "PQL", "format": "pql/text", "value": 'workAddress.country = "CA"'},
        "schema": {"name": "_xdm.context.profile"},
        "payloadSchema": "string",
        "creationTime": 0,
        "updateTime": 0,
        "updateEpoch": 0,
    }
    patched_reply = curl("PATCH", f"{url}/{seg_id}", patch)
    patched = expect(patched_reply, 200, "/segment/definitions/{SEGMENT_ID}", "patch")
    assert patched["name"] == patch["name"] and patched["expression"] == patch["expression"]
    assert patched["version"] == 2 and patched["creationTime"] == created["creationTime"]
    assert patched_reply.headers["x-location"] == f"{BASE}/segment/definitions/{seg_id}"

    # Bulk-get: the file's example body with our ids; one found, one not (207).
    missing = str(uuid.uuid4())
    ids = aep_openapi.request_example("/segment/definitions/bulk-get", "post")
    ids["ids"] = [{"id": seg_id}, {"id": missing}]
    bulk = expect(curl("POST", f"{url}/bulk-get", ids), 207, "/segment/definitions/bulk-get", "post")
    assert bulk["results"][seg_id] == patched
    assert list(bulk["results"][missing]["errors"]) == ["404"]

    # Conversion (the guide's body): pql/text to the pql/json tree of API spec §2.2, and back.
    conversion = {
        "name": "People who ordered in the last 30 days",
        "profileInstanceId": "ups",
        "description": "Last 30 days",
        "expression": {"type": "PQL", "format": "pql/text", "value": 'workAddress.country = "US"'},
        "schema": {"name": "_xdm.context.profile"},
        "payloadSchema": "string",
    }
    converted = expect(curl("POST", f"{host}{BASE}/segment/conversion", conversion), 200, "/segment/conversion", "post")
    assert converted["expression"]["format"] == "pql/json"
    assert json.loads(converted["expression"]["value"]) == {
        "nodeType": "fnApply",
        "fnName": "=",
        "params": [
            {
                "nodeType": "fieldLookup",
                "fieldName": "country",
                "object": {
                    "nodeType": "fieldLookup",
                    "fieldName": "workAddress",
                    "object": {"nodeType": "parameterReference", "position": 1},
                },
            },
            {"nodeType": "literal", "literalType": "String", "value": "US"},
        ],
    }
    assert converted["imsOrgId"] == ORG and converted["sandbox"]["sandboxName"] == SANDBOX
    back = expect(
        curl("POST", f"{host}{BASE}/segment/conversion", dict(conversion, expression=converted["expression"])),
        200,
        "/segment/conversion",
        "post",
    )
    assert back["expression"] == conversion["expression"]

    # Delete: 200 {status, message}; then the id is gone.
    deleted = expect(curl("DELETE", f"{url}/{seg_id}"), 200, "/segment/definitions/{SEGMENT_ID}", "delete")
    assert deleted["status"] is True
    expect(curl("GET", f"{url}/{seg_id}"), 404, "/segment/definitions/{SEGMENT_ID}", "get")
    expect(curl("DELETE", f"{url}/{other_id}", sandbox=OTHER_SANDBOX), 200, "/segment/definitions/{SEGMENT_ID}", "delete")


def wait_for_end(host, job_id, sandbox):
    """Polls GET /segment/jobs/{id} as the guide suggests until the job has ended."""
    deadline = time.monotonic() + 120
    while True:
        job = expect(
            curl("GET", f"{host}{BASE}/segment/jobs/{job_id}", sandbox=sandbox),
            200,
            "/segment/jobs/{SEGMENT_JOB_ID}",
            "get",
        )
        if job["status"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"job {job_id} has not ended: {job}"
        time.sleep(0.1)


def test_segment_jobs_as_in_the_aep_guide(host):
    sandbox = JOBS_SANDBOX
    # Data through the ingestion paths: three people, two working in the US, and one event.
    profiles = [
        {"identityMap": {"Email": [{"id": f"p{i}@example.com", "primary": True}]}, "workAddress": {"country": country}}
        for i, country in enumerate(["US", "US", "CA"])
    ]
    ingested = curl("POST", f"{host}/profiles", profiles, sandbox=sandbox)
    assert ingested.status == 200, ingested.text
    assert ingested.json()["summary"] == {"created": 3, "updated": 0, "duplicate": 0, "failed": 0}
    event = [
        {
            "_id": "p0-purchase-1",
            "timestamp": "2026-01-20T10:00:00Z",
            "eventType": "commerce.purchases",
            "identityMap": {"Email": [{"id": "p0@example.com"}]},
        }
    ]
    events = curl("POST", f"{host}/events", event, sandbox=sandbox)
    assert events.status == 200 and events.json()["results"][0]["status"] == "updated", events.text
    again = curl("POST", f"{host}/events", event, sandbox=sandbox)
    assert again.status == 200 and again.json()["results"][0]["status"] == "duplicate", again.text

    defs = f"{host}{BASE}/segment/definitions"
    body = aep_openapi.request_example("/segment/definitions", "post", "pql/text")
    us = expect(curl("POST", defs, body, sandbox=sandbox), 200, "/segment/definitions", "post")["id"]
    body = dict(body, name="Works in Canada", expression={"type": "PQL", "format": "pql/text", "value": 'workAddress.country = "CA"'})
    ca = expect(curl("POST", defs, body, sandbox=sandbox), 200, "/segment/definitions", "post")["id"]

    jobs = f"{host}{BASE}/segment/jobs"
    # The array form, as the guide and the file's example send it.
    explicit = aep_openapi.request_example("/segment/jobs", "post")
    explicit[0]["segmentId"] = us
    job = expect(curl("POST", jobs, explicit, sandbox=sandbox), 200, "/segment/jobs", "post")
    assert job["status"] == "NEW" and [s["segmentId"] for s in job["segments"]] == [us]
    done = wait_for_end(host, job["id"], sandbox)
    assert done["status"] == "SUCCEEDED", done
    assert done["metrics"]["segmentedProfileCounter"] == {us: 2}
    assert done["metrics"]["totalProfiles"] == 3

    # The every-definition form.
    star = {"schema": {"name": "_xdm.context.profile"}, "segments": [{"segmentId": "*"}]}
    all_job = expect(curl("POST", jobs, star, sandbox=sandbox), 200, "/segment/jobs", "post")
    assert all_job["segments"] == [{"segmentId": "*"}]
    all_done = wait_for_end(host, all_job["id"], sandbox)
    assert all_done["status"] == "SUCCEEDED", all_done
    assert all_done["metrics"]["segmentedProfileCounter"] == {us: 2, ca: 1}

    # The list with the guide's query parameters.
    path = "/segment/jobs"
    succeeded = expect(curl("GET", f"{jobs}?status=SUCCEEDED", sandbox=sandbox), 200, path, "get")
    assert {j["id"] for j in succeeded["children"]} == {job["id"], all_job["id"]}
    page = expect(curl("GET", f"{jobs}?start=0&limit=1&sort=creationTime:desc", sandbox=sandbox), 200, path, "get")
    assert [j["id"] for j in page["children"]] == [all_job["id"]]
    assert page["_page"]["totalCount"] == 2 and "href" in page["_links"]["next"]
    second = expect(curl("GET", f"{jobs}?start=1&limit=1&sort=creationTime:desc", sandbox=sandbox), 200, path, "get")
    assert [j["id"] for j in second["children"]] == [job["id"]] and second["_links"]["next"] == {}
    by_segment = expect(curl("GET", f"{jobs}?property=segments~segmentId=={ca}", sandbox=sandbox), 200, path, "get")
    assert [j["id"] for j in by_segment["children"]] == [all_job["id"]]
    expect(curl("GET", f"{jobs}?status=PROCESSING", sandbox=sandbox), 200, path, "get")

    # Get, cancel (204, also for a job that already ended), bulk-get (207).
    one = "/segment/jobs/{SEGMENT_JOB_ID}"
    assert expect(curl("GET", f"{jobs}/{job['id']}", sandbox=sandbox), 200, one, "get")["id"] == job["id"]
    expect(curl("DELETE", f"{jobs}/{job['id']}", sandbox=sandbox), 204, one, "delete")
    assert wait_for_end(host, job["id"], sandbox)["status"] == "SUCCEEDED"
    expect(curl("DELETE", f"{jobs}/{uuid.uuid4()}", sandbox=sandbox), 404, one, "delete")
    missing = str(uuid.uuid4())
    ids = {"ids": [{"id": job["id"]}, {"id": all_job["id"]}, {"id": missing}]}
    bulk = expect(curl("POST", f"{jobs}/bulk-get", ids, sandbox=sandbox), 207, "/segment/jobs/bulk-get", "post")
    assert bulk["results"][all_job["id"]]["status"] == "SUCCEEDED"
    assert list(bulk["results"][missing]["errors"]) == ["404"]

    # A job another tenant asks for does not exist for it.
    expect(curl("GET", f"{jobs}/{job['id']}", sandbox=SANDBOX), 404, one, "get")

    # What the jobs wrote, through this service's own paths: members and a profile's memberships.
    members = curl("GET", f"{host}/segment/definitions/{us}/members", sandbox=sandbox)
    assert members.status == 200 and members.json()["_page"]["totalCount"] == 2, members.text
    profile = curl("GET", f"{host}/profiles?namespace=Email&id=p0@example.com", sandbox=sandbox)
    assert profile.status == 200, profile.text
    membership = profile.json()["segmentMembership"]["ups"]
    # Realized by the first job, still in after the second.
    assert membership[us]["status"] == "existing" and ca not in membership
    assert profile.json()["eventCount"] == 1
    listed = curl("GET", f"{host}/profiles?limit=2", sandbox=sandbox)
    assert listed.status == 200 and listed.json()["_page"]["totalCount"] == 3, listed.text

    # A job whose cancel request comes while it may still run ends CANCELLED or SUCCEEDED.
    last = expect(curl("POST", jobs, [{"segmentId": ca}], sandbox=sandbox), 200, "/segment/jobs", "post")
    expect(curl("DELETE", f"{jobs}/{last['id']}", sandbox=sandbox), 204, one, "delete")
    assert wait_for_end(host, last["id"], sandbox)["status"] in {"CANCELLED", "SUCCEEDED"}
