//! Range requests on segment files: complete segments as ordinary 206 responses, and
//! segments still being produced as RFC 8673 live ranges for byte-range-addressed
//! LL-HLS parts and their preload hints.
//!
//! [HLS §6.2.6] "the server MUST NOT transmit any bytes of a Partial Segment until the
//! entire Partial Segment is available": only bytes of complete parts are ever sent,
//! part by part as each completes.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http::header::{ACCEPT_RANGES, CONTENT_RANGE};
use timeline::{ChannelSnapshot, Segment, TimingConfig};

use super::body::{chunks, full, streamed};
use super::hold;
use super::http::{Body, BodyError};
use super::range::{ByteRange, OPEN_END, slice};
use super::response::builder;
use crate::error::ServeError;
use crate::store::Channel;

/// Frames buffered per streaming response before its feeder waits for the client.
const STREAM_BUFFER: usize = 8;

fn segment<'a>(s: &'a ChannelSnapshot, track: &str, msn: u64) -> Option<&'a Segment> {
    s.track(track).and_then(|t| t.segment(msn))
}

/// Answers `range` of segment `msn` of `track`, waiting (bounded) for the bytes.
pub async fn answer(
    ch: Arc<Channel>,
    track: &str,
    msn: u64,
    range: ByteRange,
    cfg: &TimingConfig,
    content_type: &'static str,
    cache: &str,
) -> Result<hyper::Response<Body>, ServeError> {
    let what = format!("bytes {}- of segment {msn} of '{track}'", range.start);
    // Wait until the first requested byte belongs to a complete part (or the segment is
    // complete, when it can be answered exactly).
    let ready = |s: &ChannelSnapshot| {
        segment(s, track, msn).is_some_and(|g| {
            g.complete
                || g.complete_bytes() > range.start
                    && range.end.is_none_or(|e| g.complete_bytes() > e)
        })
    };
    let snap = ch.snapshot();
    let snap = if ready(&snap) {
        snap
    } else {
        hold::until(&ch, cfg, ready)
            .await
            .ok_or(ServeError::Timeout(what.clone()))?
    };
    let seg = segment(&snap, track, msn).ok_or(ServeError::NotFound(what.clone()))?;
    let stored = ch
        .segment_so_far(track, msn)
        .ok_or(ServeError::NotFound(what))?;
    let head = |status, range: String| {
        builder(status, content_type, cache)
            .header(ACCEPT_RANGES, "bytes")
            .header(CONTENT_RANGE, range)
    };
    if seg.complete {
        let total: u64 = stored.iter().map(|b| b.len() as u64).sum();
        if range.start >= total {
            return Ok(head(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("bytes */{total}"),
            )
            .body(full(""))
            .expect("valid response"));
        }
        let last = range.end.unwrap_or(total - 1).min(total - 1);
        let body = chunks(slice(&stored, range.start, last + 1));
        return Ok(head(
            StatusCode::PARTIAL_CONTENT,
            format!("bytes {}-{last}/{total}", range.start),
        )
        .body(body)
        .expect("valid response"));
    }
    if let Some(last) = range.end {
        // A closed range inside complete parts of a segment still growing.
        let body = chunks(slice(&stored, range.start, last + 1));
        return Ok(head(
            StatusCode::PARTIAL_CONTENT,
            format!("bytes {}-{last}/*", range.start),
        )
        .body(body)
        .expect("valid response"));
    }
    // RFC 8673: an open-ended range of content still being appended is answered with
    // the "very large" last-byte-pos and an unknown length, then streamed until the
    // segment is complete.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, BodyError>>(STREAM_BUFFER);
    tokio::spawn(feed(ch, track.to_string(), msn, range.start, *cfg, tx));
    Ok(head(
        StatusCode::PARTIAL_CONTENT,
        format!("bytes {}-{OPEN_END}/*", range.start),
    )
    .body(streamed(rx))
    .expect("valid response"))
}

/// Sends the bytes of each part of the segment from `from` on as the part completes,
/// until the segment is complete. Stops if the client goes away; if nothing new comes
/// within the hold limit, aborts the body so the client sees the truncation.
async fn feed(
    ch: Arc<Channel>,
    track: String,
    msn: u64,
    mut from: u64,
    cfg: TimingConfig,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, BodyError>>,
) {
    loop {
        let snap = ch.snapshot();
        let Some(seg) = segment(&snap, &track, msn) else {
            return;
        };
        let upto = if seg.complete {
            u64::MAX
        } else {
            seg.complete_bytes()
        };
        if upto > from {
            let stored = ch.segment_so_far(&track, msn).unwrap_or_default();
            let total: u64 = stored.iter().map(|b| b.len() as u64).sum();
            let to = upto.min(total);
            for b in slice(&stored, from, to) {
                if tx.send(Ok(b)).await.is_err() {
                    return;
                }
            }
            from = to;
        }
        if seg.complete {
            return;
        }
        let grown = |s: &ChannelSnapshot| {
            segment(s, &track, msn).is_none_or(|g| g.complete || g.complete_bytes() > from)
        };
        if hold::until(&ch, &cfg, grown).await.is_none() {
            let _ = tx.send(Err(BodyError::Incomplete)).await;
            return;
        }
    }
}
