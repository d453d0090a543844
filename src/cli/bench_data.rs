//! The benchmark's data and audiences, shared by loading (`bench-job`) and the export DuckDB
//! reads (`bench-job --export`), so both sides see exactly the same profiles and events.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use segmentation::datagen::{self, GenOptions, GeneratedProfile};
use serde_json::json;

/// 2026-06-01T00:00:00Z: the data's reference instant and the job's evaluation instant (the SQL
/// in `bench/audiences.sql` writes it as `TIMESTAMP '2026-06-01'`).
pub const NOW: i64 = 1_780_272_000_000;

/// The generator's seed.
const SEED: u64 = 7;

/// The audiences file: each audience's name, its PQL (one `-- pql:` line) and its SQL.
const AUDIENCES: &str = include_str!("../../bench/audiences.sql");

/// One audience of the suite: the definition's name and its PQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Audience {
    pub name: String,
    pub pql: String,
}

/// The audiences of `bench/audiences.sql`, in file order: every `-- name:` line followed by its
/// `-- pql:` line.
pub fn audiences() -> Vec<Audience> {
    parse_audiences(AUDIENCES)
}

fn parse_audiences(text: &str) -> Vec<Audience> {
    let mut out = Vec::new();
    let mut name: Option<String> = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("-- name:") {
            name = Some(n.trim().to_owned());
        } else if let Some(p) = line.strip_prefix("-- pql:")
            && let Some(n) = name.take()
        {
            out.push(Audience {
                name: n,
                pql: p.trim().to_owned(),
            });
        }
    }
    out
}

/// Profile number `index` of a benchmark data set of at most `max_events` events per profile,
/// as it is ingested: the generator's profile, with an Email identity made unique (generated
/// emails repeat across people, which would stitch them into one profile) and each event carrying
/// the profile's ECID, the identity that links it to its profile.
pub fn profile(max_events: u32, index: u64) -> GeneratedProfile {
    let opts = GenOptions {
        seed: SEED,
        now: NOW,
        max_events,
    };
    let mut g = datagen::profile(&opts, index);
    let email = g.profile["identityMap"]["Email"][0]["id"]
        .as_str()
        .unwrap_or("x")
        .to_owned();
    g.profile["identityMap"]["Email"][0]["id"] = format!("{index}.{email}").into();
    let ecid = g.profile["identityMap"]["ECID"][0]["id"].clone();
    for e in &mut g.events {
        e["identityMap"] = json!({"ECID": [{"id": ecid}]});
    }
    g
}

/// What an export wrote.
#[derive(Debug, Clone, Copy)]
pub struct Exported {
    pub profiles: u64,
    pub events: u64,
}

/// Writes the data set as JSON lines to `dir`: `profiles.jsonl` (one profile document a line;
/// its `_id` is the generator's id) and `events.jsonl` (one event a line, with `profileId`, the
/// `_id` of its profile).
pub fn export(dir: &Path, profiles: u64, max_events: u32) -> std::io::Result<Exported> {
    std::fs::create_dir_all(dir)?;
    let mut p_out = BufWriter::new(File::create(dir.join("profiles.jsonl"))?);
    let mut e_out = BufWriter::new(File::create(dir.join("events.jsonl"))?);
    let mut events = 0u64;
    for i in 0..profiles {
        let g = profile(max_events, i);
        serde_json::to_writer(&mut p_out, &g.profile)?;
        p_out.write_all(b"\n")?;
        for mut e in g.events {
            e["profileId"] = g.id.clone().into();
            serde_json::to_writer(&mut e_out, &e)?;
            e_out.write_all(b"\n")?;
            events += 1;
        }
    }
    p_out.flush()?;
    e_out.flush()?;
    Ok(Exported { profiles, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_audiences_that_compile() {
        let all = audiences();
        assert_eq!(all.len(), 20);
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a.name, format!("bench-{i:02}"));
            segmentation::pql::compile_text(&a.pql)
                .unwrap_or_else(|e| panic!("{}: {}", a.name, e.describe(&a.pql)));
        }
    }

    #[test]
    fn a_pql_line_needs_its_name() {
        let text = "-- pql: a = 1\n-- name: x\n-- pql: b = 2\n-- pql: c = 3\n";
        assert_eq!(
            parse_audiences(text),
            vec![Audience {
                name: "x".into(),
                pql: "b = 2".into()
            }]
        );
    }

    #[test]
    fn events_carry_their_profiles_identity() {
        let g = profile(40, 3);
        let email = g.profile["identityMap"]["Email"][0]["id"].as_str().unwrap();
        assert!(email.starts_with("3."), "{email}");
        let ecid = &g.profile["identityMap"]["ECID"][0]["id"];
        for e in &g.events {
            assert_eq!(&e["identityMap"]["ECID"][0]["id"], ecid);
        }
    }
}
