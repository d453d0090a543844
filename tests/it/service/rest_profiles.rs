//! The REST gateway end to end for people: profile and event ingestion, profile lookups, listing
//! and deletion, and segment members, over a real HTTP client on every backend.

use serde_json::json;

use segmentation::context::Tenant;
use segmentation::domain::MembershipWrite;
use segmentation::pql::MembershipStatus;

use super::*;

const ORG: &str = "RESTPEOPLE01@AdobeOrg";

fn person(email: &str, country: &str) -> serde_json::Value {
    json!({
        "identityMap": {"Email": [{"id": email, "primary": true}]},
        "homeAddress": {"countryCode": country}
    })
}

#[tokio::test]
async fn people_are_ingested_looked_up_listed_and_deleted_over_http() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let rest = server.rest(&Caller::new(ORG, "prod"));

        let r = rest
            .post(
                "/profiles",
                &json!([
                    person("ann@example.com", "US"),
                    person("bob@example.com", "CA")
                ]),
            )
            .await;
        assert_eq!(r.status, 200, "{backend:?}: {r:?}");
        assert_eq!(r.body["summary"]["created"], 2, "{r:?}");
        let ann = r.body["results"][0]["profileId"]
            .as_str()
            .expect("id")
            .to_owned();

        // One record refused, the other written: 207.
        let r = rest
            .post(
                "/data/core/ups/profiles",
                &json!([person("ann@example.com", "MX"), {"identityMap": {"Email": [{"id": ""}]}}]),
            )
            .await;
        assert_eq!(r.status, 207, "{r:?}");
        assert_eq!(r.body["results"][0]["status"], "updated");
        assert_eq!(r.body["results"][1]["status"], "failed");
        assert_eq!(
            r.body["results"][1]["errors"]["400"][0]["code"],
            "UPAPI-113001-400"
        );

        let event = json!({"_id": "e1", "timestamp": "2026-11-20T10:00:00Z",
            "eventType": "commerce.purchases",
            "identityMap": {"Email": [{"id": "ann@example.com"}]}});
        let r = rest.post("/events", &json!([event])).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.body["results"][0]["status"], "updated");
        assert_eq!(r.body["results"][0]["profileId"], ann);
        let r = rest.post("/events", &event).await;
        assert_eq!(r.body["summary"]["duplicate"], 1, "{r:?}");

        let by_identity = rest
            .get("/profiles?namespace=Email&id=ann%40example.com")
            .await;
        assert_eq!(by_identity.status, 200, "{by_identity:?}");
        assert_eq!(by_identity.body["profileId"], ann);
        assert_eq!(by_identity.body["eventCount"], 1);
        assert_eq!(
            by_identity.body["entity"]["homeAddress"]["countryCode"],
            "MX"
        );
        let by_id = rest.get(&format!("/profiles/{ann}")).await;
        assert_eq!(by_id.body, by_identity.body);

        let first = rest.get("/profiles?limit=1").await;
        assert_eq!(first.status, 200, "{first:?}");
        assert_eq!(first.body["_page"]["totalCount"], 2);
        let next = first.body["_links"]["next"]["href"].as_str().expect("next");
        let second = rest.get(next).await;
        assert_eq!(second.body["children"].as_array().map(Vec::len), Some(1));
        assert_eq!(second.body["_links"]["next"], json!({}));

        let r = rest
            .delete("/profiles?namespace=Email&id=bob%40example.com")
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        rest.get("/profiles?namespace=Email&id=bob%40example.com")
            .await
            .assert_error(404, "UPAPI-113000-404");
        let r = rest.delete(&format!("/profiles/{ann}")).await;
        assert_eq!(r.body["profileId"], ann, "{r:?}");
        rest.get(&format!("/profiles/{ann}"))
            .await
            .assert_error(404, "UPAPI-113000-404");
        server.stop().await;
    }
}

#[tokio::test]
async fn members_and_memberships_show_over_http() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let rest = server.rest(&Caller::new(ORG, "prod"));
        let r = rest
            .post(
                "/profiles",
                &json!([person("a@example.com", "US"), person("b@example.com", "US")]),
            )
            .await;
        let ids: Vec<String> = (0..2)
            .map(|i| {
                r.body["results"][i]["profileId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let definition = rest
            .post(
                "/segment/definitions",
                &json!({"name": "US", "expression": {"value": "homeAddress.countryCode = \"US\""}}),
            )
            .await;
        let segment = definition.body["id"].as_str().expect("id").to_owned();

        // Memberships are written by segment jobs; arrange them in the store directly.
        let rows: Vec<MembershipWrite> = ids
            .iter()
            .zip([MembershipStatus::Realized, MembershipStatus::Exited])
            .map(|(id, status)| MembershipWrite {
                profile_id: id.clone(),
                segment_id: segment.clone(),
                status,
                last_qualification_time_ms: 1_780_000_000_000,
                version: 1,
            })
            .collect();
        let store = server.store().await;
        store
            .replace_memberships(
                &Tenant::new(ORG, "prod"),
                std::slice::from_ref(&segment),
                &rows,
            )
            .await
            .expect("memberships");
        store.close().await.expect("close");

        let members = rest
            .get(&format!("/segment/definitions/{segment}/members"))
            .await;
        assert_eq!(members.status, 200, "{backend:?}: {members:?}");
        let children = members.body["children"].as_array().expect("children");
        assert_eq!(children.len(), 1, "{members:?}");
        assert_eq!(children[0]["profileId"], ids[0].as_str());
        assert_eq!(children[0]["status"], "realized");
        let exited = rest
            .get(&format!(
                "/segment/definitions/{segment}/members?status=exited"
            ))
            .await;
        assert_eq!(exited.body["children"][0]["profileId"], ids[1].as_str());

        let profile = rest.get(&format!("/profiles/{}", ids[0])).await;
        let membership = &profile.body["segmentMembership"]["ups"][&segment];
        assert_eq!(membership["status"], "realized", "{profile:?}");
        assert_eq!(
            membership["lastQualificationTime"],
            "2026-05-28T20:26:40.000Z"
        );
        rest.get("/segment/definitions/unknown/members")
            .await
            .assert_error(404, "UPAPI-113000-404");
        server.stop().await;
    }
}
