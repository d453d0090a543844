//! `ts occurs …` (D4.3, D4.4, D6.8): each resolved spec is turned into the [`Window`] of instants
//! it accepts; see the module doc of [`crate::pql::time`] for the table this implements.
//!
//! Bounds are `i128` so that a shifted anchor that leaves the `i64` range (`< 5000 millennia
//! before now`) is just "earlier than every instant" rather than an overflow to handle.

use super::Period;
use super::civil::{MS_PER_DAY, shift, unit_millis};
use crate::pql::ast::{CmpOp, Direction, TimeUnit};

/// A resolved `occurs` spec: the evaluator has already turned its anchors into periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurs {
    /// `[on] P`
    On(Period),
    /// `before P`
    Before(Period),
    /// `after P` and `from P`
    After(Period),
    /// `between P1 and P2`
    Between(Period, Period),
    /// `CMP N UNIT DIR P`
    Distance {
        cmp: CmpOp,
        amount: i64,
        unit: TimeUnit,
        dir: Direction,
        anchor: Period,
    },
}

/// The set of instants an `occurs` spec accepts: `[start, end)` minus `[hole_start, hole_end)`
/// (the hole is empty except for `!= N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    start: i128,
    end: i128,
    hole_start: i128,
    hole_end: i128,
}

/// Below every `i64` instant.
const BEFORE_ALL: i128 = i64::MIN as i128 - 1;
/// Exclusive bound above every `i64` instant.
const AFTER_ALL: i128 = i64::MAX as i128 + 1;

impl Window {
    fn range(start: i128, end: i128) -> Window {
        Window {
            start,
            end,
            hole_start: 0,
            hole_end: 0,
        }
    }

    fn minus(self, other: Window) -> Window {
        Window {
            hole_start: other.start,
            hole_end: other.end,
            ..self
        }
    }

    /// Whether the instant `ts` is in the window.
    pub fn contains(&self, ts: i64) -> bool {
        let t = i128::from(ts);
        self.start <= t && t < self.end && !(self.hole_start <= t && t < self.hole_end)
    }

    /// Whether no instant at all is in the window (e.g. `< 0 days before now`).
    pub fn is_empty(&self) -> bool {
        let start = self.start.max(i128::from(i64::MIN));
        let end = self.end.min(AFTER_ALL);
        start >= end || (self.hole_start <= start && end <= self.hole_end)
    }
}

impl Occurs {
    /// The instants this spec accepts. Build it once when the anchors do not depend on the event.
    pub fn window(&self) -> Window {
        match *self {
            Occurs::On(p) if p.is_instant() => {
                // D6.8: `on` an instant means the UTC day that contains it.
                let day = i128::from(p.start.div_euclid(MS_PER_DAY)) * i128::from(MS_PER_DAY);
                Window::range(day, day + i128::from(MS_PER_DAY))
            }
            Occurs::On(p) => Window::range(p.start.into(), p.end.into()),
            Occurs::Before(p) => Window::range(BEFORE_ALL, p.start.into()),
            Occurs::After(p) => Window::range(p.end.into(), AFTER_ALL),
            Occurs::Between(from, to) => Window::range(from.start.into(), to.end.into()),
            Occurs::Distance {
                cmp,
                amount,
                unit,
                dir,
                anchor,
            } => match dir {
                Direction::Before => before_window(cmp, amount, unit, anchor.start),
                Direction::After | Direction::From => after_window(cmp, amount, unit, anchor.end),
            },
        }
    }
}

/// Does the instant `ts` satisfy the spec? (D4.3, D4.4, D6.8)
pub fn occurs(ts: i64, spec: &Occurs) -> bool {
    spec.window().contains(ts)
}

/// `CMP N UNIT before A`, d = A − ts >= 0, with B(k) = A moved k units into the past.
fn before_window(cmp: CmpOp, n: i64, unit: TimeUnit, a: i64) -> Window {
    let b = |k: i128| moved(a, unit, -k);
    let n = i128::from(n);
    let (b_n, b_prev) = (b(n), b(n - 1));
    // d >= 0 is ts <= A.
    let end = i128::from(a) + 1;
    let exactly = Window::range(b_n, b_prev.min(end));
    match cmp {
        CmpOp::Lt => Window::range(b_n + 1, end),
        CmpOp::Le => Window::range(b_n, end),
        CmpOp::Gt => Window::range(BEFORE_ALL, b_n.min(end)),
        CmpOp::Ge => Window::range(BEFORE_ALL, (b_n + 1).min(end)),
        CmpOp::Eq => exactly,
        CmpOp::Ne => Window::range(BEFORE_ALL, end).minus(exactly),
    }
}

/// `CMP N UNIT after A`, d = ts − A >= 0, with B(k) = A moved k units into the future.
fn after_window(cmp: CmpOp, n: i64, unit: TimeUnit, a: i64) -> Window {
    let b = |k: i128| moved(a, unit, k);
    let n = i128::from(n);
    let (b_n, b_prev) = (b(n), b(n - 1));
    // d >= 0 is ts >= A.
    let start = i128::from(a);
    let exactly = Window::range((b_prev + 1).max(start), b_n + 1);
    match cmp {
        CmpOp::Lt => Window::range(start, b_n),
        CmpOp::Le => Window::range(start, b_n + 1),
        CmpOp::Gt => Window::range((b_n + 1).max(start), AFTER_ALL),
        CmpOp::Ge => Window::range(b_n.max(start), AFTER_ALL),
        CmpOp::Eq => exactly,
        CmpOp::Ne => Window::range(start, AFTER_ALL).minus(exactly),
    }
}

/// `a` moved by `k` units (k may be outside i64). Fixed units are exact in i128; a calendar shift
/// that leaves the representable range saturates just past it, on the side it was moving to,
/// which keeps every comparison against it correct because shifting is monotonic in `k`.
fn moved(a: i64, unit: TimeUnit, k: i128) -> i128 {
    if let Some(len) = unit_millis(unit) {
        return i128::from(a) + k * i128::from(len);
    }
    let shifted = i64::try_from(k).ok().and_then(|k| shift(a, unit, k));
    match shifted {
        Some(ms) => i128::from(ms),
        None if k < 0 => BEFORE_ALL,
        None => AFTER_ALL,
    }
}
