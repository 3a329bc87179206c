//! `/metrics`: the origin's state in the Prometheus text format.

use http::Response;

use super::requests::RequestCounts;
use super::response::ok;
use crate::http::{Body, full};
use crate::store::Origin;

/// `/metrics`: requests answered by kind of route; per channel, requests waiting on it
/// and media bytes held; per rendition, segments held and the newest media sequence
/// number (Prometheus text format 0.0.4).
pub fn metrics(origin: &Origin, requests: &RequestCounts) -> Response<Body> {
    use std::fmt::Write as _;
    let mut s = String::new();
    s.push_str("# HELP weir_requests_total Playback requests answered, by kind of route.\n");
    s.push_str("# TYPE weir_requests_total counter\n");
    for (kind, n) in requests.all() {
        let _ = writeln!(s, "weir_requests_total{{route=\"{kind}\"}} {n}");
    }
    s.push_str("# HELP weir_waiting_requests Requests held until the channel changes (blocking reloads, held media).
");
    s.push_str(
        "# TYPE weir_waiting_requests gauge
",
    );
    let channels: Vec<_> = origin
        .channel_names()
        .into_iter()
        .filter_map(|n| origin.channel(&n))
        .collect();
    for c in &channels {
        let _ = writeln!(
            s,
            "weir_waiting_requests{{channel=\"{}\"}} {}",
            c.name(),
            c.waiting()
        );
    }
    s.push_str(
        "# HELP weir_held_bytes Media bytes held in memory.
# TYPE weir_held_bytes gauge
",
    );
    for c in &channels {
        let _ = writeln!(
            s,
            "weir_held_bytes{{channel=\"{}\"}} {}",
            c.name(),
            c.held_bytes()
        );
    }
    s.push_str(
        "# HELP weir_segments Segments held per rendition.
# TYPE weir_segments gauge
",
    );
    s.push_str(
        "# HELP weir_last_msn Newest media sequence number per rendition.
# TYPE weir_last_msn gauge
",
    );
    for c in &channels {
        for t in &c.snapshot().tracks {
            let labels = format!("channel=\"{}\",rendition=\"{}\"", c.name(), t.meta.id);
            let _ = writeln!(s, "weir_segments{{{labels}}} {}", t.segments.len());
            if let Some(last) = t.segments.back() {
                let _ = writeln!(s, "weir_last_msn{{{labels}}} {}", last.msn);
            }
        }
    }
    ok("text/plain; version=0.0.4", "no-store", full(s))
}
