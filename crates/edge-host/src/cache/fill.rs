//! Filling an object from the origin's response: the head, then each body frame as it
//! arrives, to every reader at once; a body that breaks fails the object.
//!
//! [edge-cache.md §4.1] "Every attached client, including late joiners, gets the bytes
//! already received, then an error ... The object is marked Failed and removed from the
//! index." hyper's client reports a truncated chunked or Content-Length body as a frame
//! error, which is what ends the fill here.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;

use super::object::{Failure, Fill, Head};

/// Header fields that describe one connection, not the object (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
];

/// Runs `fill` to its end from the origin's answer; returns the object's final bytes
/// count. A response that never came fails it with `Failure::NoResponse`; a body that
/// sends nothing for `idle` fails it as cut short.
pub async fn run<B>(
    mut fill: Fill,
    response: Result<http::Response<B>, Failure>,
    idle: Duration,
) -> u64
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    let response = match response {
        Ok(r) => r,
        Err(f) => {
            fill.fail(f);
            return 0;
        }
    };
    let (parts, mut body) = response.into_parts();
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    // The edge sets its own Age (the upstream one plus its own holding time).
    let upstream_age = headers
        .remove(http::header::AGE)
        .and_then(|v| v.to_str().ok()?.trim().parse().ok())
        .map_or(Duration::ZERO, Duration::from_secs);
    fill.head(Head {
        status: parts.status,
        headers,
        received: Instant::now(),
        upstream_age,
    });
    loop {
        let Ok(frame) = tokio::time::timeout(idle, body.frame()).await else {
            fill.fail(Failure::Truncated);
            return fill.object().len();
        };
        let Some(frame) = frame else { break };
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    // One copy per chunk into its own allocation, so a kept object
                    // does not pin the client's read buffers.
                    if fill.push(Bytes::copy_from_slice(&data)).is_err() {
                        return fill.object().len();
                    }
                }
            }
            Err(_) => {
                fill.fail(Failure::Truncated);
                return fill.object().len();
            }
        }
    }
    let len = fill.object().len();
    fill.complete();
    len
}

/// Removes the fields that describe one connection, not the object: the fixed
/// hop-by-hop ones and those the `Connection` field names (RFC 9110 §7.6.1).
pub fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    for h in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(h);
    }
}

/// How long a response may be served from the cache, from its `Cache-Control`
/// (`s-maxage`, else `max-age`); `None` when it must not be kept: `no-store`,
/// `private` or `no-cache` (with or without field names), a `Set-Cookie` (one viewer's),
/// or no lifetime given.
pub fn lifetime(headers: &http::HeaderMap) -> Option<Duration> {
    if headers.contains_key(http::header::SET_COOKIE) {
        return None;
    }
    let mut max_age = None;
    let mut shared = None;
    for v in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(v) = v.to_str() else { continue };
        for d in v.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            let name = d.split('=').next().unwrap_or("").trim();
            if matches!(name, "no-store" | "private" | "no-cache") {
                return None;
            }
            match d.split_once('=') {
                Some(("max-age", n)) => max_age = n.trim_matches('"').parse().ok(),
                Some(("s-maxage", n)) => shared = n.trim_matches('"').parse().ok(),
                _ => {}
            }
        }
    }
    shared.or(max_age).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::super::object::{Object, Progress};
    use super::*;

    const IDLE: Duration = Duration::from_secs(5);

    /// A body of `chunks`, then an error if `broken`.
    struct Scripted {
        chunks: Vec<Bytes>,
        broken: bool,
    }

    impl http_body::Body for Scripted {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            if !self.chunks.is_empty() {
                let c = self.chunks.remove(0);
                return Poll::Ready(Some(Ok(http_body::Frame::data(c))));
            }
            if std::mem::take(&mut self.broken) {
                return Poll::Ready(Some(Err(std::io::Error::other("origin reset"))));
            }
            Poll::Ready(None)
        }
    }

    fn response(chunks: &[&'static [u8]], broken: bool) -> http::Response<Scripted> {
        http::Response::builder()
            .header("cache-control", "public, max-age=4")
            .header("transfer-encoding", "chunked")
            .body(Scripted {
                chunks: chunks.iter().map(|c| Bytes::from_static(c)).collect(),
                broken,
            })
            .expect("response")
    }

    #[tokio::test]
    async fn a_whole_body_completes_the_object_without_hop_by_hop_fields() {
        let object = Object::new();
        let mut r = object.reader();
        let n = run(
            Fill::new(object.clone(), 1 << 20),
            Ok(response(&[b"ab", b"c"], false)),
            IDLE,
        )
        .await;
        assert_eq!(n, 3);
        assert_eq!(object.progress(), Progress::Complete);
        let head = object.head().expect("head");
        assert!(head.headers.get("transfer-encoding").is_none());
        assert_eq!(lifetime(&head.headers), Some(Duration::from_secs(4)));
        assert_eq!(r.next().await, Some(Ok(Bytes::from_static(b"ab"))));
        assert_eq!(r.next().await, Some(Ok(Bytes::from_static(b"c"))));
        assert_eq!(r.next().await, None);
    }

    #[tokio::test]
    async fn a_body_that_breaks_fails_the_object_after_its_bytes() {
        let object = Object::new();
        let mut r = object.reader();
        run(
            Fill::new(object.clone(), 1 << 20),
            Ok(response(&[b"ab"], true)),
            IDLE,
        )
        .await;
        assert_eq!(object.progress(), Progress::Failed(Failure::Truncated));
        assert_eq!(r.next().await, Some(Ok(Bytes::from_static(b"ab"))));
        assert_eq!(r.next().await, Some(Err(Failure::Truncated)));
    }

    #[tokio::test]
    async fn no_response_fails_before_the_head() {
        let object = Object::new();
        run::<Scripted>(
            Fill::new(object.clone(), 1 << 20),
            Err(Failure::NoResponse),
            IDLE,
        )
        .await;
        assert_eq!(object.wait_head().await.err(), Some(Failure::NoResponse));
    }

    #[test]
    fn lifetimes_from_cache_control() {
        let h = |v: &str| {
            let mut m = http::HeaderMap::new();
            m.insert(http::header::CACHE_CONTROL, v.parse().expect("value"));
            lifetime(&m)
        };
        assert_eq!(h("public, max-age=40"), Some(Duration::from_secs(40)));
        assert_eq!(h("max-age=40, s-maxage=6"), Some(Duration::from_secs(6)));
        assert_eq!(h("no-store"), None);
        assert_eq!(h("private, max-age=5"), None);
        assert_eq!(h("public"), None);
        assert_eq!(h("max-age=5, no-cache=\"set-cookie\""), None);
        assert_eq!(h("private=\"x\", max-age=5"), None);
    }
}
