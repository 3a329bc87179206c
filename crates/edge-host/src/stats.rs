//! Counters of the edge node, for operators and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests the edge node has answered.
#[derive(Debug, Default)]
pub struct EdgeStats {
    requests: AtomicU64,
    blocking: AtomicU64,
    refused_token: AtomicU64,
}

impl EdgeStats {
    /// Counts one request with `query`.
    pub fn count(&self, query: Option<&str>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        // [HLS §6.2.5.2] a request naming `_HLS_msn` is a blocking playlist reload.
        if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("_HLS_msn="))) {
            self.blocking.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests routed to a component so far (cache hits included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Counts one request refused for its playback token (403).
    pub fn refused_token(&self) {
        self.refused_token.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests refused for a missing, expired or wrong playback token.
    pub fn refused_tokens(&self) -> u64 {
        self.refused_token.load(Ordering::Relaxed)
    }

    /// Of those, blocking playlist reloads (`_HLS_msn`).
    pub fn blocking(&self) -> u64 {
        self.blocking.load(Ordering::Relaxed)
    }
}
