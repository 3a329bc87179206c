//! Start-over and catch-up requests: `?start=` (and `end=`) on the multivariant and
//! media playlists (HLS, L-HLS), the MPD and the HESP manifest, parsed once for the
//! origin and the edge component.
//!
//! `start` and `end` are Unix seconds (`1795383000`) or ISO 8601 UTC date-times
//! (`2026-11-22T21:30:00Z`). The answer lists the stored segments from `start` on (as
//! far back as the DVR window reaches) and then the live ones; with an `end` in the
//! past it is complete (`EXT-X-ENDLIST`). `start=0` asks for the whole DVR window.
//! The normalized query is carried into every playlist URL the answer lists, so a
//! player that follows them stays in the same span.

use timeline::history::Span;

/// Why a start-over query was refused (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartOverError {
    /// A value is neither Unix seconds nor an ISO 8601 date-time.
    #[error("{0}= '{1}' is neither Unix seconds nor an ISO 8601 UTC date-time")]
    Malformed(&'static str, String),
    /// `end` without `start`.
    #[error("end= needs start=")]
    EndWithoutStart,
    /// `end` not after `start`.
    #[error("end= must be after start=")]
    EmptySpan,
    /// `start` after the current time.
    #[error("start= is in the future")]
    Future,
    /// `end` on a manifest that cannot end (the MPD and HESP stay dynamic).
    #[error("end= is served on HLS playlists only; the MPD and HESP take start= alone")]
    EndNotServed,
}

/// The span `query` asks for as of `now_us`, or `None` for a plain live request.
/// `allow_end` is false for manifests that are always dynamic (MPD, HESP).
pub fn span(query: &str, now_us: i64, allow_end: bool) -> Result<Option<Span>, StartOverError> {
    let value = |name: &'static str| -> Result<Option<i64>, StartOverError> {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            .map(|v| {
                let v = v
                    .replace("%3A", ":")
                    .replace("%3a", ":")
                    .replace("%2B", "+");
                timeline::time::parse_instant_us(&v)
                    .ok_or(StartOverError::Malformed(name, v.to_string()))
            })
            .transpose()
    };
    let (start, end) = (value("start")?, value("end")?);
    let Some(start_us) = start else {
        return match end {
            Some(_) => Err(StartOverError::EndWithoutStart),
            None => Ok(None),
        };
    };
    if start_us > now_us {
        return Err(StartOverError::Future);
    }
    if let Some(e) = end {
        if !allow_end {
            return Err(StartOverError::EndNotServed);
        }
        if e <= start_us {
            return Err(StartOverError::EmptySpan);
        }
    }
    Ok(Some(Span {
        start_us,
        end_us: end,
    }))
}

/// `?{query}` of a start-over snapshot, to append to the playlist URLs it lists
/// (empty for a live one).
pub fn carried(snap: &timeline::ChannelSnapshot) -> String {
    snap.start_over
        .as_ref()
        .map_or_else(String::new, |s| format!("?{}", s.query))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_383_000_000_000;

    #[test]
    fn spans_parse_and_bad_ones_are_refused() {
        assert_eq!(span("", NOW, true), Ok(None));
        assert_eq!(span("_HLS_msn=4", NOW, true), Ok(None));
        let s = span("start=1795382000&end=2026-11-22T21:20:00Z", NOW, true)
            .unwrap()
            .unwrap();
        assert_eq!(s.start_us, 1_795_382_000_000_000);
        assert_eq!(s.end_us, Some(1_795_382_400_000_000));
        assert_eq!(s.query(), "start=1795382000&end=1795382400");
        assert_eq!(
            span("start=2026-11-22T21%3A00%3A00Z", NOW, false)
                .unwrap()
                .unwrap()
                .start_us,
            1_795_381_200_000_000
        );
        assert!(matches!(
            span("start=yesterday", NOW, true),
            Err(StartOverError::Malformed("start", _))
        ));
        assert_eq!(
            span("end=5", NOW, true),
            Err(StartOverError::EndWithoutStart)
        );
        assert_eq!(
            span("start=9&end=5", NOW, true),
            Err(StartOverError::EmptySpan)
        );
        assert_eq!(
            span("start=1995382000", NOW, true),
            Err(StartOverError::Future)
        );
        assert_eq!(
            span("start=0&end=5", NOW, false),
            Err(StartOverError::EndNotServed)
        );
        assert_eq!(span("start=0", NOW, false).unwrap().unwrap().start_us, 0);
    }
}
