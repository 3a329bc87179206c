//! Content types of what weir serves and gzip negotiation, shared by the origin and
//! the edge (cache lifetimes and statuses: [`crate::policy`]).

/// [HLS §4] playlists are identified by `.m3u8` and this type; Apple recommends it.
pub const HLS_PLAYLIST: &str = "application/vnd.apple.mpegurl";
/// DASH MPD media type (ISO/IEC 23009-1 Annex C).
pub const DASH_MPD: &str = "application/dash+xml";
/// CMAF video track files (init, segments, parts).
pub const VIDEO_MP4: &str = "video/mp4";
/// CMAF audio track files.
pub const AUDIO_MP4: &str = "audio/mp4";
/// True when an `Accept-Encoding` value accepts a gzip content coding (`gzip` or `*`
/// without `q=0`). A request with several `Accept-Encoding` fields is judged on their
/// values joined with `, ` (RFC 9110 §5.3: the same as one comma-separated field).
pub fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|c| {
        let mut it = c.trim().split(';');
        let name = it.next().unwrap_or("").trim();
        let q0 = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !q0
    })
}

/// The UTCTiming time endpoint (`urn:mpeg:dash:utc:http-iso:2014`).
pub const TIME: &str = "text/plain; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_negotiation() {
        for yes in ["gzip", "br, gzip", "GZIP;q=0.5", "*", "deflate, gzip;q=1.0"] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in ["", "br", "identity", "gzip;q=0", "gzip; q=0.000", "*;q=0"] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }
}
