//! # timeline
//!
//! The pure model of a live channel shared by the origin (which mutates it as media
//! arrives) and by the manifest renderers (which only read snapshots of it, natively or
//! inside a WebAssembly component).
//!
//! Rules of this crate:
//! - media time is an integer number of ticks of a track's own timescale, never a float;
//! - no I/O, no clock reads, no async: wall-clock values come in as plain numbers
//!   (Unix microseconds) inside the types, which keeps rendering deterministic;
//! - builds for `wasm32-wasip2`.
//!
//! The main types are [`TrackTimeline`] (one rendition's segments and parts, cut by
//! [`TrackTimeline::append`]), [`ChannelSnapshot`] (what renderers consume) and
//! [`TimingConfig`] (target durations and window size).

mod cadence;
mod config;
mod cutter;
mod error;
pub mod history;
mod segment;
mod snapshot;
#[cfg(test)]
mod test_util;
pub mod time;
mod track;
mod window;
pub mod wire;

pub use cadence::{Cadence, Grid};
pub use config::TimingConfig;
pub use cutter::Placement;
pub use error::TimelineError;
pub use segment::{Part, Segment};
pub use snapshot::{
    ChannelSnapshot, ClockSource, EPOCH_SNAP_US, StartOver, TrackSnapshot, snap_epoch,
};
pub use track::{MediaKind, TrackMeta};
pub use window::TrackTimeline;
