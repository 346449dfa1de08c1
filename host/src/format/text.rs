//! Text forms shared by the JSON decoder and encoder: RFC 3339 timestamps,
//! dates, exact decimals, and JSON string escaping.
//!
//! These are written by hand rather than through `chrono` because they run
//! once per value on the hot path; the calendar arithmetic is the proleptic
//! Gregorian calendar, the same one Arrow and RFC 3339 use.

use arrow_schema::TimeUnit;

/// Seconds in a day.
const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year to start in March so the leap day is the last day.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whether `year` is a leap year.
fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in a month.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Reads `n` ASCII digits at `at` as a number.
fn digits(bytes: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = bytes.get(at..at + n)?;
    slice.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Parses `YYYY-MM-DD` at the start of `bytes` into days since the epoch.
fn parse_date_prefix(bytes: &[u8]) -> Option<i64> {
    let year = digits(bytes, 0, 4)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses a date `YYYY-MM-DD` into days since 1970-01-01.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 {
        return None;
    }
    parse_date_prefix(bytes)
}

/// Parses a timestamp into (seconds since the epoch, nanoseconds).
///
/// Accepts RFC 3339 (`2024-05-01T12:30:00.123Z`, `…+02:00`), with `t`, `T`
/// or a space between date and time, `z` or `Z`, an offset with or without
/// its colon, no offset at all (read as UTC), and a bare date (midnight UTC).
/// Fractions have up to nine digits.
pub(crate) fn parse_timestamp(text: &str) -> Option<(i64, u32)> {
    let bytes = text.as_bytes();
    let days = parse_date_prefix(bytes)?;
    if bytes.len() == 10 {
        return Some((days * SECONDS_PER_DAY, 0));
    }
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = digits(bytes, 11, 2)?;
    let minute = digits(bytes, 14, 2)?;
    let second = digits(bytes, 17, 2)?;
    if bytes.get(13) != Some(&b':') || bytes.get(16) != Some(&b':') {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0u32;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while let Some(b) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
            if at - start < 9 {
                nanos = nanos * 10 + u32::from(b - b'0');
            } else {
                return None;
            }
            at += 1;
        }
        let count = at - start;
        if count == 0 {
            return None;
        }
        nanos *= 10u32.pow((9 - count) as u32);
    }
    let offset_seconds = match bytes.get(at..) {
        Some([] | [b'Z' | b'z']) => 0,
        Some([sign @ (b'+' | b'-'), rest @ ..]) => {
            let (h, m) = match rest {
                [_, _, b':', _, _] => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                [_, _, _, _] => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                [_, _] => (digits(rest, 0, 2)?, 0),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let magnitude = i64::from(h * 3600 + m * 60);
            if *sign == b'+' { magnitude } else { -magnitude }
        }
        _ => return None,
    };
    let seconds =
        days * SECONDS_PER_DAY + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    Some((seconds, nanos))
}

/// Combines seconds and nanoseconds into a count of `unit`, dropping digits
/// finer than the unit, or `None` when it does not fit an `i64`.
pub(crate) fn to_unit(seconds: i64, nanos: u32, unit: TimeUnit) -> Option<i64> {
    let (per_second, nanos_per_unit) = match unit {
        TimeUnit::Second => (1, 1_000_000_000),
        TimeUnit::Millisecond => (1_000, 1_000_000),
        TimeUnit::Microsecond => (1_000_000, 1_000),
        TimeUnit::Nanosecond => (1_000_000_000, 1),
    };
    seconds
        .checked_mul(per_second)?
        .checked_add(i64::from(nanos / nanos_per_unit))
}

/// Writes `value` with at least `width` digits, zero-padded.
fn push_padded(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(value);
    for _ in text.len()..width {
        out.push(b'0');
    }
    out.extend_from_slice(text.as_bytes());
}

/// Writes a civil year: four digits in 0..=9999, else signed (ISO 8601's
/// expanded form), since RFC 3339 has no form for those years.
fn push_year(out: &mut Vec<u8>, year: i64) {
    if (0..=9999).contains(&year) {
        push_padded(out, year.unsigned_abs(), 4);
    } else {
        out.push(if year < 0 { b'-' } else { b'+' });
        push_padded(out, year.unsigned_abs(), 4);
    }
}

/// Writes a date `YYYY-MM-DD` for days since the epoch.
pub(crate) fn push_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    push_year(out, year);
    out.push(b'-');
    push_padded(out, u64::from(month), 2);
    out.push(b'-');
    push_padded(out, u64::from(day), 2);
}

/// Writes an RFC 3339 UTC timestamp for a count of `unit` since the epoch,
/// with as many fraction digits as the unit has (none for seconds).
pub(crate) fn push_timestamp(out: &mut Vec<u8>, value: i64, unit: TimeUnit) {
    let (per_second, digits) = match unit {
        TimeUnit::Second => (1, 0),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    };
    let seconds = value.div_euclid(per_second);
    let fraction = value.rem_euclid(per_second);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    push_date(out, days);
    out.push(b'T');
    push_padded(out, (of_day / 3600) as u64, 2);
    out.push(b':');
    push_padded(out, (of_day / 60 % 60) as u64, 2);
    out.push(b':');
    push_padded(out, (of_day % 60) as u64, 2);
    if digits > 0 {
        out.push(b'.');
        push_padded(out, fraction as u64, digits);
    }
    out.push(b'Z');
}

/// The most significant digits a Decimal128 holds.
const MAX_DIGITS: u8 = 38;

/// Why a decimal could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// The text is not a decimal number.
    Syntax,
    /// More fraction digits than the scale, and not all zero.
    Scale,
    /// More digits than the precision.
    Precision,
}

/// Parses decimal text (`-12.345`, `1e3`, `+0.5E-2`) exactly into an
/// integer scaled by `10^scale`, checking it has at most `precision` digits.
pub(crate) fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, DecimalError> {
    let bytes = text.as_bytes();
    let (negative, mut at) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    // Collect up to 38 significant digits (the most any precision allows);
    // `exponent` is the power of ten of the last digit collected.
    let mut mantissa: i128 = 0;
    let mut significant = 0usize;
    let mut exponent: i64 = 0;
    let mut any_digit = false;
    let mut dropped_nonzero = false;
    let mut in_fraction = false;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'0'..=b'9' => {
                any_digit = true;
                let digit = i128::from(b - b'0');
                if significant < usize::from(MAX_DIGITS) {
                    mantissa = mantissa * 10 + digit;
                    if mantissa != 0 {
                        significant += 1;
                    }
                    if in_fraction {
                        exponent -= 1;
                    }
                } else {
                    // Too many digits for any precision: keep only the
                    // magnitude, and whether anything was lost.
                    if !in_fraction {
                        exponent += 1;
                    }
                    dropped_nonzero |= digit != 0;
                }
            }
            b'.' if !in_fraction => in_fraction = true,
            b'e' | b'E' => break,
            _ => return Err(DecimalError::Syntax),
        }
        at += 1;
    }
    if !any_digit {
        return Err(DecimalError::Syntax);
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        let power: i64 = text
            .get(at + 1..)
            .and_then(|rest| rest.parse().ok())
            .ok_or(DecimalError::Syntax)?;
        exponent = exponent.checked_add(power).ok_or(DecimalError::Precision)?;
    }
    if mantissa == 0 {
        return Ok(0);
    }
    // Rescale so the last digit is at 10^-scale.
    let shift = exponent + i64::from(scale);
    let mut value = mantissa;
    if shift >= 0 {
        for _ in 0..shift {
            value = value.checked_mul(10).ok_or(DecimalError::Precision)?;
        }
    } else {
        for _ in 0..shift.unsigned_abs() {
            if value % 10 != 0 {
                return Err(DecimalError::Scale);
            }
            value /= 10;
        }
    }
    if dropped_nonzero {
        return Err(DecimalError::Precision);
    }
    let limit = 10i128
        .checked_pow(u32::from(precision))
        .unwrap_or(i128::MAX);
    if value >= limit {
        return Err(DecimalError::Precision);
    }
    Ok(if negative { -value } else { value })
}

/// Writes a decimal's digits (as written by `Display` for its integer type)
/// with the point placed for `scale`.
pub(crate) fn push_decimal_digits(out: &mut Vec<u8>, digits: &str, scale: i8) {
    let (negative, digits) = match digits.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, digits),
    };
    if negative {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        if digits != "0" {
            for _ in 0..scale.unsigned_abs() {
                out.push(b'0');
            }
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(whole.as_bytes());
        out.push(b'.');
        out.extend_from_slice(fraction.as_bytes());
    } else {
        out.extend_from_slice(b"0.");
        for _ in digits.len()..scale {
            out.push(b'0');
        }
        out.extend_from_slice(digits.as_bytes());
    }
}

/// Writes a Decimal128 value with `scale` as exact decimal text.
pub(crate) fn push_decimal128(out: &mut Vec<u8>, value: i128, scale: i8) {
    let mut buffer = itoa::Buffer::new();
    push_decimal_digits(out, buffer.format(value), scale);
}

/// For each byte, the escape it needs inside a JSON string: 0 for none,
/// `u` for `\u00XX`, else the letter after the backslash.
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes `text` as a quoted JSON string: quotes, backslashes and control
/// characters escaped, everything else (all of Unicode) as is.
pub(crate) fn push_json_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPES[b as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Writes a float as JSON: its shortest exact form, or `null` for NaN and
/// the infinities, which JSON cannot express.
pub(crate) fn push_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        let mut buffer = ryu::Buffer::new();
        out.extend_from_slice(buffer.format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Writes a 32-bit float as JSON, like [`push_f64`].
pub(crate) fn push_f32(out: &mut Vec<u8>, value: f32) {
    if value.is_finite() {
        let mut buffer = ryu::Buffer::new();
        out.extend_from_slice(buffer.format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Option<(i64, u32)> {
        parse_timestamp(text)
    }

    #[test]
    fn civil_round_trips_across_eras() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn timestamps_parse_in_every_accepted_form() {
        assert_eq!(ts("2024-05-01T12:30:00Z"), Some((1_714_566_600, 0)));
        assert_eq!(
            ts("2024-05-01t12:30:00.5z"),
            Some((1_714_566_600, 500_000_000))
        );
        assert_eq!(
            ts("2024-05-01 14:30:00.123456789+02:00"),
            Some((1_714_566_600, 123_456_789))
        );
        assert_eq!(ts("2024-05-01T10:00:00-0230"), Some((1_714_566_600, 0)));
        assert_eq!(ts("2024-05-01T12:30:00"), Some((1_714_566_600, 0)));
        assert_eq!(ts("2024-05-01"), Some((1_714_521_600, 0)));
        assert_eq!(ts("1969-12-31T23:59:59.999Z"), Some((-1, 999_000_000)));
        for bad in [
            "2024-13-01T00:00:00Z",
            "2023-02-29",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:30:00.Z",
            "2024-05-01T12:30:00.1234567891Z",
            "2024-05-01T12:30Z",
            "2024-05-01X12:30:00Z",
            "2024-05-01T12:30:00+2",
            "2024-05-01T12:30:00 UTC",
            "24-05-01",
            "",
            "2024-05-01T12:30:00ZZ",
        ] {
            assert_eq!(ts(bad), None, "{bad}");
        }
    }

    #[test]
    fn units_convert_exactly_or_not_at_all() {
        assert_eq!(to_unit(1, 500_000_000, TimeUnit::Millisecond), Some(1_500));
        assert_eq!(to_unit(1, 500_999_999, TimeUnit::Millisecond), Some(1_500));
        assert_eq!(to_unit(-1, 999_000_000, TimeUnit::Millisecond), Some(-1));
        assert_eq!(to_unit(i64::MAX / 10, 0, TimeUnit::Nanosecond), None);
    }

    #[test]
    fn timestamps_and_dates_format() {
        let mut out = Vec::new();
        push_timestamp(&mut out, 1_714_566_600_123, TimeUnit::Millisecond);
        out.push(b' ');
        push_timestamp(&mut out, -1, TimeUnit::Nanosecond);
        out.push(b' ');
        push_timestamp(&mut out, 0, TimeUnit::Second);
        out.push(b' ');
        push_date(&mut out, -719_529);
        out.push(b' ');
        push_date(&mut out, 2_932_897);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "2024-05-01T12:30:00.123Z 1969-12-31T23:59:59.999999999Z 1970-01-01T00:00:00Z -0001-12-31 +10000-01-01"
        );
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal("12.34", 10, 2), Ok(1234));
        assert_eq!(parse_decimal("-12.3", 10, 2), Ok(-1230));
        assert_eq!(parse_decimal("12.3400", 10, 2), Ok(1234));
        assert_eq!(parse_decimal("1e3", 10, 2), Ok(100_000));
        assert_eq!(parse_decimal("+1.5E-1", 10, 2), Ok(15));
        assert_eq!(parse_decimal(".5", 10, 2), Ok(50));
        assert_eq!(parse_decimal("0.000", 3, 2), Ok(0));
        assert_eq!(parse_decimal("99999999.99", 10, 2), Ok(9_999_999_999));
        assert_eq!(
            parse_decimal("100000000", 10, 2),
            Err(DecimalError::Precision)
        );
        assert_eq!(parse_decimal("1.234", 10, 2), Err(DecimalError::Scale));
        assert_eq!(parse_decimal("1e400", 38, 0), Err(DecimalError::Precision));
        assert_eq!(parse_decimal("1e-400", 38, 0), Err(DecimalError::Scale));
        assert_eq!(
            parse_decimal("99999999999999999999999999999999999999", 38, 0),
            Ok(99_999_999_999_999_999_999_999_999_999_999_999_999)
        );
        assert_eq!(
            parse_decimal("1234567890123456789012345678901234567890", 38, 0),
            Err(DecimalError::Precision)
        );
        for bad in [
            "", "-", ".", "1.2.3", "1e", "1e+", "abc", "1,5", "1e5.5", "--1",
        ] {
            assert_eq!(
                parse_decimal(bad, 10, 2),
                Err(DecimalError::Syntax),
                "{bad}"
            );
        }
    }

    #[test]
    fn decimals_format_with_their_scale() {
        let cases: [(i128, i8, &str); 6] = [
            (1234, 2, "12.34"),
            (-5, 3, "-0.005"),
            (0, 2, "0.00"),
            (7, 0, "7"),
            (12, -2, "1200"),
            (0, -2, "0"),
        ];
        for (value, scale, text) in cases {
            let mut out = Vec::new();
            push_decimal128(&mut out, value, scale);
            assert_eq!(String::from_utf8(out).expect("utf8"), text);
        }
    }

    #[test]
    fn strings_escape_what_json_requires() {
        let mut out = Vec::new();
        push_json_string(&mut out, "a\"b\\c\n\t\u{1}\u{1f}é😀/\u{7f}");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "\"a\\\"b\\\\c\\n\\t\\u0001\\u001fé😀/\u{7f}\""
        );
    }
}
