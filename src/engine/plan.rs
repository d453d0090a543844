//! A job's plan: every frozen definition compiled once, in an order where each definition comes
//! after the definitions of the same job it reads with `inSegment`, so that evaluating one
//! profile front to back answers every `inSegment` of the job from this job's own results
//! (PQL spec D3.11). Segments named by `inSegment` but not part of the job are "external": the
//! engine reads their stored memberships instead.

use std::collections::{BTreeSet, HashMap};

use crate::domain::job::{JobError, JobSegment};
use crate::pql::{self, Program};

/// One definition of the job, compiled.
#[derive(Debug)]
pub struct PlannedSegment {
    pub segment_id: String,
    pub program: Program,
}

/// Everything a job needs to evaluate a profile, built once per job.
#[derive(Debug)]
pub struct Plan {
    /// In dependency order: a segment comes after every job segment it references.
    pub segments: Vec<PlannedSegment>,
    /// Segment id -> position in `segments`.
    pub index: HashMap<String, usize>,
    /// Segments referenced with `inSegment` that the job does not evaluate, sorted.
    pub externals: Vec<String>,
    /// Whether any definition reads experience events (else events are not even loaded).
    pub needs_events: bool,
}

impl Plan {
    /// Compiles every segment and orders them. A definition that does not compile, or a
    /// reference cycle (both impossible for definitions that were saved, since saving checks
    /// them) is a job error naming the definition.
    pub fn build(segments: &[JobSegment]) -> Result<Plan, JobError> {
        let mut compiled: Vec<(String, Program)> = Vec::with_capacity(segments.len());
        for s in segments {
            let program = pql::compile_text(&s.expression).map_err(|e| {
                JobError::new(
                    "definition_invalid",
                    format!(
                        "segment definition {} (version {}) does not compile: {}; fix the \
                         definition and create a new job",
                        s.segment_id,
                        s.version,
                        e.describe(&s.expression)
                    ),
                )
            })?;
            compiled.push((s.segment_id.clone(), program));
        }
        let order = dependency_order(&compiled)?;
        let mut slots: Vec<Option<(String, Program)>> = compiled.into_iter().map(Some).collect();
        let mut planned = Vec::with_capacity(slots.len());
        for i in order {
            if let Some((segment_id, program)) = slots[i].take() {
                planned.push(PlannedSegment {
                    segment_id,
                    program,
                });
            }
        }
        let index: HashMap<String, usize> = planned
            .iter()
            .enumerate()
            .map(|(i, s)| (s.segment_id.clone(), i))
            .collect();
        let externals: BTreeSet<String> = planned
            .iter()
            .flat_map(|s| s.program.segment_refs().iter())
            .filter(|r| !index.contains_key(*r))
            .cloned()
            .collect();
        Ok(Plan {
            needs_events: planned.iter().any(|s| s.program.reads_events()),
            segments: planned,
            index,
            externals: externals.into_iter().collect(),
        })
    }
}

/// Kahn's algorithm over the references between the job's own segments; ties keep the input
/// order, so the plan is deterministic.
fn dependency_order(compiled: &[(String, Program)]) -> Result<Vec<usize>, JobError> {
    let position: HashMap<&str, usize> = compiled
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let mut waiting_on = vec![0usize; compiled.len()];
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); compiled.len()];
    for (i, (_, program)) in compiled.iter().enumerate() {
        for r in program.segment_refs() {
            if let Some(&dep) = position.get(r.as_str()) {
                waiting_on[i] += 1;
                readers[dep].push(i);
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..compiled.len())
        .filter(|&i| waiting_on[i] == 0)
        .collect();
    let mut order = Vec::with_capacity(compiled.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &r in &readers[i] {
            waiting_on[r] -= 1;
            if waiting_on[r] == 0 {
                ready.insert(r);
            }
        }
    }
    if order.len() < compiled.len() {
        let stuck: Vec<&str> = (0..compiled.len())
            .filter(|i| waiting_on[*i] > 0)
            .map(|i| compiled[i].0.as_str())
            .collect();
        return Err(JobError::new(
            "reference_cycle",
            format!(
                "the job's definitions reference each other in a cycle through inSegment: {}; \
                 change one of them so the references form no loop, then create a new job",
                stuck.join(", ")
            ),
        ));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(id: &str, expr: &str) -> JobSegment {
        JobSegment {
            segment_id: id.into(),
            version: 1,
            expression: expr.into(),
            merge_policy_id: None,
        }
    }

    #[test]
    fn dependencies_come_first_and_externals_are_found() {
        let plan = Plan::build(&[
            seg("c", r#"inSegment("b") and inSegment("x")"#),
            seg("b", r#"inSegment("a")"#),
            seg("a", "person.age > 30"),
            seg("d", "xEvent.count() > 2"),
        ])
        .unwrap();
        let order: Vec<&str> = plan
            .segments
            .iter()
            .map(|s| s.segment_id.as_str())
            .collect();
        let pos = |id: &str| order.iter().position(|s| *s == id).unwrap();
        assert!(pos("a") < pos("b") && pos("b") < pos("c"), "{order:?}");
        assert_eq!(plan.externals, vec!["x".to_string()]);
        assert!(plan.needs_events);
        assert_eq!(plan.index["c"], pos("c"));
    }

    #[test]
    fn cycles_and_bad_definitions_are_job_errors() {
        let err = Plan::build(&[seg("a", r#"inSegment("b")"#), seg("b", r#"inSegment("a")"#)])
            .unwrap_err();
        assert_eq!(err.code, "reference_cycle");
        assert!(err.message.contains("a, b"), "{}", err.message);
        let err = Plan::build(&[seg("a", "person.age >")]).unwrap_err();
        assert_eq!(err.code, "definition_invalid");
        assert!(
            err.message.contains("segment definition a"),
            "{}",
            err.message
        );
        assert!(!Plan::build(&[seg("a", "true")]).unwrap().needs_events);
    }
}
