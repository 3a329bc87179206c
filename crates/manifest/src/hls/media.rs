//! Media playlists.

use std::fmt::Write as _;

use timeline::ChannelSnapshot;
use timeline::time::{format_iso8601_micros, format_secs};

use crate::{ManifestError, listed_segments};

use super::VERSION;
use super::attr::quoted;

/// Decimal places of EXTINF durations: 10 µs, so sums of many segments stay within one
/// frame of the real duration (Apple HLS authoring spec 8.1).
const EXTINF_DECIMALS: u32 = 5;

/// Renders the live media playlist of rendition `track_id`.
///
/// Every listed segment carries EXT-X-PROGRAM-DATE-TIME when the channel's wall clock is
/// known: [HLS §B.1] the low-latency profile wants PDT in every Media Playlist, and one
/// per segment keeps the date mapping explicit for every client.
pub fn media_playlist(snap: &ChannelSnapshot, track_id: &str) -> Result<String, ManifestError> {
    let track = snap
        .track(track_id)
        .ok_or_else(|| ManifestError::UnknownTrack(track_id.to_string()))?;
    let cfg = &snap.config;
    let segments = listed_segments(track, cfg);
    let first = segments.first().ok_or(ManifestError::NotReady)?;
    let ts = track.meta.timescale;
    let mut out = String::with_capacity(256 + segments.len() * 96);
    out.push_str("#EXTM3U\n");
    let _ = writeln!(out, "#EXT-X-VERSION:{VERSION}");
    // [HLS §4.4.3.1] "The EXT-X-TARGETDURATION tag is REQUIRED."
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", snap.target_duration_secs());
    // [HLS §4.4.3.2] EXT-X-MEDIA-SEQUENCE "MUST appear before the first Media Segment".
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", first.msn);
    let _ = writeln!(
        out,
        "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
        track.discontinuity_sequence_at(first.msn)
    );
    // [HLS §3.1.2] "every Media Segment in a Playlist MUST have an EXT-X-MAP applied".
    let _ = writeln!(out, "#EXT-X-MAP:URI={}", quoted("init.mp4"));
    for seg in &segments {
        if seg.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if let Some(pdt) = snap.wallclock_us(seg.start, ts) {
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}",
                format_iso8601_micros(pdt)
            );
        }
        let _ = writeln!(
            out,
            "#EXTINF:{},",
            format_secs(seg.duration, ts, EXTINF_DECIMALS)
        );
        let _ = writeln!(out, "seg-{}.m4s", seg.msn);
    }
    Ok(out)
}
