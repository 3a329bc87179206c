//! Manifest responses, rendered by the pure `manifest` crate from the latest snapshot.

use std::sync::Arc;

use manifest::dash::MpdOptions;
use manifest::headers::{DASH_MPD, HLS_PLAYLIST};
use timeline::{ChannelSnapshot, TimingConfig};

use super::body::full;
use super::hold;
use super::http::Body;
use super::response::ok;
use crate::Origin;
use crate::error::ServeError;
use crate::store::Channel;

/// Cache lifetime of live manifests: half a target duration (at least 1 s), per the
/// low-latency server profile's advice for non-blocking playlist responses [HLS B.1].
fn cache(cfg: &TimingConfig) -> String {
    format!("public, max-age={}", (cfg.target_duration_ms / 2000).max(1))
}

fn channel(origin: &Origin, name: &str) -> Result<Arc<Channel>, ServeError> {
    origin
        .channel(name)
        .ok_or_else(|| ServeError::NotFound(format!("channel '{name}'")))
}

/// True when every known track has a complete segment.
fn all_ready(s: &ChannelSnapshot) -> bool {
    !s.tracks.is_empty() && s.tracks.iter().all(|t| t.last_complete_msn().is_some())
}

/// Waits (bounded) until every track has a segment; renders whatever exists after that.
async fn settled(ch: &Channel, cfg: &TimingConfig) -> Arc<ChannelSnapshot> {
    let now = ch.snapshot();
    if all_ready(&now) {
        return now;
    }
    hold::until(ch, cfg, all_ready)
        .await
        .unwrap_or_else(|| ch.snapshot())
}

/// `/{channel}/master.m3u8`.
pub async fn master(
    origin: &Origin,
    name: &str,
    cfg: &TimingConfig,
) -> Result<hyper::Response<Body>, ServeError> {
    let ch = channel(origin, name)?;
    let snap = settled(&ch, cfg).await;
    let text = manifest::hls::multivariant_playlist(&snap)?;
    Ok(ok(HLS_PLAYLIST, &cache(cfg), full(text)))
}

/// `/{channel}/{track}/index.m3u8`.
pub async fn media(
    origin: &Origin,
    name: &str,
    track: &str,
    cfg: &TimingConfig,
) -> Result<hyper::Response<Body>, ServeError> {
    let ch = channel(origin, name)?;
    let has_segment = |s: &ChannelSnapshot| {
        s.track(track)
            .is_some_and(|t| t.last_complete_msn().is_some())
    };
    let mut snap = ch.snapshot();
    if !has_segment(&snap) && snap.track(track).is_some() {
        snap = hold::until(&ch, cfg, has_segment).await.unwrap_or(snap);
    }
    let text = manifest::hls::media_playlist(&snap, track)?;
    Ok(ok(HLS_PLAYLIST, &cache(cfg), full(text)))
}

/// `/{channel}/manifest.mpd`.
pub async fn mpd(
    origin: &Origin,
    name: &str,
    cfg: &TimingConfig,
    host: &str,
) -> Result<hyper::Response<Body>, ServeError> {
    let ch = channel(origin, name)?;
    let snap = settled(&ch, cfg).await;
    let opts = MpdOptions {
        time_url: format!("http://{host}/time"),
    };
    let text = manifest::dash::mpd(&snap, &opts)?;
    Ok(ok(DASH_MPD, &cache(cfg), full(text)))
}
