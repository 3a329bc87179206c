//! Content types of what weir serves, shared by the origin and the edge.

/// [HLS §4] playlists are identified by `.m3u8` and this type; Apple recommends it.
pub const HLS_PLAYLIST: &str = "application/vnd.apple.mpegurl";
/// DASH MPD media type (ISO/IEC 23009-1 Annex C).
pub const DASH_MPD: &str = "application/dash+xml";
/// CMAF video track files (init, segments, parts).
pub const VIDEO_MP4: &str = "video/mp4";
/// CMAF audio track files.
pub const AUDIO_MP4: &str = "audio/mp4";
/// The UTCTiming time endpoint (`urn:mpeg:dash:utc:http-iso:2014`).
pub const TIME: &str = "text/plain; charset=utf-8";
