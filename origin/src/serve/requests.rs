//! Requests the playback listener has answered, by kind of route: the origin's own
//! account of what reached it (an edge cache's offload is checked against it).

use std::sync::atomic::{AtomicU64, Ordering};

use super::route::Route;
use crate::error::ServeError;
use crate::store::stats::Protocol;

/// The route kinds counted, in `/metrics` order.
pub const KINDS: [&str; 19] = [
    "index",
    "time",
    "channels",
    "metrics",
    "health",
    "script",
    "vendor",
    "master",
    "mpd",
    "hesp",
    "lhls_master",
    "lhls_playlist",
    "playlist",
    "timeline",
    "init",
    "segment",
    "part",
    "hesp_packet",
    "unknown",
];

/// One counter per route kind.
#[derive(Debug, Default)]
pub struct RequestCounts([AtomicU64; KINDS.len()]);

impl RequestCounts {
    /// Counts one request for `route`.
    pub fn count(&self, route: &Result<Route, ServeError>) {
        let kind = route.as_ref().map_or("unknown", Route::kind);
        if let Some(i) = KINDS.iter().position(|k| *k == kind) {
            self.0[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Each kind with its count.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        KINDS
            .iter()
            .zip(&self.0)
            .map(|(k, n)| (*k, n.load(Ordering::Relaxed)))
    }
}

impl Route {
    /// The kind counted for this route (one of [`KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Route::Index => "index",
            Route::Time => "time",
            Route::Channels => "channels",
            Route::Metrics => "metrics",
            Route::Health | Route::Ready => "health",
            Route::Script { .. } => "script",
            Route::Vendor { .. } => "vendor",
            Route::Master { .. } => "master",
            Route::Mpd { .. } => "mpd",
            Route::Hesp { .. } => "hesp",
            Route::LhlsMaster { .. } => "lhls_master",
            Route::LhlsMedia { .. } => "lhls_playlist",
            Route::Media { .. } => "playlist",
            Route::Timeline { .. } => "timeline",
            Route::Init { .. } => "init",
            Route::Segment { .. } => "segment",
            Route::Part { .. } => "part",
            Route::HespPacket { .. } => "hesp_packet",
        }
    }
}

impl Route {
    /// The channel a route names, if any.
    pub fn channel(&self) -> Option<&str> {
        match self {
            Route::Master { channel }
            | Route::Timeline { channel }
            | Route::LhlsMaster { channel }
            | Route::LhlsMedia { channel, .. }
            | Route::Hesp { channel }
            | Route::HespPacket { channel, .. }
            | Route::Mpd { channel }
            | Route::Media { channel, .. }
            | Route::Init { channel, .. }
            | Route::Segment { channel, .. }
            | Route::Part { channel, .. } => Some(channel),
            _ => None,
        }
    }

    /// The delivery protocol the route belongs to, as its URL tells. Init segments
    /// are shared by every protocol, and so count as `other`.
    pub fn protocol(&self) -> Protocol {
        match self {
            Route::Master { .. } | Route::Media { .. } | Route::Part { .. } => Protocol::Hls,
            Route::Segment { period: None, .. } => Protocol::Hls,
            Route::Segment { hesp: true, .. } | Route::Hesp { .. } | Route::HespPacket { .. } => {
                Protocol::Hesp
            }
            Route::Segment { .. } | Route::Mpd { .. } => Protocol::Dash,
            Route::LhlsMaster { .. } | Route::LhlsMedia { .. } => Protocol::Lhls,
            Route::Timeline { .. } => Protocol::Timeline,
            _ => Protocol::Other,
        }
    }
}

/// The reason label of an answer: `ok`, or why it failed.
pub fn reason(result: &Result<(), &ServeError>) -> &'static str {
    use manifest::policy::Failure;
    match result {
        Ok(()) => "ok",
        Err(ServeError::NotFound(_)) => "not_found",
        Err(ServeError::Timeout(_)) => "hold_timeout",
        Err(ServeError::Method(_)) => "method",
        Err(ServeError::Manifest(f)) => match f {
            Failure::Directive(_) => "bad_directive",
            Failure::UnknownChannel(_) => "unknown_channel",
            Failure::Manifest(_) => "not_renderable",
            Failure::Timeout(_) => "hold_timeout",
            Failure::StartOver(_) => "bad_start_over",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind() {
        let c = RequestCounts::default();
        c.count(&Route::parse("/live/v1/part-3.1.m4s"));
        c.count(&Route::parse("/live/v1/part-3.2.m4s"));
        c.count(&Route::parse("/nope/x/y/z"));
        let all: Vec<_> = c.all().filter(|(_, n)| *n > 0).collect();
        assert_eq!(all, [("part", 2), ("unknown", 1)]);
    }
}
