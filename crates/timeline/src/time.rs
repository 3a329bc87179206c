//! Integer media-time arithmetic.
//!
//! Every value is a count of ticks of some timescale; conversions go through `u128` so
//! they cannot overflow and round down unless the name says otherwise.

/// Converts `ticks` of `from` timescale into ticks of `to` timescale, rounding down.
/// A zero `from` timescale yields 0.
pub fn rescale(ticks: u64, from: u32, to: u32) -> u64 {
    if from == 0 {
        return 0;
    }
    let v = u128::from(ticks) * u128::from(to) / u128::from(from);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Converts `ticks` of `timescale` into microseconds, rounding down.
pub fn to_micros(ticks: u64, timescale: u32) -> u64 {
    rescale(ticks, timescale, 1_000_000)
}

/// Converts milliseconds into ticks of `timescale`, rounding down.
pub fn ms_to_ticks(ms: u64, timescale: u32) -> u64 {
    rescale(ms, 1000, timescale)
}

/// Index of the target-duration grid cell that contains `ticks`:
/// `floor(ticks / (target_ms * timescale / 1000))`, computed exactly.
pub fn grid_cell(ticks: u64, timescale: u32, target_ms: u32) -> u64 {
    let den = u128::from(timescale) * u128::from(target_ms.max(1));
    if den == 0 {
        return 0;
    }
    let v = u128::from(ticks) * 1000 / den;
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Formats a duration of `ticks` at `timescale` as seconds with exactly `decimals`
/// fractional digits (rounded half up), without going through floating point.
pub fn format_secs(ticks: u64, timescale: u32, decimals: u32) -> String {
    if timescale == 0 {
        return "0".to_string();
    }
    let scale = 10u128.pow(decimals);
    let ts = u128::from(timescale);
    let scaled = (u128::from(ticks) * scale * 2 + ts) / (ts * 2);
    let whole = scaled / scale;
    if decimals == 0 {
        return whole.to_string();
    }
    let frac = scaled % scale;
    format!("{whole}.{frac:0width$}", width = decimals as usize)
}

/// Formats Unix microseconds as an ISO 8601 UTC date-time with milliseconds,
/// e.g. `2026-11-22T21:30:00.123Z` (negative inputs clamp to the epoch).
pub fn format_iso8601_micros(unix_micros: i64) -> String {
    let micros = unix_micros.max(0) as u64;
    let secs = micros / 1_000_000;
    let millis = (micros % 1_000_000) / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses an instant as a start-over URL gives it: Unix seconds (`1795383000`, a
/// fraction allowed) or an ISO 8601 / RFC 3339 UTC date-time
/// (`2026-11-22T21:30:00Z`, `2026-11-22T21:30:00.5+01:00`); Unix microseconds, or
/// `None` when it is neither.
pub fn parse_instant_us(s: &str) -> Option<i64> {
    if let Some(us) = parse_decimal_seconds(s) {
        return Some(us);
    }
    let (date, rest) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, zone_us) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (c, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (zh, zm) = z[1..].split_once(':')?;
        let zh: i64 = zh.parse().ok()?;
        let zm: i64 = zm.parse().ok()?;
        (c, sign * (zh * 3600 + zm * 60) * 1_000_000)
    };
    let mut t = clock.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let min: i64 = t.next()?.parse().ok()?;
    let sec_us = parse_decimal_seconds(t.next()?)?;
    if h > 23 || min > 59 || sec_us >= 61_000_000 {
        return None;
    }
    let days = days_from_civil(y, m, day);
    Some(((days * 86_400 + h * 3600 + min * 60) * 1_000_000 + sec_us) - zone_us)
}

/// `123` or `123.456` seconds as microseconds (non-negative, digits only).
fn parse_decimal_seconds(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 6 {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac_us: i64 = format!("{frac:0<6}").parse().ok()?;
    whole.checked_mul(1_000_000)?.checked_add(frac_us)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`], from the same description).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Converts days since 1970-01-01 into a proleptic Gregorian (year, month, day).
/// Algorithm: Howard Hinnant's `civil_from_days`, written from its description.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_is_exact_and_rounds_down() {
        assert_eq!(rescale(3072, 15360, 1000), 200);
        assert_eq!(rescale(1, 3, 2), 0);
        assert_eq!(rescale(u64::MAX, 1, 2), u64::MAX);
        assert_eq!(rescale(5, 0, 2), 0);
    }

    #[test]
    fn grid_cells_follow_target_duration() {
        // 2 s target at 15360 ticks/s: cell boundaries every 30720 ticks.
        assert_eq!(grid_cell(0, 15360, 2000), 0);
        assert_eq!(grid_cell(30719, 15360, 2000), 0);
        assert_eq!(grid_cell(30720, 15360, 2000), 1);
        assert_eq!(grid_cell(96000, 48000, 2000), 1);
    }

    #[test]
    fn seconds_format_without_floats() {
        assert_eq!(format_secs(30720, 15360, 3), "2.000");
        assert_eq!(format_secs(96256, 48000, 5), "2.00533");
        assert_eq!(format_secs(1, 3, 3), "0.333");
        assert_eq!(format_secs(2, 3, 3), "0.667");
        assert_eq!(format_secs(7, 2, 0), "4");
    }

    #[test]
    fn instants_parse_from_seconds_and_iso8601() {
        assert_eq!(parse_instant_us("1795383000"), Some(1_795_383_000_000_000));
        assert_eq!(parse_instant_us("1.5"), Some(1_500_000));
        assert_eq!(
            parse_instant_us("2026-11-22T21:30:00.123Z"),
            Some(1_795_383_000_123_000)
        );
        assert_eq!(
            parse_instant_us("2026-11-22T22:30:00+01:00"),
            Some(1_795_383_000_000_000)
        );
        assert_eq!(
            parse_instant_us("2000-02-29T00:00:00Z"),
            Some(951_782_400_000_000)
        );
        for bad in [
            "",
            "-5",
            "abc",
            "2026-13-01T00:00:00Z",
            "2026-11-22T25:00:00Z",
            "1e9",
        ] {
            assert_eq!(parse_instant_us(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso8601_dates() {
        assert_eq!(format_iso8601_micros(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_iso8601_micros(1_795_383_000_123_456),
            "2026-11-22T21:30:00.123Z"
        );
        assert_eq!(
            format_iso8601_micros(951_782_400_000_000),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
