//! The dynamic DASH MPD (ISO/IEC 23009-1, DASH-IF IOP live profile).

mod mpd;
mod xml;

pub use mpd::{MpdOptions, mpd};
pub(crate) use mpd::{Placement, addressable_tracks, periods, published_tracks};
