//! Reference points (Part 2 §5.1, D4.2): the time words, `this|last|next UNIT`, `date(y, m, d)`,
//! and how a data value in a time position becomes an instant or a period (D2.9).

use super::Period;
use super::civil::{MS_PER_DAY, civil_date, ms_from_civil, shift, unit_millis, weekday};
use super::parse::parse_timestamp;
use crate::pql::ast::{Relative, TimeUnit, TimeWord};
use crate::pql::value::Value;

/// A value in a time position (D2.9): a string is parsed as a timestamp, an integer is epoch
/// milliseconds, a time is itself and a period stands for its start. Anything else is `None`.
pub fn instant_of(v: &Value) -> Option<i64> {
    match v {
        Value::Str(s) => parse_timestamp(s),
        Value::Int(ms) | Value::Time(ms) => Some(*ms),
        Value::Period { start, .. } => Some(*start),
        _ => None,
    }
}

/// A value as an `occurs` operand: a period is itself, anything that reads as an instant is the
/// empty period at that instant.
pub fn period_of(v: &Value) -> Option<Period> {
    match v {
        Value::Period { start, end } => Some(Period {
            start: *start,
            end: *end,
        }),
        other => instant_of(other).map(Period::instant),
    }
}

/// `date(year, month, day)`: that whole UTC day; `None` for an impossible or unrepresentable date.
pub fn date(year: i64, month: i64, day: i64) -> Option<Period> {
    let start = ms_from_civil(year, month, day)?;
    Some(Period {
        start,
        end: start.checked_add(MS_PER_DAY)?,
    })
}

/// `now` is the instant itself; `today`, `yesterday` and `tomorrow` are whole UTC days. At the
/// very ends of the `i64` range a day that does not fit is clamped to it.
pub fn time_word(word: TimeWord, now: i64) -> Period {
    let day_offset = match word {
        TimeWord::Now => return Period::instant(now),
        TimeWord::Today => 0,
        TimeWord::Yesterday => -1,
        TimeWord::Tomorrow => 1,
    };
    let day = i128::from(now.div_euclid(MS_PER_DAY)) + day_offset;
    let start = day * i128::from(MS_PER_DAY);
    Period {
        start: clamp_i64(start),
        end: clamp_i64(start + i128::from(MS_PER_DAY)),
    }
}

fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// `this|last|next UNIT` (D4.1, D4.2): the calendar unit containing `now`, the one before it or
/// the one after it. `this millisecond` is `[now, now + 1)`; weeks are ISO weeks (Monday to
/// Monday); decades, centuries and millennia are aligned on multiples of 10, 100 and 1000 years
/// (`this century` in 2026 is `[2000, 2100)`). `None` when the period is not representable.
pub fn relative_period(rel: Relative, unit: TimeUnit, now: i64) -> Option<Period> {
    let step = match rel {
        Relative::This => 0,
        Relative::Last => -1,
        Relative::Next => 1,
    };
    let start = unit_start(unit, now)?;
    Some(Period {
        start: shift(start, unit, step)?,
        end: shift(start, unit, step + 1)?,
    })
}

/// The start of the calendar unit containing `ms`: the instant itself for milliseconds, the
/// Monday 00:00 UTC for weeks, the first day of the month, of the year, or of the aligned decade,
/// century or millennium. `None` when that start is not representable.
pub fn unit_start(unit: TimeUnit, ms: i64) -> Option<i64> {
    if unit == TimeUnit::Week {
        let monday = ms.div_euclid(MS_PER_DAY) - (weekday(ms) - 1);
        return monday.checked_mul(MS_PER_DAY);
    }
    if let Some(len) = unit_millis(unit) {
        return ms.checked_sub(ms.rem_euclid(len));
    }
    let (year, month, _) = civil_date(ms);
    let aligned = |span: i64| year.div_euclid(span) * span;
    match unit {
        TimeUnit::Month => ms_from_civil(year, month, 1),
        TimeUnit::Year => ms_from_civil(year, 1, 1),
        TimeUnit::Decade => ms_from_civil(aligned(10), 1, 1),
        TimeUnit::Century => ms_from_civil(aligned(100), 1, 1),
        _ => ms_from_civil(aligned(1000), 1, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pql::time::civil::{MS_PER_HOUR, MS_PER_WEEK};
    use proptest::prelude::*;

    fn at(y: i64, m: i64, d: i64) -> i64 {
        ms_from_civil(y, m, d).expect("valid test date")
    }

    fn span(a: (i64, i64, i64), b: (i64, i64, i64)) -> Option<Period> {
        Some(Period {
            start: at(a.0, a.1, a.2),
            end: at(b.0, b.1, b.2),
        })
    }

    const ALL_RELATIVE: [Relative; 3] = [Relative::Last, Relative::This, Relative::Next];

    #[test]
    fn values_in_time_positions() {
        assert_eq!(
            instant_of(&Value::str("2024-06-01")),
            Some(1_717_200_000_000)
        );
        assert_eq!(instant_of(&Value::str("15/06/2024")), None);
        assert_eq!(instant_of(&Value::Int(-5)), Some(-5));
        assert_eq!(instant_of(&Value::Time(7)), Some(7));
        assert_eq!(instant_of(&Value::Period { start: 3, end: 9 }), Some(3));
        assert_eq!(instant_of(&Value::Float(1.0)), None);
        assert_eq!(instant_of(&Value::Bool(true)), None);
        assert_eq!(instant_of(&Value::Null), None);
        assert_eq!(
            period_of(&Value::Period { start: 3, end: 9 }),
            Some(Period { start: 3, end: 9 })
        );
        assert_eq!(period_of(&Value::Time(7)), Some(Period::instant(7)));
        assert_eq!(period_of(&Value::Int(7)), Some(Period::instant(7)));
        assert_eq!(
            period_of(&Value::str("1970-01-01T00:00:00.007Z")),
            Some(Period::instant(7))
        );
        assert_eq!(period_of(&Value::array(vec![])), None);
        for p in [Period::instant(-3), Period { start: 1, end: 2 }] {
            assert_eq!(period_of(&Value::from(p)), Some(p));
        }
        assert!(matches!(Value::from(Period::instant(4)), Value::Time(4)));
    }

    #[test]
    fn dates_are_whole_days() {
        assert_eq!(date(2024, 2, 29), span((2024, 2, 29), (2024, 3, 1)));
        assert_eq!(date(2023, 12, 31), span((2023, 12, 31), (2024, 1, 1)));
        assert_eq!(
            date(1969, 12, 31),
            Some(Period {
                start: -MS_PER_DAY,
                end: 0
            })
        );
        assert_eq!(date(2023, 2, 29), None);
        assert_eq!(date(2024, 2, 30), None);
        assert_eq!(date(2024, 13, 1), None);
        assert_eq!(date(2024, 0, 1), None);
        assert_eq!(date(2024, 1, 0), None);
        assert_eq!(date(i64::MAX, 1, 1), None);
        assert_eq!(date(300_000_000, 1, 1), None);
    }

    #[test]
    fn time_words() {
        let now = at(2018, 8, 28) + 15 * MS_PER_HOUR;
        assert_eq!(time_word(TimeWord::Now, now), Period::instant(now));
        assert_eq!(
            Some(time_word(TimeWord::Today, now)),
            span((2018, 8, 28), (2018, 8, 29))
        );
        assert_eq!(
            Some(time_word(TimeWord::Yesterday, now)),
            span((2018, 8, 27), (2018, 8, 28))
        );
        assert_eq!(
            Some(time_word(TimeWord::Tomorrow, now)),
            span((2018, 8, 29), (2018, 8, 30))
        );
        let midnight = at(2018, 9, 1);
        assert_eq!(
            Some(time_word(TimeWord::Today, midnight)),
            span((2018, 9, 1), (2018, 9, 2))
        );
        assert_eq!(
            Some(time_word(TimeWord::Yesterday, midnight)),
            span((2018, 8, 31), (2018, 9, 1))
        );
        assert_eq!(
            time_word(TimeWord::Today, -1),
            Period {
                start: -MS_PER_DAY,
                end: 0
            }
        );
        assert_eq!(time_word(TimeWord::Tomorrow, i64::MAX).end, i64::MAX);
        assert_eq!(time_word(TimeWord::Yesterday, i64::MIN).start, i64::MIN);
    }

    #[test]
    fn relative_months_and_years() {
        let now = at(2018, 8, 28) + 15 * MS_PER_HOUR;
        let rel = |r, u| relative_period(r, u, now);
        assert_eq!(
            rel(Relative::Last, TimeUnit::Month),
            span((2018, 7, 1), (2018, 8, 1))
        );
        assert_eq!(
            rel(Relative::This, TimeUnit::Month),
            span((2018, 8, 1), (2018, 9, 1))
        );
        assert_eq!(
            rel(Relative::Next, TimeUnit::Month),
            span((2018, 9, 1), (2018, 10, 1))
        );
        assert_eq!(
            rel(Relative::Last, TimeUnit::Year),
            span((2017, 1, 1), (2018, 1, 1))
        );
        assert_eq!(
            rel(Relative::Next, TimeUnit::Year),
            span((2019, 1, 1), (2020, 1, 1))
        );
        let jan = at(2019, 1, 31);
        assert_eq!(
            relative_period(Relative::Last, TimeUnit::Month, jan),
            span((2018, 12, 1), (2019, 1, 1))
        );
        assert_eq!(
            relative_period(Relative::Next, TimeUnit::Month, jan),
            span((2019, 2, 1), (2019, 3, 1))
        );
    }

    #[test]
    fn aligned_decades_centuries_millennia() {
        let now = at(2026, 3, 15);
        let rel = |r, u| relative_period(r, u, now);
        assert_eq!(
            rel(Relative::Last, TimeUnit::Decade),
            span((2010, 1, 1), (2020, 1, 1))
        );
        assert_eq!(
            rel(Relative::This, TimeUnit::Decade),
            span((2020, 1, 1), (2030, 1, 1))
        );
        assert_eq!(
            rel(Relative::This, TimeUnit::Century),
            span((2000, 1, 1), (2100, 1, 1))
        );
        assert_eq!(
            rel(Relative::Last, TimeUnit::Century),
            span((1900, 1, 1), (2000, 1, 1))
        );
        assert_eq!(
            rel(Relative::This, TimeUnit::Millennium),
            span((2000, 1, 1), (3000, 1, 1))
        );
        assert_eq!(
            rel(Relative::Last, TimeUnit::Millennium),
            span((1000, 1, 1), (2000, 1, 1))
        );
        let y2000 = at(2000, 1, 1);
        assert_eq!(
            relative_period(Relative::This, TimeUnit::Decade, y2000 - 1),
            span((1990, 1, 1), (2000, 1, 1))
        );
        assert_eq!(
            relative_period(Relative::This, TimeUnit::Decade, y2000),
            span((2000, 1, 1), (2010, 1, 1))
        );
        let bc = at(-5, 6, 1);
        assert_eq!(
            relative_period(Relative::This, TimeUnit::Decade, bc),
            span((-10, 1, 1), (0, 1, 1))
        );
        assert_eq!(
            relative_period(Relative::This, TimeUnit::Century, bc),
            span((-100, 1, 1), (0, 1, 1))
        );
    }

    #[test]
    fn iso_weeks_start_monday() {
        // 2024-06-09 is a Sunday: its week is Monday 3 June .. Monday 10 June.
        let sunday = at(2024, 6, 9) + 23 * MS_PER_HOUR;
        let rel = |r, t| relative_period(r, TimeUnit::Week, t);
        assert_eq!(
            rel(Relative::This, sunday),
            span((2024, 6, 3), (2024, 6, 10))
        );
        assert_eq!(
            rel(Relative::This, at(2024, 6, 10)),
            span((2024, 6, 10), (2024, 6, 17))
        );
        assert_eq!(
            rel(Relative::Last, at(2024, 6, 10)),
            span((2024, 6, 3), (2024, 6, 10))
        );
        assert_eq!(
            rel(Relative::This, at(2024, 6, 10) - 1),
            span((2024, 6, 3), (2024, 6, 10))
        );
        // Weeks that straddle a year boundary.
        assert_eq!(
            rel(Relative::This, at(2021, 1, 1)),
            span((2020, 12, 28), (2021, 1, 4))
        );
        assert_eq!(
            rel(Relative::Next, at(2020, 12, 31)),
            span((2021, 1, 4), (2021, 1, 11))
        );
        assert_eq!(
            rel(Relative::Last, at(2019, 1, 1)),
            span((2018, 12, 24), (2018, 12, 31))
        );
        assert_eq!(rel(Relative::This, 0), span((1969, 12, 29), (1970, 1, 5)));
        assert_eq!(
            rel(Relative::This, at(1900, 1, 1)),
            span((1900, 1, 1), (1900, 1, 8))
        );
    }

    #[test]
    fn fixed_units() {
        let now = at(2024, 6, 1) + 13 * MS_PER_HOUR + 61_001;
        let rel = |r, u| relative_period(r, u, now);
        let p = |start: i64, len: i64| {
            Some(Period {
                start,
                end: start + len,
            })
        };
        assert_eq!(rel(Relative::This, TimeUnit::Millisecond), p(now, 1));
        assert_eq!(rel(Relative::Last, TimeUnit::Millisecond), p(now - 1, 1));
        assert_eq!(rel(Relative::Next, TimeUnit::Millisecond), p(now + 1, 1));
        assert_eq!(rel(Relative::This, TimeUnit::Second), p(now - 1, 1000));
        assert_eq!(
            rel(Relative::Last, TimeUnit::Minute),
            p(now - 1_001 - 60_000, 60_000)
        );
        assert_eq!(
            rel(Relative::Next, TimeUnit::Hour),
            p(at(2024, 6, 1) + 14 * MS_PER_HOUR, MS_PER_HOUR)
        );
        assert_eq!(rel(Relative::Last, TimeUnit::Day), date(2024, 5, 31));
        assert_eq!(
            rel(Relative::This, TimeUnit::Week),
            p(at(2024, 5, 27), MS_PER_WEEK)
        );
        assert_eq!(
            relative_period(Relative::This, TimeUnit::Second, -1),
            p(-1000, 1000)
        );
    }

    #[test]
    fn range_edges_are_none_not_panics() {
        assert_eq!(
            relative_period(Relative::Next, TimeUnit::Millisecond, i64::MAX),
            None
        );
        assert_eq!(
            relative_period(Relative::This, TimeUnit::Day, i64::MIN),
            None
        );
        assert_eq!(
            relative_period(Relative::Next, TimeUnit::Millennium, i64::MAX),
            None
        );
        assert_eq!(
            relative_period(Relative::Last, TimeUnit::Week, i64::MIN),
            None
        );
    }

    proptest! {
        #[test]
        fn relative_periods_never_panic_and_are_ordered(now in any::<i64>(), u in 0usize..11, r in 0usize..3) {
            let unit = crate::pql::time::ALL_UNITS[u];
            if let Some(p) = relative_period(ALL_RELATIVE[r], unit, now) {
                prop_assert!(p.start < p.end);
                if ALL_RELATIVE[r] == Relative::This {
                    prop_assert!(p.contains(now));
                }
            }
        }

        #[test]
        fn last_this_next_tile(now in -100_000_000_000_000i64..100_000_000_000_000, u in 0usize..11) {
            let unit = crate::pql::time::ALL_UNITS[u];
            let [l, t, n] = ALL_RELATIVE.map(|r| relative_period(r, unit, now));
            let (Some(l), Some(t), Some(n)) = (l, t, n) else { return Ok(()) };
            prop_assert!(l.end == t.start && t.end == n.start && t.contains(now));
        }
    }
}
