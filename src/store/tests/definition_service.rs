//! `DefinitionService` end to end on a real store and the real PQL engine: validation, versioned
//! overwrite, `inSegment` references and cycles written in PQL, paging tokens, batch get,
//! validate and convert, tenant isolation.

use crate::domain::definition::{
    DefinitionInput, DefinitionListQuery, EvaluationFilter, EvaluationInfo, ExpressionFormat,
    ExpressionInput, MAX_DESCRIPTION_BYTES, MAX_NAME_CHARS,
};
use crate::domain::{Clock, DefinitionService};
use crate::error::{Error, ResourceKind};
use crate::store::Store;
use crate::store::test_support::{ctx, store_tests};

const T0: i64 = 1_700_000_000_000;

fn input(name: &str, pql: &str) -> DefinitionInput {
    DefinitionInput {
        name: name.to_owned(),
        description: None,
        expression: ExpressionInput {
            r#type: "PQL".into(),
            format: "pql/text".into(),
            value: pql.to_owned(),
        },
        schema_name: String::new(),
        merge_policy_id: None,
        evaluation_info: None,
        ttl_in_days: None,
    }
}

fn field(e: &Error) -> String {
    e.field_violations()
        .first()
        .map(|v| v.field.clone())
        .unwrap_or_default()
}

async fn create_get_update_delete(store: &Store) {
    let clock = Clock::manual(T0);
    let svc = DefinitionService::with_clock(store.clone(), clock.clone());
    let c = ctx("ORG1", "prod");
    let created = svc
        .create(
            &c,
            input("People in the USA", r#"homeAddress.country = "US""#),
        )
        .await
        .unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(&created.id).map(|u| u.get_version_num()),
        Ok(4)
    );
    assert_eq!(
        (
            created.version,
            created.creation_time_ms,
            created.update_time_ms
        ),
        (1, T0, T0)
    );
    assert_eq!(created.schema_name, "_xdm.context.profile");
    assert_eq!(created.evaluation_info, EvaluationInfo::default());
    assert_eq!(svc.get(&c, &created.id).await.unwrap(), created);

    clock.advance(5000);
    let mut body = input("People in Canada", r#"homeAddress.country = "CA""#);
    body.description = Some("moved north".into());
    body.evaluation_info = Some(EvaluationInfo {
        batch: true,
        continuous: true,
        synchronous: false,
    });
    body.ttl_in_days = Some(30);
    let updated = svc.update(&c, &created.id, body).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(
        (updated.creation_time_ms, updated.update_time_ms),
        (T0, T0 + 5000)
    );
    assert_eq!(updated.name, "People in Canada");
    assert_eq!(updated.ttl_in_days, Some(30));
    assert!(updated.evaluation_info.continuous);
    assert_eq!(svc.get(&c, &created.id).await.unwrap(), updated);
    // Whole-object overwrite: what the body leaves out is gone.
    let plain = svc
        .update(
            &c,
            &created.id,
            input("People in Canada", r#"homeAddress.country = "CA""#),
        )
        .await
        .unwrap();
    assert_eq!(
        (plain.version, plain.description.clone(), plain.ttl_in_days),
        (3, None, None)
    );

    // A bad update changes nothing.
    let err = svc
        .update(&c, &created.id, input("x", "homeAddress.country ="))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPql { .. }), "{err:?}");
    assert_eq!(svc.get(&c, &created.id).await.unwrap().version, 3);

    svc.delete(&c, &created.id).await.unwrap();
    assert!(matches!(
        svc.get(&c, &created.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        svc.delete(&c, &created.id).await,
        Err(Error::NotFound { .. })
    ));
}

async fn bodies_are_checked(store: &Store) {
    let svc = DefinitionService::with_clock(store.clone(), Clock::manual(T0));
    let c = ctx("ORG1", "prod");
    let ok = r#"a = 1"#;
    let mut long_desc = input("d", ok);
    long_desc.description = Some("x".repeat(MAX_DESCRIPTION_BYTES + 1));
    let mut bad_type = input("t", ok);
    bad_type.expression.r#type = "ARL".into();
    let mut bad_format = input("f", ok);
    bad_format.expression.format = "sql".into();
    let cases = [
        (input("", ok), "name"),
        (input(&"n".repeat(MAX_NAME_CHARS + 1), ok), "name"),
        (input("tab\there", ok), "name"),
        (long_desc, "description"),
        (bad_type, "expression.type"),
        (bad_format, "expression.format"),
        (input("v", ""), "expression.value"),
        (input("pql", "person.age > > 3"), "expression"),
    ];
    for (body, expected) in cases {
        let err = svc.create(&c, body).await.unwrap_err();
        assert_eq!(field(&err), expected, "{err:?}");
    }
    // Exactly at the limit is fine (characters, not bytes).
    svc.create(&c, input(&"é".repeat(MAX_NAME_CHARS), ok))
        .await
        .unwrap();
    let err = svc
        .create(&c, input("multi", "a = 1 and\n   b.startWith(\"x\")"))
        .await
        .unwrap_err();
    match err {
        Error::InvalidPql { line, column, .. } => assert_eq!((line, column), (2, 6)),
        other => panic!("{other:?}"),
    }
    assert!(
        svc.list(&c, DefinitionListQuery::default())
            .await
            .unwrap()
            .page
            .total_count
            == 1
    );
    // Names are unique in the sandbox.
    let err = svc
        .create(&c, input(&"é".repeat(MAX_NAME_CHARS), ok))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::AlreadyExists {
            kind: ResourceKind::SegmentDefinition,
            ..
        }
    ));
    assert_eq!(err.code().http_status(), 422);
}

async fn segment_references_in_pql(store: &Store) {
    let svc = DefinitionService::with_clock(store.clone(), Clock::manual(T0));
    let c = ctx("ORG1", "prod");
    let a = svc.create(&c, input("a", "person.age > 18")).await.unwrap();
    let b = svc
        .create(
            &c,
            input(
                "b",
                &format!(r#"inSegment("{}") and person.age < 65"#, a.id),
            ),
        )
        .await
        .unwrap();
    assert_eq!(b.segment_refs, vec![a.id.clone()]);
    let err = svc
        .create(
            &c,
            input("c", r#"inSegment("00000000-0000-4000-8000-000000000000")"#),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("00000000-0000-4000-8000-000000000000"),
        "{err}"
    );
    assert_eq!(field(&err), "expression");
    // a -> b closes a cycle; a -> a is one too.
    for target in [&b.id, &a.id] {
        let err = svc
            .update(&c, &a.id, input("a", &format!(r#"inSegment("{target}")"#)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&a.id), "{err}");
    }
    let err = svc.delete(&c, &a.id).await.unwrap_err();
    assert_eq!(
        err,
        Error::DefinitionInUse {
            id: a.id.clone(),
            dependents: vec![b.id.clone()]
        }
    );

    // validate_expression resolves references in the tenant; another tenant does not see a.
    let expr = ExpressionInput {
        r#type: String::new(),
        format: String::new(),
        value: format!(r#"inSegment("{}")"#, a.id),
    };
    let v = svc.validate_expression(&c, &expr).await.unwrap();
    assert_eq!(v.segment_refs, vec![a.id.clone()]);
    let err = svc
        .validate_expression(&ctx("ORG2", "prod"), &expr)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&a.id), "{err}");
}

async fn listing_pages_and_tokens(store: &Store) {
    let clock = Clock::manual(T0);
    let svc = DefinitionService::with_clock(store.clone(), clock.clone());
    let c = ctx("ORG1", "prod");
    for i in 0..7 {
        clock.advance(10);
        let mut body = input(&format!("def-{i}"), "true");
        body.evaluation_info = Some(EvaluationInfo {
            batch: true,
            continuous: i < 3,
            synchronous: false,
        });
        svc.create(&c, body).await.unwrap();
    }
    let q = |start, token: Option<String>, limit| DefinitionListQuery {
        start,
        page_token: token,
        limit: Some(limit),
        sort: Some("creationTime:desc".into()),
        filter: EvaluationFilter::default(),
    };
    let first = svc.list(&c, q(None, None, 3)).await.unwrap();
    assert_eq!(first.sort.to_wire(), "creationTime:desc");
    assert_eq!(first.page.items[0].name, "def-6");
    assert_eq!(
        (
            first.page.start,
            first.page.next_start,
            first.page.total_count
        ),
        (Some(0), Some(3), 7)
    );
    let second = svc
        .list(&c, q(None, first.page.next_page_token.clone(), 3))
        .await
        .unwrap();
    assert_eq!(second.page.items[0].name, "def-3");
    let by_offset = svc.list(&c, q(Some(3), None, 3)).await.unwrap();
    assert_eq!(by_offset.page.items, second.page.items);
    let last = svc.list(&c, q(Some(6), None, 3)).await.unwrap();
    assert_eq!(
        (
            last.page.items.len(),
            last.page.next_start,
            last.page.next_page_token
        ),
        (1, None, None)
    );
    // Tokens belong to their query; start and token together are refused.
    let mut other_sort = q(None, first.page.next_page_token.clone(), 3);
    other_sort.sort = Some("name:asc".into());
    assert!(matches!(
        svc.list(&c, other_sort).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(
        svc.list(&c, q(Some(1), first.page.next_page_token, 3))
            .await
            .is_err()
    );
    assert!(svc.list(&c, q(None, None, 0)).await.is_err());
    let mut bad_sort = q(None, None, 3);
    bad_sort.sort = Some("internalId:desc".into());
    assert_eq!(field(&svc.list(&c, bad_sort).await.unwrap_err()), "sort");

    let streaming = DefinitionListQuery {
        filter: EvaluationFilter {
            continuous: Some(true),
            ..EvaluationFilter::default()
        },
        ..DefinitionListQuery::default()
    };
    let page = svc.list(&c, streaming).await.unwrap().page;
    assert_eq!(page.total_count, 3);
    assert!(page.items.iter().all(|d| d.evaluation_info.continuous));
}

async fn batch_get_and_isolation(store: &Store) {
    let svc = DefinitionService::with_clock(store.clone(), Clock::manual(T0));
    let c = ctx("ORG1", "prod");
    let a = svc.create(&c, input("a", "true")).await.unwrap();
    let b = svc.create(&c, input("b", "false")).await.unwrap();
    let ids = vec![
        b.id.clone(),
        "missing".to_owned(),
        a.id.clone(),
        b.id.clone(),
    ];
    let results = svc.batch_get(&c, &ids).await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(results[0].result.as_ref().unwrap(), &b);
    assert!(matches!(results[1].result, Err(Error::NotFound { .. })));
    assert_eq!(results[2].result.as_ref().unwrap(), &a);
    assert!(svc.batch_get(&c, &[]).await.is_err());
    assert!(svc.batch_get(&c, &vec!["x".to_owned(); 101]).await.is_err());

    for other in [ctx("ORG2", "prod"), ctx("ORG1", "dev")] {
        let nf = |r: Result<(), Error>| matches!(r, Err(Error::NotFound { .. }));
        assert!(nf(svc.get(&other, &a.id).await.map(|_| ())));
        assert!(nf(svc
            .update(&other, &a.id, input("a", "true"))
            .await
            .map(|_| ())));
        assert!(nf(svc.delete(&other, &a.id).await));
        let r = svc
            .batch_get(&other, std::slice::from_ref(&a.id))
            .await
            .unwrap();
        assert!(matches!(r[0].result, Err(Error::NotFound { .. })));
        assert_eq!(
            svc.list(&other, DefinitionListQuery::default())
                .await
                .unwrap()
                .page
                .total_count,
            0
        );
        // The same name is free in another tenant.
        svc.create(&other, input("a", "true")).await.unwrap();
    }
    assert_eq!(svc.get(&c, &a.id).await.unwrap(), a);
}

async fn convert_round_trips(store: &Store) {
    let svc = DefinitionService::new(store.clone());
    let c = ctx("ORG1", "prod");
    let text = ExpressionInput {
        r#type: "PQL".into(),
        format: "pql/text".into(),
        value: r#"workAddress.country = "US""#.into(),
    };
    let json = svc.convert_expression(&c, &text, None).await.unwrap();
    assert_eq!(json.format, ExpressionFormat::Json);
    let back = svc
        .convert_expression(
            &c,
            &ExpressionInput {
                r#type: "PQL".into(),
                format: "pql/json".into(),
                value: json.value,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (back.format, back.value),
        (ExpressionFormat::Text, text.value.clone())
    );
    // A definition stored as pql/json keeps its format and value.
    let mut body = input("json", "");
    body.expression = ExpressionInput {
        r#type: "PQL".into(),
        format: "pql/json".into(),
        value: svc
            .convert_expression(&c, &text, Some("pql/json"))
            .await
            .unwrap()
            .value,
    };
    let d = svc.create(&c, body.clone()).await.unwrap();
    assert_eq!(d.expression.format, ExpressionFormat::Json);
    assert_eq!(d.expression.value, body.expression.value);
}

store_tests!(
    create_get_update_delete,
    bodies_are_checked,
    segment_references_in_pql,
    listing_pages_and_tokens,
    batch_get_and_isolation,
    convert_round_trips,
);
