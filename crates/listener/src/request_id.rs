//! Request ids: one per request, in the logs of every line about it and in the
//! `x-request-id` response header, so an operator can follow one viewer's complaint.
//!
//! A client's (or a CDN's) own `x-request-id` is kept when it is a sane token, so one
//! id follows a request from the CDN through the edge to the origin's logs.

use std::borrow::Cow;
use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The header carrying the id.
pub const HEADER: &str = "x-request-id";

/// Longest id taken from a request.
const MAX_LEN: usize = 64;

/// The id of a request with `headers`: its own `x-request-id` when it is 1-64 visible
/// ASCII characters of `[A-Za-z0-9._:-]`, else a new one (the process's start time and
/// a counter, unique across restarts).
pub fn of(headers: &http::HeaderMap) -> String {
    if let Some(v) = headers.get(HEADER).and_then(|v| v.to_str().ok())
        && !v.is_empty()
        && v.len() <= MAX_LEN
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    {
        return v.to_string();
    }
    new()
}

/// A new id: `{process start, µs, base 36}-{counter}`.
pub fn new() -> String {
    static START: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let start = START.get_or_init(|| {
        let us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        base36(us)
    });
    format!("{start}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// How a path is shown in logs (a listener whose paths carry secrets hides them).
pub type Redact = for<'a> fn(&'a str) -> Cow<'a, str>;

/// Shows a path as it is.
pub fn as_is(path: &str) -> Cow<'_, str> {
    Cow::Borrowed(path)
}

/// One request's id, log span and timing, from its arrival to its answer.
///
/// The span is at debug level: free unless `RUST_LOG` asks for debug (10,000 woken
/// blocking reloads would each build and enter one otherwise: BENCHMARKS.md, LL-HLS
/// wake-up). A failed answer (5xx) is logged at warn with the id and path in the line
/// itself; every other answer at debug, in the span.
#[derive(Debug)]
pub struct Traced {
    id: String,
    span: tracing::Span,
    uri: http::Uri,
    redact: Redact,
    started: Instant,
}

impl Traced {
    /// Starts tracing `req`: its id ([`of`]) and span, its path shown through `redact`.
    pub fn begin<B>(req: &http::Request<B>, redact: Redact) -> Traced {
        let id = of(req.headers());
        let span = tracing::debug_span!(
            "request",
            id = %id,
            method = %req.method(),
            path = %redact(req.uri().path())
        );
        Traced {
            id,
            span,
            uri: req.uri().clone(),
            redact,
            started: Instant::now(),
        }
    }

    /// Runs `answer` in the request's span, logs the answer, and names the id in its
    /// [`HEADER`].
    pub async fn answer<B>(
        self,
        answer: impl Future<Output = http::Response<B>>,
    ) -> http::Response<B> {
        use tracing::Instrument as _;
        let mut resp = answer.instrument(self.span.clone()).await;
        let status = resp.status().as_u16();
        let ms = self.started.elapsed().as_secs_f64() * 1e3;
        if resp.status().is_server_error() {
            tracing::warn!(
                id = %self.id,
                path = %(self.redact)(self.uri.path()),
                status,
                ms,
                "answered"
            );
        } else {
            self.span
                .in_scope(|| tracing::debug!(status, ms, "answered"));
        }
        if let Ok(v) = http::HeaderValue::from_str(&self.id) {
            resp.headers_mut().insert(HEADER, v);
        }
        resp
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_incoming_id_is_kept_anything_else_replaced() {
        let mut h = http::HeaderMap::new();
        h.insert(HEADER, "cdn-1234.abc".parse().unwrap());
        assert_eq!(of(&h), "cdn-1234.abc");
        for bad in ["has space", "quote\"", &"x".repeat(65)] {
            h.insert(HEADER, bad.parse().unwrap());
            let id = of(&h);
            assert_ne!(id, bad);
            assert!(id.contains('-'), "{id}");
        }
        let (a, b) = (new(), new());
        assert_ne!(a, b);
    }
}
