//! Errors of the timeline model.

/// What can go wrong while extending a track timeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    /// A sample's decode time lies before the end of the previous sample.
    #[error("sample decode time {dts} goes back before the track's end {end}")]
    TimeWentBack {
        /// Decode time of the offending sample, in track ticks.
        dts: u64,
        /// End of the track so far, in track ticks.
        end: u64,
    },
    /// A sample has a zero duration, so no part or segment could ever end.
    #[error("sample at decode time {dts} has zero duration")]
    ZeroDuration {
        /// Decode time of the offending sample.
        dts: u64,
    },
    /// The first sample of a video track is not a key frame.
    #[error("video track must start with a key frame (decode time {dts})")]
    NoKeyFrame {
        /// Decode time of the offending sample.
        dts: u64,
    },
    /// A sample's end lies beyond the representable media time.
    #[error("sample decode time {dts} plus its duration overflows media time")]
    TimeOverflow {
        /// Decode time of the offending sample.
        dts: u64,
    },
    /// The track has timescale 0.
    #[error("track timescale is 0")]
    ZeroTimescale,
}
