"""grpcurl against a server with auth configured (a static token and an HS256 secret,
docs/settings.md "Authentication"): each refusal comes back with the gRPC code the docs give,
health and reflection stay open."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from conftest import ORG, start_server, stop_server
from grpcurl_tool import grpcurl

TOKEN = "static-token-for-the-client-tests"
CLIENT_ID = "client-tests"
SECRET = "an-hs256-secret-of-the-client-tests"
LIST = "segmentation.v1.SegmentDefinitionService/ListSegmentDefinitions"


@pytest.fixture(scope="module")
def secured():
    tokens = [{"token": TOKEN, "org": ORG, "client_id": CLIENT_ID, "sandboxes": ["prod"]}]
    s = start_server(env={
        "SEGMENTATION_AUTH_STATIC_TOKENS": json.dumps(tokens),
        "SEGMENTATION_AUTH_HS256_SECRET": SECRET,
    })
    yield s
    stop_server(s)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, secret=SECRET):
    """An HS256 JWT, signed as RFC 7515 says (no library: the test shows the format)."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


def claims(**overrides):
    base = {"sub": "tester", "org": ORG, "client_id": CLIENT_ID, "sandboxes": ["prod"],
            "exp": int(time.time()) + 600}
    base.update(overrides)
    return base


def call(server, *, token=None, api_key=CLIENT_ID, org=ORG, sandbox="prod"):
    headers = {}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if api_key is not None:
        headers["x-api-key"] = api_key
    if org is not None:
        headers["x-gw-ims-org-id"] = org
    if sandbox is not None:
        headers["x-sandbox-name"] = sandbox
    return grpcurl(server.grpc, LIST, data={}, headers=headers, tenant=False)


def test_valid_credentials_are_served(secured):
    assert call(secured, token=TOKEN).code == "OK"
    assert call(secured, token=jwt(claims())).code == "OK"
    # A sandbox the token allows, named by default: no x-sandbox-name means `prod`.
    assert call(secured, token=TOKEN, sandbox=None).code == "OK"


@pytest.mark.parametrize("case, kwargs, code", [
    ("no token", {"token": None}, "Unauthenticated"),
    ("unknown static token", {"token": "not-a-token-we-know"}, "Unauthenticated"),
    ("JWT signed with another secret",
     {"token": jwt(claims(), secret="another-secret-of-16-bytes")}, "Unauthenticated"),
    ("expired JWT", {"token": jwt(claims(exp=int(time.time()) - 3600))}, "Unauthenticated"),
    ("no x-api-key", {"token": TOKEN, "api_key": None}, "PermissionDenied"),
    ("x-api-key of another client", {"token": TOKEN, "api_key": "someone-else"},
     "PermissionDenied"),
    ("token for another org", {"token": TOKEN, "org": "OTHER@AdobeOrg"}, "PermissionDenied"),
    ("JWT for another org", {"token": jwt(claims(org="OTHER@AdobeOrg"))}, "PermissionDenied"),
    ("sandbox not allowed", {"token": TOKEN, "sandbox": "dev"}, "PermissionDenied"),
    ("no org header", {"token": TOKEN, "org": None}, "InvalidArgument"),
    ("malformed sandbox name", {"token": TOKEN, "sandbox": "Not A Sandbox"}, "InvalidArgument"),
])
def test_refusals_have_the_documented_codes(secured, case, kwargs, code):
    assert call(secured, **kwargs).code == code, case


def test_a_malformed_authorization_header_is_unauthenticated(secured):
    answer = grpcurl(secured.grpc, LIST, data={}, tenant=False, headers={
        "authorization": f"Basic {TOKEN}", "x-api-key": CLIENT_ID, "x-gw-ims-org-id": ORG,
    })
    assert answer.code == "Unauthenticated"
    assert "token_malformed" in answer.stderr, answer.stderr


def test_health_and_reflection_need_no_credentials(secured):
    assert grpcurl(secured.grpc, "grpc.health.v1.Health/Check", tenant=False).json() == {
        "status": "SERVING"
    }
    listed = grpcurl(secured.grpc, "list", tenant=False)
    assert listed.returncode == 0, listed.stderr
    assert "segmentation.v1.SegmentJobService" in listed.stdout.split()
