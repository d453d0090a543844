//! A job end to end over the REST socket: generated data posted to `/profiles` and `/events`,
//! definitions and the job created under `/data/core/ups`, the job polled to its end, members
//! read back and compared with `segmentation pql eval` on an export at the same instant.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::service::{Options, backends, spawn_server_with};

const ORG: &str = "JOBSREST01@AdobeOrg";
const BASE: &str = "/data/core/ups";

#[tokio::test]
async fn a_job_over_rest_matches_the_cli() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let rest = server.rest(&caller);
        let opts = gen_options(41, 6);
        let mut people = Vec::new();
        let mut events = Vec::new();
        for i in 0..300 {
            let g = datagen::profile(&opts, i);
            let ecid = g.profile["identityMap"]["ECID"][0]["id"].clone();
            for mut e in g.events {
                e["identityMap"] = json!({"ECID": [{"id": ecid}]});
                events.push(e);
            }
            people.push(g.profile);
        }
        let r = rest.post("/profiles", &Value::Array(people)).await;
        assert_eq!(r.status, 200, "{r:?}");
        for chunk in events.chunks(1000) {
            let r = rest.post("/events", &Value::Array(chunk.to_vec())).await;
            assert_eq!(r.status, 200, "{r:?}");
        }
        let mut ids = Vec::new();
        for (name, pql) in [("us", US), ("buyers", BUYERS), ("big", BIG_SPENDERS)] {
            let body = json!({"name": name, "schema": {"name": "_xdm.context.profile"},
                              "expression": {"type": "PQL", "format": "pql/text", "value": pql}});
            let r = rest
                .post(&format!("{BASE}/segment/definitions"), &body)
                .await;
            assert_eq!(r.status, 200, "{r:?}");
            ids.push((r.body["id"].as_str().expect("id").to_owned(), pql));
        }

        let body = json!({"schema": {"name": "_xdm.context.profile"},
                          "segments": [{"segmentId": "*"}], "evaluationTime": NOW});
        let created = rest.post(&format!("{BASE}/segment/jobs"), &body).await;
        assert_eq!(created.status, 200, "{created:?}");
        assert_eq!(created.body["status"], "NEW");
        assert_eq!(created.body["segments"], json!([{"segmentId": "*"}]));
        let check = created.body["_links"]["checkStatus"]["href"]
            .as_str()
            .expect("checkStatus")
            .to_owned();
        assert!(check.starts_with(BASE), "{check}");
        let mut job = created.body.clone();
        for _ in 0..3000 {
            job = rest.get(&check).await.body;
            if ["SUCCEEDED", "FAILED", "CANCELLED"].contains(&job["status"].as_str().unwrap_or(""))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(job["status"], "SUCCEEDED", "{job}");
        assert_eq!(job["evaluationTime"], NOW);

        let store = server.store().await;
        let file = export(&store, &caller, &BTreeMap::new()).await;
        for (id, pql) in &ids {
            let want = cli_eval(file.path(), pql);
            assert!(!want.is_empty());
            let members = rest
                .get(&format!(
                    "{BASE}/segment/definitions/{id}/members?limit=1000"
                ))
                .await;
            let got: BTreeSet<String> = members.body["children"]
                .as_array()
                .expect("children")
                .iter()
                .filter_map(|m| m["profileId"].as_str().map(str::to_owned))
                .collect();
            assert_eq!(got, want, "{pql}");
            assert_eq!(
                job["metrics"]["segmentedProfileByStatusCounter"][id.as_str()]["realized"],
                want.len()
            );
        }

        // Cancelling the finished job: 204, nothing changes.
        let id = job["id"].as_str().expect("id");
        let r = rest.delete(&format!("{BASE}/segment/jobs/{id}")).await;
        assert_eq!((r.status, &r.body), (204, &Value::Null));
        let listed = rest
            .get(&format!(
                "/segment/jobs?status=SUCCEEDED&property=segments~segmentId=={}",
                ids[0].0
            ))
            .await;
        assert_eq!(listed.body["_page"]["totalCount"], 1, "{listed:?}");
        assert_eq!(listed.body["children"][0]["id"], id);
        store.close().await.expect("close");
        server.stop().await;
    }
}
