//! What the cache has done, for operators and tests: hits, misses, collapsed waiters,
//! origin fetches, bytes from the cache against bytes from the origin, and how long the
//! origin took to answer each fill (time to first byte).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters of one cache (monotonic; read them as differences).
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    collapsed: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
    fetches: AtomicU64,
    fetch_failures: AtomicU64,
    bytes_from_origin: AtomicU64,
    bytes_served: AtomicU64,
    ttfb_count: AtomicU64,
    ttfb_total_us: AtomicU64,
    ttfb_max_us: AtomicU64,
    lag: [AtomicU64; LAG_BUCKETS_MS.len() + 1],
    lag_total_us: AtomicU64,
    ttfb_buckets: [AtomicU64; TTFB_BUCKETS_MS.len() + 1],
}

/// Upper bounds (ms) of the fill time-to-head histogram's buckets (one more for the
/// rest): held fills (a preload-hinted part, a blocking reload) take up to seconds.
pub const TTFB_BUCKETS_MS: [f64; 14] = [
    0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

/// The bucket of `bounds` (upper bounds, ms) that holds `d`.
fn bucket(bounds: &[f64], d: Duration) -> usize {
    let ms = d.as_secs_f64() * 1e3;
    bounds.iter().position(|b| ms <= *b).unwrap_or(bounds.len())
}

/// Upper bounds (ms) of the delivery-lag histogram's buckets (one more for the rest).
pub const LAG_BUCKETS_MS: [f64; 14] = [
    0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 25.0, 50.0, 100.0,
];

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Requests answered from an object already in the cache (complete or in flight).
    pub hits: u64,
    /// Of the hits, requests that joined an object still being filled (collapsed).
    pub collapsed: u64,
    /// Requests that started a fill.
    pub misses: u64,
    /// Requests streamed through uncached (their key is uncacheable for now).
    pub bypassed: u64,
    /// Requests sent to the origin: one per fill or bypass of media (and everything
    /// else the origin serves) and of the timelines manifests are rendered from.
    pub fetches: u64,
    /// Of those, fills that failed (no response, broken body, too large).
    pub fetch_failures: u64,
    /// Body bytes received from the origin.
    pub bytes_from_origin: u64,
    /// Body bytes sent to players.
    pub bytes_served: u64,
    /// Fills whose head arrived.
    pub ttfb_count: u64,
    /// Sum of their times to the head, µs.
    pub ttfb_total_us: u64,
    /// Longest of them, µs.
    pub ttfb_max_us: u64,
    /// Chunks handed to a viewer by how long after the edge got them: counts per bucket
    /// of [`LAG_BUCKETS_MS`], and past the last one.
    pub lag: [u64; LAG_BUCKETS_MS.len() + 1],
    /// Sum of those delays, µs.
    pub lag_total_us: u64,
    /// Fills by their time to head: counts per bucket of [`TTFB_BUCKETS_MS`], and past
    /// the last one.
    pub ttfb_buckets: [u64; TTFB_BUCKETS_MS.len() + 1],
}

impl CacheCounts {
    /// The share of player requests the origin never saw (1 − fetches / requests).
    pub fn offload(&self) -> f64 {
        let requests = self.hits + self.misses + self.bypassed;
        if requests == 0 {
            return 0.0;
        }
        1.0 - self.fetches as f64 / requests as f64
    }
}

impl CacheStats {
    pub(crate) fn hit(&self, in_flight: bool) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        if in_flight {
            self.collapsed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn bypass(&self) {
        self.bypassed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fetch(&self) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fetch_failed(&self) {
        self.fetch_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn origin_bytes(&self, bytes: u64) {
        self.bytes_from_origin.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn served(&self, bytes: u64) {
        self.bytes_served.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn lag(&self, d: Duration) {
        self.lag[bucket(&LAG_BUCKETS_MS, d)].fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.lag_total_us.fetch_add(us, Ordering::Relaxed);
    }

    pub(crate) fn ttfb(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.ttfb_count.fetch_add(1, Ordering::Relaxed);
        self.ttfb_total_us.fetch_add(us, Ordering::Relaxed);
        self.ttfb_max_us.fetch_max(us, Ordering::Relaxed);
        self.ttfb_buckets[bucket(&TTFB_BUCKETS_MS, d)].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn counts(&self) -> CacheCounts {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheCounts {
            hits: l(&self.hits),
            collapsed: l(&self.collapsed),
            misses: l(&self.misses),
            bypassed: l(&self.bypassed),
            fetches: l(&self.fetches),
            fetch_failures: l(&self.fetch_failures),
            bytes_from_origin: l(&self.bytes_from_origin),
            bytes_served: l(&self.bytes_served),
            ttfb_count: l(&self.ttfb_count),
            ttfb_total_us: l(&self.ttfb_total_us),
            ttfb_max_us: l(&self.ttfb_max_us),
            lag: std::array::from_fn(|i| l(&self.lag[i])),
            lag_total_us: l(&self.lag_total_us),
            ttfb_buckets: std::array::from_fn(|i| l(&self.ttfb_buckets[i])),
        }
    }
}
