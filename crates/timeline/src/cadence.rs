//! The channel's segment cadence: the one segment duration every rendition of a
//! channel is cut on, chosen once from the configured target and the encoder's key-frame
//! interval, and the grid of media times it defines.
//!
//! Segment `n` of every rendition covers grid cell `n - 1`: the media times
//! `[(n - 1) × D, n × D)` measured from media time zero, where `D` is the cadence. A
//! cadence is a rational number of seconds (`ticks / timescale`) so that it can be exact
//! for any key-frame interval (e.g. 45 frames at 30000/1001 fps) and be applied to
//! tracks of any timescale without rounding drift.

use serde::{Deserialize, Serialize};

use crate::time::to_micros;

/// The effective segment duration `D` of a channel: `ticks / timescale` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cadence {
    /// Length of one grid cell, in ticks of `timescale`.
    pub ticks: u64,
    /// Ticks per second of `ticks`.
    pub timescale: u32,
}

impl Cadence {
    /// A cadence of `ms` milliseconds (at least 1 ms).
    pub fn from_millis(ms: u32) -> Self {
        Cadence {
            ticks: u64::from(ms.max(1)),
            timescale: 1000,
        }
    }

    /// The cadence for a key-frame interval of `gop` ticks at `timescale`: the smallest
    /// multiple of the interval at or above `target_ms`, so that every cell of the grid
    /// holds a key frame of a regular GOP (as AWS MediaPackage does with its segment
    /// length). `None` for an empty interval.
    pub fn for_key_frames(gop: u64, timescale: u32, target_ms: u32) -> Option<Self> {
        if gop == 0 || timescale == 0 {
            return None;
        }
        // k = ceil(target / gop) with target = target_ms × timescale / 1000 ticks.
        let target = u128::from(target_ms) * u128::from(timescale);
        let k = target.div_ceil(u128::from(gop) * 1000).max(1);
        let ticks = u64::try_from(k * u128::from(gop)).ok()?;
        Some(Cadence { ticks, timescale })
    }

    /// Index of the grid cell that contains `t` ticks of a track at `ts`:
    /// `floor(t / D)`, computed exactly.
    pub fn cell(&self, t: u64, ts: u32) -> u64 {
        let den = u128::from(ts) * u128::from(self.ticks);
        if den == 0 {
            return 0;
        }
        let v = u128::from(t) * u128::from(self.timescale) / den;
        u64::try_from(v).unwrap_or(u64::MAX)
    }

    /// First tick (of a track at `ts`) at or after the start of grid cell `cell`:
    /// `ceil(cell × D)`.
    pub fn boundary(&self, cell: u64, ts: u32) -> u64 {
        let num = u128::from(cell) * u128::from(self.ticks) * u128::from(ts);
        let v = num.div_ceil(u128::from(self.timescale.max(1)));
        u64::try_from(v).unwrap_or(u64::MAX)
    }

    /// The cadence in microseconds, rounded down.
    pub fn micros(&self) -> u64 {
        to_micros(self.ticks, self.timescale)
    }

    /// The cadence in milliseconds, rounded up.
    pub fn millis_ceil(&self) -> u64 {
        (u128::from(self.ticks) * 1000)
            .div_ceil(u128::from(self.timescale.max(1)))
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// `EXT-X-TARGETDURATION` for segments of this cadence, in whole seconds: the
    /// cadence rounded up (at least 1). Segments are cut so that every EXTINF rounds to
    /// at most this (see [`Cadence::max_segment_ticks`]).
    pub fn target_duration_secs(&self) -> u64 {
        self.ticks.div_ceil(u64::from(self.timescale.max(1))).max(1)
    }

    /// The longest segment allowed, in ticks of `ts`: just under half a second beyond
    /// the target duration.
    ///
    /// [HLS §4.4.3.1] "The EXTINF duration of each Media Segment in a Playlist file, when
    /// rounded to the nearest integer, MUST be less than or equal to the Target
    /// Duration": a duration below `TD + 0.5 s` rounds to at most `TD`.
    pub fn max_segment_ticks(&self, ts: u32) -> u64 {
        let td = u128::from(self.target_duration_secs());
        // TD + 0.5 s, minus one millisecond of margin for EXTINF's rounding.
        let limit = (td * 1000 + 499) * u128::from(ts) / 1000;
        u64::try_from(limit).unwrap_or(u64::MAX)
    }
}

/// The state a channel's renditions share while they are cut: the cadence, once chosen,
/// and whether the channel has a video rendition whose key frames should choose it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    /// The channel's cadence; `None` until the first segment of the channel is cut.
    pub cadence: Option<Cadence>,
    /// True once the channel has a video rendition: audio then waits for the video's
    /// key-frame interval to choose the cadence instead of choosing the configured target.
    pub has_video: bool,
}

impl Grid {
    /// The grid segments are cut on now: the cadence, or the configured target before
    /// one is chosen.
    pub fn current(&self, target_ms: u32) -> Cadence {
        self.cadence
            .unwrap_or_else(|| Cadence::from_millis(target_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_is_the_smallest_gop_multiple_at_or_above_target() {
        // 1 s GOP at 15360: 2 s target → 2 s.
        let c = Cadence::for_key_frames(15360, 15360, 2000).unwrap();
        assert_eq!((c.ticks, c.timescale), (30720, 15360));
        // 3 s GOP → 3 s; 1.5 s GOP → 3 s; 2 s GOP → 2 s; 0.8 s → 2.4 s.
        let secs = |gop_ms: u64| {
            let c = Cadence::for_key_frames(gop_ms * 90, 90_000, 2000).unwrap();
            c.ticks / 90
        };
        assert_eq!(secs(3000), 3000);
        assert_eq!(secs(1500), 3000);
        assert_eq!(secs(2000), 2000);
        assert_eq!(secs(800), 2400);
        assert_eq!(secs(5000), 5000);
        assert!(Cadence::for_key_frames(0, 90_000, 2000).is_none());
    }

    #[test]
    fn cells_and_boundaries_are_exact_across_timescales() {
        // 45 frames of 1001/30000 s: 1.5015 s GOP, cadence 3.003 s.
        let c = Cadence::for_key_frames(45 * 1001, 30_000, 2000).unwrap();
        assert_eq!(c.ticks, 90 * 1001);
        assert_eq!(c.target_duration_secs(), 4);
        // In a 48 kHz audio track, cell 1 starts at 3.003 s = 144144 ticks.
        assert_eq!(c.boundary(1, 48_000), 144_144);
        assert_eq!(c.cell(144_143, 48_000), 0);
        assert_eq!(c.cell(144_144, 48_000), 1);
        // Boundaries are rounded up to a whole tick.
        let c = Cadence::from_millis(1001);
        assert_eq!(c.boundary(1, 3), 4); // 3.003 ticks → 4
        assert_eq!(c.cell(3, 3), 0);
        assert_eq!(c.cell(4, 3), 1);
    }

    #[test]
    fn max_segment_rounds_to_the_target_duration() {
        let c = Cadence::from_millis(2000);
        assert_eq!(c.target_duration_secs(), 2);
        assert_eq!(c.max_segment_ticks(1000), 2499);
        let c = Cadence::from_millis(2400);
        assert_eq!(c.target_duration_secs(), 3);
        assert_eq!(c.max_segment_ticks(90_000), 3499 * 90);
    }
}
