"""Python quickstart: a segment definition, three profiles, a segment job followed to its end
over WatchSegmentJob, then the members of the segment.

Usage: python quickstart.py [HOST:PORT]   (stubs generated from proto/ on PYTHONPATH)
"""

import json
import sys
import time

import grpc
from segmentation.v1 import (
    common_pb2,
    jobs_types_pb2,
    profiles_pb2,
    profiles_pb2_grpc,
    segment_definitions_pb2,
    segment_definitions_pb2_grpc,
    segment_jobs_pb2,
    segment_jobs_pb2_grpc,
)

address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
# The tenant travels as metadata, the same headers as AEP's REST API.
tenant = (("x-gw-ims-org-id", "DEMO@AdobeOrg"), ("x-sandbox-name", "prod"))

with grpc.insecure_channel(address) as channel:
    definitions = segment_definitions_pb2_grpc.SegmentDefinitionServiceStub(channel)
    profiles = profiles_pb2_grpc.ProfileServiceStub(channel)
    jobs = segment_jobs_pb2_grpc.SegmentJobServiceStub(channel)

    definition = definitions.CreateSegmentDefinition(
        segment_definitions_pb2.CreateSegmentDefinitionRequest(
            segment_definition=segment_definitions_pb2.SegmentDefinition(
                name=f"Python quickstart {time.time_ns()}",  # names are unique per sandbox
                expression=common_pb2.Expression(
                    value='personalEmail.address.endsWith("@python.example", false)'
                ),
            )
        ),
        metadata=tenant,
    ).segment_definition
    print("definition", definition.id)

    # Records are XDM documents as JSON text; each gets its own result.
    records = [
        {"identityMap": {"Email": [{"id": f"{name}@python.example"}]},
         "personalEmail": {"address": f"{name}@python.example"}}
        for name in ["ada", "grace"]
    ] + [{"identityMap": {"Email": [{"id": "linus@elsewhere.example"}]},
          "personalEmail": {"address": "linus@elsewhere.example"}}]
    upserted = profiles.UpsertProfiles(
        profiles_pb2.UpsertProfilesRequest(records=[json.dumps(r) for r in records]),
        metadata=tenant,
    )
    print("upserted", len(upserted.results), "profiles")

    job = jobs.CreateSegmentJob(
        segment_jobs_pb2.CreateSegmentJobRequest(segment_ids=[definition.id]), metadata=tenant
    ).segment_job
    # WatchSegmentJob streams the job at each change of status or progress until it ends.
    for update in jobs.WatchSegmentJob(
        segment_jobs_pb2.WatchSegmentJobRequest(id=job.id), metadata=tenant, timeout=300
    ):
        status = jobs_types_pb2.JobStatus.Name(update.segment_job.status)
        done, total = update.segment_job.profiles_done, update.segment_job.profiles_total
        print("job", job.id, status, f"{done}/{total} profiles")

    members = profiles.ListSegmentMembers(
        profiles_pb2.ListSegmentMembersRequest(segment_id=definition.id), metadata=tenant
    )
    print("members:", members.total_size)
