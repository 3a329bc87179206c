//! Response bodies: the one body type of every answer, and the ways to make one (a
//! single buffer, stored chunks without copying, or a feed from a task).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

/// Response body type of every weir response.
pub type Body = BoxBody<Bytes, BodyError>;

/// Why a response body was cut short (the only failure a body can have).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// A streamed resource stopped growing before it was complete.
    #[error("the resource stopped growing before it was complete")]
    Incomplete,
}

/// A body fed by a task: each received buffer is sent as one frame; the body ends when
/// the sender is dropped after sending everything. A received error aborts the body, so
/// the client sees a truncated response (no terminal chunk, connection closed on
/// HTTP/1.1, stream reset on HTTP/2), never a clean end.
pub fn streamed(rx: tokio::sync::mpsc::Receiver<Result<Bytes, BodyError>>) -> Body {
    Streamed { rx }.boxed()
}

struct Streamed {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, BodyError>>,
}

impl HttpBody for Streamed {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.rx.poll_recv(cx).map(|b| b.map(|b| b.map(Frame::data)))
    }
}

/// A body of one buffer.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A body that sends stored chunks one frame each, without copying them.
pub fn chunks(parts: Vec<Bytes>) -> Body {
    let len = parts.iter().map(|b| b.len() as u64).sum();
    Chunks {
        parts: parts.into(),
        len,
    }
    .boxed()
}

struct Chunks {
    parts: VecDeque<Bytes>,
    len: u64,
}

impl HttpBody for Chunks {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let next = self.parts.pop_front();
        if let Some(b) = &next {
            self.len -= b.len() as u64;
        }
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

/// `body`, adding the length of every data frame it sends to `sent` (bytes served, as
/// they go out: a viewer that leaves early is counted for what it got).
pub fn counted(body: Body, sent: prometheus_client::metrics::counter::Counter) -> Body {
    Counted { inner: body, sent }.boxed()
}

struct Counted {
    inner: Body,
    sent: prometheus_client::metrics::counter::Counter,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(f))) = &polled
            && let Some(d) = f.data_ref()
        {
            self.sent.inc_by(d.len() as u64);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
