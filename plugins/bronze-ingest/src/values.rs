//! Text to typed values, as the data contract spells them.
//!
//! Every parser returns `None` for text that is not a value of its type; the
//! caller turns that into a null plus a rescued original.

use chrono::{DateTime, NaiveDate};

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

pub fn parse_i64(text: &str) -> Option<i64> {
    text.parse().ok()
}

pub fn parse_i32(text: &str) -> Option<i32> {
    text.parse().ok()
}

pub fn parse_f64(text: &str) -> Option<f64> {
    text.parse().ok()
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// `YYYY-MM-DD` to days since 1970-01-01.
pub fn parse_date(text: &str) -> Option<i32> {
    // chrono's `%m`/`%d` also take one digit and `%Y` a sign or more digits;
    // the contract's form is exactly ten characters.
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date_to_days(date))
}

pub fn date_to_days(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_DAYS_FROM_CE
}

/// RFC 3339 to microseconds since the epoch, UTC.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    // chrono keeps nanoseconds and drops digits past them; `timestamp_micros`
    // then floors to the microsecond, so extra digits are truncated, never
    // rounded up.
    let parsed = DateTime::parse_from_rfc3339(text).ok()?;
    Some(parsed.timestamp_micros())
}

/// An exact decimal, e.g. `-12.34` or `1.5e3`, as an unscaled i128 at `scale`.
///
/// More fractional digits than `scale`, or more digits in all than
/// `precision`, is not a value (no rounding: the original is rescued).
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Option<i128> {
    let b = text.as_bytes();
    let (negative, rest) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (mantissa, exponent) = match rest.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => (&rest[..i], parse_exponent(&rest[i + 1..])?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|&c| c == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &mantissa[..0]),
    };
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    // The value is digits × 10^(exponent − frac_len); it has this many
    // fractional digits as written.
    let frac_digits = i64::try_from(frac_part.len()).ok()? - exponent;
    let scale = i64::from(scale);
    if frac_digits > scale {
        return None;
    }
    let shift = scale - frac_digits;
    let significant: Vec<u8> = int_part
        .iter()
        .chain(frac_part)
        .copied()
        .skip_while(|&c| c == b'0')
        .collect();
    let mut value: i128 = 0;
    if !significant.is_empty() {
        let total = i64::try_from(significant.len()).ok()? + shift;
        if total > i64::from(precision) {
            return None;
        }
        for c in significant {
            value = value * 10 + i128::from(c - b'0');
        }
        // total <= precision <= 38, so neither step can overflow an i128.
        for _ in 0..shift {
            value *= 10;
        }
    }
    Some(if negative { -value } else { value })
}

fn parse_exponent(b: &[u8]) -> Option<i64> {
    let (negative, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    // Any exponent past a few digits cannot give a decimal128 that fits.
    if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits
        .iter()
        .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
    Some(if negative { -magnitude } else { magnitude })
}
