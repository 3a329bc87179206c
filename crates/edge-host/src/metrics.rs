//! `GET /metrics` of the edge node, answered by the node itself: its requests and its
//! cache's work in the OpenMetrics text format (prometheus-client), as the origin's own
//! `/metrics`. The origin offload ratio (`1 − fetches / requests`) is what an operator
//! looks at first.
//!
//! The counters live where the work is done ([`crate::stats`], [`crate::cache`]); each
//! scrape takes one copy of them ([`Scrape`]) and encodes it, so nothing on the request
//! path takes a lock for the metrics.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::EdgeNode;
use crate::cache::{CacheCounts, LAG_BUCKETS_MS, TTFB_BUCKETS_MS};

/// The path the node answers itself (as the origin's own `/metrics`).
pub const PATH: &str = "/metrics";

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The exposition text.
pub fn text(node: &EdgeNode) -> String {
    let mut r = Registry::default();
    r.register_collector(Box::new(Scrape::of(node)));
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut s, &r);
    s
}

/// The node's counters at one scrape.
#[derive(Debug)]
struct Scrape {
    requests: u64,
    blocking: u64,
    refused_tokens: u64,
    instances: (u32, u32),
    cache: Option<CacheScrape>,
}

/// The cache's counters at one scrape.
#[derive(Debug)]
struct CacheScrape {
    counts: CacheCounts,
    evictions: u64,
    expired: u64,
    objects: usize,
    bytes: u64,
}

impl Scrape {
    fn of(node: &EdgeNode) -> Scrape {
        Scrape {
            requests: node.stats.requests(),
            blocking: node.stats.blocking(),
            refused_tokens: node.stats.refused_tokens(),
            instances: node.instances(),
            cache: node.cache().map(|c| {
                let (objects, bytes) = c.usage();
                CacheScrape {
                    counts: c.counts(),
                    evictions: c.evictions(),
                    expired: c.expired(),
                    objects,
                    bytes,
                }
            }),
        }
    }
}

/// One unlabelled metric: its descriptor (a counter's name without `_total`, which the
/// encoder appends) and its value.
fn one<M: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    (name, help): (&str, &str),
    value: M,
) -> Result<(), std::fmt::Error> {
    let m = enc.encode_descriptor(name, help, None, value.metric_type())?;
    value.encode(m)
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn gauge(v: u64) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
}

/// A histogram from counts already bucketed: per-bucket counts over `bounds_ms` (one
/// more for the rest) and their sum in seconds.
#[derive(Debug)]
struct Buckets {
    sum: f64,
    count: u64,
    buckets: Vec<(f64, u64)>,
}

impl Buckets {
    fn new(bounds_ms: &[f64], counts: &[u64], sum_us: u64) -> Buckets {
        let buckets = counts
            .iter()
            .enumerate()
            .map(|(i, n)| (bounds_ms.get(i).map_or(f64::INFINITY, |ms| ms / 1e3), *n))
            .collect();
        Buckets {
            sum: sum_us as f64 / 1e6,
            count: counts.iter().sum(),
            buckets,
        }
    }
}

impl EncodeMetric for Buckets {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = &mut enc;
        one(
            e,
            (
                "weir_edge_requests",
                "Player requests routed to a component (cache hits included).",
            ),
            counter(self.requests),
        )?;
        one(
            e,
            (
                "weir_edge_blocking_requests",
                "Of those, blocking playlist reloads (_HLS_msn).",
            ),
            counter(self.blocking),
        )?;
        one(
            e,
            (
                "weir_edge_instances_busy",
                "Component instances alive now (each request being rendered or held holds one).",
            ),
            gauge(u64::from(self.instances.0)),
        )?;
        one(
            e,
            (
                "weir_edge_instances_limit",
                "Instances that may be alive at once (--max-instances); beyond it, 503.",
            ),
            gauge(u64::from(self.instances.1)),
        )?;
        one(
            e,
            (
                "weir_edge_refused_tokens",
                "Requests refused (403) for a missing, expired or wrong playback token.",
            ),
            counter(self.refused_tokens),
        )?;
        let Some(cache) = &self.cache else {
            return Ok(());
        };
        let c = &cache.counts;
        for (name, help, value) in [
            (
                "weir_edge_cache_hits",
                "Requests answered from an object in the cache (complete or in flight).",
                c.hits,
            ),
            (
                "weir_edge_cache_collapsed",
                "Of the hits, requests that joined an object still being filled.",
                c.collapsed,
            ),
            (
                "weir_edge_cache_misses",
                "Requests that started a fill.",
                c.misses,
            ),
            (
                "weir_edge_cache_bypassed",
                "Requests streamed through uncached (key uncacheable for now).",
                c.bypassed,
            ),
            (
                "weir_edge_cache_origin_fetches",
                "Requests sent to the origin: one per fill or bypass of media (and anything else the origin serves) and of the timelines manifests are rendered from.",
                c.fetches,
            ),
            (
                "weir_edge_cache_origin_fetch_failures",
                "Fills that failed (no response, broken body, too large).",
                c.fetch_failures,
            ),
            (
                "weir_edge_cache_origin_bytes",
                "Body bytes received from the origin.",
                c.bytes_from_origin,
            ),
            (
                "weir_edge_cache_served_bytes",
                "Body bytes sent to players.",
                c.bytes_served,
            ),
            (
                "weir_edge_cache_evictions",
                "Complete objects evicted to keep the byte budget.",
                cache.evictions,
            ),
            (
                "weir_edge_cache_expired",
                "Complete objects removed once past their stale window.",
                cache.expired,
            ),
        ] {
            one(e, (name, help), counter(value))?;
        }
        one(
            e,
            (
                "weir_edge_cache_objects",
                "Objects held (complete and in flight).",
            ),
            gauge(cache.objects as u64),
        )?;
        one(
            e,
            (
                "weir_edge_cache_bytes",
                "Body bytes held (complete and in flight).",
            ),
            gauge(cache.bytes),
        )?;
        one(
            e,
            (
                "weir_edge_cache_origin_ttfb_max_seconds",
                "Longest time from a fill's start to its head.",
            ),
            ConstGauge::new(c.ttfb_max_us as f64 / 1e6),
        )?;
        one(
            e,
            (
                "weir_edge_cache_origin_ttfb_seconds",
                "Fills by the time from their start to the origin's head.",
            ),
            Buckets::new(&TTFB_BUCKETS_MS, &c.ttfb_buckets, c.ttfb_total_us),
        )?;
        one(
            e,
            (
                "weir_edge_cache_delivery_lag_seconds",
                "How long after the edge got each chunk it was handed to a viewer.",
            ),
            Buckets::new(&LAG_BUCKETS_MS, &c.lag, c.lag_total_us),
        )?;
        one(
            e,
            (
                "weir_edge_cache_offload_ratio",
                "Share of player requests the origin never saw (1 - fetches / requests).",
            ),
            ConstGauge::new(c.offload()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_seconds_with_the_rest_at_infinity() {
        let b = Buckets::new(&[0.5, 2.0], &[3, 1, 2], 7_500);
        assert_eq!(b.buckets, vec![(0.0005, 3), (0.002, 1), (f64::INFINITY, 2)]);
        assert_eq!(b.count, 6);
        assert_eq!(b.sum, 0.0075);
    }
}
