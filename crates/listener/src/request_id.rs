//! Request ids: one per request, in the logs of every line about it and in the
//! `x-request-id` response header, so an operator can follow one viewer's complaint.
//!
//! A client's (or a CDN's) own `x-request-id` is kept when it is a sane token, so one
//! id follows a request from the CDN through the edge to the origin's logs.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

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
