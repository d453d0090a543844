"""grpcurl against a started server, with no proto files: reflection (v1 and v1alpha), `describe`,
health, and a scripted session from a definition to the members of its segment."""

import json

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2

from grpcurl_tool import grpcurl

SERVICES = {
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "segmentation.v1.ProfileService",
    "segmentation.v1.SegmentDefinitionService",
    "segmentation.v1.SegmentJobService",
}

# Every RPC of our services, as `describe` must show them.
RPCS = {
    "segmentation.v1.SegmentDefinitionService": [
        "CreateSegmentDefinition", "GetSegmentDefinition", "ListSegmentDefinitions",
        "UpdateSegmentDefinition", "DeleteSegmentDefinition", "BatchGetSegmentDefinitions",
        "ValidateExpression", "ConvertExpression",
    ],
    "segmentation.v1.ProfileService": [
        "UpsertProfiles", "StreamUpsertProfiles", "IngestEvents", "StreamIngestEvents",
        "GetProfile", "DeleteProfile", "ListProfiles", "ListSegmentMembers",
    ],
    "segmentation.v1.SegmentJobService": [
        "CreateSegmentJob", "GetSegmentJob", "ListSegmentJobs", "BatchGetSegmentJobs",
        "CancelSegmentJob", "WatchSegmentJob",
    ],
    "grpc.health.v1.Health": ["Check", "Watch"],
    "grpc.reflection.v1.ServerReflection": ["ServerReflectionInfo"],
    "grpc.reflection.v1alpha.ServerReflection": ["ServerReflectionInfo"],
}


def test_list_shows_every_service(server):
    listed = grpcurl(server.grpc, "list", tenant=False)
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == SERVICES


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_describe_shows_each_service_with_its_rpcs(server, service):
    described = grpcurl(server.grpc, "describe", service, tenant=False)
    assert described.returncode == 0, described.stderr
    assert f"{service} is a service:" in described.stdout
    for rpc in RPCS[service]:
        assert f"rpc {rpc} (" in described.stdout, f"{rpc} missing from:\n{described.stdout}"


def test_describe_shows_a_message_with_its_fields(server):
    described = grpcurl(
        server.grpc, "describe", "segmentation.v1.CreateSegmentJobRequest", tenant=False
    )
    assert described.returncode == 0, described.stderr
    assert "segmentation.v1.CreateSegmentJobRequest is a message:" in described.stdout
    assert "repeated string segment_ids = 1;" in described.stdout
    assert "optional int64 evaluation_time_ms = 2;" in described.stdout


def reflection_call(address, version, request):
    """One ServerReflectionInfo exchange on `grpc.reflection.<version>`. The v1 and v1alpha
    messages are the same on the wire (v1 is the renamed v1alpha), so the v1alpha message classes
    that grpcio-reflection ships serve both paths."""
    with grpc.insecure_channel(address) as channel:
        call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        return next(iter(call(iter([request]), timeout=10)))


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_answers_on_v1_and_v1alpha(server, version):
    # grpcurl 1.8.6 (the newest on PyPI) asks v1alpha; newer grpcurl and other tools ask v1 first.
    listed = reflection_call(
        server.grpc, version, reflection_pb2.ServerReflectionRequest(list_services="")
    )
    assert {s.name for s in listed.list_services_response.service} == SERVICES
    found = reflection_call(
        server.grpc,
        version,
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="segmentation.v1.SegmentJobService"
        ),
    )
    files = found.file_descriptor_response.file_descriptor_proto
    assert files, f"no descriptor for SegmentJobService over {version}: {found}"
    assert any(b"segmentation/v1/segment_jobs.proto" in f for f in files)


def test_health_check_is_serving_for_the_server_and_each_service(server):
    assert grpcurl(server.grpc, "grpc.health.v1.Health/Check", tenant=False).json() == {
        "status": "SERVING"
    }
    for service in sorted(s for s in SERVICES if s.startswith("segmentation.")):
        answer = grpcurl(
            server.grpc, "grpc.health.v1.Health/Check", data={"service": service}, tenant=False
        )
        assert answer.json() == {"status": "SERVING"}, service
    unknown = grpcurl(
        server.grpc, "grpc.health.v1.Health/Check", data={"service": "no.such.Service"},
        tenant=False,
    )
    assert unknown.code == "NotFound"


def profile(email, city, tier):
    return json.dumps({
        "identityMap": {"Email": [{"id": email, "primary": True}]},
        "homeAddress": {"city": city},
        "loyalty": {"tier": tier},
    })


def purchase(event_id, email, total):
    return json.dumps({
        "_id": event_id,
        "timestamp": "2026-01-15T10:00:00Z",
        "eventType": "commerce.purchases",
        "commerce": {"order": {"priceTotal": total}},
        "identityMap": {"Email": [{"id": email}]},
    })


def test_a_scripted_session_from_definition_to_members(server):
    call = lambda method, data: grpcurl(server.grpc, f"segmentation.v1.{method}", data=data).json()

    toronto = call("SegmentDefinitionService/CreateSegmentDefinition", {
        "segmentDefinition": {
            "name": "grpcurl Toronto gold",
            "expression": {"value": 'homeAddress.city = "Toronto" and loyalty.tier = "gold"'},
        }
    })["segmentDefinition"]
    assert toronto["version"] == "1"  # int64 is a JSON string in the proto3 JSON mapping
    spenders = call("SegmentDefinitionService/CreateSegmentDefinition", {
        "segmentDefinition": {
            "name": "grpcurl spenders",
            "expression": {
                "value": 'xEvent[eventType = "commerce.purchases"].sum(commerce.order.priceTotal) > 100'
            },
        }
    })["segmentDefinition"]

    upserted = call("ProfileService/UpsertProfiles", {"records": [
        profile("ann@example.com", "Toronto", "gold"),
        profile("bob@example.com", "Toronto", "silver"),
        profile("cid@example.com", "Ottawa", "gold"),
        "{\"identityMap\": {}}",
    ]})
    statuses = [r["status"] for r in upserted["results"]]
    assert statuses == ["RECORD_STATUS_CREATED"] * 3 + ["RECORD_STATUS_REJECTED"]
    ids = {email: r["profileId"] for email, r in
           zip(["ann", "bob", "cid"], upserted["results"])}

    ingested = call("ProfileService/IngestEvents", {"records": [
        purchase("e1", "bob@example.com", 80),
        purchase("e2", "bob@example.com", 40.5),
        purchase("e3", "cid@example.com", 99),
        purchase("e3", "cid@example.com", 99),
    ]})
    assert [r["status"] for r in ingested["results"]] == [
        "RECORD_STATUS_UPDATED", "RECORD_STATUS_UPDATED", "RECORD_STATUS_UPDATED",
        "RECORD_STATUS_DUPLICATE",
    ]

    job = call("SegmentJobService/CreateSegmentJob",
               {"segmentIds": [toronto["id"], spenders["id"]]})["segmentJob"]
    assert job["status"] == "JOB_STATUS_NEW"

    watched = grpcurl(server.grpc, "segmentation.v1.SegmentJobService/WatchSegmentJob",
                      data={"id": job["id"]}).messages()
    assert watched, "WatchSegmentJob printed nothing"
    assert watched[-1]["segmentJob"]["status"] == "JOB_STATUS_SUCCEEDED", watched[-1]
    final = call("SegmentJobService/GetSegmentJob", {"id": job["id"]})["segmentJob"]
    assert final["status"] == "JOB_STATUS_SUCCEEDED"
    assert final["metrics"]["segmentedProfileCounter"] == {toronto["id"]: "1", spenders["id"]: "1"}

    for definition, expected in [(toronto, "ann"), (spenders, "bob")]:
        members = call("ProfileService/ListSegmentMembers", {"segmentId": definition["id"]})
        assert [m["profileId"] for m in members["members"]] == [ids[expected]]
        assert members["members"][0]["membership"]["status"] == "MEMBERSHIP_STATUS_REALIZED"
        assert members["totalSize"] == "1"


def test_errors_come_back_with_their_codes(server):
    bad_pql = grpcurl(server.grpc, "segmentation.v1.SegmentDefinitionService/CreateSegmentDefinition",
                      data={"segmentDefinition": {"name": "broken", "expression": {"value": "person.age >"}}})
    assert bad_pql.code == "InvalidArgument"
    # grpcurl prints the google.rpc details it found through reflection.
    assert "invalid_pql" in bad_pql.stderr, bad_pql.stderr
    missing = grpcurl(server.grpc, "segmentation.v1.SegmentJobService/GetSegmentJob",
                      data={"id": "00000000-0000-0000-0000-000000000000"})
    assert missing.code == "NotFound"
