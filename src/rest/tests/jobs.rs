//! `/segment/jobs`: both create bodies, a job run end to end by a worker and read back as AEP
//! shapes (validated against the OpenAPI file), members equal to evaluating each definition
//! directly, list envelope with filters and `_links.next`, DELETE as cancel (204, a no-op once
//! ended), bulk-get 207, and the refusals (1500 ids, unknown ids, 429 with Retry-After).

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::openapi::{assert_job, assert_valid, request_schema, response_schema};
use super::{OTHER_ORG, T0_MS, TestApi, default_limits};
use crate::auth::Authenticator;
use crate::pql::{self, NoMemberships};

const US: &str = r#"homeAddress.countryCode = "US""#;
const BUYER: &str = r#"xEvent[eventType = "commerce.purchases"].count() >= 2"#;

fn person(i: usize) -> Value {
    let country = ["US", "CA", "FR"][i % 3];
    json!({
        "identityMap": {"Email": [{"id": format!("p{i}@x.com"), "primary": true}]},
        "homeAddress": {"countryCode": country},
    })
}

fn purchase(i: usize, k: usize) -> Value {
    json!({
        "_id": format!("e{i}-{k}"),
        "timestamp": "2023-11-01T10:00:00Z",
        "eventType": "commerce.purchases",
        "identityMap": {"Email": [{"id": format!("p{i}@x.com")}]},
    })
}

/// 30 people, person i with i % 4 purchases.
async fn load(api: &TestApi) -> Vec<(Value, Vec<Value>)> {
    let people: Vec<(Value, Vec<Value>)> = (0..30)
        .map(|i| (person(i), (0..i % 4).map(|k| purchase(i, k)).collect()))
        .collect();
    let docs: Vec<Value> = people.iter().map(|(p, _)| p.clone()).collect();
    let r = api.post("/profiles", Value::Array(docs)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events: Vec<Value> = people.iter().flat_map(|(_, e)| e.clone()).collect();
    let r = api.post("/events", Value::Array(events)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    people
}

/// The emails of the people a definition selects, evaluated directly at the job's instant.
fn direct(people: &[(Value, Vec<Value>)], pql_text: &str) -> BTreeSet<String> {
    let program = pql::compile_text(pql_text).expect("compiles");
    people
        .iter()
        .filter(|(doc, events)| {
            let profile = pql::Value::from_json(doc);
            let events = pql::Value::from_json(&Value::Array(events.clone()));
            program.matches(&pql::EvalContext {
                profile: &profile,
                events: &events,
                memberships: &NoMemberships,
                now: T0_MS,
            })
        })
        .map(|(doc, _)| {
            doc["identityMap"]["Email"][0]["id"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// The emails of a segment's current members.
async fn member_emails(api: &TestApi, segment: &str) -> BTreeSet<String> {
    let r = api
        .get(&format!(
            "/segment/definitions/{segment}/members?limit=1000"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut out = BTreeSet::new();
    for m in r.body["children"].as_array().expect("children") {
        let id = m["profileId"].as_str().expect("profileId");
        let p = api.get(&format!("/profiles/{id}")).await;
        out.insert(
            p.body["entity"]["identityMap"]["Email"][0]["id"]
                .as_str()
                .expect("email")
                .to_owned(),
        );
    }
    out
}

async fn wait_for_end(api: &TestApi, path: &str) -> Value {
    for _ in 0..1500 {
        let r = api.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_job(&r.body);
        if ["SUCCEEDED", "FAILED", "CANCELLED"].contains(&r.body["status"].as_str().unwrap_or("")) {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} did not end");
}

#[tokio::test]
async fn a_job_runs_end_to_end_and_reads_as_aep_shapes() {
    let mut api = TestApi::new().await;
    let people = load(&api).await;
    let us = api.create_definition("us", US).await;
    let buyer = api.create_definition("buyer", BUYER).await;
    let body = json!([{"segmentId": us}, {"segmentId": buyer}]);
    assert_valid(
        &request_schema("/segment/jobs", "post"),
        &body,
        "create request",
    );
    let r = api
        .req("POST", "/data/core/ups/segment/jobs")
        .header("x-profile-instance-id", "ups")
        .json(body)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_valid(
        &response_schema("/segment/jobs", "post", 200),
        &r.body,
        "create",
    );
    assert_job(&r.body);
    let b = &r.body;
    assert_eq!(b["status"], "NEW");
    assert_eq!(
        (b["source"].as_str(), b["evaluationTime"].as_i64()),
        (Some("api"), Some(T0_MS))
    );
    assert_eq!(b["metrics"]["totalTime"], json!({"startTimeInMs": T0_MS}));
    assert_eq!(b["metrics"]["profileSegmentationTime"], json!({}));
    let id = b["id"].as_str().expect("id").to_owned();
    let href = format!("/data/core/ups/segment/jobs/{id}");
    assert_eq!(
        b["_links"]["cancel"],
        json!({"href": href, "method": "DELETE"})
    );
    assert_eq!(
        b["_links"]["checkStatus"],
        json!({"href": href, "method": "GET"})
    );
    let us_entry = b["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .find(|s| s["segmentId"] == us.as_str())
        .expect("us is listed");
    assert_eq!(
        us_entry["segment"],
        json!({"id": us, "version": 1,
               "expression": {"type": "PQL", "format": "pql/text", "value": US},
               "mergePolicy": {"id": "ups-default", "version": 1}})
    );

    api.start_workers();
    let done = wait_for_end(&api, &format!("/segment/jobs/{id}")).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["errors"], json!([]));
    let m = &done["metrics"];
    assert_eq!(m["totalProfiles"], 30);
    assert_eq!(m["totalProfilesByMergePolicy"], json!({"ups-default": 30}));
    assert_eq!(
        done["progress"],
        json!({"profilesDone": 30, "profilesTotal": 30})
    );
    for (segment, pql_text) in [(&us, US), (&buyer, BUYER)] {
        let want = direct(&people, pql_text);
        assert!(!want.is_empty() && want.len() < 30);
        assert_eq!(member_emails(&api, segment).await, want, "{pql_text}");
        let n = want.len();
        assert_eq!(m["segmentedProfileCounter"][segment.as_str()], n);
        assert_eq!(
            m["segmentedProfileByStatusCounter"][segment.as_str()],
            json!({"realized": n, "existing": 0, "exited": 0})
        );
        assert_eq!(
            m["segmentedProfileByNamespaceCounter"][segment.as_str()],
            json!({"Email": n})
        );
    }
    let times = &m["profileSegmentationTime"];
    assert!(times["startTimeInMs"].is_i64() && times["totalTimeInMs"].as_i64() >= Some(0));
    assert!(m["totalTime"]["endTimeInMs"].is_i64());
    // The profile carries the memberships in XDM form.
    let some = api
        .get(&format!("/segment/definitions/{us}/members?limit=1"))
        .await;
    let pid = some.body["children"][0]["profileId"]
        .as_str()
        .expect("member")
        .to_owned();
    let p = api.get(&format!("/profiles/{pid}")).await;
    assert_eq!(
        p.body["segmentMembership"]["ups"][us.as_str()]["status"],
        "realized"
    );

    // Cancelling a job that ended is a 204 that changes nothing.
    let r = api
        .req("DELETE", &format!("/segment/jobs/{id}"))
        .send()
        .await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::NO_CONTENT, ""));
    let again = api.get(&format!("/segment/jobs/{id}")).await;
    assert_eq!(again.body["status"], "SUCCEEDED");
}

#[tokio::test]
async fn the_object_form_asks_for_every_definition_at_a_given_instant() {
    let api = TestApi::new().await;
    let us = api.create_definition("us", US).await;
    let at = T0_MS - 86_400_000;
    let r = api
        .post(
            "/segment/jobs",
            json!({"schema": {"name": "_xdm.context.profile"}, "segments": [{"segmentId": "*"}],
                   "evaluationTime": at}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_job(&r.body);
    assert_eq!(r.body["segments"], json!([{"segmentId": "*"}]));
    assert_eq!(r.body["evaluationTime"], at);
    let listed = api
        .get(&format!("/segment/jobs?property=segments~segmentId=={us}"))
        .await;
    assert_eq!(
        listed.body["_page"]["totalCount"], 1,
        "a * job evaluates every definition"
    );
}

#[tokio::test]
async fn the_list_pages_filters_and_links_the_next_page() {
    let api = TestApi::new().await;
    let us = api.create_definition("us", US).await;
    let buyer = api.create_definition("buyer", BUYER).await;
    let mut ids = Vec::new();
    for s in [&us, &buyer, &us] {
        let r = api.post("/segment/jobs", json!([{"segmentId": s}])).await;
        ids.push(r.body["id"].as_str().expect("id").to_owned());
        api.clock.advance(1000);
    }
    let r = api
        .req("DELETE", &format!("/segment/jobs/{}", ids[1]))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let first = api.get("/data/core/ups/segment/jobs?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_valid(
        &response_schema("/segment/jobs", "get", 200),
        &first.body,
        "list",
    );
    for j in first.body["children"].as_array().expect("children") {
        assert_job(j);
    }
    assert_eq!(first.body["_page"]["totalCount"], 3);
    assert_eq!(first.body["_page"]["pageSize"], 2);
    assert_eq!(first.body["children"][0]["id"], ids[2], "newest first");
    let next = first.body["_links"]["next"]["href"]
        .as_str()
        .expect("next")
        .to_owned();
    assert!(
        next.starts_with("/data/core/ups/segment/jobs?start=2"),
        "{next}"
    );
    let second = api.get(&next).await;
    assert_eq!(second.body["children"][0]["id"], ids[0]);
    assert_eq!(second.body["_links"]["next"], json!({}));

    let cancelling = api.get("/segment/jobs?status=CANCELLING").await;
    assert_eq!(cancelling.body["_page"]["totalCount"], 1);
    assert_eq!(cancelling.body["children"][0]["id"], ids[1]);
    let with_us = api
        .get(&format!(
            "/segment/jobs?property=segments~segmentId=={us}&sort=creationTime:asc"
        ))
        .await;
    let got: Vec<&str> = with_us.body["children"]
        .as_array()
        .expect("children")
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(got, vec![ids[0].as_str(), ids[2].as_str()]);

    for (query, field) in [
        ("status=DONE", "status"),
        ("property=name==x", "property"),
        ("sort=name:asc", "sort"),
        ("snapshot.name=x", "snapshot.name"),
        ("limit=0", "limit"),
    ] {
        let r = api.get(&format!("/segment/jobs?{query}")).await;
        let msg = r.assert_error(400, "UPAPI-113001-400");
        assert!(msg.starts_with(field), "{query}: {msg}");
    }
}

#[tokio::test]
async fn bulk_get_answers_207_and_404_when_nothing_is_found() {
    let api = TestApi::new().await;
    let us = api.create_definition("us", US).await;
    let r = api.post("/segment/jobs", json!([{"segmentId": us}])).await;
    let id = r.body["id"].as_str().expect("id").to_owned();
    let r = api
        .post(
            "/segment/jobs/bulk-get",
            json!({"ids": [{"id": id}, {"id": "nope"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS, "{}", r.text);
    assert_valid(
        &response_schema("/segment/jobs/bulk-get", "post", 207),
        &r.body,
        "bulk",
    );
    assert_job(&r.body["results"][id.as_str()]);
    assert_eq!(
        r.body["results"]["nope"]["errors"]["404"][0]["code"],
        "UPAPI-113000-404"
    );
    let r = api
        .post("/segment/jobs/bulk-get", json!({"ids": [{"id": "nope"}]}))
        .await;
    r.assert_error(404, "UPAPI-113000-404");
    let r = api.post("/segment/jobs/bulk-get", json!({"ids": []})).await;
    r.assert_error(400, "UPAPI-113001-400");
}

#[tokio::test]
async fn refusals_say_what_to_do() {
    let api = TestApi::with_job_limit(Authenticator::dev_mode(), default_limits(), 1).await;
    let us = api.create_definition("us", US).await;
    let many: Vec<Value> = (0..1501)
        .map(|i| json!({"segmentId": format!("s{i}")}))
        .collect();
    let r = api.post("/segment/jobs", Value::Array(many)).await;
    let msg = r.assert_error(400, "UPAPI-113001-400");
    assert!(
        msg.starts_with("segments:") && msg.contains("\"*\""),
        "{msg}"
    );
    let r = api
        .post(
            "/segment/jobs",
            json!([{"segmentId": us}, {"segmentId": "ghost-a"}, {"segmentId": "ghost-b"}]),
        )
        .await;
    let msg = r.assert_error(404, "UPAPI-113000-404");
    assert!(msg.contains("ghost-a") && msg.contains("ghost-b"), "{msg}");
    let r = api.post("/segment/jobs", json!(["a"])).await;
    let msg = r.assert_error(400, "UPAPI-113001-400");
    assert!(msg.starts_with("[0].segmentId"), "{msg}");
    let r = api.post("/segment/jobs", json!([{"segmentId": us}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api.post("/segment/jobs", json!([{"segmentId": us}])).await;
    let msg = r.assert_error(429, "UPAPI-113007-429");
    assert!(msg.contains("max_running_jobs_per_sandbox"), "{msg}");
    assert_eq!(r.header("retry-after"), Some("10"));
    let r = api.get("/segment/jobs/nope").await;
    r.assert_error(404, "UPAPI-113000-404");
    let r = api.req("DELETE", "/segment/jobs/nope").send().await;
    r.assert_error(404, "UPAPI-113000-404");
    // Another org sees none of it.
    let r = api.req("GET", "/segment/jobs").org(OTHER_ORG).send().await;
    assert_eq!(r.body["_page"]["totalCount"], 0);
}
