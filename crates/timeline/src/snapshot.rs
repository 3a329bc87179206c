//! The snapshot of a channel that manifest renderers consume.

use serde::{Deserialize, Serialize};

use crate::{MediaKind, TimingConfig, TrackTimeline};

/// Everything a renderer needs to produce any manifest of a channel, at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSnapshot {
    /// Channel name (URL-safe).
    pub channel: String,
    /// Timing configuration of the channel.
    pub config: TimingConfig,
    /// Server wall-clock time when the snapshot was taken, Unix microseconds.
    pub now_us: i64,
    /// Wall-clock time of media time zero, Unix microseconds: the anchor for
    /// EXT-X-PROGRAM-DATE-TIME and DASH `availabilityStartTime`. `None` until the
    /// first media arrives.
    pub epoch_us: Option<i64>,
    /// The channel's renditions, in the order they were first ingested.
    pub tracks: Vec<TrackSnapshot>,
}

/// One rendition inside a snapshot.
pub type TrackSnapshot = TrackTimeline;

impl ChannelSnapshot {
    /// The track with id `id`.
    pub fn track(&self, id: &str) -> Option<&TrackSnapshot> {
        self.tracks.iter().find(|t| t.meta.id == id)
    }

    /// Tracks of one kind, in order.
    pub fn tracks_of(&self, kind: MediaKind) -> impl Iterator<Item = &TrackSnapshot> {
        self.tracks.iter().filter(move |t| t.meta.kind == kind)
    }

    /// Wall-clock time (Unix microseconds) of `ticks` of a track with `timescale`.
    pub fn wallclock_us(&self, ticks: u64, timescale: u32) -> Option<i64> {
        let epoch = self.epoch_us?;
        let us = i64::try_from(crate::time::to_micros(ticks, timescale)).ok()?;
        epoch.checked_add(us)
    }
}
