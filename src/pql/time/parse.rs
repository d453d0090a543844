//! The timestamp reader for data in time positions (D2.9, D6.7).
//!
//! It runs once per event per time expression, so it is hand-written over bytes: no allocation,
//! no format strings, a fixed layout checked position by position. Accepted:
//!
//! ```text
//! YYYY-MM-DD                                   that day at 00:00 UTC
//! YYYY-MM-DD(T|t| )hh:mm:ss[.f+][Z|z|(+|-)hh:mm]   RFC 3339; no offset is read as UTC
//! ```
//!
//! Years have exactly four digits (RFC 3339). Fractions may have any number of digits and are
//! truncated to milliseconds. A leap second `:60` is accepted, as RFC 3339 allows, and read
//! arithmetically (it lands on the next minute's `:00`). Everything else, including surrounding
//! whitespace and impossible dates such as `2024-02-30`, is rejected.

use super::civil::{
    MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, days_from_civil, days_in_month,
};

/// Reads an RFC 3339 timestamp or a `YYYY-MM-DD` date as epoch milliseconds (UTC).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let days = parse_date(b)?;
    // Four-digit years keep every value far inside the i64 range: plain arithmetic is safe.
    let midnight = days * MS_PER_DAY;
    if b.len() == 10 {
        return Some(midnight);
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let time_of_day = parse_clock(b)?;
    let (fraction, rest) = parse_fraction(b, 19)?;
    let offset = parse_offset(b, rest)?;
    Some(midnight + time_of_day + fraction - offset)
}

/// `YYYY-MM-DD` at the start of `b`, as days since 1970-01-01.
fn parse_date(b: &[u8]) -> Option<i64> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `hh:mm:ss` at bytes 11..19, as milliseconds into the day.
fn parse_clock(b: &[u8]) -> Option<i64> {
    if b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(hour * MS_PER_HOUR + minute * MS_PER_MINUTE + second * MS_PER_SECOND)
}

/// An optional `.digits` at `at`: its value in whole milliseconds (truncated) and the index after.
fn parse_fraction(b: &[u8], at: usize) -> Option<(i64, usize)> {
    if b.get(at) != Some(&b'.') {
        return Some((0, at));
    }
    let first = at + 1;
    let mut end = first;
    let mut millis = 0;
    while let Some(c) = b.get(end).filter(|c| c.is_ascii_digit()) {
        if end - first < 3 {
            millis = millis * 10 + i64::from(c - b'0');
        }
        end += 1;
    }
    let len = end - first;
    if len == 0 {
        return None;
    }
    for _ in len..3 {
        millis *= 10;
    }
    Some((millis, end))
}

/// The zone designator filling `b[at..]` exactly, as milliseconds east of UTC.
fn parse_offset(b: &[u8], at: usize) -> Option<i64> {
    let rest = &b[at..];
    match rest.first() {
        None => Some(0),
        Some(b'Z' | b'z') if rest.len() == 1 => Some(0),
        Some(&sign @ (b'+' | b'-')) if rest.len() == 6 && rest[3] == b':' => {
            let hours = digits(rest, 1, 2)?;
            let minutes = digits(rest, 4, 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let east = hours * MS_PER_HOUR + minutes * MS_PER_MINUTE;
            Some(if sign == b'-' { -east } else { east })
        }
        _ => None,
    }
}

/// The decimal number in `b[at..at + len]`, which must be all ASCII digits.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let mut n = 0;
    for &c in b.get(at..at + len)? {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JUNE_1_2024: i64 = 1_717_200_000_000;

    #[test]
    fn date_only_is_midnight_utc() {
        assert_eq!(parse_timestamp("2024-06-01"), Some(JUNE_1_2024));
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(parse_timestamp("1969-12-31"), Some(-MS_PER_DAY));
        assert_eq!(parse_timestamp("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(parse_timestamp("0000-01-01"), Some(-62_167_219_200_000));
        assert_eq!(parse_timestamp("9999-12-31"), Some(253_402_214_400_000));
    }

    #[test]
    fn rfc3339_forms() {
        let t = JUNE_1_2024 + 12 * MS_PER_HOUR + 34 * MS_PER_MINUTE + 56 * MS_PER_SECOND;
        for s in [
            "2024-06-01T12:34:56Z",
            "2024-06-01t12:34:56z",
            "2024-06-01 12:34:56Z",
            "2024-06-01T12:34:56",
            "2024-06-01T12:34:56+00:00",
            "2024-06-01T12:34:56-00:00",
            "2024-06-01T14:34:56+02:00",
            "2024-06-01T07:04:56-05:30",
            "2024-06-02T00:04:56+11:30",
        ] {
            assert_eq!(parse_timestamp(s), Some(t), "{s}");
        }
    }

    #[test]
    fn fractions_any_length_truncate_to_ms() {
        let t = JUNE_1_2024 + 12 * MS_PER_HOUR;
        assert_eq!(parse_timestamp("2024-06-01T12:00:00.5Z"), Some(t + 500));
        assert_eq!(parse_timestamp("2024-06-01T12:00:00.05Z"), Some(t + 50));
        assert_eq!(parse_timestamp("2024-06-01T12:00:00.123Z"), Some(t + 123));
        assert_eq!(parse_timestamp("2024-06-01T12:00:00.1239Z"), Some(t + 123));
        assert_eq!(
            parse_timestamp("2024-06-01T12:00:00.999999999Z"),
            Some(t + 999)
        );
        assert_eq!(
            parse_timestamp("2024-06-01T12:00:00.000000000000000000000001"),
            Some(t)
        );
        assert_eq!(
            parse_timestamp("2024-06-01T12:00:00.25+01:00"),
            Some(t - MS_PER_HOUR + 250)
        );
    }

    #[test]
    fn offsets_cross_day_month_and_year_boundaries() {
        assert_eq!(
            parse_timestamp("1970-01-01T00:30:00+01:00"),
            Some(-30 * MS_PER_MINUTE)
        );
        assert_eq!(parse_timestamp("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(
            parse_timestamp("2025-01-01T00:00:00+23:59"),
            Some(1_735_689_600_000 - 86_340_000)
        );
        assert_eq!(
            parse_timestamp("0000-01-01T00:00:00+01:00"),
            Some(-62_167_219_200_000 - MS_PER_HOUR)
        );
    }

    #[test]
    fn leap_second_is_read_arithmetically() {
        assert_eq!(
            parse_timestamp("2016-12-31T23:59:60Z"),
            parse_timestamp("2017-01-01T00:00:00Z")
        );
    }

    #[test]
    fn rejects() {
        for s in [
            "",
            "15/06/2024",
            "2024-6-1",
            "2024-06-1",
            "24-06-01",
            "2024-02-30",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-06-00",
            "2024-06-31",
            "2024/06/01",
            " 2024-06-01",
            "2024-06-01 ",
            "2024-06-01T",
            "2024-06-01T12",
            "2024-06-01T12:00",
            "2024-06-01T12:00Z",
            "2024-06-01T24:00:00Z",
            "2024-06-01T12:60:00Z",
            "2024-06-01T12:00:61Z",
            "2024-06-01X12:00:00Z",
            "2024-06-01T12:00:00.Z",
            "2024-06-01T12:00:00.",
            "2024-06-01T12:00:00,5Z",
            "2024-06-01T12:00:00ZZ",
            "2024-06-01T12:00:00Z ",
            "2024-06-01T12:00:00+0100",
            "2024-06-01T12:00:00+01",
            "2024-06-01T12:00:00+24:00",
            "2024-06-01T12:00:00+01:60",
            "2024-06-01T12:00:00+01:00:00",
            "2024-06-01T12:00:00 +01:00",
            "2024-06-01T12:00:00UTC",
            "+2024-06-01",
            "-2024-06-01",
            "12024-06-01",
            "2024-06-01T1a:00:00Z",
            "2024-06-01T12:00:00.12a",
            "２０２４-06-01",
            "2024-06-01T12:00:00é",
            "1718000000000",
            "now",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse_timestamp(&s);
        }

        #[test]
        fn never_panics_near_valid(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9:]{0,9}(\\.[0-9]{0,12})?([Zz+\\-][0-9:]{0,6})?)?") {
            let _ = parse_timestamp(&s);
        }

        #[test]
        fn agrees_with_chrono(ms in -62_167_219_200_000i64..253_402_300_799_999,
                              off_min in -1439i32..1439, frac in 0usize..10) {
            let offset = chrono::FixedOffset::east_opt(off_min * 60).expect("offset in range");
            let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else { return Ok(()) };
            let local = t.with_timezone(&offset);
            let text = local.format("%Y-%m-%dT%H:%M:%S").to_string();
            let sub = format!("{:09}", local.timestamp_subsec_nanos());
            let zone = local.format("%:z").to_string();
            let s = if frac == 0 { format!("{text}{zone}") } else { format!("{text}.{}{zone}", &sub[..frac]) };
            let Ok(want) = chrono::DateTime::parse_from_rfc3339(&s) else { return Ok(()) };
            prop_assert_eq!(parse_timestamp(&s), Some(want.timestamp_millis()), "{}", s);
        }
    }
}
