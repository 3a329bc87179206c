//! Timing configuration of a channel.

use serde::{Deserialize, Serialize};

/// How a channel's media is cut and how much of it stays listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimingConfig {
    /// Target segment duration in milliseconds (segments are cut at the first key frame
    /// at or after each multiple of it).
    pub target_duration_ms: u32,
    /// Part target in milliseconds; parts never exceed it.
    pub part_target_ms: u32,
    /// Number of complete segments listed in playlists (the sliding window).
    pub window_segments: u32,
    /// Longest key-frame interval accepted as a video rendition's cadence, in
    /// milliseconds: a longer one (or none within it) makes the channel's segments the
    /// target duration, cut without key frames where none falls.
    #[serde(default = "default_max_keyframe_interval_ms")]
    pub max_keyframe_interval_ms: u32,
}

/// Default of [`TimingConfig::max_keyframe_interval_ms`]: 10 s.
pub const DEFAULT_MAX_KEYFRAME_INTERVAL_MS: u32 = 10_000;

fn default_max_keyframe_interval_ms() -> u32 {
    DEFAULT_MAX_KEYFRAME_INTERVAL_MS
}

impl Default for TimingConfig {
    fn default() -> Self {
        TimingConfig {
            target_duration_ms: 2000,
            part_target_ms: 200,
            window_segments: 10,
            max_keyframe_interval_ms: DEFAULT_MAX_KEYFRAME_INTERVAL_MS,
        }
    }
}

impl TimingConfig {
    /// `EXT-X-TARGETDURATION`: the target duration in whole seconds, rounded up.
    ///
    /// [HLS §4.4.3.1] "The EXTINF duration of each Media Segment in a Playlist file, when
    /// rounded to the nearest integer, MUST be less than or equal to the Target Duration."
    pub fn target_duration_secs(&self) -> u64 {
        u64::from(self.target_duration_ms).div_ceil(1000).max(1)
    }
}
