//! `/health` and `/ready`: what a load balancer and an operator ask first.
//!
//! - `/health`: 200 while the process answers (it is up; nothing else is checked).
//! - `/ready`: per channel, whether it is live (ingest within 3 target durations) and
//!   since when (or since when it is not), as JSON; 200. With `?channel=NAME`: 200 when
//!   that channel is live, 503 when it is not or does not exist, for a health check
//!   that follows one channel.

use http::{Response, StatusCode};
use timeline::time::format_iso8601_micros;

use super::response::{builder, ok};
use crate::http::{Body, full};
use crate::store::Origin;

/// `/health`.
pub fn health() -> Response<Body> {
    ok("text/plain; charset=utf-8", "no-store", full("ok\n"))
}

/// `/ready[?channel=NAME]`.
pub fn ready(origin: &Origin, query: &str) -> Response<Body> {
    let now = crate::clock::now_us();
    let only = query.split('&').find_map(|p| p.strip_prefix("channel="));
    let channels: Vec<serde_json::Value> = origin
        .channel_names()
        .into_iter()
        .filter(|n| only.is_none_or(|o| o == n))
        .filter_map(|n| origin.channel(&n))
        .map(|c| {
            let (live, since) = c.liveness(now);
            serde_json::json!({
                "name": c.name(),
                "live": live,
                "since": format_iso8601_micros(since),
                "last_ingest": format_iso8601_micros(c.last_activity_us()),
            })
        })
        .collect();
    let status = match only {
        Some(_) if !channels.iter().any(|c| c["live"] == true) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    let body = serde_json::json!({ "ready": true, "channels": channels }).to_string();
    builder(status, "application/json", "no-store")
        .body(full(body))
        .expect("valid response")
}
