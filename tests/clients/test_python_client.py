"""A real Python client: grpcio with stubs generated from proto/ at test time (grpc_tools.protoc),
the flow from definitions to members with WatchSegmentJob streaming, a client-streaming bulk upsert
of 10,000 profiles, and grpc.health.v1 Check and Watch."""

import importlib
import json
import pathlib
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import ORG, SANDBOX

REPO = pathlib.Path(__file__).resolve().parents[2]
TENANT = (("x-gw-ims-org-id", ORG), ("x-sandbox-name", SANDBOX))
# The bulk test has a sandbox of its own, so its 10,000 profiles leave the others' counts alone.
BULK = (("x-gw-ims-org-id", ORG), ("x-sandbox-name", "bulk"))
TERMINAL = {"JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"}


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """The generated modules, as a namespace: pb.profiles_pb2, pb.segment_jobs_pb2_grpc, ..."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("stubs")
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(REPO / "proto")) for p in (REPO / "proto").rglob("*.proto"))
    status = protoc.main([
        "grpc_tools.protoc", f"-I{REPO / 'proto'}", f"-I{well_known}",
        f"--python_out={out}", f"--grpc_python_out={out}", *protos,
    ])
    assert status == 0, f"grpc_tools.protoc failed on {protos}"
    sys.path.insert(0, str(out))
    try:
        names = ["common_pb2", "jobs_types_pb2", "profiles_pb2", "profiles_pb2_grpc",
                 "segment_definitions_pb2", "segment_definitions_pb2_grpc", "segment_jobs_pb2",
                 "segment_jobs_pb2_grpc"]
        modules = {n: importlib.import_module(f"segmentation.v1.{n}") for n in names}
    finally:
        sys.path.remove(str(out))
    return type("pb", (), modules)


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(server.grpc) as ch:
        yield ch


@pytest.fixture(scope="module")
def stubs(pb, channel):
    return type("stubs", (), {
        "definitions": pb.segment_definitions_pb2_grpc.SegmentDefinitionServiceStub(channel),
        "profiles": pb.profiles_pb2_grpc.ProfileServiceStub(channel),
        "jobs": pb.segment_jobs_pb2_grpc.SegmentJobServiceStub(channel),
    })


def create_definition(pb, stubs, name, pql, tenant=TENANT):
    request = pb.segment_definitions_pb2.CreateSegmentDefinitionRequest(
        segment_definition=pb.segment_definitions_pb2.SegmentDefinition(
            name=name, expression=pb.common_pb2.Expression(value=pql)
        )
    )
    return stubs.definitions.CreateSegmentDefinition(
        request, metadata=tenant, timeout=30
    ).segment_definition


def run_job(pb, stubs, segment_ids, tenant=TENANT):
    """Creates a job and follows it with WatchSegmentJob; returns the status names seen in order
    and the last job message."""
    job = stubs.jobs.CreateSegmentJob(
        pb.segment_jobs_pb2.CreateSegmentJobRequest(segment_ids=segment_ids),
        metadata=tenant, timeout=30,
    ).segment_job
    seen, last = [], None
    for update in stubs.jobs.WatchSegmentJob(
        pb.segment_jobs_pb2.WatchSegmentJobRequest(id=job.id), metadata=tenant, timeout=300
    ):
        last = update.segment_job
        seen.append(pb.jobs_types_pb2.JobStatus.Name(last.status))
    assert last is not None, "WatchSegmentJob ended without a message"
    return seen, last


def assert_in_life_cycle_order(seen):
    order = ["JOB_STATUS_NEW", "JOB_STATUS_QUEUED", "JOB_STATUS_PROCESSING", "JOB_STATUS_SUCCEEDED"]
    positions = [order.index(s) for s in seen]  # a status outside the happy path fails here
    assert positions == sorted(positions), f"statuses out of order: {seen}"
    assert seen[-1] == "JOB_STATUS_SUCCEEDED", seen
    assert seen.count("JOB_STATUS_SUCCEEDED") == 1, f"the stream went on after the end: {seen}"


def all_members(pb, stubs, segment_id, tenant=TENANT):
    ids, token = [], ""
    while True:
        page = stubs.profiles.ListSegmentMembers(
            pb.profiles_pb2.ListSegmentMembersRequest(
                segment_id=segment_id, page_size=1000, page_token=token
            ),
            metadata=tenant, timeout=30,
        )
        ids += [m.profile_id for m in page.members]
        token = page.next_page_token
        if not token:
            return ids, page.total_size


def test_definitions_profiles_events_job_members(pb, stubs):
    adults = create_definition(pb, stubs, "python adults", "person.age >= 18")
    buyers = create_definition(
        pb, stubs, "python buyers", 'xEvent[eventType = "commerce.purchases"].count() >= 2'
    )
    assert adults.version == 1 and adults.id

    people = [("p0@python.test", 30), ("p1@python.test", 12), ("p2@python.test", 64)]
    upserted = stubs.profiles.UpsertProfiles(pb.profiles_pb2.UpsertProfilesRequest(records=[
        json.dumps({"identityMap": {"Email": [{"id": email}]}, "person": {"age": age}})
        for email, age in people
    ]), metadata=TENANT, timeout=30)
    assert upserted.counts.created == 3 and upserted.counts.rejected == 0
    ids = [r.profile_id for r in upserted.results]

    events = [
        {"_id": f"buy-{n}", "timestamp": f"2026-03-0{n + 1}T12:00:00Z",
         "eventType": "commerce.purchases", "identityMap": {"Email": [{"id": email}]}}
        for n, email in enumerate(["p1@python.test", "p1@python.test", "p2@python.test"])
    ]
    ingested = stubs.profiles.IngestEvents(pb.profiles_pb2.IngestEventsRequest(
        records=[json.dumps(e) for e in events]), metadata=TENANT, timeout=30)
    assert ingested.counts.updated == 3, ingested

    seen, job = run_job(pb, stubs, [adults.id, buyers.id])
    assert_in_life_cycle_order(seen)
    assert job.profiles_done == 3 and job.profiles_total == 3
    assert dict(job.metrics.segmented_profile_counter) == {adults.id: 2, buyers.id: 1}

    assert all_members(pb, stubs, adults.id) == (sorted([ids[0], ids[2]]), 2)
    assert all_members(pb, stubs, buyers.id) == ([ids[1]], 1)

    profile = stubs.profiles.GetProfile(pb.profiles_pb2.GetProfileRequest(
        identity=pb.profiles_pb2.Identity(namespace="Email", id="p1@python.test")),
        metadata=TENANT, timeout=30).profile
    assert profile.event_count == 2
    assert [(m.segment_id, m.status) for m in profile.memberships] == [
        (buyers.id, pb.jobs_types_pb2.MEMBERSHIP_STATUS_REALIZED)
    ]


def test_client_streaming_bulk_upsert_of_10000_profiles(pb, stubs):
    total, batch = 10_000, 1_000  # 1000 records is the default limit of one stream message

    def batches():
        for start in range(0, total, batch):
            yield pb.profiles_pb2.StreamUpsertProfilesRequest(records=[
                json.dumps({"identityMap": {"CRMID": [{"id": f"bulk-{i}"}]},
                            "loyalty": {"points": i % 1000}})
                for i in range(start, start + batch)
            ])

    answer = stubs.profiles.StreamUpsertProfiles(batches(), metadata=BULK, timeout=600)
    assert answer.batch_count == total // batch
    assert answer.counts.created == total
    assert (answer.counts.updated, answer.counts.rejected, len(answer.rejected)) == (0, 0, 0)

    # The same stream again updates every profile instead of creating new ones.
    again = stubs.profiles.StreamUpsertProfiles(batches(), metadata=BULK, timeout=600)
    assert (again.counts.created, again.counts.updated) == (0, total)

    # A job over them finds exactly the profiles the generator made to qualify.
    high = create_definition(pb, stubs, "python bulk high points", "loyalty.points >= 900", BULK)
    seen, job = run_job(pb, stubs, [high.id], BULK)
    assert_in_life_cycle_order(seen)
    assert job.profiles_total == total
    assert job.metrics.segmented_profile_counter[high.id] == total // 10
    members, size = all_members(pb, stubs, high.id, BULK)
    assert size == total // 10 and len(set(members)) == total // 10


def test_a_malformed_batch_ends_the_stream_and_keeps_the_batches_before_it(pb, stubs):
    def batches():
        yield pb.profiles_pb2.StreamUpsertProfilesRequest(
            records=[json.dumps({"identityMap": {"CRMID": [{"id": "before-the-bad-batch"}]}})])
        yield pb.profiles_pb2.StreamUpsertProfilesRequest(records=[])  # empty: malformed

    with pytest.raises(grpc.RpcError) as refused:
        stubs.profiles.StreamUpsertProfiles(batches(), metadata=TENANT, timeout=60)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    kept = stubs.profiles.GetProfile(pb.profiles_pb2.GetProfileRequest(
        identity=pb.profiles_pb2.Identity(namespace="CRMID", id="before-the-bad-batch")),
        metadata=TENANT, timeout=30)
    assert kept.profile.id


def test_bad_pql_is_invalid_argument_with_its_position(pb, stubs):
    with pytest.raises(grpc.RpcError) as refused:
        create_definition(pb, stubs, "python broken", "person.age >")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1:" in refused.value.details(), refused.value.details()


def test_health_check_and_watch(channel, pb):
    health = health_pb2_grpc.HealthStub(channel)
    for service in ["", "segmentation.v1.ProfileService", "segmentation.v1.SegmentJobService",
                    "segmentation.v1.SegmentDefinitionService"]:
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, service

    with pytest.raises(grpc.RpcError) as unknown:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    # Watch sends the current status at once; the stream stays open for changes.
    watch = health.Watch(health_pb2.HealthCheckRequest(service="segmentation.v1.ProfileService"),
                         timeout=30)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()
    # An unknown service ends the Watch with NOT_FOUND, as Check does (tonic-health's answer;
    # docs/service.md, Health).
    with pytest.raises(grpc.RpcError) as unknown_watch:
        next(health.Watch(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=30))
    assert unknown_watch.value.code() == grpc.StatusCode.NOT_FOUND
