//! Init segment, segment and part responses.

use std::sync::Arc;

use manifest::headers::{AUDIO_MP4, VIDEO_MP4};
use timeline::{ChannelSnapshot, MediaKind, TimingConfig};

use super::body::chunks;
use super::hold;
use super::http::Body;
use super::range::ByteRange;
use super::response::ok;
use crate::Origin;
use crate::error::ServeError;
use crate::store::Channel;

/// How far past the newest segment a request may be held: the segment in progress and
/// the next two. Anything further is a client error, answered at once.
const HOLD_AHEAD: u64 = 2;

fn channel(origin: &Origin, name: &str) -> Result<Arc<Channel>, ServeError> {
    origin
        .channel(name)
        .ok_or_else(|| ServeError::NotFound(format!("channel '{name}'")))
}

fn content_type(snap: &ChannelSnapshot, track: &str) -> &'static str {
    match snap.track(track).map(|t| t.meta.kind) {
        Some(MediaKind::Audio) => AUDIO_MP4,
        _ => VIDEO_MP4,
    }
}

/// Stored media is immutable under its URL; it stays cacheable for twice the window.
fn media_cache(cfg: &TimingConfig) -> String {
    let window_s = u64::from(cfg.target_duration_ms) * u64::from(cfg.window_segments) / 1000;
    format!("public, max-age={}", window_s * 2)
}

/// `/{channel}/{track}/init.mp4`.
pub fn init(origin: &Origin, name: &str, track: &str) -> Result<hyper::Response<Body>, ServeError> {
    let ch = channel(origin, name)?;
    let bytes = ch
        .init(track)
        .ok_or_else(|| ServeError::NotFound(format!("init segment of '{track}'")))?;
    let ct = content_type(&ch.snapshot(), track);
    Ok(ok(ct, "public, max-age=60", chunks(vec![bytes])))
}

/// Checks that `msn` is worth waiting for: not expired, not too far ahead.
fn check_window(
    snap: &ChannelSnapshot,
    track: &str,
    msn: u64,
    what: &str,
) -> Result<(), ServeError> {
    let t = snap
        .track(track)
        .ok_or_else(|| ServeError::NotFound(format!("track '{track}'")))?;
    // Before the first segment exists no URL of this track has been published.
    let (first, last) = match (t.segments.front(), t.segments.back()) {
        (Some(f), Some(l)) => (f.msn, l.msn),
        _ => return Err(ServeError::NotFound(format!("{what} (no media yet)"))),
    };
    if msn < first {
        return Err(ServeError::NotFound(format!(
            "{what} (expired; oldest is {first})"
        )));
    }
    if msn > last + HOLD_AHEAD {
        return Err(ServeError::NotFound(format!(
            "{what} (too far ahead; newest is {last})"
        )));
    }
    Ok(())
}

/// `/{channel}/{track}/seg-{msn}.m4s`: a complete segment, held while in progress.
pub async fn segment(
    origin: &Origin,
    name: &str,
    track: &str,
    msn: u64,
    range: Option<ByteRange>,
    cfg: &TimingConfig,
) -> Result<hyper::Response<Body>, ServeError> {
    let ch = channel(origin, name)?;
    let what = format!("segment {msn} of '{track}'");
    if let Some(range) = range {
        let snap = ch.snapshot();
        if snap.track(track).and_then(|t| t.segment(msn)).is_none() {
            check_window(&snap, track, msn, &what)?;
        }
        let ct = content_type(&snap, track);
        return super::ranged::answer(ch, track, msn, range, cfg, ct, &media_cache(cfg)).await;
    }
    let complete = |s: &ChannelSnapshot| {
        s.track(track)
            .and_then(|t| t.segment(msn))
            .is_some_and(|g| g.complete)
    };
    let snap = ch.snapshot();
    if !complete(&snap) {
        check_window(&snap, track, msn, &what)?;
        hold::until(&ch, cfg, complete)
            .await
            .ok_or_else(|| ServeError::Timeout(what.clone()))?;
    }
    let data = ch.segment(track, msn).ok_or(ServeError::NotFound(what))?;
    let mut r = ok(content_type(&snap, track), &media_cache(cfg), chunks(data));
    r.headers_mut().insert(
        http::header::ACCEPT_RANGES,
        http::HeaderValue::from_static("bytes"),
    );
    Ok(r)
}

/// `/{channel}/{track}/part-{msn}.{part}.m4s`: a complete part, held while in progress.
pub async fn part(
    origin: &Origin,
    name: &str,
    track: &str,
    msn: u64,
    part: u32,
    cfg: &TimingConfig,
) -> Result<hyper::Response<Body>, ServeError> {
    let ch = channel(origin, name)?;
    let what = format!("part {msn}.{part} of '{track}'");
    let complete = |s: &ChannelSnapshot| {
        s.track(track)
            .and_then(|t| t.segment(msn))
            .and_then(|g| {
                g.parts
                    .get(part as usize)
                    .map(|p| p.complete)
                    .or(g.complete.then_some(false))
            })
            .unwrap_or(false)
    };
    let gone = |s: &ChannelSnapshot| {
        s.track(track)
            .and_then(|t| t.segment(msn))
            .is_some_and(|g| g.complete && g.parts.len() <= part as usize)
    };
    let snap = ch.snapshot();
    if gone(&snap) {
        return Err(ServeError::NotFound(what));
    }
    if !complete(&snap) {
        check_window(&snap, track, msn, &what)?;
        hold::until(&ch, cfg, |s| complete(s) || gone(s))
            .await
            .ok_or_else(|| ServeError::Timeout(what.clone()))?;
    }
    let data = ch
        .part(track, msn, part)
        .ok_or(ServeError::NotFound(what))?;
    Ok(ok(
        content_type(&snap, track),
        &media_cache(cfg),
        chunks(data),
    ))
}
