//! Answering one player request from a cached object, complete or still arriving:
//! the stored head with `Age`, all of the body or one byte range of it, streamed as it
//! arrives; a fill that fails ends every body with an error.
//!
//! [edge-cache.md §0] "Truncation must be visible on the wire": a body that returns
//! `Err` makes hyper close the connection without the terminal chunk (HTTP/1.1) or
//! reset the stream (HTTP/2), so a player never takes a cut object for a whole one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, AGE, CONTENT_LENGTH, CONTENT_RANGE, HeaderValue, TRANSFER_ENCODING,
};
use http::{Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use manifest::range::{ByteRange, OPEN_END};
use wasmtime_wasi_http::Error as ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::object::{Failure, Head, Object, Progress, Reader};
use super::stats::CacheStats;

/// What the player asked of the object (by default: all of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Want {
    /// `HEAD`: the head alone.
    pub head_only: bool,
    /// One byte range (`Range: bytes=a-b` / `a-`), if asked and readable.
    pub range: Option<ByteRange>,
}

impl Want {
    /// What `req` asks for. A `Range` the origin's rules do not read (suffix, multiple
    /// ranges) is ignored, as RFC 9110 §14.2 permits, exactly as the origin does.
    pub fn of<B>(req: &http::Request<B>) -> Want {
        Want {
            head_only: req.method() == http::Method::HEAD,
            range: req
                .headers()
                .get(http::header::RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(ByteRange::parse),
        }
    }
}

/// The answer to `want` from `object`, whose head is `head`.
pub async fn answer(
    object: &Arc<Object>,
    head: &Head,
    want: Want,
    stats: Arc<CacheStats>,
) -> Response<HyperOutgoingBody> {
    // The stored fields in one clone (a map built field by field regrows several times
    // per answer: measurable at a herd of a thousand, BENCHMARKS.md).
    let mut resp = Response::new(empty());
    *resp.status_mut() = head.status;
    *resp.headers_mut() = head.headers.clone();
    // [HLS B.1] "caches MUST set the Age header"; RFC 9111 §5.1: seconds since the
    // response was received from the origin.
    let age = head.upstream_age + Instant::now().saturating_duration_since(head.received);
    resp.headers_mut().insert(AGE, age.as_secs().into());
    resp.headers_mut().remove(TRANSFER_ENCODING);
    let range = want.range.filter(|_| head.status == StatusCode::OK);
    let Some(range) = range else {
        if object.progress() == Progress::Complete && !resp.headers().contains_key(CONTENT_LENGTH) {
            resp.headers_mut()
                .insert(CONTENT_LENGTH, object.len().into());
        }
        if !want.head_only {
            *resp.body_mut() = body(object.reader(), 0, None, stats);
        }
        return resp;
    };
    resp.headers_mut()
        .insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    ranged(object, resp, range, want.head_only, stats).await
}

/// The answer to a byte range of a 200 object, as the origin answers ranges of its
/// growing segments ([`manifest::range`]): wait until the first byte asked for (the
/// last, for a closed range) has arrived or the object has ended; a known length gives
/// `bytes a-b/total` or 416; an unknown one `bytes a-b/*`, and for an open range the
/// RFC 8673 "very large" last position, streamed until the object is complete.
async fn ranged(
    object: &Arc<Object>,
    mut resp: Response<HyperOutgoingBody>,
    range: ByteRange,
    head_only: bool,
    stats: Arc<CacheStats>,
) -> Response<HyperOutgoingBody> {
    let need = range.end.unwrap_or(range.start);
    let declared: Option<u64> = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let progress = object
        .wait_for(|p, len| p != Progress::Streaming || len > need)
        .await;
    let total = match progress {
        Progress::Complete => Some(object.len()),
        _ => declared,
    };
    resp.headers_mut().remove(CONTENT_LENGTH);
    let (status, content_range, to) = match total {
        Some(total) if range.start >= total => {
            *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            resp.headers_mut()
                .insert(CONTENT_RANGE, header(&format!("bytes */{total}")));
            resp.headers_mut().insert(CONTENT_LENGTH, 0.into());
            return resp;
        }
        Some(total) => {
            let last = range.end.unwrap_or(total - 1).min(total - 1);
            let r = format!("bytes {}-{last}/{total}", range.start);
            resp.headers_mut()
                .insert(CONTENT_LENGTH, (last + 1 - range.start).into());
            (StatusCode::PARTIAL_CONTENT, r, Some(last + 1))
        }
        None => match range.end {
            Some(last) => (
                StatusCode::PARTIAL_CONTENT,
                format!("bytes {}-{last}/*", range.start),
                Some(last + 1),
            ),
            None => (
                StatusCode::PARTIAL_CONTENT,
                format!("bytes {}-{OPEN_END}/*", range.start),
                None,
            ),
        },
    };
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_RANGE, header(&content_range));
    if !head_only {
        *resp.body_mut() = body(object.reader(), range.start, to, stats);
    }
    resp
}

fn header(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("bytes */*"))
}

fn empty() -> HyperOutgoingBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The body error a failed fill ends a player's body with.
fn error(f: Failure) -> ErrorCode {
    ErrorCode::InternalError(Some(format!("edge cache: {f}")))
}

type Next = Option<Result<(Bytes, Instant), Failure>>;
type Step = Pin<Box<dyn Future<Output = (Reader, Next)> + Send>>;

/// A player's body: bytes `[from, to)` of the object (`to` None: to its end), each as
/// soon as it arrives.
fn body(reader: Reader, from: u64, to: Option<u64>, stats: Arc<CacheStats>) -> HyperOutgoingBody {
    ObjectBody {
        backlog: true,
        made: Instant::now(),
        reader: Some(reader),
        step: None,
        at: 0,
        from,
        to,
        stats,
    }
    .boxed_unsync()
}

struct ObjectBody {
    /// Still reading chunks that arrived before this body was made.
    backlog: bool,
    /// When this body was made.
    made: Instant,
    reader: Option<Reader>,
    step: Option<Step>,
    /// Object offset of the next chunk the reader gives.
    at: u64,
    from: u64,
    to: Option<u64>,
    stats: Arc<CacheStats>,
}

impl http_body::Body for ObjectBody {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ErrorCode>>> {
        loop {
            if self.to.is_some_and(|to| self.at >= to) {
                return Poll::Ready(None);
            }
            if self.step.is_none() {
                let Some(mut reader) = self.reader.take() else {
                    return Poll::Ready(None);
                };
                self.step = Some(Box::pin(async move {
                    let next = reader.next_timed().await;
                    (reader, next)
                }));
            }
            let step = self.step.as_mut().expect("set above");
            let (reader, next) = match step.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r,
            };
            self.step = None;
            self.reader = Some(reader);
            let chunk = match next {
                None => {
                    // The object is complete: short of a closed range's end, that is a
                    // range the object does not hold (cut, not a clean end).
                    if self.to.is_some_and(|to| self.at < to) {
                        return Poll::Ready(Some(Err(error(Failure::Truncated))));
                    }
                    return Poll::Ready(None);
                }
                Some(Err(f)) => return Poll::Ready(Some(Err(error(f)))),
                Some(Ok((c, arrived))) => {
                    self.backlog &= arrived <= self.made;
                    // How long after the edge got these bytes this viewer is handed them
                    // (fresh chunks only: a late joiner's backlog is not lag).
                    if !self.backlog {
                        self.stats.lag(arrived.elapsed());
                    }
                    c
                }
            };
            let (start, end) = (self.at, self.at + chunk.len() as u64);
            self.at = end;
            let a = self.from.max(start);
            let b = self.to.map_or(end, |to| to.min(end));
            if a >= b {
                continue;
            }
            let piece = chunk.slice((a - start) as usize..(b - start) as usize);
            self.stats.served(piece.len() as u64);
            return Poll::Ready(Some(Ok(Frame::data(piece))));
        }
    }
}
