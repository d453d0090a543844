//! `/segment/definitions`, bulk-get and `/segment/conversion`: shapes, statuses, refusals that
//! write nothing, tenant isolation.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::openapi::{
    assert_definition, assert_definition_list, assert_valid, component, request_examples,
    request_schema, response_schema,
};
use super::{ORG, OTHER_ORG, T0_MS, TestApi};

fn create_body(name: &str, pql: &str) -> Value {
    json!({
        "name": name,
        "description": "people in the US",
        "expression": {"type": "PQL", "format": "pql/text", "value": pql},
        "evaluationInfo": {"batch": {"enabled": true}, "continuous": {"enabled": false},
                           "synchronous": {"enabled": false}},
        "schema": {"name": "_xdm.context.profile"},
        "mergePolicyId": "5ed35fd8-6eeb-4ad2-bed9-43e695b8ac0b",
        "ttlInDays": 30,
    })
}

async fn total(api: &TestApi) -> u64 {
    let r = api.get("/segment/definitions").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["page"]["totalCount"].as_u64().expect("totalCount")
}

#[tokio::test]
async fn create_answers_the_aep_definition_with_x_location() {
    let api = TestApi::new().await;
    let body = create_body("US people", r#"homeAddress.countryCode = "US""#);
    assert_valid(
        &request_schema("/segment/definitions", "post"),
        &body,
        "create request",
    );
    let r = api.post("/segment/definitions", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_valid(
        &response_schema("/segment/definitions", "post", 200),
        &r.body,
        "create response",
    );
    assert_definition(&r.body);
    let id = r.body["id"].as_str().expect("id");
    assert_eq!(
        r.header("x-location"),
        Some(format!("/segment/definitions/{id}").as_str())
    );
    let b = &r.body;
    assert_eq!(b["name"], "US people");
    assert_eq!(b["description"], "people in the US");
    assert_eq!(
        b["expression"],
        json!({"type": "PQL", "format": "pql/text", "value": r#"homeAddress.countryCode = "US""#})
    );
    assert_eq!(b["schema"], json!({"name": "_xdm.context.profile"}));
    assert_eq!(b["mergePolicyId"], "5ed35fd8-6eeb-4ad2-bed9-43e695b8ac0b");
    assert_eq!(b["ttlInDays"], 30);
    assert_eq!(b["profileInstanceId"], "ups");
    assert_eq!(b["imsOrgId"], ORG);
    assert_eq!(
        b["sandbox"],
        json!({"sandboxId": "prod", "sandboxName": "prod", "type": "production", "default": true})
    );
    assert_eq!(b["creationTime"], T0_MS);
    assert_eq!(b["updateTime"], T0_MS);
    assert_eq!(b["updateEpoch"], T0_MS / 1000);
    assert_eq!(b["version"], 1);
    assert_eq!(
        b["evaluationInfo"],
        json!({"batch": {"enabled": true}, "continuous": {"enabled": false},
               "synchronous": {"enabled": false}})
    );
}

#[tokio::test]
async fn the_openapi_request_examples_are_accepted() {
    let api = TestApi::new().await;
    let examples = request_examples("/segment/definitions", "post");
    assert_eq!(examples.len(), 2, "the pql/text and pql/json examples");
    for (i, (label, mut body)) in examples.into_iter().enumerate() {
        // Both examples carry the same name, which must be unique.
        body["name"] = json!(format!("example {i}"));
        let r = api.post("/segment/definitions", body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "example {label}: {}", r.text);
        assert_definition(&r.body);
        assert_eq!(r.body["expression"]["format"], body["expression"]["format"]);
    }
}

#[tokio::test]
async fn defaults_minimal_body_and_sandbox_of_another_name() {
    let api = TestApi::new().await;
    let r = api
        .req("POST", "/data/core/ups/segment/definitions")
        .sandbox("dev-1")
        .json(json!({"name": "minimal", "expression": {"value": "person.age > 30"}}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_definition(&r.body);
    let id = r.body["id"].as_str().expect("id");
    assert_eq!(
        r.header("x-location"),
        Some(format!("/data/core/ups/segment/definitions/{id}").as_str())
    );
    assert_eq!(r.body["schema"]["name"], "_xdm.context.profile");
    assert_eq!(r.body["expression"]["type"], "PQL");
    assert_eq!(r.body["expression"]["format"], "pql/text");
    assert_eq!(r.body["evaluationInfo"]["batch"]["enabled"], true);
    assert!(r.body.get("description").is_none() && r.body.get("ttlInDays").is_none());
    assert_eq!(
        r.body["sandbox"],
        json!({"sandboxId": "dev-1", "sandboxName": "dev-1", "type": "development",
               "default": false})
    );
}

#[tokio::test]
async fn get_patch_delete_under_both_paths() {
    let api = TestApi::new().await;
    let id = api.create_definition("adults", "person.age >= 18").await;
    for prefix in ["", "/data/core/ups"] {
        let r = api.get(&format!("{prefix}/segment/definitions/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_valid(
            &response_schema("/segment/definitions/{SEGMENT_ID}", "get", 200),
            &r.body,
            "get response",
        );
        assert_definition(&r.body);
        assert_eq!(r.body["id"], id.as_str());
    }

    // PATCH sends the whole object back, read-only fields included, as AEP's doc example does.
    api.clock.advance(5_000);
    let mut whole = api.get(&format!("/segment/definitions/{id}")).await.body;
    whole["name"] = json!("grown-ups");
    whole["expression"]["value"] = json!("person.age >= 21");
    whole["evaluationInfo"] = json!({"continuous": {"enabled": true}});
    whole["creationTime"] = json!(0);
    whole["payloadSchema"] = json!("string");
    let r = api
        .req("PATCH", &format!("/data/core/ups/segment/definitions/{id}"))
        .json(whole)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_valid(
        &response_schema("/segment/definitions/{SEGMENT_ID}", "patch", 200),
        &r.body,
        "patch response",
    );
    assert_definition(&r.body);
    assert_eq!(
        r.header("x-location"),
        Some(format!("/data/core/ups/segment/definitions/{id}").as_str())
    );
    assert_eq!(r.body["name"], "grown-ups");
    assert_eq!(r.body["expression"]["value"], "person.age >= 21");
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["creationTime"], T0_MS, "creation time is kept");
    assert_eq!(r.body["updateTime"], T0_MS + 5_000);
    assert_eq!(r.body["updateEpoch"], (T0_MS + 5_000) / 1000);
    assert_eq!(
        r.body["evaluationInfo"],
        json!({"batch": {"enabled": false}, "continuous": {"enabled": true},
               "synchronous": {"enabled": false}})
    );

    let r = api
        .req("DELETE", &format!("/segment/definitions/{id}"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_valid(
        &response_schema("/segment/definitions/{SEGMENT_ID}", "delete", 200),
        &r.body,
        "delete response",
    );
    assert_valid(&component("MessageResponse"), &r.body, "MessageResponse");
    assert_eq!(r.body["status"], true);
    assert!(r.body["message"].as_str().unwrap_or("").contains(&id));
    api.get(&format!("/segment/definitions/{id}"))
        .await
        .assert_error(404, "UPAPI-113000-404");
    api.req("DELETE", &format!("/segment/definitions/{id}"))
        .send()
        .await
        .assert_error(404, "UPAPI-113000-404");
}

#[tokio::test]
async fn invalid_creates_are_refused_and_write_nothing() {
    let api = TestApi::new().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            create_body("bad pql", "person.age >"),
            "UPAPI-113002-400",
            "expression: 1:",
        ),
        (
            json!({"name": "", "expression": {"value": "a = 1"}}),
            "UPAPI-113001-400",
            "name",
        ),
        (
            json!({"expression": {"value": "a = 1"}}),
            "UPAPI-113001-400",
            "name: is required",
        ),
        (
            json!({"name": "n", "expression": {"format": "pql/xml", "value": "a = 1"}}),
            "UPAPI-113001-400",
            "expression.format",
        ),
        (
            json!({"name": "n", "expression": {"type": "ARL", "value": "a = 1"}}),
            "UPAPI-113001-400",
            "expression.type",
        ),
        (
            json!({"name": "n", "expression": {"value": "inSegment(\"no-such-id\")"}}),
            "UPAPI-113001-400",
            "no-such-id",
        ),
        (
            json!({"name": "n", "expression": {"value": 42}}),
            "UPAPI-113001-400",
            "expression.value: expected a string",
        ),
        (json!(["not", "an", "object"]), "UPAPI-113001-400", "body"),
    ];
    for (body, code, needle) in cases {
        let r = api.post("/segment/definitions", body.clone()).await;
        let message = r.assert_error(400, code);
        assert!(
            message.contains(needle),
            "{message} lacks {needle} for {body}"
        );
    }
    assert_eq!(total(&api).await, 0, "nothing was written");
}

#[tokio::test]
async fn bad_pql_reports_line_and_column() {
    let api = TestApi::new().await;
    let r = api
        .post(
            "/segment/definitions",
            create_body("two lines", "person.age > 3 and\n  (homeAddress.city = )"),
        )
        .await;
    let message = r.assert_error(400, "UPAPI-113002-400");
    assert!(message.starts_with("expression: 2:"), "{message}");
    assert!(
        r.body["title"].as_str().unwrap_or("").contains("at 2:"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_taken_name_is_422() {
    let api = TestApi::new().await;
    api.create_definition("dup", "person.age > 1").await;
    let r = api
        .post("/segment/definitions", create_body("dup", "person.age > 2"))
        .await;
    let message = r.assert_error(422, "UPAPI-113003-422");
    assert!(message.contains("dup"), "{message}");
    assert_eq!(total(&api).await, 1);
}

#[tokio::test]
async fn invalid_overwrites_are_refused_and_change_nothing() {
    let api = TestApi::new().await;
    let id = api.create_definition("keep me", "person.age > 1").await;
    let other = api.create_definition("taken", "person.age > 2").await;
    let path = format!("/segment/definitions/{id}");
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"id": other, "name": "x", "expression": {"value": "a = 1"}}),
            400,
            "UPAPI-113001-400",
        ),
        (
            json!({"name": "x", "expression": {"value": "a = "}}),
            400,
            "UPAPI-113002-400",
        ),
        (
            json!({"name": "x", "expression": {"value": format!("inSegment(\"{id}\")")}}),
            400,
            "UPAPI-113001-400",
        ),
        (
            json!({"name": "taken", "expression": {"value": "a = 1"}}),
            422,
            "UPAPI-113003-422",
        ),
        (
            json!({"expression": {"value": "a = 1"}}),
            400,
            "UPAPI-113001-400",
        ),
    ];
    for (body, status, code) in cases {
        let r = api.req("PATCH", &path).json(body).send().await;
        r.assert_error(status, code);
    }
    let r = api.get(&path).await;
    assert_eq!(r.body["name"], "keep me");
    assert_eq!(r.body["version"], 1);
    api.req("PATCH", "/segment/definitions/no-such-id")
        .json(json!({"name": "x", "expression": {"value": "a = 1"}}))
        .send()
        .await
        .assert_error(404, "UPAPI-113000-404");
}

#[tokio::test]
async fn a_referenced_definition_cannot_be_deleted() {
    let api = TestApi::new().await;
    let base = api.create_definition("base", "person.age > 1").await;
    let user = api
        .create_definition("user", &format!("inSegment(\"{base}\")"))
        .await;
    let r = api
        .req("DELETE", &format!("/segment/definitions/{base}"))
        .send()
        .await;
    let message = r.assert_error(400, "UPAPI-113631-403");
    assert!(message.contains(&user), "{message}");
    assert_eq!(total(&api).await, 2);
}

#[tokio::test]
async fn list_pages_sorts_and_filters() {
    let api = TestApi::new().await;
    for (name, continuous) in [("c", false), ("a", true), ("b", false)] {
        let mut body = create_body(name, "person.age > 1");
        body["evaluationInfo"]["continuous"]["enabled"] = json!(continuous);
        let r = api.post("/segment/definitions", body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        api.clock.advance(1_000);
    }
    let r = api.get("/segment/definitions?limit=2").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_definition_list(&r.body);
    let names = |b: &Value| -> Vec<String> {
        b["segments"]
            .as_array()
            .expect("segments")
            .iter()
            .map(|d| d["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(names(&r.body), ["c", "a"], "oldest first by default");
    assert_eq!(
        r.body["page"],
        json!({"totalCount": 3, "totalPages": 2, "sortField": "creationTime", "sort": "asc",
               "pageSize": 2, "limit": 2, "start": 0, "next": 2})
    );
    let next = r.body["link"]["next"]
        .as_str()
        .expect("link.next")
        .to_owned();
    assert_eq!(
        next,
        "/segment/definitions?start=2&limit=2&sort=creationTime:asc"
    );
    let r = api.get(&next).await;
    assert_definition_list(&r.body);
    assert_eq!(names(&r.body), ["b"]);
    assert_eq!(r.body["link"], json!({}), "no next on the last page");

    let r = api.get("/segment/definitions?page=1&limit=2").await;
    assert_eq!(names(&r.body), ["b"], "page is a 0-based page number");

    let r = api
        .get("/data/core/ups/segment/definitions?sort=name:desc&limit=1")
        .await;
    assert_definition_list(&r.body);
    assert_eq!(names(&r.body), ["c"]);
    assert_eq!(
        r.body["link"]["next"],
        "/data/core/ups/segment/definitions?start=1&limit=1&sort=name:desc"
    );

    let r = api
        .get("/segment/definitions?evaluationInfo.continuous.enabled=true&limit=1")
        .await;
    assert_definition_list(&r.body);
    assert_eq!(names(&r.body), ["a"]);
    assert_eq!(r.body["page"]["totalCount"], 1);
    let r = api
        .get("/segment/definitions?evaluationInfo.continuous.enabled=false&limit=1")
        .await;
    assert_eq!(r.body["page"]["totalCount"], 2);
    assert_eq!(
        r.body["link"]["next"],
        "/segment/definitions?start=1&limit=1&sort=creationTime:asc&evaluationInfo.continuous.enabled=false"
    );
}

#[tokio::test]
async fn bad_list_queries_are_400() {
    let api = TestApi::new().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=100000", "limit"),
        ("start=-1", "start"),
        ("sort=internalId:desc", "sort"),
        ("sort=name:up", "sort"),
        ("start=1&page=1", "page"),
        ("evaluationInfo.batch=true", "evaluationInfo.batch"),
        (
            "evaluationInfo.batch.enabled=yes",
            "evaluationInfo.batch.enabled",
        ),
        ("limit=1&limit=2", "limit"),
    ] {
        let r = api.get(&format!("/segment/definitions?{query}")).await;
        let message = r.assert_error(400, "UPAPI-113001-400");
        assert!(message.starts_with(field), "{query}: {message}");
    }
}

#[tokio::test]
async fn bulk_get_answers_207_with_one_entry_per_id() {
    let api = TestApi::new().await;
    let a = api.create_definition("a", "person.age > 1").await;
    let b = api.create_definition("b", "person.age > 2").await;
    let body = json!({"ids": [{"id": a}, {"id": "missing-id"}, {"id": b}]});
    assert_valid(
        &request_schema("/segment/definitions/bulk-get", "post"),
        &body,
        "bulk-get request",
    );
    for prefix in ["", "/data/core/ups"] {
        let r = api
            .req("POST", &format!("{prefix}/segment/definitions/bulk-get"))
            .header("x-request-id", "bulk-1")
            .json(body.clone())
            .send()
            .await;
        assert_eq!(r.status, StatusCode::MULTI_STATUS, "{}", r.text);
        assert_valid(
            &response_schema("/segment/definitions/bulk-get", "post", 207),
            &r.body,
            "bulk-get response",
        );
        let results = r.body["results"].as_object().expect("results");
        assert_eq!(results.len(), 3);
        assert_definition(&results[&a]);
        assert_definition(&results[&b]);
        assert_eq!(results[&b]["name"], "b");
        let missing = &results["missing-id"];
        assert_eq!(missing["requestId"], "bulk-1");
        let entry = &missing["errors"]["404"][0];
        assert_eq!(entry["code"], "UPAPI-113000-404");
        assert!(
            entry["message"]
                .as_str()
                .unwrap_or("")
                .contains("missing-id")
        );
    }
}

#[tokio::test]
async fn bulk_get_refusals() {
    let api = TestApi::new().await;
    let r = api
        .post(
            "/segment/definitions/bulk-get",
            json!({"ids": [{"id": "x"}, {"id": "y"}]}),
        )
        .await;
    let message = r.assert_error(404, "UPAPI-113000-404");
    assert!(message.contains('x') && message.contains('y'), "{message}");
    let many: Vec<Value> = (0..101).map(|i| json!({"id": format!("id-{i}")})).collect();
    for body in [
        json!({"ids": []}),
        json!({"ids": many}),
        json!({"ids": "a"}),
        json!({"ids": [{"name": "a"}]}),
        json!({}),
    ] {
        api.post("/segment/definitions/bulk-get", body)
            .await
            .assert_error(400, "UPAPI-113001-400");
    }
}

#[tokio::test]
async fn conversion_turns_text_into_json_and_back() {
    let api = TestApi::new().await;
    let body = json!({
        "name": "convert me",
        "expression": {"type": "PQL", "format": "pql/text", "value": r#"workAddress.country = "US""#},
        "schema": {"name": "_xdm.context.profile"},
        "ttlInDays": 60,
    });
    assert_valid(
        &request_schema("/segment/conversion", "post"),
        &body,
        "conversion request",
    );
    let r = api.post("/data/core/ups/segment/conversion", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_valid(
        &response_schema("/segment/conversion", "post", 200),
        &r.body,
        "conversion response",
    );
    assert_definition(&r.body);
    assert_eq!(r.body["name"], "convert me");
    assert_eq!(r.body["ttlInDays"], 60);
    assert_eq!(r.body["imsOrgId"], ORG);
    assert_eq!(r.body["sandbox"]["sandboxName"], "prod");
    assert_eq!(r.body["expression"]["format"], "pql/json");
    let tree: Value =
        serde_json::from_str(r.body["expression"]["value"].as_str().expect("value")).expect("json");
    assert_eq!(tree["nodeType"], "fnApply");
    assert_eq!(tree["fnName"], "=");

    let back = api
        .post(
            "/segment/conversion",
            json!({"name": "back", "expression": r.body["expression"],
                                            "schema": {"name": "_xdm.context.profile"}}),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    assert_definition(&back.body);
    assert_eq!(
        back.body["expression"],
        json!({"type": "PQL", "format": "pql/text", "value": r#"workAddress.country = "US""#})
    );
    assert_eq!(total(&api).await, 0, "conversion stores nothing");
}

#[tokio::test]
async fn conversion_refusals() {
    let api = TestApi::new().await;
    let r = api
        .post(
            "/segment/conversion",
            json!({"name": "n", "expression": {"format": "pql/text", "value": "a = = 1"}}),
        )
        .await;
    let message = r.assert_error(400, "UPAPI-113002-400");
    assert!(message.starts_with("expression: 1:"), "{message}");
    let r = api
        .post(
            "/segment/conversion",
            json!({"expression": {"format": "pql/json", "value": "{\"nodeType\": 1"}}),
        )
        .await;
    r.assert_error(400, "UPAPI-113002-400");
    let r = api.post("/segment/conversion", json!({"name": "n"})).await;
    let message = r.assert_error(400, "UPAPI-113001-400");
    assert!(message.starts_with("expression: is required"), "{message}");
}

#[tokio::test]
async fn another_tenant_sees_nothing() {
    let api = TestApi::new().await;
    let id = api.create_definition("mine", "person.age > 1").await;
    let path = format!("/segment/definitions/{id}");
    let strangers = [(OTHER_ORG, "prod"), (ORG, "dev")];
    for (org, sandbox) in strangers {
        let send = |method: &str, p: &str| api.req(method, p).org(org).sandbox(sandbox);
        send("GET", &path)
            .send()
            .await
            .assert_error(404, "UPAPI-113000-404");
        send("PATCH", &path)
            .json(json!({"name": "stolen", "expression": {"value": "a = 1"}}))
            .send()
            .await
            .assert_error(404, "UPAPI-113000-404");
        send("DELETE", &path)
            .send()
            .await
            .assert_error(404, "UPAPI-113000-404");
        send("POST", "/segment/definitions/bulk-get")
            .json(json!({"ids": [{"id": id}]}))
            .send()
            .await
            .assert_error(404, "UPAPI-113000-404");
        let r = send("GET", "/segment/definitions").send().await;
        assert_eq!(r.body["page"]["totalCount"], 0, "{}", r.text);
        // The name is free in another tenant.
        let r = send("POST", "/segment/definitions")
            .json(json!({"name": "mine", "expression": {"value": "a = 1"}}))
            .send()
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        // A reference to another tenant's definition is unknown there.
        send("POST", "/segment/definitions")
            .json(json!({"name": "ref", "expression": {"value": format!("inSegment(\"{id}\")")}}))
            .send()
            .await
            .assert_error(400, "UPAPI-113001-400");
    }
    let r = api.get(&path).await;
    assert_eq!(r.body["name"], "mine");
    assert_eq!(r.body["version"], 1);
}
