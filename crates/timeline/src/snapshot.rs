//! The snapshot of a channel that manifest renderers consume.

use serde::{Deserialize, Serialize};

use crate::{Cadence, Grid, MediaKind, TimingConfig, TrackTimeline};

/// Everything a renderer needs to produce any manifest of a channel, at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSnapshot {
    /// Channel name (URL-safe).
    pub channel: String,
    /// Timing configuration of the channel.
    pub config: TimingConfig,
    /// Increases with every published change of the channel; equal versions of one
    /// channel have equal contents (renders can be cached by it).
    #[serde(default)]
    pub version: u64,
    /// LL-HLS parts are addressed as byte ranges of their segment's file instead of
    /// files of their own.
    #[serde(default)]
    pub byterange_parts: bool,
    /// Server wall-clock time when the snapshot was taken, Unix microseconds.
    pub now_us: i64,
    /// Wall-clock time of media time zero, Unix microseconds: the anchor for
    /// EXT-X-PROGRAM-DATE-TIME and DASH `availabilityStartTime`. `None` until the
    /// first media arrives.
    pub epoch_us: Option<i64>,
    /// Where `epoch_us` came from (DASH `ProducerReferenceTime@type`).
    #[serde(default)]
    pub epoch_source: Option<ClockSource>,
    /// The channel's segment cadence, fixed for the channel's life once chosen (see
    /// [`Cadence`]); `None` before its first segment is cut.
    #[serde(default)]
    pub cadence: Option<Cadence>,
    /// The channel's renditions, in the order they were first ingested.
    pub tracks: Vec<TrackSnapshot>,
    /// Set on a start-over snapshot (one that reaches back into the DVR window, see
    /// [`crate::history`]): the query that asked for it, carried into every URL of a
    /// playlist the manifest lists.
    #[serde(default)]
    pub start_over: Option<StartOver>,
}

/// What a start-over snapshot was asked for: `?start=` (and `end=`), normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartOver {
    /// The normalized query, e.g. `start=1795383000` or `start=1795383000&end=1795386600`.
    pub query: String,
    /// True when the requested range ends in the past and every segment of it is listed:
    /// the playlist is complete (`EXT-X-ENDLIST`).
    pub ended: bool,
}

/// Where a channel's wall-clock anchor ([`ChannelSnapshot::epoch_us`]) came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockSource {
    /// The encoder's `prft` boxes: its wall clock at a media time.
    Encoder,
    /// The origin's wall clock when the channel's first chunk arrived, taken as the
    /// wall-clock time of that chunk's end.
    Ingest,
}

/// How close to the Unix epoch (µs) a channel's anchor must be for the encoder's
/// clock to count as epoch-based: media time is then wall-clock time since 1970, and
/// the anchor is exactly the epoch, so that every origin fed by the encoder announces
/// the same `availabilityStartTime` (1970-01-01T00:00:00Z) and the same numbers.
pub const EPOCH_SNAP_US: i64 = 60_000_000;

/// The channel anchor for a measured `epoch_us`: the Unix epoch itself when the
/// measurement is within [`EPOCH_SNAP_US`] of it (an epoch-based encoder clock, seen
/// through ingest delay or `prft` rounding), else the measurement.
pub fn snap_epoch(epoch_us: i64) -> i64 {
    if epoch_us.abs() <= EPOCH_SNAP_US {
        0
    } else {
        epoch_us
    }
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

    /// True when manifests offer track `t` (variants, rendition reports,
    /// Representations): unless it stalled while another rendition of its kind goes
    /// on. A channel whose every rendition of a kind stopped keeps listing them: what
    /// players then get is the channel's own state (blocking reloads answered 503).
    pub fn listed(&self, t: &TrackSnapshot) -> bool {
        !t.stalled || self.tracks_of(t.meta.kind).all(|o| o.stalled)
    }

    /// The grid segments are cut on: the cadence, or the configured target before one
    /// is chosen.
    pub fn grid(&self) -> Cadence {
        Grid {
            cadence: self.cadence,
            has_video: false,
        }
        .current(self.config.target_duration_ms)
    }

    /// `EXT-X-TARGETDURATION` of every playlist of the channel, in seconds.
    ///
    /// [HLS §4.4.3.1] "The EXT-X-TARGETDURATION tag ... MUST NOT change", and "The
    /// EXTINF duration of each Media Segment in a Playlist file, when rounded to the
    /// nearest integer, MUST be less than or equal to the Target Duration"; [HLS §6.2.4]
    /// all playlists of a presentation share it. It is the cadence rounded up, which is
    /// fixed once chosen, and the cutter keeps every segment within it.
    pub fn target_duration_secs(&self) -> u64 {
        self.grid().target_duration_secs()
    }

    /// `MPD@maxSegmentDuration` in milliseconds: the longest segment of any
    /// Representation ever completed (rounded up), at least the cadence.
    pub fn max_segment_duration_ms(&self) -> u64 {
        self.tracks
            .iter()
            .map(|t| {
                let ts = u64::from(t.meta.timescale.max(1));
                (u128::from(t.longest_segment) * 1000).div_ceil(u128::from(ts)) as u64
            })
            .max()
            .unwrap_or(0)
            .max(self.grid().millis_ceil())
    }

    /// Wall-clock time (Unix microseconds) of `ticks` of a track with `timescale`.
    pub fn wallclock_us(&self, ticks: u64, timescale: u32) -> Option<i64> {
        let epoch = self.epoch_us?;
        let us = i64::try_from(crate::time::to_micros(ticks, timescale)).ok()?;
        epoch.checked_add(us)
    }
}
