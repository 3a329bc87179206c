//! Media objects: init segment, segment and part responses, read from the store's
//! growing objects (held until they exist), with byte ranges of segments; segments
//! that left memory from the DVR's files (`disk`).

mod disk;
mod hesp;
mod range;
mod ranged;

pub use disk::Conditions;
pub use hesp::hesp_packet;
pub use range::ByteRange;

use std::sync::Arc;

use manifest::headers::{AUDIO_MP4, VIDEO_MP4};
use timeline::{ChannelSnapshot, MediaKind, TimingConfig};

use super::hold;
use super::response::ok;
use crate::dvr::Dvr;
use crate::error::ServeError;
use crate::http::{Body, chunks};
use crate::store::stats::HoldKind;
use crate::store::{Channel, End, Granularity, Growing, Origin};

/// How far past the newest segment a request may be held: the segment in progress and
/// the next two. Anything further is a client error, answered at once.
const HOLD_AHEAD: u64 = 2;

fn channel(origin: &Origin, name: &str) -> Result<Arc<Channel>, ServeError> {
    origin
        .channel(name)
        .ok_or_else(|| ServeError::NotFound(format!("channel '{name}'")))
}

/// The media type of `track`'s files.
pub fn content_type(snap: &ChannelSnapshot, track: &str) -> &'static str {
    match snap.track(track).map(|t| t.meta.kind) {
        Some(MediaKind::Audio) => AUDIO_MP4,
        _ => VIDEO_MP4,
    }
}

/// Stored media is immutable under its URL; it stays cacheable for twice the window.
pub fn media_cache(snap: &ChannelSnapshot) -> String {
    let window_s = snap
        .target_duration_secs()
        .saturating_mul(u64::from(snap.config.window_segments));
    format!("public, max-age={}", window_s * 2)
}

/// `/{channel}/{track}/init-{id}.mp4` (immutable: one init version) or `init.mp4` (the
/// current init, which changes when the encoder's parameters do). An init version no
/// longer held in memory is served from the DVR while a stored segment refers to it.
pub async fn init(
    origin: &Origin,
    name: &str,
    track: &str,
    version: Option<u32>,
    cond: &Conditions,
) -> Result<hyper::Response<Body>, ServeError> {
    let live = origin.channel(name);
    let held = live.as_ref().and_then(|ch| {
        Some((
            ch.init(track, version)?,
            content_type(&ch.snapshot(), track),
        ))
    });
    let Some((bytes, ct)) = held else {
        if let (Some(v), Some(dvr)) = (version, origin.dvr())
            && let Some(path) = dvr.init_path(name, track, v)
        {
            return disk::init((dvr, name), &path, v, stored_type(dvr, name, track), cond).await;
        }
        if live.is_none() {
            return Err(ServeError::NotFound(format!("channel '{name}'")));
        }
        return Err(ServeError::NotFound(match version {
            Some(v) => format!("init segment {} of '{track}'", manifest::init_uri(v)),
            None => format!("init segment of '{track}'"),
        }));
    };
    let cache = match version {
        Some(_) => "public, max-age=31536000, immutable",
        None => "public, max-age=1",
    };
    Ok(ok(ct, cache, chunks(vec![bytes])))
}

/// The media type of a track the DVR stores.
fn stored_type(dvr: &Dvr, name: &str, track: &str) -> &'static str {
    match dvr.kind(name, track) {
        Some(MediaKind::Audio) => AUDIO_MP4,
        _ => VIDEO_MP4,
    }
}

/// Segment `msn` from the DVR when it is no longer (or, after a restart, not) in
/// memory: `None` when memory has it or the DVR does not.
async fn from_disk(
    origin: &Origin,
    (name, track): (&str, &str),
    (msn, form): (u64, Form),
    cond: &Conditions,
) -> Option<Result<hyper::Response<Body>, ServeError>> {
    let dvr = origin.dvr()?;
    if origin
        .channel(name)
        .is_some_and(|c| c.object(track, msn).is_some())
    {
        return None;
    }
    let s = dvr.lookup(name, track, msn)?;
    let what = format!("segment {msn} of '{track}'");
    if let Some(expected) = form.period()
        && s.past.period != expected
    {
        return Some(Err(ServeError::NotFound(format!(
            "{what} is in Period {}, not {expected} (reload the MPD)",
            s.past.period
        ))));
    }
    // The last stored segment of a Presentation ends HESP's continuation with its event.
    let next_period = dvr.lookup(name, track, msn + 1).map(|n| n.past.period);
    let trailer = form
        .trailer()
        .filter(|_| next_period.is_some_and(|p| p != s.past.period));
    Some(
        disk::segment(
            (dvr, name),
            &s,
            stored_type(dvr, name, track),
            cond,
            trailer,
        )
        .await,
    )
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

/// The growing object of segment `msn`, waiting (within the caller's deadline) for the
/// segment to begin when it is a little ahead of the live edge.
pub async fn object(
    ch: &Channel,
    track: &str,
    msn: u64,
    cfg: &TimingConfig,
    what: &str,
) -> Result<Arc<Growing>, ServeError> {
    if let Some(g) = ch.object(track, msn) {
        return Ok(g);
    }
    check_window(&ch.snapshot(), track, msn, what)?;
    let exists = |s: &ChannelSnapshot| {
        s.track(track).is_none_or(|t| {
            t.segment(msn).is_some() || t.segments.front().is_some_and(|f| f.msn > msn)
        })
    };
    hold::until_track(ch, track, cfg, HoldKind::Media, exists)
        .await
        .ok_or_else(|| ServeError::Timeout(what.to_string()))?;
    ch.object(track, msn)
        .ok_or_else(|| ServeError::NotFound(what.to_string()))
}

/// How a segment request addresses its segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `seg-{msn}.m4s` (HLS, L-HLS): byte ranges of a growing segment in whole parts.
    Hls,
    /// `p{period}/seg-{msn}.m4s` (DASH): the Period is checked; ranges chunk by chunk.
    Dash(u64),
    /// `p{period}/hesp-seg-{msn}.m4s` (HESP's continuation): as DASH, and the last
    /// segment of a Presentation ends with the `manifestupdate` event.
    Hesp(u64),
}

impl Form {
    fn period(self) -> Option<u64> {
        match self {
            Form::Hls => None,
            Form::Dash(p) | Form::Hesp(p) => Some(p),
        }
    }

    /// [HESP §5.3.3.1] the continuation's first request is a Range from the packet's
    /// offset, answered 206 and streamed chunk by chunk while live: on the Period-named
    /// URLs every chunk is visible at once; on the HLS URL only whole parts
    /// ([HLS §6.2.6]).
    fn granularity(self) -> Granularity {
        match self {
            Form::Hls => Granularity::CompletePart,
            Form::Dash(_) | Form::Hesp(_) => Granularity::Chunk,
        }
    }

    /// What follows the segment's bytes when it ends its period.
    fn trailer(self) -> Option<bytes::Bytes> {
        matches!(self, Form::Hesp(_)).then(hesp::manifest_update)
    }
}

/// `/{channel}/{track}/seg-{msn}.m4s`: a complete segment, or the segment in progress
/// streamed as it grows (held until it begins when it is a little ahead).
/// `[p{period}/]`: the DASH form, which names the Period the client expects it in;
/// `p{period}/hesp-seg-`: HESP's ([`Form`]).
pub async fn segment(
    origin: &Origin,
    (name, track): (&str, &str),
    (msn, form): (u64, Form),
    cond: &Conditions,
    cfg: &TimingConfig,
) -> Result<hyper::Response<Body>, ServeError> {
    if let Some(r) = from_disk(origin, (name, track), (msn, form), cond).await {
        return r;
    }
    let range = cond.range;
    let ch = channel(origin, name)?;
    let what = format!("segment {msn} of '{track}'");
    let snap = ch.snapshot();
    let (ct, cache) = (content_type(&snap, track), media_cache(&snap));
    let limit = hold::limit(&ch, cfg);
    let wait = async {
        let g = object(&ch, track, msn, cfg, &what).await?;
        if let Some(expected) = form.period() {
            in_period(&ch, track, msn, expected, &what)?;
        }
        if let Some(range) = range {
            let ranged = (range, form.granularity(), form.trailer());
            return ranged::answer(g, ranged, limit, ct, &cache, &what).await;
        }
        match g.end() {
            End::Complete | End::Truncated => {
                let mut body = g.chunks();
                if let Some(t) = form.trailer().filter(|_| g.ends_period()) {
                    body.push(t);
                }
                let mut r = ok(ct, &cache, chunks(body));
                r.headers_mut().insert(
                    http::header::ACCEPT_RANGES,
                    http::HeaderValue::from_static("bytes"),
                );
                Ok(r)
            }
            End::Aborted => Err(ServeError::NotFound(format!("{what} (its track ended)"))),
            // [IOP-LL 6.3] "Segments are delivered as the encoder produces them ... each
            // CMAF chunk (moof + mdat) is flushed immediately": the segment in progress
            // is answered at once and streamed chunk by chunk from byte 0.
            End::Open => Ok(ok(
                ct,
                &cache,
                ranged::stream(&g, (0, Granularity::Chunk), limit, form.trailer()),
            )),
        }
    };
    tokio::time::timeout(limit, wait)
        .await
        .map_err(|_| ServeError::Timeout(what.clone()))?
}

/// Checks that segment `msn` belongs to Period `expected` of the MPD.
///
/// A DASH client addresses segments from the clock with the MPD it has: past the last
/// segment of an open-ended Period it computes numbers that, after an encoder restart,
/// belong to a new Period it has not seen yet (new init, new timeline), and until its
/// next MPD reload (`minimumUpdatePeriod`) it would append them under the old init. The
/// Period in the URL lets the origin refuse that, so the client reloads and continues
/// in the new Period.
fn in_period(
    ch: &Channel,
    track: &str,
    msn: u64,
    expected: u64,
    what: &str,
) -> Result<(), ServeError> {
    let snap = ch.snapshot();
    let actual = snap
        .track(track)
        .and_then(|t| t.segment(msn).map(|s| t.period_of(s)));
    match actual {
        Some(p) if p == expected => Ok(()),
        Some(p) => Err(ServeError::NotFound(format!(
            "{what} is in Period {p}, not {expected} (reload the MPD)"
        ))),
        None => Err(ServeError::NotFound(what.to_string())),
    }
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
    let snap = ch.snapshot();
    let (ct, cache) = (content_type(&snap, track), media_cache(&snap));
    let wait = async {
        let g = object(&ch, track, msn, cfg, &what).await?;
        g.wait_until(|g| g.part_settled(part)).await;
        // A part index past the end of a completed segment never comes.
        let data = g
            .part(part)
            .ok_or_else(|| ServeError::NotFound(what.clone()))?;
        Ok(ok(ct, &cache, chunks(data)))
    };
    tokio::time::timeout(hold::limit(&ch, cfg), wait)
        .await
        .map_err(|_| ServeError::Timeout(what.clone()))?
}
