//! Range requests on segment files: complete segments as ordinary 206 responses, and
//! segments still being produced as RFC 8673 live ranges for byte-range-addressed
//! LL-HLS parts and their preload hints, read from the segment's growing object.
//!
//! [HLS §6.2.6] "the server MUST NOT transmit any bytes of a Partial Segment until the
//! entire Partial Segment is available": only bytes of complete parts are ever sent,
//! part by part as each completes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{ACCEPT_RANGES, CONTENT_RANGE};

use super::range::{ByteRange, OPEN_END, slice};
use crate::error::ServeError;
use crate::http::{Body, BodyError, chunks, full, streamed};
use crate::serve::response::builder;
use crate::store::{End, Granularity, Growing, Reader, Step};

/// Frames buffered per streaming response before its feeder waits for the client.
const STREAM_BUFFER: usize = 8;

/// Answers `range` of the segment `g`, waiting (up to `limit`) for the first bytes.
/// `granularity`: what of a segment still growing may be sent (whole LL-HLS parts for
/// byte-range parts, every chunk for HESP's continuation ranges).
/// `trailer`: bytes that follow the segment's own when it ends its period (HESP's
/// `manifestupdate`), part of the resource for every answer alike.
pub async fn answer(
    g: Arc<Growing>,
    (range, granularity, trailer): (ByteRange, Granularity, Option<Bytes>),
    limit: Duration,
    content_type: &'static str,
    cache: &str,
    what: &str,
) -> Result<hyper::Response<Body>, ServeError> {
    // Wait until the first requested byte (the last, for a closed range) is visible at
    // the granularity, or the segment is complete and it can be answered exactly.
    let need = range.end.unwrap_or(range.start);
    let visible = |g: &Growing| match granularity {
        Granularity::CompletePart => g.complete_len(),
        Granularity::Chunk => g.len(),
    };
    g.wait_until(|g| g.end() != End::Open || visible(g) > need)
        .await;
    let head = |status, range: String| {
        builder(status, content_type, cache)
            .header(ACCEPT_RANGES, "bytes")
            .header(CONTENT_RANGE, range)
    };
    match g.end() {
        End::Aborted => return Err(ServeError::NotFound(format!("{what} (its track ended)"))),
        End::Complete | End::Truncated => {
            let mut stored = g.chunks();
            if let Some(t) = trailer.filter(|_| g.ends_period()) {
                stored.push(t);
            }
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
        End::Open => {}
    }
    if let Some(last) = range.end {
        // A closed range inside the visible bytes of a segment still growing.
        let body = chunks(slice(&g.chunks(), range.start, last + 1));
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
    Ok(head(
        StatusCode::PARTIAL_CONTENT,
        format!("bytes {}-{OPEN_END}/*", range.start),
    )
    .body(stream(&g, (range.start, granularity), limit, trailer))
    .expect("valid response"))
}

/// A body that streams `g` from byte `from` as it grows (whole parts or each chunk, by
/// `granularity`) and ends when the segment is complete; it ends with an error, never
/// a clean short end, if production stops early or nothing comes within `limit`.
/// `announce`: bytes sent after the last ones when the segment turns out to end its
/// period (HESP's `manifestupdate` event); a segment cut short by a broken upload then
/// ends cleanly after them, as it is served afterwards (shorter, with the event).
pub fn stream(
    g: &Arc<Growing>,
    (from, granularity): (u64, Granularity),
    limit: Duration,
    announce: Option<Bytes>,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, BodyError>>(STREAM_BUFFER);
    tokio::spawn(feed(g.reader(from, granularity), limit, tx, announce));
    streamed(rx)
}

/// Sends the bytes of each part or chunk as it lands, until the segment is complete. Stops
/// if the client goes away; if nothing new comes within `limit`, or production stops
/// early, aborts the body so the client sees the truncation.
async fn feed(
    mut reader: Reader,
    limit: Duration,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, BodyError>>,
    announce: Option<Bytes>,
) {
    let announce = |reader: &Reader| announce.clone().filter(|_| reader.object().ends_period());
    loop {
        match tokio::time::timeout(limit, reader.next()).await {
            Ok(Step::Bytes(bs)) => {
                for b in bs {
                    if tx.send(Ok(b)).await.is_err() {
                        return;
                    }
                }
            }
            Ok(Step::Done) => {
                if let Some(b) = announce(&reader) {
                    let _ = tx.send(Ok(b)).await;
                }
                return;
            }
            Ok(Step::Aborted) => {
                if reader.object().end() == End::Truncated
                    && let Some(b) = announce(&reader)
                {
                    let _ = tx.send(Ok(b)).await;
                    return;
                }
                let _ = tx.send(Err(BodyError::Incomplete)).await;
                return;
            }
            Err(_) => {
                let _ = tx.send(Err(BodyError::Incomplete)).await;
                return;
            }
        }
    }
}
