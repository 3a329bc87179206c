//! Requests the playback listener has answered, by kind of route: the origin's own
//! account of what reached it (an edge cache's offload is checked against it).

use std::sync::atomic::{AtomicU64, Ordering};

use super::route::Route;
use crate::error::ServeError;

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
