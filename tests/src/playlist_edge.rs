//! Where the live edge of an LL-HLS media playlist is, in wall-clock terms, read the way a
//! player reads it: for benchmarks that split end-to-end latency into what happens before
//! a part is in the playlist (encoder, ingest, weir) and what the player adds.

/// Unix microseconds of an `EXT-X-PROGRAM-DATE-TIME` value of the form
/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z` (what weir writes); `None` for anything else.
pub fn parse_pdt(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (h, min, sec) = (t.next()??, t.next()??, t.next()??);
    let mut micros = 0i64;
    for (i, c) in frac.chars().take(6).enumerate() {
        micros += i64::from(c.to_digit(10)?) * 10i64.pow(5 - i as u32);
    }
    let days = days_from_civil(y, m, day);
    Some(((days * 86_400 + h * 3600 + min * 60 + sec) * 1_000_000) + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, written from its description).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The newest media a media playlist announces, and what to ask for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Program date-time of the end of the last complete part or segment, Unix µs.
    pub end_us: i64,
    /// Media sequence number of the segment the next part belongs to.
    pub next_msn: u64,
    /// Index of the next part within that segment.
    pub next_part: u64,
}

/// Reads the live edge of an LL-HLS media playlist with `EXT-X-PROGRAM-DATE-TIME` on
/// every segment: the date of the last dated segment plus the parts (or EXTINF) after
/// it; the next part is the one after the last `EXT-X-PART` of the open segment.
pub fn edge(playlist: &str) -> Option<Edge> {
    let mut msn = None::<u64>;
    let mut date = None::<i64>;
    let mut since_date_us = 0i64;
    let mut parts_open = 0u64;
    let secs_us = |v: &str| v.parse::<f64>().ok().map(|s| (s * 1e6).round() as i64);
    for line in playlist.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            msn = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            date = parse_pdt(v.trim());
            since_date_us = 0;
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-PART:") {
            let d = attrs
                .split(',')
                .find_map(|a| a.strip_prefix("DURATION="))
                .and_then(secs_us)?;
            since_date_us += d;
            parts_open += 1;
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            since_date_us = secs_us(v.split(',').next()?)?;
            parts_open = 0;
            msn = msn.map(|m| m + 1);
        }
    }
    Some(Edge {
        end_us: date? + since_date_us,
        next_msn: msn?,
        next_part: parts_open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_pdt("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_pdt("2026-11-22T21:30:00.123Z"),
            Some(1_795_383_000_123_000)
        );
        assert_eq!(
            parse_pdt(&timeline::time::format_iso8601_micros(
                1_795_383_000_123_000
            )),
            Some(1_795_383_000_123_000)
        );
        assert_eq!(parse_pdt("2026-11-22 21:30:00Z"), None);
    }

    #[test]
    fn edge_of_an_open_segment() {
        let p = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n\
                 #EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:10.000Z\n\
                 #EXT-X-PART:DURATION=0.2,URI=\"a\"\n#EXTINF:0.4,\ns7.m4s\n\
                 #EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:10.400Z\n\
                 #EXT-X-PART:DURATION=0.2,URI=\"b\",INDEPENDENT=YES\n\
                 #EXT-X-PART:DURATION=0.2,URI=\"c\"\n\
                 #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"d\"\n";
        assert_eq!(
            edge(p),
            Some(Edge {
                end_us: 10_800_000,
                next_msn: 8,
                next_part: 2
            })
        );
        let closed = "#EXT-X-MEDIA-SEQUENCE:3\n\
                      #EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:01.000Z\n#EXTINF:2.0,\ns3\n";
        assert_eq!(
            edge(closed),
            Some(Edge {
                end_us: 3_000_000,
                next_msn: 4,
                next_part: 0
            })
        );
    }
}
