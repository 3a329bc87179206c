//! Incremental fragmented-MP4 (CMAF) parsing for live ingest.
//!
//! This crate reads what a live encoder (typically ffmpeg) pushes to the
//! origin: an init segment (`ftyp` and `moov`) followed by CMAF chunks (a `moof`
//! and its `mdat`, optionally preceded by `styp` and `prft`), fed incrementally
//! as HTTP body bytes arrive ([`Demuxer`]). It also writes the `moof` headers
//! of the re-cut chunks the origin serves ([`write_fragment_header`]).
//!
//! Why hand-written: the `mp4` crate (0.14) cannot tell an incomplete box from
//! a corrupt one, loses a second `trun` per `traf`, supports only one `trex`,
//! ignores the `tfhd`/`trex` default sizes and flags, and guesses keyframes.
//! This is a small parser that does exactly what ingest needs, correctly, and
//! never panics on any input: every read is bounds-checked and every failure is
//! a typed [`CmafError`] whose message can be sent to the client.
//!
//! All times are integers in the track timescale.

pub mod demux;
pub mod emsg;
pub mod error;
pub mod fragment;
pub mod init;
pub mod prft;
pub mod sample_flags;
pub mod scan;
pub mod write;

mod codec;
mod reader;
#[cfg(test)]
mod testutil;

pub use demux::{Demuxer, Event};
pub use emsg::{EventMessage, write_emsg_v0};
pub use error::CmafError;
pub use fragment::{Fragment, Sample, TrackFragment, parse_moof, parse_moof_limited};
pub use init::{InitSegment, SampleDefaults, TrackInfo, TrackKind, parse_init};
pub use prft::{ProducerTime, parse_prft};
pub use scan::{BoxHeader, Scan, scan_header};
pub use write::{SampleOut, write_fragment_header};

/// A four-character box or sample-entry type code.
pub type FourCC = [u8; 4];
