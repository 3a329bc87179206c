//! L-HLS playlists: `/{channel}/lhls.m3u8` and `/{channel}/{track}/lhls.m3u8`, plain
//! HLS with `EXT-X-PREFETCH` of the segments being produced (streamed by
//! `serve::media::segment` while they grow). No delivery directives: L-HLS clients
//! poll, and the segment requests are what wait.

use manifest::headers::HLS_PLAYLIST;
use manifest::hls::Directives;
use manifest::policy::cache_success;
use timeline::TimingConfig;

use super::ready::hold_for;
use super::render_cache::RenderCache;
use super::{Manifest, channel, channel_manifest};
use crate::error::ServeError;
use crate::store::Origin;

/// `/{channel}/lhls.m3u8`: the multivariant playlist of the L-HLS media playlists.
pub async fn master(
    origin: &Origin,
    cache: &RenderCache,
    name: &str,
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    channel_manifest(
        origin,
        cache,
        name,
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
    name: &str,
    track: &str,
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let ch = channel(origin, name)?;
    let snap = hold_for(&ch, track, &Directives::default(), cfg).await?;
    let key = format!("{track}/lhls");
    let rendered = cache.get_or_render(name, &key, snap.version, || {
        Ok(manifest::hls::lhls_media_playlist(&snap, track)?)
    })?;
    Ok(Manifest {
        rendered,
        content_type: HLS_PLAYLIST,
        cache: cache_success(snap.target_duration_secs(), false),
    })
}
