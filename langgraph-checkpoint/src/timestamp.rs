//! A checkpoint's creation time as JSON text: RFC 3339 in UTC, exactly as `chrono` writes it
//! (`2026-12-06T19:08:00.123456Z`; the fraction has 0, 3, 6 or 9 digits, the fewest that keep
//! every nonzero digit), written without the formatting machinery, since every stored
//! checkpoint carries one. Reading is `chrono`'s.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// The longest text: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_LEN: usize = 30;

/// Writes `v` (below 10^`width`) as `width` decimal digits.
fn digits(out: &mut [u8], v: u32, width: usize) {
    let mut v = v;
    for slot in out[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `ts` as RFC 3339 text into `buf`; `None` for what `chrono` writes differently (years
/// outside 0–9999, leap seconds).
fn encode(ts: &DateTime<Utc>, buf: &mut [u8; MAX_LEN]) -> Option<usize> {
    let year = u32::try_from(ts.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = ts.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    digits(&mut buf[0..], year, 4);
    buf[4] = b'-';
    digits(&mut buf[5..], ts.month(), 2);
    buf[7] = b'-';
    digits(&mut buf[8..], ts.day(), 2);
    buf[10] = b'T';
    digits(&mut buf[11..], ts.hour(), 2);
    buf[13] = b':';
    digits(&mut buf[14..], ts.minute(), 2);
    buf[16] = b':';
    digits(&mut buf[17..], ts.second(), 2);
    let mut len = 19;
    let (value, width) = if nanos == 0 {
        (0, 0)
    } else if nanos.is_multiple_of(1_000_000) {
        (nanos / 1_000_000, 3)
    } else if nanos.is_multiple_of(1_000) {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    if width > 0 {
        buf[len] = b'.';
        digits(&mut buf[len + 1..], value, width);
        len += 1 + width;
    }
    buf[len] = b'Z';
    Some(len + 1)
}

/// Serializes `ts` as RFC 3339 text (`#[serde(with = "crate::timestamp")]`).
pub(crate) fn serialize<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; MAX_LEN];
    match encode(ts, &mut buf).and_then(|n| std::str::from_utf8(&buf[..n]).ok()) {
        Some(text) => s.serialize_str(text),
        None => serde::Serialize::serialize(ts, s),
    }
}

/// Reads any RFC 3339 time, as `chrono` does.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;

    fn ours(ts: &DateTime<Utc>) -> String {
        serialize(ts, serde_json::value::Serializer)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    fn chronos(ts: &DateTime<Utc>) -> String {
        serde_json::to_value(ts)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn writes_what_chrono_writes() {
        let base = Utc.with_ymd_and_hms(2026, 12, 6, 19, 8, 0).unwrap();
        let mut cases = vec![base, Utc::now()];
        for nanos in [1, 999, 1_000, 123_456_000, 5_000_000, 999_999_999, 100] {
            cases.push(base + chrono::Duration::nanoseconds(nanos));
        }
        cases.push(Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap());
        cases.push(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap());
        // Written by chrono itself: years past 9999 and before year 0.
        cases.push(Utc.with_ymd_and_hms(12345, 1, 1, 0, 0, 0).unwrap());
        cases.push(Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap());
        // A second by second walk over a few days, with odd fractions.
        let mut t = Utc.with_ymd_and_hms(2024, 2, 27, 22, 59, 58).unwrap();
        for i in 0..3000 {
            cases.push(t);
            t += chrono::Duration::seconds(97) + chrono::Duration::microseconds(i * 7_919);
        }
        for ts in &cases {
            let text = ours(ts);
            assert_eq!(text, chronos(ts));
            let back: DateTime<Utc> = deserialize(serde_json::Value::String(text.clone())).unwrap();
            assert_eq!(&back, ts, "{text}");
        }
        assert_eq!(ours(&base), "2026-12-06T19:08:00Z");
        assert_eq!(
            ours(&(base + chrono::Duration::microseconds(1))),
            "2026-12-06T19:08:00.000001Z"
        );
    }

    #[test]
    fn a_leap_second_is_left_to_chrono() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        assert_eq!(ours(&leap), chronos(&leap));
        let mut buf = [0u8; MAX_LEN];
        assert_eq!(encode(&leap, &mut buf), None);
    }
}
