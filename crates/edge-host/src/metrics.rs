//! `GET /metrics` of the edge node, answered by the node itself: its requests and its
//! cache's work in the Prometheus text format (0.0.4). The origin offload ratio
//! (`1 − fetches / requests`) is what an operator looks at first.

use std::fmt::Write as _;

use crate::EdgeNode;

/// The path the node answers itself (as the origin's own `/metrics`).
pub const PATH: &str = "/metrics";

/// The exposition text.
pub fn text(node: &EdgeNode) -> String {
    let mut s = String::new();

    metric(
        &mut s,
        "weir_edge_requests_total",
        "counter",
        "Player requests routed to a component (cache hits included).",
        node.stats.requests() as f64,
    );
    metric(
        &mut s,
        "weir_edge_blocking_requests_total",
        "counter",
        "Of those, blocking playlist reloads (_HLS_msn).",
        node.stats.blocking() as f64,
    );
    let (busy, limit) = node.instances();
    metric(
        &mut s,
        "weir_edge_instances_busy",
        "gauge",
        "Component instances alive now (each request being rendered or held holds one).",
        f64::from(busy),
    );
    metric(
        &mut s,
        "weir_edge_instances_limit",
        "gauge",
        "Instances that may be alive at once (--max-instances); beyond it, 503.",
        f64::from(limit),
    );
    metric(
        &mut s,
        "weir_edge_refused_tokens_total",
        "counter",
        "Requests refused (403) for a missing, expired or wrong playback token.",
        node.stats.refused_tokens() as f64,
    );
    let Some(cache) = node.cache() else {
        return s;
    };
    let c = cache.counts();
    let (objects, bytes) = cache.usage();
    for (name, kind, help, value) in [
        (
            "hits_total",
            "counter",
            "Requests answered from an object in the cache (complete or in flight).",
            c.hits,
        ),
        (
            "collapsed_total",
            "counter",
            "Of the hits, requests that joined an object still being filled.",
            c.collapsed,
        ),
        (
            "misses_total",
            "counter",
            "Requests that started a fill.",
            c.misses,
        ),
        (
            "bypassed_total",
            "counter",
            "Requests streamed through uncached (key uncacheable for now).",
            c.bypassed,
        ),
        (
            "origin_fetches_total",
            "counter",
            "Requests sent to the origin: one per fill or bypass of media (and anything else the origin serves) and of the timelines manifests are rendered from.",
            c.fetches,
        ),
        (
            "origin_fetch_failures_total",
            "counter",
            "Fills that failed (no response, broken body, too large).",
            c.fetch_failures,
        ),
        (
            "origin_bytes_total",
            "counter",
            "Body bytes received from the origin.",
            c.bytes_from_origin,
        ),
        (
            "served_bytes_total",
            "counter",
            "Body bytes sent to players.",
            c.bytes_served,
        ),
        (
            "evictions_total",
            "counter",
            "Complete objects evicted to keep the byte budget.",
            cache.evictions(),
        ),
        (
            "expired_total",
            "counter",
            "Complete objects removed once past their stale window.",
            cache.expired(),
        ),
        (
            "objects",
            "gauge",
            "Objects held (complete and in flight).",
            objects as u64,
        ),
        (
            "bytes",
            "gauge",
            "Body bytes held (complete and in flight).",
            bytes,
        ),
    ] {
        metric(
            &mut s,
            &format!("weir_edge_cache_{name}"),
            kind,
            help,
            value as f64,
        );
    }
    metric(
        &mut s,
        "weir_edge_cache_origin_ttfb_max_seconds",
        "gauge",
        "Longest time from a fill's start to its head.",
        c.ttfb_max_us as f64 / 1e6,
    );
    histogram(
        &mut s,
        (
            "weir_edge_cache_origin_ttfb_seconds",
            "Fills by the time from their start to the origin's head.",
        ),
        (&crate::cache::TTFB_BUCKETS_MS, &c.ttfb_buckets),
        Some(c.ttfb_total_us as f64 / 1e6),
    );
    histogram(
        &mut s,
        (
            "weir_edge_cache_delivery_lag_seconds",
            "How long after the edge got each chunk it was handed to a viewer.",
        ),
        (&crate::cache::LAG_BUCKETS_MS, &c.lag),
        None,
    );
    metric(
        &mut s,
        "weir_edge_cache_offload_ratio",
        "gauge",
        "Share of player requests the origin never saw (1 - fetches / requests).",
        c.offload(),
    );
    s
}

/// Writes one metric with its help and type lines.
fn metric(s: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    let _ = writeln!(
        s,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// Writes one histogram: cumulative buckets (bounds in ms, written in seconds), then
/// the count and, when kept, the sum (seconds).
fn histogram(
    s: &mut String,
    (name, help): (&str, &str),
    (bounds_ms, counts): (&[f64], &[u64]),
    sum: Option<f64>,
) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} histogram");
    let mut cumulative = 0;
    for (i, n) in counts.iter().enumerate() {
        cumulative += n;
        let le = bounds_ms
            .get(i)
            .map_or("+Inf".to_string(), |ms| format!("{}", ms / 1e3));
        let _ = writeln!(s, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    if let Some(sum) = sum {
        let _ = writeln!(s, "{name}_sum {sum}");
    }
    let _ = writeln!(s, "{name}_count {cumulative}");
}
