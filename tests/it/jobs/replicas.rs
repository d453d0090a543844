//! Two server processes on one PostgreSQL share the work: many jobs created through both are
//! each run exactly once (one claim each), and when the replica running a job is killed the
//! other one takes it over and finishes it. PostgreSQL only: SQLite is single-writer by design.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use segmentation::store::Backend;

use super::child::{ServerProcess, worker_pid};
use super::*;
use crate::service::{TestDb, backends};

const ORG: &str = "JOBSREPL01@AdobeOrg";

fn flags(pause_ms: &str) -> Vec<&str> {
    vec![
        "--job-workers",
        "2",
        "--job-lease-ms",
        "1500",
        "--job-poll-interval-ms",
        "100",
        "--job-page-size",
        "50",
        "--job-page-pause-ms",
        pause_ms,
        "--max-running-jobs-per-sandbox",
        "100",
    ]
}

#[tokio::test]
async fn two_replicas_run_each_job_once_and_take_over_a_killed_ones_job() {
    if !backends().await.contains(&Backend::Postgres) {
        eprintln!("note: the replica test needs PostgreSQL; skipped");
        return;
    }
    let (db, url) = TestDb::create(Backend::Postgres).await;
    let mut replicas = vec![
        ServerProcess::start(&url, &flags("20")).await,
        ServerProcess::start(&url, &flags("20")).await,
    ];
    let mut sandboxes = Vec::new();
    for r in &replicas {
        sandboxes.push(Sandbox {
            channel: r.channel().await,
            caller: Caller::anonymous(ORG),
        });
    }
    let opts = gen_options(31, 3);
    sandboxes[0].ingest(&opts, 0..400).await;
    let defs = [
        sandboxes[0].define("us", US).await,
        sandboxes[1].define("loyal", LOYAL).await,
        sandboxes[0].define("buyers", BUYERS).await,
    ];

    // Many jobs, created through both replicas.
    let mut ids = Vec::new();
    for i in 0..16 {
        let sb = &sandboxes[i % 2];
        let segment = defs[i % defs.len()].as_str();
        ids.push(sb.create(&[segment], Some(NOW)).await.id);
    }
    let mut ran_on = BTreeSet::new();
    for id in &ids {
        let end = sandboxes[0].watch(id).await.pop().expect("final");
        assert_eq!(
            end.status,
            pb::JobStatus::Succeeded as i32,
            "{:?}",
            end.errors
        );
        assert_eq!(end.attempts, 1, "job {id} was claimed exactly once");
        ran_on.insert(worker_pid(&end.worker).expect("worker pid"));
    }
    let pids: BTreeSet<u32> = replicas.iter().map(|r| r.pid).collect();
    assert!(ran_on.is_subset(&pids));
    assert_eq!(ran_on, pids, "both replicas took jobs");

    // A slow job; the replica running it is killed; the other finishes it.
    let slow_def = sandboxes[0].define("slow-us", US).await;
    replicas.push(ServerProcess::start(&url, &flags("150")).await);
    replicas.push(ServerProcess::start(&url, &flags("150")).await);
    // The fast replicas stop; only the slow pair remains.
    replicas.drain(..2).for_each(drop);
    let slow: Vec<Sandbox> = {
        let mut v = Vec::new();
        for r in &replicas {
            v.push(Sandbox {
                channel: r.channel().await,
                caller: Caller::anonymous(ORG),
            });
        }
        v
    };
    let job = slow[0].create(&[&slow_def], Some(NOW)).await;
    let mut holder = None;
    for _ in 0..500 {
        let j = slow[1].get(&job.id).await;
        if j.status == pb::JobStatus::Processing as i32 && j.profiles_done >= 100 {
            holder = worker_pid(&j.worker);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let holder = holder.expect("the slow job started");
    let (dead, alive) = if replicas[0].pid == holder {
        (0, 1)
    } else {
        (1, 0)
    };
    replicas[dead].kill9();
    let end = slow[alive].watch(&job.id).await.pop().expect("final");
    assert_eq!(
        end.status,
        pb::JobStatus::Succeeded as i32,
        "{:?}",
        end.errors
    );
    assert_eq!(end.attempts, 2);
    assert_eq!(worker_pid(&end.worker), Some(replicas[alive].pid));
    let store = Store::connect(&url).await.expect("direct connection");
    let file = export(&store, &slow[alive].caller, &BTreeMap::new()).await;
    assert_eq!(
        slow[alive].members(&slow_def, &[]).await,
        cli_eval(file.path(), US)
    );
    store.close().await.expect("close");
    drop(replicas);
    db.drop_database().await;
}
