//! The REST gateway end to end: a real HTTP client over the REST socket of a server started as
//! `serve` starts it, on every backend. Segment definitions and PQL conversion here; profiles,
//! events and members in `rest_profiles`. (The gateway's own tests in `src/rest/tests/` check
//! every rule and the OpenAPI shapes without a socket; these prove the served stack.)

use serde_json::{Value, json};

use super::*;

const ORG: &str = "RESTDEFS01@AdobeOrg";

fn definition_body(name: &str, pql: &str) -> Value {
    json!({
        "name": name,
        "expression": {"type": "PQL", "format": "pql/text", "value": pql},
        "schema": {"name": "_xdm.context.profile"}
    })
}

#[tokio::test]
async fn definitions_round_trip_over_http() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let rest = server.rest(&Caller::new(ORG, "prod"));

        let created = rest
            .post(
                "/data/core/ups/segment/definitions",
                &definition_body("US people", r#"homeAddress.countryCode = "US""#),
            )
            .await;
        assert_eq!(created.status, 200, "{backend:?}: {created:?}");
        let id = created.body["id"].as_str().expect("id").to_owned();
        assert_eq!(
            created.header("x-location"),
            format!("/data/core/ups/segment/definitions/{id}")
        );
        assert_eq!(created.body["imsOrgId"], ORG);
        assert_eq!(created.body["version"], 1);
        for name in ["Canadians", "Mexicans"] {
            let r = rest
                .post(
                    "/segment/definitions",
                    &definition_body(name, "homeAddress.countryCode = \"CA\""),
                )
                .await;
            assert_eq!(r.status, 200, "{r:?}");
        }

        let got = rest.get(&format!("/segment/definitions/{id}")).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body, created.body);

        // Paging: follow link.next to the end.
        let mut names = Vec::new();
        let mut next = "/segment/definitions?limit=2".to_owned();
        while !next.is_empty() {
            let page = rest.get(&next).await;
            assert_eq!(page.status, 200, "{page:?}");
            assert_eq!(page.body["page"]["totalCount"], 3);
            for d in page.body["segments"].as_array().expect("segments") {
                names.push(d["name"].as_str().unwrap_or_default().to_owned());
            }
            next = page.body["link"]["next"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        assert_eq!(names, ["US people", "Canadians", "Mexicans"]);

        let patched = rest
            .patch(
                &format!("/segment/definitions/{id}"),
                &definition_body(
                    "US adults",
                    "homeAddress.countryCode = \"US\" and person.age >= 18",
                ),
            )
            .await;
        assert_eq!(patched.status, 200, "{patched:?}");
        assert_eq!(patched.body["version"], 2);
        assert_eq!(patched.body["creationTime"], created.body["creationTime"]);

        let bulk = rest
            .post(
                "/segment/definitions/bulk-get",
                &json!({"ids": [{"id": id}, {"id": "no-such-id"}]}),
            )
            .await;
        assert_eq!(bulk.status, 207, "{bulk:?}");
        let results = bulk.body["results"].as_object().expect("results by id");
        assert_eq!(results.len(), 2, "{bulk:?}");
        assert_eq!(results[&id]["name"], "US adults");
        assert_eq!(
            results["no-such-id"]["errors"]["404"][0]["code"], "UPAPI-113000-404",
            "{bulk:?}"
        );

        let taken = rest
            .post(
                "/segment/definitions",
                &definition_body("Canadians", "true"),
            )
            .await;
        taken.assert_error(422, "UPAPI-113003-422");
        let bad = rest
            .post(
                "/segment/definitions",
                &definition_body("Broken", "person.age >\n  and true"),
            )
            .await;
        let message = bad.assert_error(400, "UPAPI-113002-400");
        assert!(message.starts_with("expression: 2:3:"), "{message}");

        let deleted = rest.delete(&format!("/segment/definitions/{id}")).await;
        assert_eq!(deleted.status, 200, "{deleted:?}");
        assert_eq!(deleted.body["status"], true);
        rest.get(&format!("/segment/definitions/{id}"))
            .await
            .assert_error(404, "UPAPI-113000-404");
        server.stop().await;
    }
}

#[tokio::test]
async fn conversion_goes_both_ways_and_the_edges_share_one_store() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let rest = server.rest(&caller);
        let text = r#"workAddress.country = "US""#;
        let to_json = rest
            .post(
                "/segment/conversion",
                &json!({"name": "x", "expression": {"type": "PQL", "format": "pql/text", "value": text}}),
            )
            .await;
        assert_eq!(to_json.status, 200, "{to_json:?}");
        assert_eq!(to_json.body["expression"]["format"], "pql/json");
        assert_eq!(to_json.body["imsOrgId"], ORG);
        let back = rest
            .post(
                "/segment/conversion",
                &json!({"expression": to_json.body["expression"]}),
            )
            .await;
        assert_eq!(back.status, 200, "{back:?}");
        assert_eq!(back.body["expression"]["value"], text);

        // Created over gRPC, read over REST: one domain core, one store.
        let created = server
            .definitions(&caller)
            .create_segment_definition(pb::CreateSegmentDefinitionRequest {
                segment_definition: Some(pb::SegmentDefinition {
                    name: "From gRPC".into(),
                    expression: Some(pb::Expression {
                        format: pb::ExpressionFormat::PqlText as i32,
                        value: "person.age > 30".into(),
                    }),
                    ..Default::default()
                }),
            })
            .await
            .expect("create over gRPC")
            .into_inner()
            .segment_definition
            .expect("definition");
        let got = rest
            .get(&format!("/segment/definitions/{}", created.id))
            .await;
        assert_eq!(got.status, 200, "{got:?}");
        assert_eq!(got.body["name"], "From gRPC");
        // Another sandbox does not see it.
        server
            .rest(&Caller::new(ORG, "dev"))
            .get(&format!("/segment/definitions/{}", created.id))
            .await
            .assert_error(404, "UPAPI-113000-404");
        server.stop().await;
    }
}

#[tokio::test]
async fn refusals_over_http_have_the_aep_shapes() {
    let options = Options {
        max_body_bytes: 4096,
        ..Options::default()
    };
    let server = spawn_server_with(Backend::Sqlite, options).await;
    let caller = Caller {
        request_id: Some("rest-refusals-1".into()),
        ..Caller::new(ORG, "prod")
    };
    // No token: AEP's gateway answers 403 403010; the request id is echoed.
    let anonymous = Caller {
        authorization: None,
        ..caller.clone()
    };
    let r = server.rest(&anonymous).get("/segment/definitions").await;
    r.assert_error(403, "403010");
    assert_eq!(r.body["error_code"], "403010");
    assert_eq!(r.header("x-request-id"), "rest-refusals-1");
    let expired = caller
        .clone()
        .with_token(&hs256_token(ORG, &client_of(ORG), &["prod"], -3600));
    server
        .rest(&expired)
        .get("/segment/definitions")
        .await
        .assert_error(401, "401013");
    let static_caller = Caller {
        api_key: Some(STATIC_CLIENT.into()),
        ..Caller::new(STATIC_ORG, "dev").with_token(STATIC_TOKEN)
    };
    let r = server
        .rest(&static_caller)
        .get("/segment/definitions")
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let rest = server.rest(&caller);
    rest.get("/segment/nothing-here")
        .await
        .assert_error(404, "UPAPI-113000-404");
    let r = rest
        .send(reqwest::Method::PUT, "/segment/definitions", None)
        .await;
    r.assert_error(405, "UPAPI-113010-405");
    assert!(r.header("allow").contains("GET"), "{r:?}");
    let too_big = format!(r#"{{"name": "{}"}}"#, "x".repeat(8192));
    rest.send(reqwest::Method::POST, "/segment/definitions", Some(too_big))
        .await
        .assert_error(413, "UPAPI-113009-413");
    let r = rest
        .send(
            reqwest::Method::POST,
            "/segment/definitions",
            Some("{not json".into()),
        )
        .await;
    let message = r.assert_error(400, "UPAPI-113001-400");
    assert!(message.starts_with("body:"), "{message}");
    server.stop().await;
}

/// Offsets beyond what the stores bind (a signed 64-bit integer) are refused with 400 on both
/// lists. Found by schemathesis (`tests/clients/test_schemathesis.py`): `?page=92233720368547759`
/// used to panic in the SQLite binding, and the connection closed without an answer.
#[tokio::test]
async fn huge_list_offsets_are_refused_not_crashed_on() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let rest = server.rest(&Caller::new(ORG, "prod"));
        for (path, field) in [
            ("/segment/definitions?start=9223372036854775808", "start"),
            ("/segment/definitions?page=92233720368547759", "page"),
            ("/segment/definitions?start=18446744073709551615", "start"),
            ("/segment/jobs?start=9223372036854775808", "start"),
        ] {
            let r = rest.get(path).await;
            assert_eq!(r.status, 400, "{backend:?} {path}: {r:?}");
            let message = r.body["errors"]["400"][0]["message"].as_str().unwrap_or("");
            assert!(message.starts_with(&format!("{field}: ")), "{path}: {r:?}");
        }
        // The largest accepted offset is simply past the end.
        for path in [
            "/segment/definitions?start=9223372036854775807",
            "/segment/jobs?start=9223372036854775807",
        ] {
            let r = rest.get(path).await;
            assert_eq!(r.status, 200, "{backend:?} {path}: {r:?}");
        }
        server.stop().await;
    }
}
