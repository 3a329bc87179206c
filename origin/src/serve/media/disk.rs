//! Segments and inits served from the DVR's files once they have left memory.
//!
//! A stored segment never changes: it answers `Range` (206 / 416), `HEAD`, a strong
//! `ETag` with `If-None-Match` (304) and `Last-Modified`, and is cacheable for the DVR
//! window (after which the origin no longer has it).
//!
//! The file is read into one buffer and sent from it: hyper's body has no sendfile
//! path, and a DVR segment (a few hundred KiB to a few MiB) costs one read.

use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;
use http::StatusCode;
use http::header::{ACCEPT_RANGES, CONTENT_RANGE, ETAG, LAST_MODIFIED};

use super::range::ByteRange;
use crate::dvr::{Dvr, Stored};
use crate::error::ServeError;
use crate::http::{Body, full};
use crate::serve::response::builder;

/// What a request for a stored file carries besides its path.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// The `Range` header, parsed.
    pub range: Option<ByteRange>,
    /// The `If-None-Match` header.
    pub if_none_match: Option<String>,
}

/// Answers stored segment `s` (followed by `trailer` when given: HESP's event at the
/// end of a Presentation).
pub async fn segment(
    (dvr, channel): (&Dvr, &str),
    s: &Stored,
    content_type: &'static str,
    cond: &Conditions,
    trailer: Option<Bytes>,
) -> Result<hyper::Response<Body>, ServeError> {
    let seg = &s.past.segment;
    let etag = format!("\"{}-{}-{:08x}-{}\"", seg.msn, seg.start, seg.init, s.bytes);
    let r = file(
        &s.path,
        content_type,
        &cache(dvr, channel),
        (&etag, cond),
        trailer,
    )
    .await;
    if r.is_ok() {
        dvr.stats()
            .served
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    r
}

/// Answers a stored init segment.
pub async fn init(
    (dvr, channel): (&Dvr, &str),
    path: &Path,
    id: u32,
    content_type: &'static str,
    cond: &Conditions,
) -> Result<hyper::Response<Body>, ServeError> {
    let etag = format!("\"init-{id:08x}\"");
    file(
        path,
        content_type,
        &cache(dvr, channel),
        (&etag, cond),
        None,
    )
    .await
}

/// Stored files stay as long as the DVR window: cacheable that long, never changing.
fn cache(dvr: &Dvr, channel: &str) -> String {
    format!("public, max-age={}, immutable", dvr.window_s(channel))
}

async fn file(
    path: &Path,
    content_type: &'static str,
    cache: &str,
    (etag, cond): (&str, &Conditions),
    trailer: Option<Bytes>,
) -> Result<hyper::Response<Body>, ServeError> {
    let gone = || ServeError::NotFound(format!("{} (left the DVR window)", path.display()));
    let modified = tokio::fs::metadata(path)
        .await
        .map_err(|_| gone())?
        .modified()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let head = |status| {
        builder(status, content_type, cache)
            .header(ETAG, etag)
            .header(LAST_MODIFIED, http_date(modified))
            .header(ACCEPT_RANGES, "bytes")
    };
    // RFC 9110 §13.1.2: a GET whose If-None-Match lists the current tag gets 304.
    if cond.if_none_match.as_deref().is_some_and(|v| {
        v.trim() == "*"
            || v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
    }) {
        return Ok(head(StatusCode::NOT_MODIFIED)
            .body(full(""))
            .expect("valid response"));
    }
    let mut body = Bytes::from(tokio::fs::read(path).await.map_err(|_| gone())?);
    if let Some(t) = trailer {
        body = Bytes::from([body, t].concat());
    }
    let total = body.len() as u64;
    let Some(range) = cond.range else {
        return Ok(head(StatusCode::OK)
            .body(full(body))
            .expect("valid response"));
    };
    if range.start >= total {
        return Ok(head(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(CONTENT_RANGE, format!("bytes */{total}"))
            .body(full(""))
            .expect("valid response"));
    }
    let last = range.end.unwrap_or(total - 1).min(total - 1);
    let part = body.slice(range.start as usize..=last as usize);
    Ok(head(StatusCode::PARTIAL_CONTENT)
        .header(
            CONTENT_RANGE,
            format!("bytes {}-{last}/{total}", range.start),
        )
        .body(full(part))
        .expect("valid response"))
}

/// RFC 9110 §5.6.7 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let iso = timeline::time::format_iso8601_micros(i64::try_from(secs * 1_000_000).unwrap_or(0));
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((secs / 86_400) % 7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m: usize = iso[5..7].parse().unwrap_or(1);
    format!(
        "{weekday}, {} {} {} {} GMT",
        &iso[8..10],
        month[m.saturating_sub(1).min(11)],
        &iso[0..4],
        &iso[11..19]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
