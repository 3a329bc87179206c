//! Builders shared by this crate's unit tests.

use crate::{MediaKind, TrackMeta, TrackTimeline};

/// An empty track `id` of `kind` at `timescale` (640x360 H.264 metadata for video).
pub fn track(id: &str, kind: MediaKind, timescale: u32) -> TrackTimeline {
    TrackTimeline::new(TrackMeta {
        id: id.into(),
        kind,
        codec: "avc1.64001f".into(),
        timescale,
        width: 640,
        height: 360,
        frame_duration: 512,
        sample_rate: 0,
        channels: 0,
        language: None,
        bandwidth: 1,
        average_bandwidth: 1,
    })
}
