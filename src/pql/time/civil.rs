//! Civil (proleptic Gregorian, UTC) dates from and to epoch milliseconds, and calendar shifts.
//!
//! The day-count conversions are the classic era-based ones (400-year eras of 146 097 days), done
//! in plain `i64` without tables or allocation so they cost a handful of integer operations. Years
//! are bounded by [`MAX_YEAR`], which is past the range of `i64` milliseconds, so the day counts
//! never overflow and the final conversion to milliseconds is the only checked step.

use crate::pql::ast::TimeUnit;

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
pub const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
pub const MS_PER_WEEK: i64 = 7 * MS_PER_DAY;

/// Larger than any year reachable with `i64` milliseconds (about 292 million years either side of
/// 1970), small enough that day counts of such years cannot overflow.
pub(crate) const MAX_YEAR: i64 = 300_000_000;

/// Days from 1970-01-01 to 0000-03-01, the start of the era-based day count.
const DAYS_0000_03_01_TO_EPOCH: i64 = 719_468;
const DAYS_PER_ERA: i64 = 146_097;

pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Number of days in `month` (1–12) of `year`; 0 for a month outside 1–12.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a valid civil date with `|year| <= MAX_YEAR`.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count years from March so that the leap day is the last day of the counted year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - DAYS_0000_03_01_TO_EPOCH
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01. Total for every day count
/// that comes from an `i64` of milliseconds.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + DAYS_0000_03_01_TO_EPOCH;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z - era * DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Epoch ms of 00:00 UTC on a civil date; `None` for an invalid date or one out of range.
pub(crate) fn ms_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if year.abs() > MAX_YEAR || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    days_from_civil(year, month, day).checked_mul(MS_PER_DAY)
}

/// The UTC civil date `(year, month 1–12, day 1–31)` of an instant.
pub fn civil_date(ms: i64) -> (i64, i64, i64) {
    civil_from_days(ms.div_euclid(MS_PER_DAY))
}

/// The UTC year of an instant (`getYear()`).
pub fn year(ms: i64) -> i64 {
    civil_date(ms).0
}

/// The UTC month of an instant, 1–12 (`getMonth()`).
pub fn month(ms: i64) -> i64 {
    civil_date(ms).1
}

/// The UTC day of the month of an instant, 1–31 (`getDayOfMonth()`).
pub fn day_of_month(ms: i64) -> i64 {
    civil_date(ms).2
}

/// The ISO weekday of an instant in UTC: 1 = Monday … 7 = Sunday.
pub fn weekday(ms: i64) -> i64 {
    // 1970-01-01 was a Thursday (ISO 4).
    (ms.div_euclid(MS_PER_DAY) + 3).rem_euclid(7) + 1
}

/// 00:00 UTC of the instant's day. The first partial day of the `i64` range has no representable
/// start; it saturates to `i64::MIN`.
pub fn day_start(ms: i64) -> i64 {
    ms.checked_sub(ms.rem_euclid(MS_PER_DAY))
        .unwrap_or(i64::MIN)
}

/// The fixed length of a unit in milliseconds, for milliseconds to weeks; `None` for the calendar
/// units (months and longer), whose length varies.
pub fn unit_millis(unit: TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Millisecond => Some(1),
        TimeUnit::Second => Some(MS_PER_SECOND),
        TimeUnit::Minute => Some(MS_PER_MINUTE),
        TimeUnit::Hour => Some(MS_PER_HOUR),
        TimeUnit::Day => Some(MS_PER_DAY),
        TimeUnit::Week => Some(MS_PER_WEEK),
        _ => None,
    }
}

/// The number of months in a calendar unit (month and longer); `None` for fixed-length units.
pub fn unit_months(unit: TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Month => Some(1),
        TimeUnit::Year => Some(12),
        TimeUnit::Decade => Some(120),
        TimeUnit::Century => Some(1_200),
        TimeUnit::Millennium => Some(12_000),
        _ => None,
    }
}

/// Moves an instant by `n` units (D4.1, D6.9). Milliseconds to weeks are fixed durations; months
/// and longer shift the civil date by `n` units in one step, clamp the day to the last day of the
/// target month and keep the time of day. `None` when the result is not representable.
pub fn shift(ms: i64, unit: TimeUnit, n: i64) -> Option<i64> {
    match unit_millis(unit) {
        Some(len) => ms.checked_add(n.checked_mul(len)?),
        None => shift_months(ms, n.checked_mul(unit_months(unit)?)?),
    }
}

fn shift_months(ms: i64, months: i64) -> Option<i64> {
    let time_of_day = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_date(ms);
    let total = (y * 12 + (m - 1)).checked_add(months)?;
    let year = total.div_euclid(12);
    let month = total.rem_euclid(12) + 1;
    if year.abs() > MAX_YEAR {
        return None;
    }
    let day = d.min(days_in_month(year, month));
    // In i128 because the start of the day may lie just outside the i64 range while the instant
    // itself does not (the first and last partial days).
    let ms = i128::from(days_from_civil(year, month, day)) * i128::from(MS_PER_DAY)
        + i128::from(time_of_day);
    i64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(y: i64, m: i64, d: i64) -> i64 {
        ms_from_civil(y, m, d).expect("valid test date")
    }

    #[test]
    fn known_day_counts() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(0, 3, 1), -DAYS_0000_03_01_TO_EPOCH);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-719_469), (0, 2, 29));
        assert_eq!(civil_from_days(-719_528), (0, 1, 1));
        assert_eq!(civil_from_days(-719_529), (-1, 12, 31));
    }

    #[test]
    fn leap_years() {
        assert!(is_leap_year(2024) && is_leap_year(2000) && is_leap_year(0) && is_leap_year(-4));
        assert!(!is_leap_year(1900) && !is_leap_year(2023) && !is_leap_year(-1));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2024, 13), 0);
        assert_eq!(ms_from_civil(2023, 2, 29), None);
        assert_eq!(ms_from_civil(2024, 4, 31), None);
        assert_eq!(ms_from_civil(2024, 0, 1), None);
    }

    #[test]
    fn accessors_before_and_after_1970() {
        let t = ms(1969, 12, 31) + 23 * MS_PER_HOUR + 59 * MS_PER_MINUTE;
        assert_eq!((year(t), month(t), day_of_month(t)), (1969, 12, 31));
        assert_eq!(day_start(t), ms(1969, 12, 31));
        assert_eq!(day_start(-1), -MS_PER_DAY);
        assert_eq!(day_start(0), 0);
        assert_eq!(civil_date(ms(9999, 12, 31)), (9999, 12, 31));
        assert_eq!(civil_date(ms(-4713, 11, 24)), (-4713, 11, 24));
        assert_eq!(day_start(i64::MIN), i64::MIN);
        assert_eq!(
            day_start(i64::MAX),
            i64::MAX - i64::MAX.rem_euclid(MS_PER_DAY)
        );
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday(0), 4); // Thursday
        assert_eq!(weekday(ms(2024, 6, 3)), 1); // Monday
        assert_eq!(weekday(ms(2024, 6, 9)), 7); // Sunday
        assert_eq!(weekday(ms(1969, 12, 29)), 1);
        assert_eq!(weekday(-1), 3);
    }

    #[test]
    fn month_shifts_clamp_once() {
        let t = 13 * MS_PER_HOUR + 5;
        assert_eq!(
            shift(ms(2024, 3, 31), TimeUnit::Month, -1),
            Some(ms(2024, 2, 29))
        );
        assert_eq!(
            shift(ms(2023, 3, 31), TimeUnit::Month, -1),
            Some(ms(2023, 2, 28))
        );
        assert_eq!(
            shift(ms(2024, 1, 31), TimeUnit::Month, -2),
            Some(ms(2023, 11, 30))
        );
        assert_eq!(
            shift(ms(2024, 1, 31) + t, TimeUnit::Month, 1),
            Some(ms(2024, 2, 29) + t)
        );
        assert_eq!(
            shift(ms(2024, 2, 29), TimeUnit::Year, 1),
            Some(ms(2025, 2, 28))
        );
        assert_eq!(
            shift(ms(2024, 2, 29), TimeUnit::Year, 4),
            Some(ms(2028, 2, 29))
        );
        assert_eq!(
            shift(ms(2024, 2, 29), TimeUnit::Century, -1),
            Some(ms(1924, 2, 29))
        );
        assert_eq!(
            shift(ms(2000, 2, 29), TimeUnit::Century, 1),
            Some(ms(2100, 2, 28))
        );
        assert_eq!(
            shift(ms(2018, 8, 28), TimeUnit::Month, -1),
            Some(ms(2018, 7, 28))
        );
        assert_eq!(
            shift(ms(1970, 1, 1), TimeUnit::Month, -1),
            Some(ms(1969, 12, 1))
        );
        assert_eq!(
            shift(ms(2026, 5, 5), TimeUnit::Decade, -3),
            Some(ms(1996, 5, 5))
        );
        assert_eq!(
            shift(ms(2026, 5, 5), TimeUnit::Millennium, -3),
            Some(ms(-974, 5, 5))
        );
    }

    #[test]
    fn fixed_shifts() {
        assert_eq!(shift(0, TimeUnit::Week, -1), Some(-MS_PER_WEEK));
        assert_eq!(shift(5, TimeUnit::Millisecond, 3), Some(8));
        assert_eq!(shift(0, TimeUnit::Hour, 25), Some(25 * MS_PER_HOUR));
        assert_eq!(shift(i64::MAX, TimeUnit::Millisecond, 1), None);
        assert_eq!(shift(0, TimeUnit::Week, i64::MAX), None);
    }

    #[test]
    fn shifts_out_of_range_are_none() {
        assert_eq!(shift(0, TimeUnit::Millennium, 300_000), None);
        assert_eq!(shift(0, TimeUnit::Millennium, -300_000), None);
        assert_eq!(shift(0, TimeUnit::Month, i64::MAX), None);
        assert_eq!(shift(0, TimeUnit::Year, i64::MIN), None);
        assert_eq!(shift(i64::MAX, TimeUnit::Month, 1), None);
        assert_eq!(shift(i64::MIN, TimeUnit::Month, -1), None);
        assert_eq!(shift(i64::MAX, TimeUnit::Month, 0), Some(i64::MAX));
        assert_eq!(shift(i64::MIN, TimeUnit::Year, 0), Some(i64::MIN));
    }

    proptest! {
        #[test]
        fn civil_round_trip_matches_chrono(days in -3_000_000i64..3_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
            let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::TimeDelta::days(days)));
            if let Some(date) = date {
                use chrono::Datelike;
                prop_assert_eq!((y, m, d), (i64::from(date.year()), i64::from(date.month()),
                    i64::from(date.day())));
            }
        }

        #[test]
        fn civil_round_trip_whole_range(ms in any::<i64>()) {
            let (y, m, d) = civil_date(ms);
            prop_assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            prop_assert_eq!(days_from_civil(y, m, d), ms.div_euclid(MS_PER_DAY));
        }

        #[test]
        fn shift_never_panics(ms in any::<i64>(), n in any::<i64>(), unit in 0usize..11) {
            let _ = shift(ms, super::super::ALL_UNITS[unit], n);
        }

        #[test]
        fn month_shift_matches_chrono(days in -800_000i64..800_000, n in -5_000i64..5_000,
                                      tod in 0..MS_PER_DAY) {
            let t = days * MS_PER_DAY + tod;
            let got = shift(t, TimeUnit::Month, n);
            let base = chrono::DateTime::from_timestamp_millis(t).map(|d| d.naive_utc());
            let months = chrono::Months::new(n.unsigned_abs() as u32);
            let want = base.and_then(|b| if n >= 0 { b.checked_add_months(months) }
                                         else { b.checked_sub_months(months) });
            if let Some(w) = want {
                prop_assert_eq!(got, Some(w.and_utc().timestamp_millis()));
            }
        }
    }
}
