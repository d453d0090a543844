//! Definition repository: tenant isolation, name uniqueness, versioned updates, the reference
//! graph (unknown ids, cycles, dependents) and list order, filters and offsets.

use crate::domain::definition::{
    DefinitionSort, DefinitionSortField, EvaluationFilter, EvaluationInfo, Expression,
    ExpressionFormat, SegmentDefinition,
};
use crate::error::Error;
use crate::store::Store;
use crate::store::test_support::{store_tests, tenant};

fn def(name: &str, refs: &[&str], t: i64) -> SegmentDefinition {
    SegmentDefinition {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        description: Some(format!("about {name}")),
        expression: Expression {
            format: ExpressionFormat::Text,
            value: "homeAddress.country = \"US\"".to_owned(),
        },
        schema_name: "_xdm.context.profile".to_owned(),
        merge_policy_id: None,
        evaluation_info: EvaluationInfo::default(),
        ttl_in_days: Some(30),
        version: 1,
        creation_time_ms: t,
        update_time_ms: t,
        segment_refs: refs.iter().map(|s| s.to_string()).collect(),
    }
}

async fn round_trip_and_isolation(store: &Store) {
    let me = tenant("ORG1@AdobeOrg", "prod");
    let d = def("People in the USA", &[], 1000);
    store.insert_definition(&me, &d).await.unwrap();
    assert_eq!(store.get_definition(&me, &d.id).await.unwrap(), d);

    for other in [
        tenant("ORG2@AdobeOrg", "prod"),
        tenant("ORG1@AdobeOrg", "dev"),
    ] {
        let nf = |r: Result<_, Error>| matches!(r, Err(Error::NotFound { .. }));
        assert!(nf(store.get_definition(&other, &d.id).await.map(|_| ())));
        assert!(nf(store
            .update_definition(&other, &d.id, Ok)
            .await
            .map(|_| ())));
        assert!(nf(store.delete_definition(&other, &d.id).await));
        assert!(
            store
                .get_definitions(&other, std::slice::from_ref(&d.id))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.list_definitions_all(&other).await.unwrap().is_empty());
        let (page, total) = store
            .list_definitions(
                &other,
                DefinitionSort::default(),
                EvaluationFilter::default(),
                0,
                10,
            )
            .await
            .unwrap();
        assert!(page.is_empty() && total == 0);
        assert_eq!(
            store
                .missing_definition_ids(&other, std::slice::from_ref(&d.id))
                .await
                .unwrap(),
            vec![d.id.clone()]
        );
        // Another tenant cannot reference it either.
        let err = store
            .insert_definition(&other, &def("uses it", &[&d.id], 1))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&d.id), "{err}");
    }
    assert!(store.get_definition(&me, &d.id).await.is_ok());
}

async fn names_are_unique_per_sandbox(store: &Store) {
    let prod = tenant("ORG1", "prod");
    store
        .insert_definition(&prod, &def("dup", &[], 1))
        .await
        .unwrap();
    let err = store
        .insert_definition(&prod, &def("dup", &[], 2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::AlreadyExists { ref name, .. } if name == "dup"),
        "{err:?}"
    );
    // Same name in another sandbox or org is fine.
    store
        .insert_definition(&tenant("ORG1", "dev"), &def("dup", &[], 3))
        .await
        .unwrap();
    store
        .insert_definition(&tenant("ORG2", "prod"), &def("dup", &[], 4))
        .await
        .unwrap();
    // Renaming onto a taken name is refused too, and changes nothing.
    let other = def("other", &[], 5);
    store.insert_definition(&prod, &other).await.unwrap();
    let err = store
        .update_definition(&prod, &other.id, |mut d| {
            d.name = "dup".into();
            Ok(d)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert_eq!(
        store.get_definition(&prod, &other.id).await.unwrap().name,
        "other"
    );
}

async fn updates_replace_and_bump(store: &Store) {
    let t = tenant("ORG1", "prod");
    let a = def("a", &[], 10);
    let b = def("b", &[], 20);
    store.insert_definition(&t, &a).await.unwrap();
    store.insert_definition(&t, &b).await.unwrap();
    let updated = store
        .update_definition(&t, &b.id, |mut d| {
            d.version += 1;
            d.update_time_ms = 99;
            d.description = None;
            d.segment_refs = vec![a.id.clone()];
            Ok(d)
        })
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    let stored = store.get_definition(&t, &b.id).await.unwrap();
    assert_eq!(stored, updated);
    assert_eq!(stored.description, None);
    assert_eq!(stored.segment_refs, vec![a.id.clone()]);
    // A refused change writes nothing.
    let err = store
        .update_definition(&t, &b.id, |_| Err(Error::invalid("name", "no")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }));
    assert_eq!(store.get_definition(&t, &b.id).await.unwrap(), stored);
}

async fn reference_graph_is_checked(store: &Store) {
    let t = tenant("ORG1", "prod");
    let a = def("a", &[], 1);
    store.insert_definition(&t, &a).await.unwrap();
    let b = def("b", &[&a.id], 2);
    store.insert_definition(&t, &b).await.unwrap();
    let c = def("c", &[&b.id], 3);
    store.insert_definition(&t, &c).await.unwrap();

    let unknown = def("d", &[&a.id, "no-such-id"], 4);
    let err = store.insert_definition(&t, &unknown).await.unwrap_err();
    assert!(err.to_string().contains("no-such-id"), "{err}");
    assert!(store.get_definition(&t, &unknown.id).await.is_err());

    let mut self_ref = def("self", &[], 5);
    self_ref.segment_refs = vec![self_ref.id.clone()];
    assert!(store.insert_definition(&t, &self_ref).await.is_err());

    // a -> c would close a -> c -> b -> a.
    let err = store
        .update_definition(&t, &a.id, |mut d| {
            d.segment_refs = vec![c.id.clone()];
            Ok(d)
        })
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("cycle") && msg.contains(&c.id) && msg.contains(&b.id),
        "{msg}"
    );
    assert!(
        store
            .get_definition(&t, &a.id)
            .await
            .unwrap()
            .segment_refs
            .is_empty()
    );

    // Deleting a referenced definition names its dependents.
    let err = store.delete_definition(&t, &a.id).await.unwrap_err();
    assert_eq!(
        err,
        Error::DefinitionInUse {
            id: a.id.clone(),
            dependents: vec![b.id.clone()]
        }
    );
    store.delete_definition(&t, &c.id).await.unwrap();
    store.delete_definition(&t, &b.id).await.unwrap();
    store.delete_definition(&t, &a.id).await.unwrap();
    assert!(matches!(
        store.get_definition(&t, &a.id).await,
        Err(Error::NotFound { .. })
    ));
}

async fn lists_sort_filter_and_page(store: &Store) {
    let t = tenant("ORG1", "prod");
    let mut all = Vec::new();
    for (i, name) in ["delta", "Alpha", "charlie", "bravo", "echo"]
        .iter()
        .enumerate()
    {
        let mut d = def(name, &[], 100 + i as i64);
        d.update_time_ms = 1000 - i as i64;
        d.evaluation_info.continuous = i % 2 == 0;
        store.insert_definition(&t, &d).await.unwrap();
        all.push(d);
    }
    let names = |v: &[SegmentDefinition]| v.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
    let sort = |field, descending| DefinitionSort { field, descending };
    let no_filter = EvaluationFilter::default();

    let (page, total) = store
        .list_definitions(&t, DefinitionSort::default(), no_filter, 0, 2)
        .await
        .unwrap();
    assert_eq!(
        (names(&page), total),
        (vec!["delta".into(), "Alpha".into()], 5)
    );
    let (page, _) = store
        .list_definitions(&t, DefinitionSort::default(), no_filter, 4, 2)
        .await
        .unwrap();
    assert_eq!(names(&page), vec!["echo"]);
    let (page, _) = store
        .list_definitions(&t, sort(DefinitionSortField::Name, false), no_filter, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        names(&page),
        vec!["Alpha", "bravo", "charlie", "delta", "echo"]
    );
    let (page, _) = store
        .list_definitions(
            &t,
            sort(DefinitionSortField::UpdateTime, true),
            no_filter,
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        names(&page),
        vec!["delta", "Alpha", "charlie", "bravo", "echo"]
    );
    let streaming = EvaluationFilter {
        continuous: Some(true),
        ..EvaluationFilter::default()
    };
    let (page, total) = store
        .list_definitions(
            &t,
            sort(DefinitionSortField::CreationTime, true),
            streaming,
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        (names(&page), total),
        (vec!["echo".into(), "charlie".into(), "delta".into()], 3)
    );
    let none = EvaluationFilter {
        batch: Some(false),
        ..EvaluationFilter::default()
    };
    assert_eq!(
        store
            .list_definitions(&t, DefinitionSort::default(), none, 0, 10)
            .await
            .unwrap()
            .1,
        0
    );
    assert_eq!(store.list_definitions_all(&t).await.unwrap().len(), 5);
}

store_tests!(
    round_trip_and_isolation,
    names_are_unique_per_sandbox,
    updates_replace_and_bump,
    reference_graph_is_checked,
    lists_sort_filter_and_page,
);
