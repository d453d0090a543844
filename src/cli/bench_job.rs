//! `segmentation bench-job`: the segment job benchmark. Generates N profiles with their events
//! (`datagen`), ingests them through the real ingestion path, creates 20 definitions, runs one
//! job over all of them with the real engine, and reports profiles per second, evaluations per
//! second and the peak memory (RSS) of the job.
//!
//! Loading and running can be separate processes (`--load-only`, then `--skip-load` on the same
//! database), so the job's peak RSS is measured in a process that did nothing else; in one
//! process the peak is reset (`/proc/self/clear_refs`) between loading and the job.
//!
//! The side-by-side benchmark with DuckDB (`bench/run.py`) also uses `--export` (the same data
//! as JSON lines), `--result-json` (each run's numbers) and `--members-out` (each audience's
//! members, to compare with DuckDB's). The 20 definitions are the `-- pql:` lines of
//! `bench/audiences.sql`, beside the SQL that means the same.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use segmentation::context::{Principal, RequestContext, Tenant};
use segmentation::domain::{
    DefinitionInput, DefinitionService, ExpressionInput, JobInput, JobLimits, JobSegments,
    JobService, ProfileService, SegmentJob,
};
use segmentation::engine::{Engine, EngineOptions, default_threads};
use segmentation::error::Error;
use segmentation::store::{Store, StoreOptions};
use serde_json::json;

use super::bench_data::{self, NOW};
use super::bench_members;

#[derive(Args)]
pub struct BenchJobArgs {
    /// Profiles to generate.
    #[arg(long, default_value_t = 100_000)]
    profiles: u64,
    /// Most events per profile (drawn skewed towards few; the mean is about a quarter of it).
    #[arg(long, default_value_t = 40)]
    max_events: u32,
    /// The database; a SQLite file under the temp directory when not given.
    #[arg(long)]
    database_url: Option<String>,
    /// Only generate and load the data (and the definitions), then stop.
    #[arg(long)]
    load_only: bool,
    /// Do not load: run the job over data an earlier `--load-only` run loaded.
    #[arg(long)]
    skip_load: bool,
    /// Profiles per page.
    #[arg(long, default_value_t = 1000)]
    page_size: u64,
    /// Evaluation threads (0: every core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Only write the generated data as JSON lines to this directory (`profiles.jsonl`,
    /// `events.jsonl`), for DuckDB; no database is touched.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["load_only", "skip_load", "database_url"])]
    export: Option<PathBuf>,
    /// Also write this run's numbers as one JSON object to this file.
    #[arg(long, value_name = "FILE")]
    result_json: Option<PathBuf>,
    /// After the job, write each definition's members (the generator's profile `_id`s, sorted)
    /// to this file as JSON: `{"bench-00": [...], ...}`. Read after the job's numbers are taken.
    #[arg(long, value_name = "FILE")]
    members_out: Option<PathBuf>,
    /// Log filter on stderr (`info,segmentation::engine=debug,segmentation::store=debug`
    /// shows the time of each phase of the job and each step of its commit).
    #[arg(long, default_value = "warn")]
    log_level: String,
}

pub fn run(args: BenchJobArgs) -> ExitCode {
    if let Err(e) =
        segmentation::telemetry::init(segmentation::config::LogFormat::Text, &args.log_level)
    {
        eprintln!("bench-job: cannot set up logging: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench-job: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-job: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ctx() -> RequestContext {
    RequestContext::new(
        Tenant::new("BENCH@AdobeOrg", "prod"),
        Principal::Anonymous,
        "bench-job",
    )
}

async fn bench(args: BenchJobArgs) -> Result<(), String> {
    if let Some(dir) = &args.export {
        return export(dir, &args);
    }
    let url = args.database_url.clone().unwrap_or_else(|| {
        let dir = std::env::temp_dir().join(format!("seg-bench-{}", std::process::id()));
        format!("sqlite://{}/bench.db?mode=rwc", dir.display())
    });
    let store = Store::connect_with(&url, StoreOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let ctx = ctx();
    if !args.skip_load {
        let started = Instant::now();
        let loaded = load(&store, &ctx, &args).await?;
        let secs = started.elapsed().as_secs_f64();
        let profiles_s = loaded.profile_secs.max(1e-9);
        let events_s = loaded.event_secs.max(1e-9);
        println!(
            "loaded {} profiles and {} events in {secs:.1} s into {url}",
            args.profiles, loaded.events
        );
        println!(
            "  profiles: {:.1} s, {:.0} profiles/s; events: {:.1} s, {:.0} events/s; generating: {:.1} s",
            loaded.profile_secs,
            args.profiles as f64 / profiles_s,
            loaded.event_secs,
            loaded.events as f64 / events_s,
            secs - loaded.profile_secs - loaded.event_secs,
        );
        if args.load_only {
            let result = json!({
                "profiles": args.profiles, "events": loaded.events, "load_s": secs,
                "profiles_s": loaded.profile_secs, "events_s": loaded.event_secs,
                "profiles_per_s": args.profiles as f64 / profiles_s,
                "events_per_s": loaded.events as f64 / events_s,
                "peak_rss_kib": proc_status_kib("VmHWM:"),
            });
            write_result(&args, &result)?;
        }
    }
    if args.load_only {
        return store.close().await.map_err(|e| e.to_string());
    }
    reset_peak_rss();
    let (job, eval_rss) = run_job(&store, &ctx, &args).await?;
    let names = bench_members::segment_names(&store, &ctx, &job).await?;
    let result = report(&job, &args, eval_rss, &names);
    write_result(&args, &result)?;
    if let Some(path) = &args.members_out {
        let started = Instant::now();
        bench_members::write(&store, &ctx, &names, path).await?;
        eprintln!(
            "  wrote the members to {} in {:.1} s",
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    store.close().await.map_err(|e| e.to_string())
}

fn export(dir: &std::path::Path, args: &BenchJobArgs) -> Result<(), String> {
    let started = Instant::now();
    let done = bench_data::export(dir, args.profiles, args.max_events)
        .map_err(|e| format!("cannot export to {}: {e}", dir.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "exported {} profiles and {} events to {} in {secs:.1} s",
        done.profiles,
        done.events,
        dir.display()
    );
    let result = json!({"profiles": done.profiles, "events": done.events, "export_s": secs});
    write_result(args, &result)
}

fn write_result(args: &BenchJobArgs, result: &serde_json::Value) -> Result<(), String> {
    if let Some(path) = &args.result_json {
        std::fs::write(path, format!("{result}\n"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// What loading did: events ingested, and the seconds spent in profile and in event ingestion
/// (generation excluded).
struct Loaded {
    events: u64,
    profile_secs: f64,
    event_secs: f64,
}

/// Ingests the generated profiles and events through `ProfileService` (as clients would), in
/// batches of 1,000 records, and creates the definitions.
async fn load(store: &Store, ctx: &RequestContext, args: &BenchJobArgs) -> Result<Loaded, String> {
    let profiles = ProfileService::new(store.clone());
    let mut events = 0u64;
    let mut next = 0u64;
    let mut profile_secs = 0.0;
    let mut event_secs = 0.0;
    while next < args.profiles {
        let end = (next + 1000).min(args.profiles);
        let mut people = Vec::with_capacity(1000);
        let mut batch_events = Vec::new();
        for i in next..end {
            let g = bench_data::profile(args.max_events, i);
            batch_events.extend(g.events.iter().map(|e| e.to_string()));
            people.push(g.profile.to_string());
        }
        let started = Instant::now();
        profiles
            .upsert_profiles(ctx, people)
            .await
            .map_err(|e| e.to_string())?;
        profile_secs += started.elapsed().as_secs_f64();
        let started = Instant::now();
        for chunk in batch_events.chunks(1000) {
            profiles
                .ingest_events(ctx, chunk.to_vec())
                .await
                .map_err(|e| e.to_string())?;
        }
        event_secs += started.elapsed().as_secs_f64();
        events += batch_events.len() as u64;
        next = end;
        if next.is_multiple_of(50_000) {
            eprintln!("  loaded {next} profiles");
        }
    }
    let definitions = DefinitionService::new(store.clone());
    for audience in bench_data::audiences() {
        let input = DefinitionInput {
            name: audience.name.clone(),
            expression: ExpressionInput {
                value: audience.pql,
                ..ExpressionInput::default()
            },
            ..DefinitionInput::default()
        };
        definitions
            .create(ctx, input)
            .await
            .map_err(|e| format!("definition {}: {e}", audience.name))?;
    }
    Ok(Loaded {
        events,
        profile_secs,
        event_secs,
    })
}

/// Creates one job over every definition and runs it with one worker; returns it finished.
async fn run_job(
    store: &Store,
    ctx: &RequestContext,
    args: &BenchJobArgs,
) -> Result<(SegmentJob, u64), String> {
    let limits = JobLimits {
        max_running_per_sandbox: 1000,
    };
    let jobs = JobService::new(store.clone(), limits);
    let options = EngineOptions {
        workers: 1,
        page_size: args.page_size,
        threads: if args.threads == 0 {
            default_threads()
        } else {
            args.threads
        },
        poll_interval: Duration::from_millis(20),
        ..EngineOptions::default()
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::<Result<(), ()>>::new();
    Engine::new(store.clone(), options, jobs.wake_signal()).spawn(&mut tasks, &rx);
    let input = JobInput {
        segments: JobSegments::All,
        evaluation_time_ms: Some(NOW),
    };
    let job = jobs.create(ctx, input).await.map_err(|e| e.to_string())?;
    let mut last_print = Instant::now();
    let mut eval_rss = 0u64;
    let mut eval_anon = 0u64;
    let done = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let j = match jobs.get(ctx, &job.id).await {
            Ok(j) => j,
            // SQLite: the job's commit holds the only connection for a while.
            Err(Error::Unavailable { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        };
        if j.status.is_terminal() {
            break j;
        }
        if j.progress.profiles_done < j.progress.profiles_total {
            eval_rss = eval_rss.max(proc_status_kib("VmRSS:").unwrap_or(0));
            eval_anon = eval_anon.max(proc_status_kib("RssAnon:").unwrap_or(0));
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  {} {}/{} profiles",
                j.status.as_str(),
                j.progress.profiles_done,
                j.progress.profiles_total
            );
            last_print = Instant::now();
        }
    };
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    if done.status.as_str() != "SUCCEEDED" {
        return Err(format!(
            "the job ended {}: {:?}",
            done.status.as_str(),
            done.errors
        ));
    }
    eprintln!("  max anonymous RSS while evaluating: {eval_anon} KiB");
    Ok((done, eval_rss))
}

/// Prints the job's numbers and returns them as JSON.
fn report(
    job: &SegmentJob,
    args: &BenchJobArgs,
    eval_rss_kib: u64,
    names: &BTreeMap<String, String>,
) -> serde_json::Value {
    let m = &job.metrics;
    let profiles = m.total_profiles as f64;
    let evaluations = profiles * job.segments.len() as f64;
    let eval_ms = m.profile_segmentation_time.total_ms().unwrap_or(0).max(1) as f64;
    let end = m.total_time.end_ms.unwrap_or(0);
    let commit_ms = end - m.profile_segmentation_time.end_ms.unwrap_or(end);
    let start_ms = m.profile_segmentation_time.start_ms.unwrap_or(0);
    let run_ms = (end - start_ms).max(1) as f64;
    let rss = proc_status_kib("VmHWM:");
    let qualified: u64 = m.segmented_profile_counter.values().sum();
    println!("segment job benchmark");
    println!("  profiles              {}", m.total_profiles);
    println!("  definitions           {}", job.segments.len());
    println!(
        "  threads               {}",
        if args.threads == 0 {
            default_threads()
        } else {
            args.threads
        }
    );
    println!("  page size             {}", args.page_size);
    println!("  evaluation phase      {:.2} s", eval_ms / 1000.0);
    println!("  commit                {:.2} s", commit_ms as f64 / 1000.0);
    println!(
        "  profiles/s (eval)     {:.0}",
        profiles / (eval_ms / 1000.0)
    );
    println!(
        "  profiles/s (run)      {:.0}",
        profiles / (run_ms / 1000.0)
    );
    println!(
        "  evaluations/s (eval)  {:.0}",
        evaluations / (eval_ms / 1000.0)
    );
    println!("  memberships written   {qualified}");
    match rss {
        Some(kib) => println!("  peak RSS (job)        {:.1} MiB", kib as f64 / 1024.0),
        None => println!("  peak RSS (job)        unknown (no /proc/self/status)"),
    }
    println!(
        "  max RSS (evaluating)  {:.1} MiB (sampled every 100 ms)",
        eval_rss_kib as f64 / 1024.0
    );
    let json = json!({
        "profiles": m.total_profiles, "definitions": job.segments.len(),
        "eval_ms": eval_ms, "commit_ms": commit_ms, "run_ms": run_ms,
        "job_ms": m.total_time.total_ms(),
        "profiles_per_s": profiles / (eval_ms / 1000.0),
        "profiles_per_s_run": profiles / (run_ms / 1000.0),
        "evaluations_per_s": evaluations / (eval_ms / 1000.0),
        "peak_rss_kib": rss, "eval_rss_kib": eval_rss_kib, "memberships": qualified,
        "segmented": segmented_by_name(job, names),
    });
    println!("{json}");
    let _ = std::io::stdout().flush();
    json
}

/// `segmentedProfileCounter` keyed by the definition's name (the metrics key it by id).
fn segmented_by_name(job: &SegmentJob, names: &BTreeMap<String, String>) -> serde_json::Value {
    job.metrics
        .segmented_profile_counter
        .iter()
        .map(|(id, n)| (names.get(id).unwrap_or(id).clone(), json!(n)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Resets the kernel's peak-RSS mark (Linux: writing 5 to `/proc/self/clear_refs`), so the peak
/// read later is the job's, not the loading's.
fn reset_peak_rss() {
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("  note: cannot reset the peak RSS; run with --skip-load for a clean measure");
    }
}

/// A `/proc/self/status` memory line of this process in KiB: `VmHWM:` (peak resident set) or
/// `VmRSS:` (resident set now).
fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
