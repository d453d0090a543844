//! `/profiles`, `/events` and segment members: ingestion results, lookups, deletes, paging,
//! refusals that write nothing, tenant isolation.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{OTHER_ORG, T0_MS, TestApi, default_limits};
use crate::auth::Authenticator;
use crate::config::Limits;
use crate::context::Tenant;
use crate::domain::MembershipWrite;
use crate::pql::MembershipStatus;

fn person(email: &str, city: &str) -> Value {
    json!({
        "identityMap": {"Email": [{"id": email, "primary": true}]},
        "person": {"name": {"firstName": email.split('@').next().unwrap_or("x")}},
        "homeAddress": {"city": city},
    })
}

fn event(id: &str, email: &str) -> Value {
    json!({
        "_id": id,
        "timestamp": "2023-11-14T10:00:00Z",
        "eventType": "commerce.purchases",
        "identityMap": {"Email": [{"id": email}]},
    })
}

async fn profile_count(api: &TestApi) -> u64 {
    let r = api.get("/profiles").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["_page"]["totalCount"].as_u64().expect("totalCount")
}

#[tokio::test]
async fn upserting_profiles_reports_each_record() {
    let api = TestApi::new().await;
    let r = api
        .post(
            "/data/core/ups/profiles",
            json!([
                person("ann@example.com", "Paris"),
                person("bob@example.com", "Oslo")
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["summary"],
        json!({"created": 2, "updated": 0, "duplicate": 0, "failed": 0})
    );
    assert_eq!(r.body["results"][0]["index"], 0);
    assert_eq!(r.body["results"][0]["status"], "created");
    let ann = r.body["results"][0]["profileId"]
        .as_str()
        .expect("id")
        .to_owned();

    // One object is a batch of one; a later record updates the profile.
    let r = api
        .post("/profiles", person("ann@example.com", "Lyon"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["results"][0]["status"], "updated");
    assert_eq!(r.body["results"][0]["profileId"], ann.as_str());

    let r = api.get(&format!("/profiles/{ann}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["profileId"], ann.as_str());
    assert_eq!(r.body["entity"]["homeAddress"]["city"], "Lyon");
    assert_eq!(
        r.body["identities"],
        json!([{"namespace": "Email", "id": "ann@example.com"}])
    );
    assert_eq!(r.body["segmentMembership"], json!({"ups": {}}));
    assert_eq!(r.body["eventCount"], 0);
    assert_eq!(r.body["creationTime"], T0_MS);
}

#[tokio::test]
async fn a_bad_record_is_refused_alone_with_207() {
    let api = TestApi::new().await;
    let bad = json!({"identityMap": {"Email": [{"id": ""}]}});
    let r = api
        .req("POST", "/profiles")
        .header("x-request-id", "ingest-7")
        .json(json!([
            person("ann@example.com", "Paris"),
            bad,
            "not a record"
        ]))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS, "{}", r.text);
    assert_eq!(
        r.body["summary"],
        json!({"created": 1, "updated": 0, "duplicate": 0, "failed": 2})
    );
    let failed = &r.body["results"][1];
    assert_eq!(failed["index"], 1);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["requestId"], "ingest-7");
    let entry = &failed["errors"]["400"][0];
    assert_eq!(entry["code"], "UPAPI-113001-400");
    assert!(
        entry["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("identityMap.Email[0].id"),
        "{entry}"
    );
    assert_eq!(r.body["results"][2]["status"], "failed");
    assert_eq!(profile_count(&api).await, 1);
}

#[tokio::test]
async fn whole_batch_refusals_write_nothing() {
    let limits = Limits {
        max_batch_records: 2,
        ..default_limits()
    };
    let api = TestApi::with(Authenticator::dev_mode(), limits).await;
    let three = json!([
        person("a@x.com", "A"),
        person("b@x.com", "B"),
        person("c@x.com", "C")
    ]);
    for (path, body, needle) in [
        ("/profiles", three.clone(), "records: 3 records"),
        ("/events", three, "records: 3 records"),
        ("/profiles", json!([]), "records"),
        ("/profiles", json!("text"), "body: expected an array"),
        ("/events", json!(7), "body: expected an array"),
    ] {
        let r = api.post(path, body).await;
        let message = r.assert_error(400, "UPAPI-113001-400");
        assert!(message.starts_with(needle), "{path}: {message}");
    }
    assert_eq!(profile_count(&api).await, 0);
}

#[tokio::test]
async fn events_attach_to_profiles_and_repeat_as_duplicates() {
    let api = TestApi::new().await;
    api.post("/profiles", person("ann@example.com", "Paris"))
        .await;
    let r = api
        .post(
            "/events",
            json!([
                event("e1", "ann@example.com"),
                event("e2", "new@example.com")
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["summary"],
        json!({"created": 1, "updated": 1, "duplicate": 0, "failed": 0})
    );
    let r = api.post("/events", event("e1", "ann@example.com")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["results"][0]["status"], "duplicate");
    let r = api
        .post(
            "/events",
            json!({"_id": "e3", "identityMap": {"Email": [{"id": "a"}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS, "{}", r.text);
    assert!(
        r.body["results"][0]["errors"]["400"][0]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("timestamp"),
        "{}",
        r.text
    );
    let r = api
        .get("/profiles?namespace=Email&id=ann@example.com")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["eventCount"], 1);
}

#[tokio::test]
async fn lookups_lists_and_deletes() {
    let api = TestApi::new().await;
    let r = api
        .post(
            "/profiles",
            json!([
                person("a@x.com", "A"),
                person("b@x.com", "B"),
                person("c@x.com", "C")
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let r = api.get("/profiles?namespace=Email&id=b%40x.com").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["entity"]["homeAddress"]["city"], "B");
    api.get("/profiles?namespace=Email&id=zed@x.com")
        .await
        .assert_error(404, "UPAPI-113000-404");
    api.get("/profiles/no-such-profile")
        .await
        .assert_error(404, "UPAPI-113000-404");

    let r = api.get("/data/core/ups/profiles?limit=2").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["children"].as_array().map(Vec::len), Some(2));
    assert_eq!(r.body["_page"]["totalCount"], 3);
    assert_eq!(r.body["_page"]["pageSize"], 2);
    let next = r.body["_links"]["next"]["href"]
        .as_str()
        .expect("next")
        .to_owned();
    assert!(next.starts_with("/data/core/ups/profiles?start="), "{next}");
    let r = api.get(&next).await;
    assert_eq!(r.body["children"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["_links"]["next"], json!({}));

    for (query, field) in [
        ("namespace=Email", "id"),
        ("id=a@x.com", "namespace"),
        ("limit=0", "limit"),
        ("start=zz", "page_token"),
        ("namespace=Email&id=a@x.com&limit=1", "limit"),
        ("email=a@x.com", "email"),
    ] {
        let r = api.get(&format!("/profiles?{query}")).await;
        let message = r.assert_error(400, "UPAPI-113001-400");
        assert!(message.starts_with(field), "{query}: {message}");
    }

    let a = api.get("/profiles?namespace=Email&id=a@x.com").await.body["profileId"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = api.req("DELETE", &format!("/profiles/{a}")).send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], true);
    assert_eq!(r.body["profileId"], a.as_str());
    api.get(&format!("/profiles/{a}"))
        .await
        .assert_error(404, "UPAPI-113000-404");
    let r = api
        .req("DELETE", "/profiles?namespace=Email&id=b@x.com")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    api.req("DELETE", "/profiles")
        .send()
        .await
        .assert_error(400, "UPAPI-113001-400");
    assert_eq!(profile_count(&api).await, 1);
}

#[tokio::test]
async fn memberships_show_on_profiles_and_member_lists() {
    let api = TestApi::new().await;
    let seg = api
        .create_definition("Paris", r#"homeAddress.city = "Paris""#)
        .await;
    let r = api
        .post(
            "/profiles",
            json!([person("a@x.com", "Paris"), person("b@x.com", "Oslo")]),
        )
        .await;
    let a = r.body["results"][0]["profileId"]
        .as_str()
        .expect("a")
        .to_owned();
    let b = r.body["results"][1]["profileId"]
        .as_str()
        .expect("b")
        .to_owned();
    let write = |profile: &str, status| MembershipWrite {
        profile_id: profile.to_owned(),
        segment_id: seg.clone(),
        status,
        last_qualification_time_ms: T0_MS,
        version: 1,
    };
    api.store
        .replace_memberships(
            &Tenant::new(super::ORG, "prod"),
            std::slice::from_ref(&seg),
            &[
                write(&a, MembershipStatus::Realized),
                write(&b, MembershipStatus::Exited),
            ],
        )
        .await
        .expect("memberships");

    let r = api.get(&format!("/profiles/{a}")).await;
    assert_eq!(
        r.body["segmentMembership"],
        json!({"ups": {seg.as_str(): {"status": "realized",
               "lastQualificationTime": "2023-11-14T22:13:20.000Z", "version": "1"}}})
    );

    let path = format!("/segment/definitions/{seg}/members");
    let r = api.get(&path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["_page"]["totalCount"], 1, "current members only");
    assert_eq!(r.body["children"][0]["profileId"], a.as_str());
    assert_eq!(r.body["children"][0]["status"], "realized");
    let r = api
        .get(&format!("{path}?status=exited,realized&limit=1"))
        .await;
    assert_eq!(r.body["_page"]["totalCount"], 2);
    let next = r.body["_links"]["next"]["href"]
        .as_str()
        .expect("next")
        .to_owned();
    assert!(next.contains("status=exited,realized"), "{next}");
    let r = api.get(&next).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["children"].as_array().map(Vec::len), Some(1));
    api.get(&format!("{path}?status=gone"))
        .await
        .assert_error(400, "UPAPI-113001-400");
    api.get("/segment/definitions/nope/members")
        .await
        .assert_error(404, "UPAPI-113000-404");
    api.req("GET", &path)
        .org(OTHER_ORG)
        .send()
        .await
        .assert_error(404, "UPAPI-113000-404");
}

#[tokio::test]
async fn profiles_of_another_tenant_are_not_found() {
    let api = TestApi::new().await;
    let r = api.post("/profiles", person("a@x.com", "Paris")).await;
    let id = r.body["results"][0]["profileId"]
        .as_str()
        .expect("id")
        .to_owned();
    for (org, sandbox) in [(OTHER_ORG, "prod"), (super::ORG, "dev")] {
        let send = |method: &str, p: &str| api.req(method, p).org(org).sandbox(sandbox);
        send("GET", &format!("/profiles/{id}"))
            .send()
            .await
            .assert_error(404, "UPAPI-113000-404");
        send("GET", "/profiles?namespace=Email&id=a@x.com")
            .send()
            .await
            .assert_error(404, "UPAPI-113000-404");
        send("DELETE", &format!("/profiles/{id}"))
            .send()
            .await
            .assert_error(404, "UPAPI-113000-404");
        let r = send("GET", "/profiles").send().await;
        assert_eq!(r.body["_page"]["totalCount"], 0, "{}", r.text);
        // The same identity in another tenant is another profile.
        let r = send("POST", "/events")
            .json(event("e1", "a@x.com"))
            .send()
            .await;
        assert_eq!(r.body["results"][0]["status"], "created", "{}", r.text);
    }
    let r = api.get(&format!("/profiles/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["eventCount"], 0);
}
