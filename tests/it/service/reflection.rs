//! Server reflection v1 and v1alpha list and describe the contract (what grpcurl relies on).

use tokio_stream::StreamExt;

use super::*;

#[tokio::test]
async fn v1_lists_services_and_resolves_symbols() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = spawn_server().await;
    let mut client = ServerReflectionClient::new(server.channel());
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "segmentation.v1.ProfileService".into(),
            )),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "google.rpc.BadRequest".into(),
            )),
        },
    ];
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("reflection")
        .into_inner();
    let first = responses.next().await.expect("list").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = first.message_response else {
        panic!("expected a service list, got {first:?}")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for wanted in [
        "segmentation.v1.ProfileService",
        "segmentation.v1.SegmentJobService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} missing from {names:?}"
        );
    }
    for symbol in ["segmentation.v1.ProfileService", "google.rpc.BadRequest"] {
        let response = responses.next().await.expect("symbol").expect("ok");
        let Some(MessageResponse::FileDescriptorResponse(files)) = response.message_response else {
            panic!("{symbol}: expected file descriptors, got {response:?}")
        };
        assert!(!files.file_descriptor_proto.is_empty(), "{symbol}");
    }
    server.stop().await;
}

#[tokio::test]
async fn v1alpha_lists_services() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let server = spawn_server().await;
    let mut client = ServerReflectionClient::new(server.channel());
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(vec![ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        }]))
        .await
        .expect("reflection")
        .into_inner();
    let first = responses.next().await.expect("list").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = first.message_response else {
        panic!("expected a service list, got {first:?}")
    };
    // grpcurl 1.8 lists through v1alpha: it must show both reflection versions too.
    for wanted in [
        "segmentation.v1.ProfileService",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            list.service.iter().any(|s| s.name == wanted),
            "{wanted} missing from {:?}",
            list.service
        );
    }
    server.stop().await;
}
