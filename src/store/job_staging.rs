//! How a running job's findings are staged: one `segment_job_staging` row per qualifying profile
//! (and per 64 segments), the segments it qualified for packed as bits of `mask`.
//!
//! Segment `i` of a job, counting its `segment_job_segments` rows in `segment_id` order from 0,
//! is bit `i % 64` of word `i / 64`. The database orders them both here ([`StagingLayout`]) and
//! in the commit's SQL (`ROW_NUMBER() OVER (ORDER BY segment_id)`), so both sides agree on the
//! bits whatever the collation.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ConnectionTrait, Set};

use super::entity::segment_job_staging;
use super::job_runs::{JobLease, StagedRow};
use super::{Store, db_error, raw_statement};
use crate::error::Error;

/// Segments per staged row.
pub(super) const BITS: usize = 64;

/// One of the job's segments, as the commit needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LayoutSegment {
    pub segment_id: String,
    /// The definition version the job froze.
    pub version: i64,
    /// Whether the definition still exists (a deleted one is left out of the commit).
    pub live: bool,
    pub word: i32,
    pub bit: i32,
}

/// Where each of a job's segments sits in the staged bits: read once per run
/// ([`Store::staging_layout`]) and handed to every page's staging, since a job's segments never
/// change while it runs.
#[derive(Debug, Clone, Default)]
pub struct StagingLayout {
    pub(super) segments: Vec<LayoutSegment>,
    position: HashMap<String, usize>,
}

const LAYOUT: &str = "SELECT s.segment_id, s.version, CASE WHEN EXISTS (SELECT 1 FROM \
     segment_definitions d WHERE d.org = s.org AND d.sandbox = s.sandbox AND d.id = s.segment_id) \
     THEN 1 ELSE 0 END FROM segment_job_segments s WHERE s.job_id = ? ORDER BY s.segment_id";

impl StagingLayout {
    /// Reads the layout of `job_id` through `conn`.
    pub(super) async fn read<C: ConnectionTrait>(
        store: &Store,
        conn: &C,
        job_id: &str,
    ) -> Result<StagingLayout, Error> {
        let stmt = raw_statement(store.backend, LAYOUT, vec![job_id.to_owned().into()]);
        let rows = conn.query_all_raw(stmt).await.map_err(db_error)?;
        let mut layout = StagingLayout::default();
        for (i, row) in rows.into_iter().enumerate() {
            let segment_id: String = row.try_get_by_index(0).map_err(db_error)?;
            let version: i64 = row.try_get_by_index(1).map_err(db_error)?;
            let live: i32 = row.try_get_by_index(2).map_err(db_error)?;
            layout.position.insert(segment_id.clone(), i);
            layout.segments.push(LayoutSegment {
                segment_id,
                version,
                live: live == 1,
                word: i32::try_from(i / BITS).unwrap_or(i32::MAX),
                bit: i32::try_from(i % BITS).unwrap_or(i32::MAX),
            });
        }
        Ok(layout)
    }

    /// The job's segments whose definitions still exist.
    pub(super) fn live(&self) -> impl Iterator<Item = &LayoutSegment> {
        self.segments.iter().filter(|s| s.live)
    }

    /// Packs one page's findings into staging rows, in profile order.
    pub(super) fn pack(
        &self,
        job_id: &str,
        qualified: &[StagedRow],
    ) -> Result<Vec<segment_job_staging::ActiveModel>, Error> {
        let mut packed: BTreeMap<(&str, usize), (i64, &str)> = BTreeMap::new();
        for row in qualified {
            let Some(&i) = self.position.get(&row.segment_id) else {
                return Err(Error::internal(format!(
                    "job {job_id} staged segment {} that is not one of its segments",
                    row.segment_id
                )));
            };
            let entry = packed
                .entry((row.profile_id.as_str(), i / BITS))
                .or_insert((0, row.namespaces.as_str()));
            entry.0 |= 1i64 << (i % BITS);
        }
        Ok(packed
            .into_iter()
            .map(
                |((profile_id, word), (mask, namespaces))| segment_job_staging::ActiveModel {
                    job_id: Set(job_id.to_owned()),
                    profile_id: Set(profile_id.to_owned()),
                    word: Set(i32::try_from(word).unwrap_or(i32::MAX)),
                    mask: Set(mask),
                    namespaces: Set(namespaces.to_owned()),
                },
            )
            .collect())
    }
}

impl Store {
    /// The staging layout of a claimed job, for [`Store::stage_job_page`].
    pub async fn staging_layout(&self, lease: &JobLease) -> Result<StagingLayout, Error> {
        StagingLayout::read(self, &self.reads, &lease.job_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(n: usize) -> StagingLayout {
        let mut layout = StagingLayout::default();
        for i in 0..n {
            let id = format!("s{i:03}");
            layout.position.insert(id.clone(), i);
            layout.segments.push(LayoutSegment {
                segment_id: id,
                version: 1,
                live: true,
                word: i32::try_from(i / BITS).unwrap(),
                bit: i32::try_from(i % BITS).unwrap(),
            });
        }
        layout
    }

    fn row(segment: usize, profile: &str) -> StagedRow {
        StagedRow {
            segment_id: format!("s{segment:03}"),
            profile_id: profile.into(),
            namespaces: "ECID".into(),
        }
    }

    #[test]
    fn packs_one_row_per_profile_and_word_with_a_bit_per_segment() {
        let rows = [
            row(0, "b"),
            row(2, "b"),
            row(63, "a"),
            row(64, "a"),
            row(1, "a"),
        ];
        let packed = layout(70).pack("job", &rows).unwrap();
        let got: Vec<(String, i32, i64)> = packed
            .into_iter()
            .map(|m| (m.profile_id.unwrap(), m.word.unwrap(), m.mask.unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), 0, i64::MIN | 0b10),
                ("a".into(), 1, 1),
                ("b".into(), 0, 0b101),
            ]
        );
    }

    #[test]
    fn a_segment_outside_the_job_is_an_internal_error() {
        let err = layout(2).pack("job", &[row(5, "a")]).unwrap_err();
        assert!(err.to_string().contains("s005"), "{err}");
    }
}
