"""Adobe's OpenAPI file of the Segmentation API (tests/data/aep-segmentation-openapi.yaml, an
unmodified copy) as JSON Schema, for validating what the gateway answers over the wire.

OpenAPI 3.0 schemas are a dialect of JSON Schema draft 4: YAML's integer status keys become
strings, `nullable: true` becomes a `null` alternative of `type`, and a schema is validated inside
a document that carries the file's `components`, so `#/components/schemas/...` references resolve
where they point.

Where the file is wrong (docs/rest.md, "Where Adobe's OpenAPI file is wrong"), the helpers below
say so next to the check they make instead; the numbers refer to that list.
"""

import copy
import hashlib
import os
import re

import jsonschema
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENAPI_PATH = os.path.join(REPO, "tests", "data", "aep-segmentation-openapi.yaml")
DATA_README = os.path.join(REPO, "tests", "data", "README.md")


def _stringify_keys(node):
    if isinstance(node, dict):
        return {str(k): _stringify_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(v) for v in node]
    return node


def _nullable_to_json_schema(node):
    if isinstance(node, dict):
        out = {k: _nullable_to_json_schema(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    return node


def load_raw():
    """The file as parsed YAML with string keys (what schemathesis is given)."""
    with open(OPENAPI_PATH, encoding="utf-8") as f:
        return _stringify_keys(yaml.safe_load(f))


SPEC = _nullable_to_json_schema(load_raw())


def sha256_of_copy():
    with open(OPENAPI_PATH, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def recorded_sha256():
    """The hash tests/data/README.md records for the unmodified copy."""
    with open(DATA_README, encoding="utf-8") as f:
        found = re.search(r"`aep-segmentation-openapi\.yaml`[^\n]*sha256 `([0-9a-f]{64})`", f.read())
    assert found, "tests/data/README.md records no sha256 for aep-segmentation-openapi.yaml"
    return found.group(1)


def response_schema(path, method, status):
    """The JSON schema of one documented response, or None when the file documents no body."""
    response = SPEC["paths"][path][method]["responses"].get(str(status))
    assert response is not None, f"{method.upper()} {path} documents no {status}"
    content = response.get("content") or {}
    media = content.get("application/json")
    return None if media is None else media.get("schema")


def component(name):
    assert name in SPEC["components"]["schemas"], f"no component schema {name}"
    return {"$ref": f"#/components/schemas/{name}"}


def request_example(path, method, name=None):
    """A request body example of the file: a named one, or the single `example`."""
    media = SPEC["paths"][path][method]["requestBody"]["content"]["application/json"]
    if name is None:
        return copy.deepcopy(media["example"])
    return copy.deepcopy(media["examples"][name]["value"])


def errors_of(schema, instance):
    doc = dict(schema)
    doc["components"] = SPEC["components"]
    validator = jsonschema.Draft4Validator(doc)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(instance)]


def assert_valid(schema, instance, what):
    assert schema is not None, f"no schema for {what}"
    errors = errors_of(schema, instance)
    assert not errors, f"{what} does not match the OpenAPI schema:\n" + "\n".join(errors) + f"\n{instance}"


# Envelope A of API spec §2.11: the file types the definitions list as one SegmentDefinition
# (wrong item 1), so the envelope is checked against this and each item against the file.
DEFINITION_LIST_ENVELOPE = {
    "type": "object",
    "required": ["segments", "page", "link"],
    "additionalProperties": False,
    "properties": {
        "segments": {"type": "array", "items": {"$ref": "#/components/schemas/SegmentDefinition"}},
        "page": {
            "type": "object",
            "required": ["totalCount", "totalPages", "sortField", "sort", "pageSize", "limit"],
            "properties": {
                "totalCount": {"type": "integer", "minimum": 0},
                "totalPages": {"type": "integer", "minimum": 0},
                "sortField": {"enum": ["name", "creationTime", "updateTime"]},
                "sort": {"enum": ["asc", "desc"]},
                "pageSize": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 1},
                "start": {"type": "integer", "minimum": 0},
                "next": {"type": "integer", "minimum": 0},
            },
        },
        "link": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"next": {"type": "string", "minLength": 1}},
        },
    },
}


def _job_for_schema(job):
    """A `*` job lists its segments as `[{"segmentId": "*"}]` (prose §2.3), which the file's
    SegmentInfo (requiring `segment`) does not allow (wrong item 14): that one field is checked
    on its own, the rest of the job against the file."""
    if job.get("segments") == [{"segmentId": "*"}]:
        job = dict(job)
        job["segments"] = []
    return job


def assert_response(path, method, status, body):
    """Validates `body` against the file's schema of path+method+status (with the documented
    exceptions above)."""
    what = f"{method.upper()} {path} {status}"
    if (path, method, status) == ("/segment/definitions", "get", 200):
        assert_valid(DEFINITION_LIST_ENVELOPE, body, what)
        return
    schema = response_schema(path, method, status)
    if path.startswith("/segment/jobs") and status == 200:
        if "children" in body:
            body = dict(body, children=[_job_for_schema(j) for j in body["children"]])
        else:
            body = _job_for_schema(body)
    assert_valid(schema, body, what)
    # Bulk-get 207: the file's schema is a sample with two fixed ids as properties (wrong item
    # 3), so it constrains nothing for other ids; every found entry is checked on its own.
    if status == 207:
        item = component("SegmentJob" if path.startswith("/segment/jobs") else "SegmentDefinition")
        for key, entry in body["results"].items():
            if "id" not in entry:
                assert_valid(NOT_FOUND_ENTRY, entry, f"{what} entry {key}")
            else:
                entry = _job_for_schema(entry) if "metrics" in entry else entry
                assert_valid(item, entry, f"{what} entry {key}")


# A bulk-get entry for an id that was not found (prose §0; absent from the file).
NOT_FOUND_ENTRY = {
    "type": "object",
    "required": ["requestId", "errors"],
    "properties": {
        "requestId": {"type": "string", "minLength": 1},
        "errors": {
            "type": "object",
            "required": ["404"],
            "properties": {
                "404": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "object", "required": ["code", "message"]},
                }
            },
        },
    },
}

# The AEP service error body, shape (b) of API spec §1.3.
ERROR_BODY = {
    "type": "object",
    "required": ["requestId", "errors", "type", "title", "status"],
    "properties": {
        "requestId": {"type": "string", "minLength": 1},
        "errors": {"type": "object", "minProperties": 1, "maxProperties": 1},
        "type": {"type": "string", "pattern": "^https://ns\\.adobe\\.com/aep/errors/(UPAPI|UPLIB)-[0-9]+-[0-9]{3}$"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
    },
}
