//! Manifest responses, rendered by the pure `manifest` crate from the latest snapshot,
//! including blocking playlist reload (`_HLS_msn` / `_HLS_part`) and delta updates.

use std::sync::Arc;

use manifest::dash::MpdOptions;
use manifest::headers::{DASH_MPD, HLS_PLAYLIST};
use manifest::hls::Directives;
use manifest::policy::{self, Failure, Resource, cache_success};
use timeline::{ChannelSnapshot, TimingConfig};

use super::hold;
use super::render_cache::{RenderCache, Rendered};
use crate::error::ServeError;
use crate::store::Channel;
use crate::store::Origin;

/// A manifest ready to send.
#[derive(Debug)]
pub struct Manifest {
    /// The rendering (plain and gzip).
    pub rendered: Arc<Rendered>,
    /// Its media type.
    pub content_type: &'static str,
    /// Its `Cache-Control`.
    pub cache: String,
}

/// The channel `name`, or the policy's unknown-channel failure.
pub fn channel(origin: &Origin, name: &str) -> Result<Arc<Channel>, ServeError> {
    origin
        .channel(name)
        .ok_or_else(|| Failure::UnknownChannel(name.to_string()).into())
}

/// The start-up hold of the multivariant playlist and the MPD
/// ([`policy::ready_to_render`]): waits (bounded) until every rendition has a complete
/// segment, then returns that snapshot; after the bound, whatever exists. Also applied
/// by the timeline API for `hold=startup` ([`policy::STARTUP_HOLD`]), so an edge
/// renders the master the origin would.
pub async fn settled(ch: &Channel, cfg: &TimingConfig) -> Arc<ChannelSnapshot> {
    let none = Directives::default();
    let ready = |s: &ChannelSnapshot| policy::ready_to_render(s, Resource::Master, &none);
    let now = ch.snapshot();
    if ready(&now) {
        return now;
    }
    hold::until(ch, cfg, ready)
        .await
        .unwrap_or_else(|| ch.snapshot())
}

/// `/{channel}/master.m3u8`.
pub async fn master(
    origin: &Origin,
    cache: &RenderCache,
    name: &str,
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let ch = channel(origin, name)?;
    let snap = settled(&ch, cfg).await;
    let rendered = cache.get_or_render(name, "master", snap.version, || {
        Ok(manifest::hls::multivariant_playlist(&snap)?)
    })?;
    Ok(Manifest {
        rendered,
        content_type: HLS_PLAYLIST,
        cache: cache_success(snap.target_duration_secs(), false),
    })
}

/// `/{channel}/{track}/index.m3u8[?_HLS_msn=M[&_HLS_part=N]][&_HLS_skip=YES|v2]`.
///
/// [HLS §6.2.5.2] a blocking request is held until the playlist contains what it asks
/// for, then answered with the whole (or delta) playlist; a request too far ahead is
/// answered 400 at once; one still unsatisfied after 3 target durations gets 503.
pub async fn media(
    origin: &Origin,
    cache: &RenderCache,
    name: &str,
    track: &str,
    directives: &Directives,
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let ch = channel(origin, name)?;
    let snap = hold_for(&ch, track, directives, cfg).await?;
    let key = format!("{track}/{:?}", directives.skip);
    let rendered = cache.get_or_render(name, &key, snap.version, || {
        Ok(manifest::hls::media_playlist(
            &snap,
            track,
            directives.skip,
        )?)
    })?;
    Ok(Manifest {
        rendered,
        content_type: HLS_PLAYLIST,
        cache: cache_success(snap.target_duration_secs(), directives.is_blocking()),
    })
}

/// Waits (bounded) until rendition `track` has a segment to list and `directives` are
/// met, then returns that snapshot. Shared by playlists and the timeline API, so both
/// hold, refuse (400) and give up (503) alike.
pub async fn hold_for(
    ch: &Channel,
    track: &str,
    directives: &Directives,
    cfg: &TimingConfig,
) -> Result<Arc<ChannelSnapshot>, ServeError> {
    // A directive that became an error (it cannot) also ends the wait, to be reported.
    let ready =
        |s: &ChannelSnapshot| policy::ready_to_render(s, Resource::Media(track), directives);
    let mut snap = ch.snapshot();
    let t = snap
        .track(track)
        .ok_or_else(|| manifest::ManifestError::UnknownTrack(track.to_string()))?;
    directives.readiness(t, &snap.config)?;
    if !ready(&snap) {
        let what = match directives.msn {
            Some(m) => format!(
                "playlist of '{track}' with {m}.{}",
                directives.part.unwrap_or(0)
            ),
            None => format!("first segment of '{track}'"),
        };
        snap = hold::until_track(ch, track, cfg, ready)
            .await
            .ok_or(Failure::Timeout(what))?;
    }
    if let Some(t) = snap.track(track) {
        directives.readiness(t, &snap.config)?;
    }
    Ok(snap)
}

/// `/{channel}/manifest.mpd`. Its UTCTiming names the configured public URL or the
/// relative `../time` ([`policy::time_url`]), never the request's Host, so the MPD
/// is the same for every client and cached once per snapshot.
pub async fn mpd(
    origin: &Origin,
    cache: &RenderCache,
    name: &str,
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let ch = channel(origin, name)?;
    let snap = settled(&ch, cfg).await;
    let opts = MpdOptions {
        time_url: policy::time_url(origin.config().public_url.as_deref()),
    };
    let rendered = cache.get_or_render(name, "mpd", snap.version, || {
        Ok(manifest::dash::mpd(&snap, &opts)?)
    })?;
    Ok(Manifest {
        rendered,
        content_type: DASH_MPD,
        cache: cache_success(snap.target_duration_secs(), false),
    })
}
