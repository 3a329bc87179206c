//! HLS renderers: the multivariant playlist and per-rendition media playlists
//! (draft-pantos-hls-rfc8216bis, fMP4/CMAF segments, EXT-X-VERSION 6).

mod attr;
mod media;
mod multivariant;

pub use media::media_playlist;
pub use multivariant::multivariant_playlist;

/// [HLS §8] EXT-X-MAP in a Media Playlist that is not I-frames-only requires version 6;
/// no other tag weir emits in these playlists needs more.
pub const VERSION: u32 = 6;
