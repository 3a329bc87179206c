//! HLS playlists: the multivariant playlist and each rendition's media playlist,
//! including blocking playlist reload (`_HLS_msn` / `_HLS_part`) and delta updates.

use manifest::headers::HLS_PLAYLIST;
use manifest::hls::Directives;
use timeline::TimingConfig;
use timeline::history::Span;

use super::render_cache::RenderCache;
use super::{Manifest, channel_manifest, track_manifest};
use crate::error::ServeError;
use crate::store::Origin;

/// `/{channel}/master.m3u8`.
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
        ("master", HLS_PLAYLIST),
        |snap| Ok(manifest::hls::multivariant_playlist(snap)?),
    )
    .await
}

/// `/{channel}/{track}/index.m3u8[?_HLS_msn=M[&_HLS_part=N]][&_HLS_skip=YES|v2]`.
///
/// [HLS §6.2.5.2] a blocking request is held until the playlist contains what it asks
/// for, then answered with the whole (or delta) playlist; a request too far ahead is
/// answered 400 at once; one still unsatisfied after 3 target durations gets 503.
pub async fn media(
    origin: &Origin,
    cache: &RenderCache,
    (name, track, span): (&str, &str, Option<Span>),
    directives: &Directives,
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let key = format!("{track}/{:?}", directives.skip);
    track_manifest(
        origin,
        cache,
        (name, track, span),
        (directives, cfg),
        &key,
        |snap| Ok(manifest::hls::media_playlist(snap, track, directives.skip)?),
    )
    .await
}
