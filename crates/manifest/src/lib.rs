//! # manifest
//!
//! Pure renderers of weir's viewer-facing manifests over a [`timeline::ChannelSnapshot`]:
//! HLS multivariant and media playlists ([`hls`]) and the dynamic DASH MPD ([`dash`]).
//! The same code runs in the native origin and inside the WebAssembly edge component, so
//! it performs no I/O and reads no clock: the snapshot carries the time.
//!
//! URL layout the renderers assume (all relative, so any host or CDN path prefix works):
//! - `/{channel}/master.m3u8` refers to `{track}/index.m3u8`;
//! - `/{channel}/{track}/index.m3u8` refers to `init-{id}.mp4` and `seg-{msn}.m4s`;
//! - `/{channel}/manifest.mpd` refers to `{track}/init-{id}.mp4` and
//!   `{track}/p{period}/seg-{msn}.m4s` (the same segment, with the Period the MPD puts
//!   it in, which the origin checks).
//!
//! - `/{channel}/hesp.json` (HESP) refers to `{track}/p{period}/hesp-{initId}.mp4`
//!   (initialization packets) and the DASH segment URLs (continuation segments).
//!
//! `{id}` is [`timeline::Segment::init`] in 8 hex digits ([`init_uri`]).

pub mod dash;
mod error;
pub mod headers;
pub mod hesp;
pub mod hls;
pub mod policy;
pub mod range;
pub mod signed;
pub mod start_over;
mod window;

pub use error::ManifestError;
pub use window::listed_segments;

/// The URI (relative to the rendition's directory) of the init segment with id `id`:
/// `init-{id:08x}.mp4`. Init ids are checksums of the init's bytes, so the URI names
/// immutable content.
pub fn init_uri(id: u32) -> String {
    format!("init-{id:08x}.mp4")
}
