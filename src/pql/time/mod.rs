//! UTC calendar arithmetic and the meaning of `occurs` (spec Part 1 D2.9, D4, D6.7–D6.9).
//!
//! Everything here is a pure function of its arguments: the evaluation instant `now` is always a
//! parameter, never read from a clock, so a job (or a test) names the instant it evaluates at.
//!
//! # The model
//!
//! * An **instant** is an `i64` count of milliseconds since 1970-01-01T00:00:00Z. There are no
//!   time zones past parsing: an offset in a timestamp is applied once and then forgotten, and
//!   every calendar question (which day, which month, which ISO week) is answered in UTC.
//! * A **period** ([`Period`]) is a half-open range `[start, end)` of instants. `today`,
//!   `yesterday`, `tomorrow` and `date(y, m, d)` are whole UTC days; `this|last|next UNIT` is the
//!   calendar unit containing `now`, the one before it, or the one after it (weeks start on
//!   Monday; decades, centuries and millennia start on multiples of 10, 100 and 1000 years, so
//!   `last decade` in 2026 is `[2010, 2020)`). An instant used where a period is expected is the
//!   empty period `start == end`.
//! * **Shifting** ([`shift`]) moves an instant by a whole number of units. Milliseconds to weeks
//!   are fixed durations (a UTC day is always 86 400 000 ms). Months and longer move the civil
//!   date by N units in one step and then clamp the day to the target month's length (31 Mar − 1
//!   month = 28/29 Feb; 31 Jan − 2 months = 30 Nov, not 28 Nov), keeping the time of day.
//!
//! # `occurs`
//!
//! The evaluator resolves the operands of an `occurs` to periods and builds an [`Occurs`]. Every
//! form denotes a set of instants, a [`Window`]: one half-open interval, minus a second one for
//! `!=`. `occurs(ts, spec)` is `spec.window().contains(ts)`; when the anchors do not depend on the
//! event (the usual `… before now`), the evaluator builds the window once and tests every event
//! against it with two integer comparisons.
//!
//! | form | window |
//! |---|---|
//! | `on P` | `start(P) <= ts < end(P)`; for an instant P, the UTC day containing P (D6.8) |
//! | `before P` | `ts < start(P)` |
//! | `after P`, `from P` | `ts >= end(P)` (for an instant, `ts >= P`) |
//! | `between P1 and P2` | `start(P1) <= ts < end(P2)` (so both end *days* are included) |
//!
//! `CMP N UNIT before P` (D4.4): A = start(P) and the distance is d = A − ts; `after`/`from`: A =
//! end(P) and d = ts − A. Every row first requires d >= 0. Let B(k) be the anchor moved k units
//! away from itself in the form's direction: `shift(A, UNIT, -k)` for `before`, `shift(A, UNIT,
//! k)` for `after`. "d compared with k units" is then a comparison of ts with B(k); for fixed
//! units this is exactly the arithmetic on d, and for months and longer it *defines* it (a
//! calendar distance):
//!
//! | row | meaning | `before` (ts <= A) | `after` (ts >= A) |
//! |---|---|---|---|
//! | `< N` | d < N | `B(N) < ts` | `ts < B(N)` |
//! | `<= N` | d <= N | `B(N) <= ts` | `ts <= B(N)` |
//! | `> N` | d > N | `ts < B(N)` | `B(N) < ts` |
//! | `>= N` | d >= N | `ts <= B(N)` | `B(N) <= ts` |
//! | `= N` | N−1 < d <= N | `B(N) <= ts < B(N−1)` | `B(N−1) < ts <= B(N)` |
//! | `!= N` | d >= 0, not `= N` | `ts <= A`, outside the `= N` slot | `ts >= A`, outside it |
//!
//! Consequences, stated because they are easy to get wrong:
//!
//! * `person.birthday occurs = 3 days before today` is exactly the calendar day three days ago:
//!   A = today 00:00, so the slot is `[today − 3 days, today − 2 days)`.
//! * `occurs <= 1 month before today` on 2018-08-28 is `2018-07-28T00:00 <= ts <=
//!   2018-08-28T00:00`. Part 2 §5.2 describes it as `… <= ts < today`; Part 1 (D4.4: d >= 0, and
//!   d = 0 satisfies `<= 1 month`) wins, so the single instant `today 00:00:00.000` is included.
//!   The same holds for every `before` row whose window reaches d = 0.
//! * For `after`, D4.4 applies "the same table" to d = ts − A, so the `= N` slot is open at
//!   its early end and closed at its late end: `= 3 days after today` is
//!   `(tomorrow + 2 days, tomorrow + 3 days]` with A = end(today) = tomorrow 00:00.
//! * `= 0 UNIT` matches only ts = A, since d >= 0 and d > −1 units leave only d = 0.
//!
//! # Range and failure
//!
//! No function here panics on any input. Results that cannot be represented as `i64`
//! milliseconds (about ±292 million years) are `None`; [`occurs`] computes its bounds in `i128`
//! so that a window reaching past the representable range is simply unbounded on that side
//! (`< 1000000000 millennia before now` matches every earlier instant instead of failing).

mod civil;
mod occurs;
mod parse;
mod periods;

#[cfg(test)]
mod occurs_tests;

pub use civil::{
    MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, MS_PER_WEEK, civil_date, day_of_month,
    day_start, days_in_month, is_leap_year, month, shift, unit_millis, unit_months, weekday, year,
};
pub use occurs::{Occurs, Window, occurs};
pub use parse::parse_timestamp;
pub use periods::{date, instant_of, period_of, relative_period, time_word, unit_start};

/// A half-open period `[start, end)` in epoch milliseconds; an instant is `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

impl Period {
    /// The empty period at `ms`: how an instant stands where a period is expected.
    pub fn instant(ms: i64) -> Period {
        Period { start: ms, end: ms }
    }

    pub fn is_instant(&self) -> bool {
        self.start == self.end
    }

    /// Whether `ts` lies in `[start, end)` (never true for an instant).
    pub fn contains(&self, ts: i64) -> bool {
        self.start <= ts && ts < self.end
    }
}

impl From<Period> for crate::pql::value::Value {
    /// An instant becomes a time (`now`), anything else a period (`today`, `last month`), so that
    /// [`period_of`] gives back the same period.
    fn from(p: Period) -> Self {
        if p.is_instant() {
            crate::pql::value::Value::Time(p.start)
        } else {
            crate::pql::value::Value::Period {
                start: p.start,
                end: p.end,
            }
        }
    }
}

/// Every unit, for tests that range over them.
#[cfg(test)]
pub(crate) const ALL_UNITS: [crate::pql::ast::TimeUnit; 11] = {
    use crate::pql::ast::TimeUnit::*;
    [
        Millisecond,
        Second,
        Minute,
        Hour,
        Day,
        Week,
        Month,
        Year,
        Decade,
        Century,
        Millennium,
    ]
};
