//! HLS renderers: the multivariant playlist and per-rendition media playlists
//! (draft-pantos-hls-rfc8216bis, fMP4/CMAF segments, EXT-X-VERSION 6), with Apple
//! Low-Latency HLS: parts, blocking reload, delta updates, preload hints, reports.

mod attr;
mod directives;
mod media;
mod multivariant;

pub use directives::{DirectiveError, Directives, Readiness, Skip, advance_part_limit, last_part};
pub use media::media_playlist;
pub use multivariant::multivariant_playlist;

/// [HLS §8] EXT-X-MAP in a Media Playlist that is not I-frames-only requires version 6;
/// no other tag weir emits in these playlists needs more.
pub const VERSION: u32 = 6;
