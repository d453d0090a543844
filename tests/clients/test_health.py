"""The health service answers a real grpcio client without proto files of ours."""

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def test_overall_health_is_serving(server):
    with grpc.insecure_channel(server.grpc) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
