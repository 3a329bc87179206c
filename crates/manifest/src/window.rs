//! Which segments a manifest lists.

use timeline::{Segment, TimingConfig, TrackSnapshot};

/// The complete segments a playlist or MPD lists for `track`: the newest
/// `window_segments` of them, oldest first.
///
/// [HLS §6.2.2] "The server MUST NOT remove a Media Segment from a Playlist file
/// without an EXT-X-ENDLIST tag if that would produce a Playlist whose duration is
/// less than three times the target duration." The window is configured in whole
/// segments and validated (≥ 3) by the origin's configuration.
pub fn listed_segments<'a>(track: &'a TrackSnapshot, cfg: &TimingConfig) -> Vec<&'a Segment> {
    let complete: Vec<&Segment> = track.complete_segments().collect();
    let keep = usize::try_from(cfg.window_segments).unwrap_or(usize::MAX);
    let skip = complete.len().saturating_sub(keep);
    complete.into_iter().skip(skip).collect()
}
