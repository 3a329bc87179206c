//! HLS renderers: the multivariant playlist and per-rendition media playlists
//! (draft-pantos-hls-rfc8216bis, fMP4/CMAF segments, EXT-X-VERSION 6), with Apple
//! Low-Latency HLS: parts, blocking reload, delta updates, preload hints, reports; and
//! the community L-HLS playlists (`EXT-X-PREFETCH` of segments streamed as they grow).

mod attr;
mod directives;
mod lhls;
mod media;
mod multivariant;

pub use directives::{DirectiveError, Directives, Readiness, Skip, advance_part_limit, last_part};
pub use lhls::lhls_media_playlist;
pub use media::media_playlist;
pub use multivariant::{lhls_multivariant_playlist, multivariant_playlist};

/// File name of a rendition's (LL-)HLS media playlist.
pub const MEDIA_PLAYLIST: &str = "index.m3u8";

/// File name of a rendition's L-HLS media playlist (and of the channel's L-HLS
/// multivariant playlist).
pub const LHLS_PLAYLIST: &str = "lhls.m3u8";

/// [HLS §8] EXT-X-MAP in a Media Playlist that is not I-frames-only requires version 6;
/// no other tag weir emits in these playlists needs more.
pub const VERSION: u32 = 6;
