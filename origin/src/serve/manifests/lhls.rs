//! L-HLS playlists: `/{channel}/lhls.m3u8` and `/{channel}/{track}/lhls.m3u8`, plain
//! HLS with `EXT-X-PREFETCH` of the segments being produced (streamed by
//! `serve::media::segment` while they grow). No delivery directives: L-HLS clients
//! poll, and the segment requests are what wait.

use manifest::headers::HLS_PLAYLIST;
use manifest::hls::Directives;
use timeline::TimingConfig;
use timeline::history::Span;

use super::render_cache::RenderCache;
use super::{Manifest, channel_manifest, track_manifest};
use crate::error::ServeError;
use crate::store::Origin;

/// `/{channel}/lhls.m3u8`: the multivariant playlist of the L-HLS media playlists.
pub async fn master(
    origin: &Origin,
    cache: &RenderCache,
    (name, span): (&str, Option<Span>),
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    channel_manifest(
        origin,
        cache,
        (name, span),
        cfg,
        ("lhls-master", HLS_PLAYLIST),
        |snap| Ok(manifest::hls::lhls_multivariant_playlist(snap)?),
    )
    .await
}

/// `/{channel}/{track}/lhls.m3u8`: held, like the LL-HLS playlist without directives,
/// until the rendition has a complete segment.
pub async fn media(
    origin: &Origin,
    cache: &RenderCache,
    (name, track, span): (&str, &str, Option<Span>),
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let key = format!("{track}/lhls");
    let none = Directives::default();
    track_manifest(
        origin,
        cache,
        (name, track, span),
        (&none, cfg),
        &key,
        |snap| Ok(manifest::hls::lhls_media_playlist(snap, track)?),
    )
    .await
}
