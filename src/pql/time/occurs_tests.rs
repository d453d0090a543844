//! Tests of `occurs`: the D4.4 table at every boundary, the spec's worked examples, an oracle
//! written from the spec's wording for fixed units, and range edges.

use super::civil::{MS_PER_DAY, MS_PER_HOUR, MS_PER_WEEK, day_start};
use super::{ALL_UNITS, Occurs, Period, date, occurs, relative_period, time_word};
use crate::pql::ast::{CmpOp, Direction, Relative, TimeUnit, TimeWord};
use proptest::prelude::*;

const ALL_CMP: [CmpOp; 6] = [
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
    CmpOp::Eq,
    CmpOp::Ne,
];

/// 00:00 UTC of a civil date, written out independently of the code under test.
fn at(y: i64, m: i64, d: i64) -> i64 {
    date(y, m, d).expect("valid test date").start
}

fn distance(cmp: CmpOp, amount: i64, unit: TimeUnit, dir: Direction, anchor: Period) -> Occurs {
    Occurs::Distance {
        cmp,
        amount,
        unit,
        dir,
        anchor,
    }
}

/// The expected answers for the probes of [`table_case`], ordered by the distance d they stand
/// for: d > N, d = N, N−1 < d < N (just under N), just over N−1, d = N−1, d < N−1, d just over
/// 0, d = 0, d < 0.
fn expected_row(cmp: CmpOp) -> [bool; 9] {
    const T: bool = true;
    const F: bool = false;
    match cmp {
        CmpOp::Lt => [F, F, T, T, T, T, T, T, F],
        CmpOp::Le => [F, T, T, T, T, T, T, T, F],
        CmpOp::Gt => [T, F, F, F, F, F, F, F, F],
        CmpOp::Ge => [T, T, F, F, F, F, F, F, F],
        CmpOp::Eq => [F, T, T, T, F, F, F, F, F],
        CmpOp::Ne => [T, F, F, F, T, T, T, T, F],
    }
}

/// Checks every CMP of `N UNIT DIR anchor` against [`expected_row`], given the hand-computed
/// instants A, B(N) and B(N−1) (the anchor moved N and N−1 units in the direction of `dir`).
fn table_case(
    n: i64,
    unit: TimeUnit,
    dir: Direction,
    anchor: Period,
    a: i64,
    b_n: i64,
    b_prev: i64,
) {
    // `s` points from the anchor outwards: one millisecond further from A is `s`.
    let s = if dir == Direction::Before { -1 } else { 1 };
    let probes = [
        b_n + s,
        b_n,
        b_n - s,
        b_prev + s,
        b_prev,
        b_prev - s,
        a + s,
        a,
        a - s,
    ];
    for cmp in ALL_CMP {
        let spec = distance(cmp, n, unit, dir, anchor);
        let got = probes.map(|ts| occurs(ts, &spec));
        assert_eq!(
            got,
            expected_row(cmp),
            "{} {n} {unit:?} {dir:?}",
            cmp.text()
        );
    }
}

#[test]
fn table_days_before_today() {
    let today = date(2018, 8, 28).expect("date");
    let (a, b3, b2) = (at(2018, 8, 28), at(2018, 8, 25), at(2018, 8, 26));
    table_case(3, TimeUnit::Day, Direction::Before, today, a, b3, b2);
}

#[test]
fn table_days_after_today() {
    // A = end(today) = 29 Aug 00:00.
    let today = date(2018, 8, 28).expect("date");
    let (a, b3, b2) = (at(2018, 8, 29), at(2018, 9, 1), at(2018, 8, 31));
    table_case(3, TimeUnit::Day, Direction::After, today, a, b3, b2);
    table_case(3, TimeUnit::Day, Direction::From, today, a, b3, b2);
}

#[test]
fn table_days_around_an_instant_crossing_a_leap_day() {
    let now = at(2024, 3, 1) + 7 * MS_PER_HOUR;
    let anchor = Period::instant(now);
    let before = (
        at(2024, 2, 27) + 7 * MS_PER_HOUR,
        at(2024, 2, 28) + 7 * MS_PER_HOUR,
    );
    table_case(
        3,
        TimeUnit::Day,
        Direction::Before,
        anchor,
        now,
        before.0,
        before.1,
    );
    let then = at(2024, 2, 27) + 7 * MS_PER_HOUR;
    let after = (
        at(2024, 3, 1) + 7 * MS_PER_HOUR,
        at(2024, 2, 29) + 7 * MS_PER_HOUR,
    );
    table_case(
        3,
        TimeUnit::Day,
        Direction::After,
        Period::instant(then),
        then,
        after.0,
        after.1,
    );
}

#[test]
fn table_months_before_clamps_at_month_end() {
    // 31 Mar 2018 10:00 − 2 months = 31 Jan; − 1 month = 28 Feb (clamped).
    let ten = 10 * MS_PER_HOUR;
    let a = at(2018, 3, 31) + ten;
    let (b2, b1) = (at(2018, 1, 31) + ten, at(2018, 2, 28) + ten);
    table_case(
        2,
        TimeUnit::Month,
        Direction::Before,
        Period::instant(a),
        a,
        b2,
        b1,
    );
    // In a leap year the clamp lands on the 29th.
    let a = at(2024, 3, 31) + ten;
    let (b2, b1) = (at(2024, 1, 31) + ten, at(2024, 2, 29) + ten);
    table_case(
        2,
        TimeUnit::Month,
        Direction::Before,
        Period::instant(a),
        a,
        b2,
        b1,
    );
}

#[test]
fn table_months_after_clamps_at_month_end() {
    // A = end(date(2018, 1, 30)) = 31 Jan; + 1 month = 28 Feb (clamped); + 2 months = 31 Mar.
    let anchor = date(2018, 1, 30).expect("date");
    let (a, b2, b1) = (at(2018, 1, 31), at(2018, 3, 31), at(2018, 2, 28));
    table_case(2, TimeUnit::Month, Direction::After, anchor, a, b2, b1);
}

#[test]
fn table_years_and_decades_from_a_leap_day() {
    let a = at(2024, 2, 29);
    let anchor = Period::instant(a);
    table_case(
        2,
        TimeUnit::Year,
        Direction::Before,
        anchor,
        a,
        at(2022, 2, 28),
        at(2023, 2, 28),
    );
    table_case(
        2,
        TimeUnit::Year,
        Direction::After,
        anchor,
        a,
        at(2026, 2, 28),
        at(2025, 2, 28),
    );
    table_case(
        2,
        TimeUnit::Decade,
        Direction::Before,
        anchor,
        a,
        at(2004, 2, 29),
        at(2014, 2, 28),
    );
    table_case(
        3,
        TimeUnit::Century,
        Direction::Before,
        anchor,
        a,
        at(1724, 2, 29),
        at(1824, 2, 29),
    );
}

#[test]
fn table_weeks_hours_and_milliseconds() {
    let now = at(2021, 1, 2) + 5 * MS_PER_HOUR;
    let anchor = Period::instant(now);
    table_case(
        4,
        TimeUnit::Week,
        Direction::Before,
        anchor,
        now,
        now - 4 * MS_PER_WEEK,
        now - 3 * MS_PER_WEEK,
    );
    table_case(
        3,
        TimeUnit::Hour,
        Direction::After,
        anchor,
        now,
        now + 3 * MS_PER_HOUR,
        now + 2 * MS_PER_HOUR,
    );
    // One-millisecond units: the probes coincide, so check the rows directly.
    let ms = |cmp, n, dir| distance(cmp, n, TimeUnit::Millisecond, dir, anchor);
    assert!(occurs(now - 5, &ms(CmpOp::Eq, 5, Direction::Before)));
    assert!(!occurs(now - 4, &ms(CmpOp::Eq, 5, Direction::Before)));
    assert!(occurs(now + 5, &ms(CmpOp::Eq, 5, Direction::After)));
    assert!(!occurs(now + 6, &ms(CmpOp::Eq, 5, Direction::After)));
    assert!(occurs(now - 4, &ms(CmpOp::Lt, 5, Direction::Before)));
    assert!(!occurs(now - 5, &ms(CmpOp::Lt, 5, Direction::Before)));
}

#[test]
fn one_unit_slots() {
    // With N = 1 the previous boundary B(0) is the anchor itself.
    let today = date(2018, 8, 28).expect("date");
    let yesterday = date(2018, 8, 27).expect("date");
    let eq = distance(CmpOp::Eq, 1, TimeUnit::Day, Direction::Before, today);
    assert!(occurs(yesterday.start, &eq) && occurs(yesterday.end - 1, &eq));
    assert!(!occurs(yesterday.start - 1, &eq) && !occurs(yesterday.end, &eq));
    let eq = distance(CmpOp::Eq, 1, TimeUnit::Month, Direction::Before, today);
    assert!(occurs(at(2018, 7, 28), &eq) && occurs(at(2018, 8, 28) - 1, &eq));
    assert!(!occurs(at(2018, 7, 28) - 1, &eq) && !occurs(at(2018, 8, 28), &eq));
}

#[test]
fn zero_amount_means_the_anchor_instant() {
    let now = at(2020, 5, 5) + 1234;
    let anchor = Period::instant(now);
    for dir in [Direction::Before, Direction::After] {
        let eq = distance(CmpOp::Eq, 0, TimeUnit::Day, dir, anchor);
        assert!(occurs(now, &eq));
        assert!(!occurs(now - 1, &eq) && !occurs(now + 1, &eq));
        let lt = distance(CmpOp::Lt, 0, TimeUnit::Day, dir, anchor);
        assert!(lt.window().is_empty());
        let ge = distance(CmpOp::Ge, 0, TimeUnit::Month, dir, anchor);
        let side = if dir == Direction::Before {
            now - MS_PER_DAY
        } else {
            now + MS_PER_DAY
        };
        assert!(occurs(now, &ge) && occurs(side, &ge));
    }
}

#[test]
fn spec_example_exactly_three_days_before_today() {
    // `person.birthday occurs = 3 days before today` is the calendar day three days ago.
    let now = at(2018, 8, 28) + 15 * MS_PER_HOUR;
    let spec = distance(
        CmpOp::Eq,
        3,
        TimeUnit::Day,
        Direction::Before,
        time_word(TimeWord::Today, now),
    );
    assert!(occurs(at(2018, 8, 25), &spec));
    assert!(occurs(at(2018, 8, 26) - 1, &spec));
    assert!(!occurs(at(2018, 8, 25) - 1, &spec));
    assert!(!occurs(at(2018, 8, 26), &spec));
    let ne = distance(
        CmpOp::Ne,
        3,
        TimeUnit::Day,
        Direction::Before,
        time_word(TimeWord::Today, now),
    );
    assert!(occurs(at(2018, 8, 26), &ne) && occurs(at(2018, 8, 25) - 1, &ne));
    assert!(!occurs(at(2018, 8, 25), &ne) && !occurs(now, &ne));
}

#[test]
fn spec_example_within_a_month_before_today() {
    // `occurs <= 1 month before today` on 28 Aug 2018: 28 Jul 00:00 <= ts <= 28 Aug 00:00. Part 2
    // §5.2 says `< today`; Part 1 D4.4 (d = 0 satisfies d <= 1 month) wins for the one instant.
    let now = at(2018, 8, 28) + 15 * MS_PER_HOUR;
    let spec = distance(
        CmpOp::Le,
        1,
        TimeUnit::Month,
        Direction::Before,
        time_word(TimeWord::Today, now),
    );
    assert!(!occurs(at(2018, 7, 28) - 1, &spec));
    assert!(occurs(at(2018, 7, 28), &spec));
    assert!(occurs(at(2018, 8, 28) - 1, &spec));
    assert!(occurs(at(2018, 8, 28), &spec));
    assert!(!occurs(at(2018, 8, 28) + 1, &spec));
    assert!(!occurs(now, &spec));
}

#[test]
fn spec_examples_relative_to_now() {
    let now = at(2024, 6, 1) + 9 * MS_PER_HOUR;
    let anchor = time_word(TimeWord::Now, now);
    // `= 3 hours before now`: the hour-long slot [now − 3h, now − 2h).
    let eq = distance(CmpOp::Eq, 3, TimeUnit::Hour, Direction::Before, anchor);
    assert!(occurs(now - 3 * MS_PER_HOUR, &eq) && !occurs(now - 2 * MS_PER_HOUR, &eq));
    // `< 8 days before now` (a chain WHEN): strictly less than 8 days ago, up to now itself.
    let lt = distance(CmpOp::Lt, 8, TimeUnit::Day, Direction::Before, anchor);
    assert!(!occurs(now - 8 * MS_PER_DAY, &lt) && occurs(now - 8 * MS_PER_DAY + 1, &lt));
    assert!(occurs(now, &lt) && !occurs(now + 1, &lt));
    // `<= 24 hours after now`.
    let le = distance(CmpOp::Le, 24, TimeUnit::Hour, Direction::After, anchor);
    assert!(occurs(now, &le) && occurs(now + MS_PER_DAY, &le));
    assert!(!occurs(now - 1, &le) && !occurs(now + MS_PER_DAY + 1, &le));
}

#[test]
fn on_before_after_between_periods() {
    let now = at(2018, 8, 28) + 15 * MS_PER_HOUR;
    let july = relative_period(Relative::Last, TimeUnit::Month, now).expect("last month");
    let on = Occurs::On(july);
    assert!(occurs(at(2018, 7, 1), &on) && occurs(at(2018, 8, 1) - 1, &on));
    assert!(!occurs(at(2018, 7, 1) - 1, &on) && !occurs(at(2018, 8, 1), &on));
    let day = date(2017, 10, 1).expect("date");
    assert!(occurs(
        day.start,
        &Occurs::Before(date(2017, 10, 2).expect("date"))
    ));
    assert!(!occurs(day.start, &Occurs::Before(day)));
    assert!(occurs(day.start - 1, &Occurs::Before(day)));
    // `after date(d)` starts the next day; `from` is the same form.
    assert!(!occurs(day.end - 1, &Occurs::After(day)));
    assert!(occurs(day.end, &Occurs::After(day)));
    // `between date(2017,10,1) and date(2017,12,31)` includes both end days.
    let between = Occurs::Between(day, date(2017, 12, 31).expect("date"));
    assert!(occurs(at(2017, 10, 1), &between) && occurs(at(2018, 1, 1) - 1, &between));
    assert!(!occurs(at(2017, 10, 1) - 1, &between) && !occurs(at(2018, 1, 1), &between));
}

#[test]
fn instants_as_operands() {
    let now = at(2018, 8, 28) + 15 * MS_PER_HOUR;
    let p = Period::instant(now);
    // D6.8: `on` an instant is that instant's UTC day.
    let on = Occurs::On(p);
    assert!(occurs(at(2018, 8, 28), &on) && occurs(at(2018, 8, 29) - 1, &on));
    assert!(!occurs(at(2018, 8, 28) - 1, &on) && !occurs(at(2018, 8, 29), &on));
    let on_before_1970 = Occurs::On(Period::instant(-1));
    assert!(occurs(-MS_PER_DAY, &on_before_1970) && !occurs(0, &on_before_1970));
    // `before`/`after`/`between` use the instant itself.
    assert!(occurs(now - 1, &Occurs::Before(p)) && !occurs(now, &Occurs::Before(p)));
    assert!(occurs(now, &Occurs::After(p)) && !occurs(now - 1, &Occurs::After(p)));
    let between = Occurs::Between(Period::instant(now - 10), p);
    assert!(occurs(now - 10, &between) && occurs(now - 1, &between));
    assert!(!occurs(now - 11, &between) && !occurs(now, &between));
    // `today` as an anchor of `before`/`after` is its start/end.
    let today = time_word(TimeWord::Today, now);
    assert!(occurs(at(2018, 8, 28) - 1, &Occurs::Before(today)));
    assert!(!occurs(at(2018, 8, 28), &Occurs::Before(today)));
    assert!(occurs(at(2018, 8, 29), &Occurs::After(today)));
}

#[test]
fn windows_past_the_representable_range() {
    let now = at(2024, 6, 1);
    let anchor = Period::instant(now);
    let huge = distance(
        CmpOp::Lt,
        1_000_000_000,
        TimeUnit::Millennium,
        Direction::Before,
        anchor,
    );
    assert!(occurs(i64::MIN, &huge) && occurs(now, &huge) && !occurs(now + 1, &huge));
    let never = distance(
        CmpOp::Gt,
        1_000_000_000,
        TimeUnit::Millennium,
        Direction::Before,
        anchor,
    );
    assert!(never.window().is_empty());
    let all_after = distance(
        CmpOp::Le,
        i64::MAX,
        TimeUnit::Week,
        Direction::After,
        anchor,
    );
    assert!(occurs(i64::MAX, &all_after) && !occurs(now - 1, &all_after));
    let ne = distance(
        CmpOp::Ne,
        i64::MIN,
        TimeUnit::Year,
        Direction::After,
        anchor,
    );
    assert!(occurs(now, &ne));
    let edge = distance(
        CmpOp::Le,
        1,
        TimeUnit::Month,
        Direction::After,
        Period::instant(i64::MAX),
    );
    assert!(occurs(i64::MAX, &edge));
    let edge = distance(
        CmpOp::Ge,
        1,
        TimeUnit::Day,
        Direction::Before,
        Period::instant(i64::MIN),
    );
    assert!(edge.window().is_empty());
}

#[test]
fn negative_amounts_accept_nothing_closer_than_the_anchor() {
    let anchor = Period::instant(at(2024, 6, 1));
    for dir in [Direction::Before, Direction::After] {
        for unit in [TimeUnit::Day, TimeUnit::Month] {
            for cmp in [CmpOp::Lt, CmpOp::Le, CmpOp::Eq] {
                assert!(
                    distance(cmp, -2, unit, dir, anchor).window().is_empty(),
                    "{cmp:?} {unit:?} {dir:?}"
                );
            }
        }
    }
}

/// The spec's wording for fixed units, evaluated literally on d.
fn oracle_fixed(ts: i64, cmp: CmpOp, n: i64, len: i64, dir: Direction, anchor: Period) -> bool {
    let d = match dir {
        Direction::Before => i128::from(anchor.start) - i128::from(ts),
        _ => i128::from(ts) - i128::from(anchor.end),
    };
    let (n, len) = (i128::from(n), i128::from(len));
    let exactly = (n - 1) * len < d && d <= n * len;
    d >= 0
        && match cmp {
            CmpOp::Lt => d < n * len,
            CmpOp::Le => d <= n * len,
            CmpOp::Gt => d > n * len,
            CmpOp::Ge => d >= n * len,
            CmpOp::Eq => exactly,
            CmpOp::Ne => !exactly,
        }
}

/// Months as the spec defines them (compare ts with the calendar-shifted anchor), with chrono
/// doing the shifting.
fn oracle_months(ts: i64, cmp: CmpOp, n: i64, dir: Direction, anchor: Period) -> Option<bool> {
    let before = dir == Direction::Before;
    let a = if before { anchor.start } else { anchor.end };
    let shifted = |k: i64| -> Option<i64> {
        let base = chrono::DateTime::from_timestamp_millis(a)?.naive_utc();
        let months = chrono::Months::new(u32::try_from(k.abs()).ok()?);
        let out = if (k < 0) == before {
            base.checked_add_months(months)
        } else {
            base.checked_sub_months(months)
        }?;
        Some(out.and_utc().timestamp_millis())
    };
    // d compared with k months: before, d < k months iff ts > A − k months; after, iff ts < A + k.
    let cmp_d = |k: i64| -> Option<std::cmp::Ordering> {
        let b = shifted(k)?;
        Some(if before { b.cmp(&ts) } else { ts.cmp(&b) })
    };
    use std::cmp::Ordering::*;
    let non_negative = cmp_d(0)? != Less;
    let exactly = cmp_d(n - 1)? == Greater && cmp_d(n)? != Greater;
    Some(
        non_negative
            && match cmp {
                CmpOp::Lt => cmp_d(n)? == Less,
                CmpOp::Le => cmp_d(n)? != Greater,
                CmpOp::Gt => cmp_d(n)? == Greater,
                CmpOp::Ge => cmp_d(n)? != Less,
                CmpOp::Eq => exactly,
                CmpOp::Ne => !exactly,
            },
    )
}

const DIRS: [Direction; 3] = [Direction::Before, Direction::After, Direction::From];

proptest! {
    #[test]
    fn fixed_units_match_the_spec_wording(
        start in -10_000_000_000_000i64..10_000_000_000_000, len in 0i64..3 * MS_PER_DAY,
        n in 0i64..6, u in 0usize..6, c in 0usize..6, d in 0usize..3,
        j in -8i64..8, delta in -2i64..3,
    ) {
        let unit = ALL_UNITS[u];
        let unit_len = super::unit_millis(unit).expect("fixed unit");
        let anchor = Period { start, end: start + len };
        let a = if DIRS[d] == Direction::Before { anchor.start } else { anchor.end };
        let ts = a + j * unit_len + delta;
        let spec = distance(ALL_CMP[c], n, unit, DIRS[d], anchor);
        prop_assert_eq!(occurs(ts, &spec), oracle_fixed(ts, ALL_CMP[c], n, unit_len, DIRS[d], anchor));
    }

    #[test]
    fn months_match_chrono_shifting(
        day in -200_000i64..200_000, tod in 0..MS_PER_DAY, len_days in 0i64..3,
        n in 0i64..30, c in 0usize..6, d in 0usize..3, j in -35i64..35, delta in -2i64..3,
        jitter_days in -3i64..4, near in any::<bool>(), k in -1i64..2,
    ) {
        let start = day * MS_PER_DAY + tod;
        let anchor = Period { start, end: start + len_days * MS_PER_DAY };
        let a = if DIRS[d] == Direction::Before { anchor.start } else { anchor.end };
        // Probe near month boundaries: a whole number of months away (half the time N−1, N or
        // N+1 months on the tested side), nudged by days and milliseconds.
        let side = if DIRS[d] == Direction::Before { -1 } else { 1 };
        let months = if near { side * (n + k) } else { j };
        let Some(base) = super::shift(a, TimeUnit::Month, months) else { return Ok(()) };
        let ts = base + if near { delta } else { jitter_days * MS_PER_DAY + delta };
        let spec = distance(ALL_CMP[c], n, TimeUnit::Month, DIRS[d], anchor);
        if let Some(want) = oracle_months(ts, ALL_CMP[c], n, DIRS[d], anchor) {
            prop_assert_eq!(occurs(ts, &spec), want, "ts {} anchor {:?}", ts, anchor);
        }
    }

    #[test]
    fn occurs_never_panics(ts in any::<i64>(), s in any::<i64>(), e in any::<i64>(), n in any::<i64>(),
                           u in 0usize..11, c in 0usize..6, d in 0usize..3) {
        let p = Period { start: s, end: e };
        let specs = [Occurs::On(p), Occurs::Before(p), Occurs::After(p), Occurs::Between(p, p),
                     distance(ALL_CMP[c], n, ALL_UNITS[u], DIRS[d], p)];
        for spec in specs {
            let w = spec.window();
            prop_assert_eq!(occurs(ts, &spec), w.contains(ts));
            let _ = w.is_empty();
        }
    }

    #[test]
    fn on_an_instant_is_its_day(ts in any::<i64>(), p in any::<i64>()) {
        let same_day = ts.div_euclid(MS_PER_DAY) == p.div_euclid(MS_PER_DAY);
        prop_assert_eq!(occurs(ts, &Occurs::On(Period::instant(p))), same_day);
        if day_start(p) > i64::MIN {
            let day = Period { start: day_start(p), end: day_start(p).saturating_add(MS_PER_DAY) };
            prop_assert_eq!(occurs(ts, &Occurs::On(day)), day.contains(ts));
        }
    }
}
