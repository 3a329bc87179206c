//! L-HLS (community "LHLS") media playlists: plain HLS over the complete segments of
//! the window, then `EXT-X-PREFETCH` for the segment being produced and the next one,
//! which the origin streams with chunked transfer while they grow.
//!
//! Rules [LHLS] (protocols.md §4.2):
//! - "Zero or more prefetch segments, after all complete segments"; a prefetch has no
//!   EXTINF; its MSN is the previous segment's plus one.
//! - Before a prefetch only `EXT-X-PREFETCH-DISCONTINUITY` (for the newest prefetch of
//!   a new discontinuous range) may appear; "No EXT-X-MAP directly on a prefetch": a
//!   segment made with another init than the one in effect is listed only once complete.
//! - Conversion to a complete segment keeps the URI and does not move MEDIA-SEQUENCE:
//!   MEDIA-SEQUENCE is the oldest complete segment's number, whatever is prefetched.

use std::fmt::Write as _;

use timeline::time::format_secs;
use timeline::{ChannelSnapshot, Segment};

use super::VERSION;
use super::media::{DURATION_DECIMALS, ended, segment_head, start_over_head};
use crate::{ManifestError, listed_segments};

/// How many segments past the last complete one are announced: the one in progress and
/// the next, as the community specification allows.
const PREFETCH: u64 = 2;

/// Renders `/{channel}/{track}/lhls.m3u8`.
pub fn lhls_media_playlist(
    snap: &ChannelSnapshot,
    track_id: &str,
) -> Result<String, ManifestError> {
    let track = snap
        .track(track_id)
        .ok_or_else(|| ManifestError::UnknownTrack(track_id.to_string()))?;
    let listed = listed_segments(track, &snap.config);
    let (first, last) = match (listed.first(), listed.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => return Err(ManifestError::NotReady),
    };
    let ts = track.meta.timescale;
    let mut out = String::with_capacity(512 + listed.len() * 120);
    out.push_str("#EXTM3U\n");
    let _ = writeln!(out, "#EXT-X-VERSION:{VERSION}");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", snap.target_duration_secs());
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", first.msn);
    let _ = writeln!(
        out,
        "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
        track.discontinuity_sequence_at(first.msn)
    );
    start_over_head(&mut out, snap);
    let mut map = None;
    for seg in &listed {
        segment_head(&mut out, snap, seg, ts, &mut map);
        let _ = writeln!(
            out,
            "#EXTINF:{},",
            format_secs(seg.duration, ts, DURATION_DECIMALS)
        );
        let _ = writeln!(out, "seg-{}.m4s", seg.msn);
    }
    if ended(snap) {
        out.push_str("#EXT-X-ENDLIST\n");
        return Ok(out);
    }
    let open: Option<&Segment> = track
        .segments
        .back()
        .map(|s| &**s)
        .filter(|s| !s.complete && s.msn == last.msn + 1);
    for msn in last.msn + 1..=last.msn + PREFETCH {
        if let Some(seg) = open.filter(|s| s.msn == msn) {
            // Its init must be the one in effect: no EXT-X-MAP on a prefetch.
            if map != Some(seg.init) {
                break;
            }
            if seg.discontinuity {
                out.push_str("#EXT-X-PREFETCH-DISCONTINUITY\n");
            }
        }
        let _ = writeln!(out, "#EXT-X-PREFETCH:seg-{msn}.m4s");
    }
    Ok(out)
}
