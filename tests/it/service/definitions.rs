//! SegmentDefinitionService, every RPC, on every backend: create/get/list/update/delete,
//! batch get with per-id results, validation findings, conversion, the rich error details of bad
//! PQL, refusals that write nothing, and tenant isolation.

use tonic::Code;
use tonic_types::StatusExt;

use super::*;
use pb::segment_definition_result::Result as Outcome;

const ORG: &str = "DEFINITIONS01@AdobeOrg";

fn text(value: &str) -> pb::Expression {
    pb::Expression {
        format: pb::ExpressionFormat::PqlText as i32,
        value: value.to_owned(),
    }
}

fn definition(name: &str, pql: &str) -> pb::SegmentDefinition {
    pb::SegmentDefinition {
        name: name.to_owned(),
        description: format!("{name} people"),
        expression: Some(text(pql)),
        ..Default::default()
    }
}

async fn create(client: &mut DefinitionsClient, name: &str, pql: &str) -> pb::SegmentDefinition {
    client
        .create_segment_definition(pb::CreateSegmentDefinitionRequest {
            segment_definition: Some(definition(name, pql)),
        })
        .await
        .unwrap_or_else(|s| panic!("create {name}: {s:?}"))
        .into_inner()
        .segment_definition
        .expect("definition")
}

async fn count(client: &mut DefinitionsClient) -> i64 {
    client
        .list_segment_definitions(pb::ListSegmentDefinitionsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .total_size
}

#[tokio::test]
async fn create_get_update_delete() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let mut client = server.definitions(&Caller::new(ORG, "prod"));
        let created = create(&mut client, "Canadians", "homeAddress.countryCode = \"CA\"").await;
        assert!(uuid::Uuid::parse_str(&created.id).is_ok());
        assert_eq!(created.version, 1);
        assert_eq!(created.schema_name, "_xdm.context.profile");
        assert_eq!(created.org_id, ORG);
        assert_eq!(created.sandbox_name, "prod");
        assert_eq!(created.description, "Canadians people");
        assert!(
            created.evaluation_info.expect("info").batch_enabled,
            "batch by default"
        );
        assert!(created.create_time_ms > 0);

        let got = client
            .get_segment_definition(pb::GetSegmentDefinitionRequest {
                id: created.id.clone(),
            })
            .await
            .expect("get")
            .into_inner()
            .segment_definition
            .expect("definition");
        assert_eq!(got, created);

        let mut changed = definition(
            "Canadians and Mexicans",
            "homeAddress.countryCode in [\"CA\", \"MX\"]",
        );
        changed.id = created.id.clone();
        changed.ttl_in_days = 30;
        changed.evaluation_info = Some(pb::EvaluationInfo {
            batch_enabled: true,
            continuous_enabled: true,
            synchronous_enabled: false,
        });
        let updated = client
            .update_segment_definition(pb::UpdateSegmentDefinitionRequest {
                segment_definition: Some(changed),
            })
            .await
            .expect("update")
            .into_inner()
            .segment_definition
            .expect("definition");
        assert_eq!(updated.id, created.id);
        assert_eq!(updated.version, 2);
        assert_eq!(updated.name, "Canadians and Mexicans");
        assert_eq!(updated.ttl_in_days, 30);
        assert_eq!(updated.create_time_ms, created.create_time_ms);
        assert!(updated.evaluation_info.expect("info").continuous_enabled);

        let deleted = client
            .delete_segment_definition(pb::DeleteSegmentDefinitionRequest {
                id: created.id.clone(),
            })
            .await
            .expect("delete")
            .into_inner();
        assert_eq!(deleted.id, created.id);
        let gone = client
            .get_segment_definition(pb::GetSegmentDefinitionRequest {
                id: created.id.clone(),
            })
            .await;
        assert_eq!(code_of(gone), Code::NotFound);
        let again = client
            .delete_segment_definition(pb::DeleteSegmentDefinitionRequest { id: created.id })
            .await;
        assert_eq!(code_of(again), Code::NotFound);
        server.stop().await;
    }
}

#[tokio::test]
async fn bad_pql_carries_line_and_column_and_writes_nothing() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let mut client = server.definitions(&Caller::new(ORG, "prod"));
        let status = client
            .create_segment_definition(pb::CreateSegmentDefinitionRequest {
                segment_definition: Some(definition("Broken", "a = 1 and\n  (b = ")),
            })
            .await
            .expect_err("bad PQL is refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let info = details.error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "invalid_pql");
        assert_eq!(info.domain, "segmentation");
        assert_eq!(info.metadata.get("line").map(String::as_str), Some("2"));
        assert!(info.metadata.contains_key("column"));
        let bad = details.bad_request().expect("BadRequest");
        assert_eq!(bad.field_violations[0].field, "expression");
        assert!(
            bad.field_violations[0].description.starts_with("2:"),
            "{bad:?}"
        );
        assert_eq!(count(&mut client).await, 0);
        server.stop().await;
    }
}

#[tokio::test]
async fn malformed_requests_are_refused_and_write_nothing() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let mut client = server.definitions(&Caller::new(ORG, "prod"));
        let cases: Vec<(&str, Option<pb::SegmentDefinition>, &str)> = vec![
            ("no definition", None, "segment_definition"),
            (
                "no expression",
                Some(pb::SegmentDefinition {
                    name: "x".into(),
                    ..Default::default()
                }),
                "expression",
            ),
            ("empty name", Some(definition("", "a = 1")), "name"),
            (
                "name too long",
                Some(definition(&"n".repeat(257), "a = 1")),
                "name",
            ),
            (
                "unknown format",
                Some(pb::SegmentDefinition {
                    expression: Some(pb::Expression {
                        format: 42,
                        value: "a = 1".into(),
                    }),
                    ..definition("f", "a = 1")
                }),
                "expression.format",
            ),
            (
                "unknown segment reference",
                Some(definition("refs", "inSegment(\"no-such-segment\")")),
                "expression",
            ),
        ];
        for (name, d, field) in cases {
            let status = client
                .create_segment_definition(pb::CreateSegmentDefinitionRequest {
                    segment_definition: d,
                })
                .await
                .expect_err(name);
            assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
            let details = status.get_error_details();
            let violations = &details.bad_request().expect("BadRequest").field_violations;
            assert_eq!(violations[0].field, field, "{name}");
        }
        assert_eq!(count(&mut client).await, 0);

        let no_id = client
            .update_segment_definition(pb::UpdateSegmentDefinitionRequest {
                segment_definition: Some(definition("x", "a = 1")),
            })
            .await;
        assert_eq!(code_of(no_id), Code::InvalidArgument);
        let unknown = client
            .update_segment_definition(pb::UpdateSegmentDefinitionRequest {
                segment_definition: Some(pb::SegmentDefinition {
                    id: "no-such-id".into(),
                    ..definition("x", "a = 1")
                }),
            })
            .await;
        assert_eq!(code_of(unknown), Code::NotFound);
        server.stop().await;
    }
}

#[tokio::test]
async fn names_are_unique_references_are_checked_and_cycles_refused() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let mut client = server.definitions(&Caller::new(ORG, "prod"));
        let base = create(&mut client, "Base", "a = 1").await;
        let taken = client
            .create_segment_definition(pb::CreateSegmentDefinitionRequest {
                segment_definition: Some(definition("Base", "a = 2")),
            })
            .await
            .expect_err("name taken");
        assert_eq!(taken.code(), Code::AlreadyExists);
        assert_eq!(
            taken
                .get_error_details()
                .error_info()
                .map(|i| i.reason.clone()),
            Some("definition_already_exists".into())
        );

        let dependent = create(
            &mut client,
            "Dependent",
            &format!("inSegment(\"{}\") and b = 1", base.id),
        )
        .await;
        assert_eq!(dependent.segment_refs, vec![base.id.clone()]);

        // Base -> Dependent -> Base would be a cycle.
        let mut cyclic = definition("Base", &format!("inSegment(\"{}\")", dependent.id));
        cyclic.id = base.id.clone();
        let cycle = client
            .update_segment_definition(pb::UpdateSegmentDefinitionRequest {
                segment_definition: Some(cyclic),
            })
            .await;
        assert_eq!(code_of(cycle), Code::InvalidArgument);

        let in_use = client
            .delete_segment_definition(pb::DeleteSegmentDefinitionRequest {
                id: base.id.clone(),
            })
            .await
            .expect_err("referenced");
        assert_eq!(in_use.code(), Code::FailedPrecondition);
        assert_eq!(
            in_use
                .get_error_details()
                .error_info()
                .map(|i| i.reason.clone()),
            Some("definition_in_use".into())
        );
        let still = client
            .get_segment_definition(pb::GetSegmentDefinitionRequest {
                id: base.id.clone(),
            })
            .await
            .expect("not deleted")
            .into_inner()
            .segment_definition
            .expect("definition");
        assert_eq!(still.version, 1, "the refused update changed nothing");
        server.stop().await;
    }
}

#[tokio::test]
async fn list_pages_sorts_and_filters() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let mut client = server.definitions(&Caller::new(ORG, "prod"));
        for name in ["delta", "alpha", "charlie", "bravo", "echo"] {
            create(&mut client, name, "a = 1").await;
        }
        let mut streaming = definition("foxtrot", "b = 2");
        streaming.evaluation_info = Some(pb::EvaluationInfo {
            batch_enabled: false,
            continuous_enabled: true,
            synchronous_enabled: false,
        });
        client
            .create_segment_definition(pb::CreateSegmentDefinitionRequest {
                segment_definition: Some(streaming),
            })
            .await
            .expect("create");

        let mut names = Vec::new();
        let mut token = String::new();
        loop {
            let page = client
                .list_segment_definitions(pb::ListSegmentDefinitionsRequest {
                    page_size: 4,
                    page_token: token.clone(),
                    order_by: "name:asc".into(),
                    ..Default::default()
                })
                .await
                .expect("page")
                .into_inner();
            assert_eq!(page.total_size, 6);
            assert_eq!(page.order_by, "name:asc");
            names.extend(page.segment_definitions.into_iter().map(|d| d.name));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(
            names,
            ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
        );

        let continuous = client
            .list_segment_definitions(pb::ListSegmentDefinitionsRequest {
                continuous_enabled: Some(true),
                ..Default::default()
            })
            .await
            .expect("filtered")
            .into_inner();
        assert_eq!(continuous.total_size, 1);
        assert_eq!(continuous.segment_definitions[0].name, "foxtrot");

        for bad in [
            pb::ListSegmentDefinitionsRequest {
                page_size: -3,
                ..Default::default()
            },
            pb::ListSegmentDefinitionsRequest {
                order_by: "colour:asc".into(),
                ..Default::default()
            },
            pb::ListSegmentDefinitionsRequest {
                page_token: "not-a-token".into(),
                ..Default::default()
            },
        ] {
            let refused = client.list_segment_definitions(bad.clone()).await;
            assert_eq!(code_of(refused), Code::InvalidArgument, "{bad:?}");
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn batch_get_answers_each_id() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let mut client = server.definitions(&Caller::new(ORG, "prod"));
        let one = create(&mut client, "one", "a = 1").await;
        let two = create(&mut client, "two", "a = 2").await;
        let results = client
            .batch_get_segment_definitions(pb::BatchGetSegmentDefinitionsRequest {
                ids: vec![two.id.clone(), "missing".into(), one.id.clone()],
            })
            .await
            .expect("batch get")
            .into_inner()
            .results;
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].id, two.id);
        assert!(
            matches!(&results[0].result, Some(Outcome::SegmentDefinition(d)) if d.name == "two")
        );
        match &results[1].result {
            Some(Outcome::Error(e)) => {
                assert_eq!(e.code, Code::NotFound as i32);
                assert_eq!(e.reason, "not_found");
            }
            other => panic!("expected not found, got {other:?}"),
        }
        assert!(
            matches!(&results[2].result, Some(Outcome::SegmentDefinition(d)) if d.id == one.id)
        );

        let none = client
            .batch_get_segment_definitions(pb::BatchGetSegmentDefinitionsRequest { ids: vec![] })
            .await;
        assert_eq!(code_of(none), Code::InvalidArgument);
        let too_many = client
            .batch_get_segment_definitions(pb::BatchGetSegmentDefinitionsRequest {
                ids: (0..101).map(|i| format!("id-{i}")).collect(),
            })
            .await;
        assert_eq!(code_of(too_many), Code::InvalidArgument);
        server.stop().await;
    }
}

#[tokio::test]
async fn validate_reports_findings_as_data() {
    let server = spawn_server().await;
    let mut client = server.definitions(&Caller::new(ORG, "prod"));
    let base = create(&mut client, "base", "a = 1").await;
    let valid = client
        .validate_expression(pb::ValidateExpressionRequest {
            expression: Some(text(&format!(
                "inSegment(\"{}\") and  person.name.firstName = \"Ana\"",
                base.id
            ))),
        })
        .await
        .expect("validate")
        .into_inner();
    assert!(valid.valid, "{valid:?}");
    assert!(valid.error.is_none());
    assert_eq!(valid.segment_refs, vec![base.id.clone()]);
    assert!(
        valid.canonical_text.contains("person.name.firstName"),
        "{valid:?}"
    );

    let broken = client
        .validate_expression(pb::ValidateExpressionRequest {
            expression: Some(text("a = ")),
        })
        .await
        .expect("a finding is not a failed call")
        .into_inner();
    assert!(!broken.valid);
    let error = broken.error.expect("where it is wrong");
    assert_eq!(error.line, 1);
    assert!(error.column >= 4, "{error:?}");

    let unknown_ref = client
        .validate_expression(pb::ValidateExpressionRequest {
            expression: Some(text("inSegment(\"nope\")")),
        })
        .await
        .expect("validate")
        .into_inner();
    assert!(!unknown_ref.valid);
    assert!(unknown_ref.error.expect("finding").message.contains("nope"));

    let missing = client
        .validate_expression(pb::ValidateExpressionRequest { expression: None })
        .await;
    assert_eq!(code_of(missing), Code::InvalidArgument);
    let oversized = client
        .validate_expression(pb::ValidateExpressionRequest {
            expression: Some(text(&"a".repeat(70_000))),
        })
        .await;
    assert_eq!(code_of(oversized), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn convert_round_trips_between_text_and_json() {
    let server = spawn_server().await;
    let mut client = server.definitions(&Caller::new(ORG, "prod"));
    let json = client
        .convert_expression(pb::ConvertExpressionRequest {
            expression: Some(text("workAddress.country = \"US\"")),
            target_format: pb::ExpressionFormat::Unspecified as i32,
        })
        .await
        .expect("convert")
        .into_inner()
        .expression
        .expect("expression");
    assert_eq!(json.format, pb::ExpressionFormat::PqlJson as i32);
    let tree: serde_json::Value = serde_json::from_str(&json.value).expect("pql/json is JSON");
    assert_eq!(tree["nodeType"], "fnApply");

    let back = client
        .convert_expression(pb::ConvertExpressionRequest {
            expression: Some(json.clone()),
            target_format: pb::ExpressionFormat::PqlText as i32,
        })
        .await
        .expect("convert back")
        .into_inner()
        .expression
        .expect("expression");
    assert_eq!(back.format, pb::ExpressionFormat::PqlText as i32);
    assert_eq!(back.value, "workAddress.country = \"US\"");

    let bad = client
        .convert_expression(pb::ConvertExpressionRequest {
            expression: Some(text("a = (")),
            target_format: pb::ExpressionFormat::PqlJson as i32,
        })
        .await
        .expect_err("bad PQL");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.get_error_details().bad_request().is_some());
    let bad_target = client
        .convert_expression(pb::ConvertExpressionRequest {
            expression: Some(text("a = 1")),
            target_format: 9,
        })
        .await;
    assert_eq!(code_of(bad_target), Code::InvalidArgument);
    assert_eq!(count(&mut client).await, 0, "conversion stores nothing");
    server.stop().await;
}

#[tokio::test]
async fn definitions_are_invisible_to_other_tenants() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let mut mine = server.definitions(&Caller::new(ORG, "prod"));
        let d = create(&mut mine, "Private", "a = 1").await;
        for other in [
            Caller::new(ORG, "dev"),
            Caller::new("DEFINITIONS02@AdobeOrg", "prod"),
        ] {
            let mut client = server.definitions(&other);
            let get = client
                .get_segment_definition(pb::GetSegmentDefinitionRequest { id: d.id.clone() })
                .await;
            assert_eq!(code_of(get), Code::NotFound);
            let mut overwrite = definition("Hijacked", "b = 1");
            overwrite.id = d.id.clone();
            let update = client
                .update_segment_definition(pb::UpdateSegmentDefinitionRequest {
                    segment_definition: Some(overwrite),
                })
                .await;
            assert_eq!(code_of(update), Code::NotFound);
            let delete = client
                .delete_segment_definition(pb::DeleteSegmentDefinitionRequest { id: d.id.clone() })
                .await;
            assert_eq!(code_of(delete), Code::NotFound);
            let batch = client
                .batch_get_segment_definitions(pb::BatchGetSegmentDefinitionsRequest {
                    ids: vec![d.id.clone()],
                })
                .await
                .expect("batch")
                .into_inner();
            assert!(
                matches!(&batch.results[0].result, Some(Outcome::Error(e)) if e.reason == "not_found")
            );
            assert_eq!(count(&mut client).await, 0);
            let refs = client
                .validate_expression(pb::ValidateExpressionRequest {
                    expression: Some(text(&format!("inSegment(\"{}\")", d.id))),
                })
                .await
                .expect("validate")
                .into_inner();
            assert!(
                !refs.valid,
                "another tenant's segment is not a valid reference"
            );
            let members = server
                .profiles(&other)
                .list_segment_members(pb::ListSegmentMembersRequest {
                    segment_id: d.id.clone(),
                    ..Default::default()
                })
                .await;
            assert_eq!(code_of(members), Code::NotFound);
            // The same name is free in another tenant.
            create(&mut client, "Private", "c = 1").await;
        }
        let mine_now = mine
            .get_segment_definition(pb::GetSegmentDefinitionRequest { id: d.id.clone() })
            .await
            .expect("mine")
            .into_inner()
            .segment_definition
            .expect("definition");
        assert_eq!(mine_now, d, "untouched");
        server.stop().await;
    }
}
