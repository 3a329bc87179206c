//! # manifest
//!
//! Pure renderers of weir's viewer-facing manifests over a [`timeline::ChannelSnapshot`]:
//! HLS multivariant and media playlists ([`hls`]) and the dynamic DASH MPD ([`dash`]).
//! The same code runs in the native origin and inside the WebAssembly edge component, so
//! it performs no I/O and reads no clock: the snapshot carries the time.
//!
//! URL layout the renderers assume (all relative, so any host or CDN path prefix works):
//! - `/{channel}/master.m3u8` refers to `{track}/index.m3u8`;
//! - `/{channel}/{track}/index.m3u8` refers to `init.mp4` and `seg-{msn}.m4s`;
//! - `/{channel}/manifest.mpd` refers to `{track}/init.mp4` and `{track}/seg-{msn}.m4s`.

pub mod dash;
mod error;
pub mod headers;
pub mod hls;
pub mod policy;
mod window;

pub use error::ManifestError;
pub use window::listed_segments;
