//! The HESP manifest's JSON objects [HESP §3.3], as weir fills them.

use serde::Serialize;

/// `ScaledValue`: `value / scale`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Scaled {
    pub value: i64,
    pub scale: u64,
}

/// `TimeBounds`: start inclusive, end exclusive, in `1 / scale` s.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeBounds {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    pub scale: u64,
}

/// `timeSource`: a DASH UTCTiming scheme and value.
#[derive(Debug, Clone, Serialize)]
pub struct TimeSource {
    pub scheme: &'static str,
    pub value: String,
}

/// The root object.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub manifest_version: &'static str,
    pub stream_type: &'static str,
    pub creation_date: String,
    pub availability_duration: Scaled,
    pub fallback_poll_rate: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_presentation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_time: Option<Scaled>,
    pub time_source: TimeSource,
    pub presentations: Vec<Presentation>,
}

/// A Presentation (a DASH Period).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Presentation {
    pub id: String,
    pub time_bounds: TimeBounds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<Vec<VideoSet>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<Vec<AudioSet>>,
}

/// A video Switching Set.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoSet {
    pub id: String,
    pub mime_type: &'static str,
    pub initialization_pattern: &'static str,
    pub continuation_pattern: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_time_offset: Option<Scaled>,
    pub tracks: Vec<VideoTrack>,
}

/// An audio Switching Set (one language).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioSet {
    pub id: String,
    pub language: String,
    pub mime_type: &'static str,
    pub initialization_pattern: &'static str,
    pub continuation_pattern: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_time_offset: Option<Scaled>,
    pub tracks: Vec<AudioTrack>,
}

/// `resolution`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Resolution {
    pub width: u32,
    pub height: u32,
}

/// What every Track has, whatever its media.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackCommon {
    pub id: String,
    pub base_url: String,
    pub bandwidth: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_bandwidth: Option<u64>,
    pub codecs: String,
    pub segment_duration: Scaled,
    pub start_segment_id: u64,
    pub start_sequence_number: u64,
    pub segments: Vec<SegmentEntry>,
}

/// A video Track.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoTrack {
    #[serde(flatten)]
    pub common: TrackCommon,
    pub resolution: Resolution,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<Scaled>,
}

/// An audio Track.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioTrack {
    #[serde(flatten)]
    pub common: TrackCommon,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples_per_frame: Option<u32>,
}

/// A Segment of a Track's continuation stream.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentEntry {
    pub id: u64,
    pub time_bounds: TimeBounds,
}
