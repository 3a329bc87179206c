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
    if let Some(dvr) = origin.dvr() {
        dvr_metrics(&mut s, dvr);
    }
    ok("text/plain; version=0.0.4", "no-store", full(s))
}

/// The DVR's counters and what it holds per rendition.
fn dvr_metrics(s: &mut String, dvr: &crate::dvr::Dvr) {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering::Relaxed;
    let st = dvr.stats();
    for (name, help, v) in [
        (
            "weir_dvr_segments_written_total",
            "Segments written to the DVR.",
            st.segments_written.load(Relaxed),
        ),
        (
            "weir_dvr_bytes_written_total",
            "Bytes of segments written to the DVR.",
            st.bytes_written.load(Relaxed),
        ),
        (
            "weir_dvr_write_errors_total",
            "DVR writes that failed (disk full, I/O error); live serving goes on.",
            st.write_errors.load(Relaxed),
        ),
        (
            "weir_dvr_dropped_total",
            "Segments not stored because the DVR writer was too far behind.",
            st.dropped.load(Relaxed),
        ),
        (
            "weir_dvr_segments_deleted_total",
            "Segments deleted as they left the DVR window.",
            st.segments_deleted.load(Relaxed),
        ),
        (
            "weir_dvr_segments_served_total",
            "Segments served from the DVR's files.",
            st.served.load(Relaxed),
        ),
    ] {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
    }
    s.push_str("# HELP weir_dvr_segments Segments stored on disk per rendition.\n# TYPE weir_dvr_segments gauge\n");
    let usage = dvr.usage();
    for (c, t, n, _) in &usage {
        let _ = writeln!(
            s,
            "weir_dvr_segments{{channel=\"{c}\",rendition=\"{t}\"}} {n}"
        );
    }
    s.push_str(
        "# HELP weir_dvr_bytes Bytes stored on disk per rendition.\n# TYPE weir_dvr_bytes gauge\n",
    );
    for (c, t, _, b) in &usage {
        let _ = writeln!(s, "weir_dvr_bytes{{channel=\"{c}\",rendition=\"{t}\"}} {b}");
    }
}
