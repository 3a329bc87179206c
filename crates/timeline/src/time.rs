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
