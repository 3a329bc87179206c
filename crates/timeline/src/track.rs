//! What a rendition is: codec, size, timescale, bit rate.

use serde::{Deserialize, Serialize};

/// The kind of media a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Video samples; segments are cut at key frames.
    Video,
    /// Audio samples; every sample is a random-access point.
    Audio,
}

/// Description of one rendition (one CMAF track) of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackMeta {
    /// Rendition id, taken from the ingest path; URL-safe (`[A-Za-z0-9_-]`).
    pub id: String,
    /// Video or audio.
    pub kind: MediaKind,
    /// RFC 6381 codec string, e.g. `avc1.64001f` or `mp4a.40.2`.
    pub codec: String,
    /// Ticks per second of the track's media time.
    pub timescale: u32,
    /// Picture width in pixels (0 for audio).
    pub width: u32,
    /// Picture height in pixels (0 for audio).
    pub height: u32,
    /// Duration of the track's first sample in ticks, when known: the frame duration
    /// of video (FRAME-RATE / frameRate), the shortest chunk an encoder can send (the
    /// LL-DASH availabilityTimeOffset).
    pub frame_duration: u32,
    /// Audio sample rate in Hz (0 for video).
    pub sample_rate: u32,
    /// Audio channel count (0 for video).
    pub channels: u16,
    /// ISO 639-2 language, if the encoder declared one.
    pub language: Option<String>,
    /// Peak bit rate in bits/s: declared (btrt) or measured over complete segments.
    pub bandwidth: u64,
    /// Average bit rate in bits/s over the complete segments in the window.
    pub average_bandwidth: u64,
}
