//! `/metrics`: the origin's state in the OpenMetrics text format (prometheus-client).
//!
//! One collector reads everything at scrape time from where it is kept: the request
//! counts of the playback service, and per channel its answers, bytes and holds and per
//! rendition its ingest counters ([`crate::store::stats`]). Nothing is registered per
//! channel, so a removed channel's series disappear with it.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use http::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::requests::RequestCounts;
use super::response::ok;
use crate::http::{Body, full};
use crate::store::Origin;
use crate::store::stats::ServeStats;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of one series.
type Labels = Vec<(&'static str, String)>;

/// The origin's metrics, read at each scrape.
#[derive(Debug)]
pub struct OriginMetrics {
    origin: Arc<Origin>,
    requests: Arc<RequestCounts>,
    unknown: Arc<ServeStats>,
}

/// The registry `/metrics` encodes: the origin's one collector.
pub fn registry(
    origin: Arc<Origin>,
    requests: Arc<RequestCounts>,
    unknown: Arc<ServeStats>,
) -> Registry {
    let mut r = Registry::default();
    r.register_collector(Box::new(OriginMetrics {
        origin,
        requests,
        unknown,
    }));
    r
}

/// `/metrics`.
pub fn metrics(registry: &Registry) -> Response<Body> {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut s, registry);
    ok(CONTENT_TYPE, "no-store", full(s))
}

/// One metric family: its descriptor, then each labelled value.
fn family<M: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    (name, help, kind): (&str, &str, MetricType),
    rows: impl IntoIterator<Item = (Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        value.encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn gauge(v: u64) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
}

impl Collector for OriginMetrics {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use MetricType::{Counter, Gauge, Histogram};
        let o = &self.origin;
        family(
            &mut enc,
            (
                "weir_requests",
                "Playback requests answered, by kind of route.",
                Counter,
            ),
            self.requests
                .all()
                .map(|(k, n)| (vec![("route", k.to_string())], counter(n))),
        )?;
        let channels: Vec<_> = o
            .channel_names()
            .into_iter()
            .filter_map(|n| o.channel(&n))
            .collect();
        family(
            &mut enc,
            ("weir_channels", "Live channels held in memory.", Gauge),
            [(Labels::new(), gauge(channels.len() as u64))],
        )?;
        let ch = |c: &crate::store::Channel| vec![("channel", c.name().to_string())];
        family(
            &mut enc,
            (
                "weir_waiting_requests",
                "Requests held until the channel changes (blocking reloads, held media).",
                Gauge,
            ),
            channels.iter().map(|c| (ch(c), gauge(c.waiting() as u64))),
        )?;
        family(
            &mut enc,
            ("weir_held_bytes", "Media bytes held in memory.", Gauge),
            channels.iter().map(|c| (ch(c), gauge(c.held_bytes()))),
        )?;

        // Per rendition: what the snapshot lists, and the ingest counters.
        let snaps: Vec<_> = channels.iter().map(|c| (c, c.snapshot())).collect();
        let rendition = |c: &crate::store::Channel, id: &str| {
            vec![
                ("channel", c.name().to_string()),
                ("rendition", id.to_string()),
            ]
        };
        family(
            &mut enc,
            ("weir_segments", "Segments held per rendition.", Gauge),
            snaps.iter().flat_map(|(c, s)| {
                s.tracks
                    .iter()
                    .map(|t| (rendition(c, &t.meta.id), gauge(t.segments.len() as u64)))
            }),
        )?;
        family(
            &mut enc,
            (
                "weir_last_msn",
                "Newest media sequence number per rendition.",
                Gauge,
            ),
            snaps.iter().flat_map(|(c, s)| {
                s.tracks.iter().filter_map(|t| {
                    t.segments
                        .back()
                        .map(|g| (rendition(c, &t.meta.id), gauge(g.msn)))
                })
            }),
        )?;
        family(
            &mut enc,
            (
                "weir_ingest_bitrate_bps",
                "Measured bit rate of each rendition (peak segment, as BANDWIDTH).",
                Gauge,
            ),
            snaps.iter().flat_map(|(c, s)| {
                s.tracks
                    .iter()
                    .map(|t| (rendition(c, &t.meta.id), gauge(t.meta.bandwidth)))
            }),
        )?;
        let tracks: Vec<_> = channels
            .iter()
            .flat_map(|c| c.track_stats().into_iter().map(move |(id, t)| (c, id, t)))
            .collect();
        family(
            &mut enc,
            (
                "weir_ingest_bytes",
                "Media bytes received per rendition.",
                Counter,
            ),
            tracks
                .iter()
                .map(|(c, id, t)| (rendition(c, id), counter(t.ingest_bytes.get()))),
        )?;
        family(
            &mut enc,
            (
                "weir_ingest_chunk_gap_seconds",
                "Time between the arrivals of consecutive ingest chunks per rendition.",
                Histogram,
            ),
            tracks
                .iter()
                .map(|(c, id, t)| (rendition(c, id), t.chunk_gap.clone())),
        )?;
        family(
            &mut enc,
            (
                "weir_parts_published",
                "LL-HLS parts published per rendition.",
                Counter,
            ),
            tracks
                .iter()
                .map(|(c, id, t)| (rendition(c, id), counter(t.parts.get()))),
        )?;
        family(
            &mut enc,
            (
                "weir_segments_published",
                "Segments completed per rendition.",
                Counter,
            ),
            tracks
                .iter()
                .map(|(c, id, t)| (rendition(c, id), counter(t.segments.get()))),
        )?;

        // Per channel (and for requests naming no live channel, channel=""): answers,
        // bytes, holds.
        let serving: Vec<(String, &ServeStats)> = channels
            .iter()
            .map(|c| (c.name().to_string(), c.serve_stats()))
            .chain([(String::new(), &*self.unknown)])
            .collect();
        family(
            &mut enc,
            (
                "weir_responses",
                "Playback answers by channel, protocol, status and reason.",
                Counter,
            ),
            serving.iter().flat_map(|(name, s)| {
                s.answers()
                    .into_iter()
                    .map(move |((p, status, reason), n)| {
                        (
                            vec![
                                ("channel", name.clone()),
                                ("protocol", p.label().to_string()),
                                ("status", status.to_string()),
                                ("reason", reason.to_string()),
                            ],
                            counter(n),
                        )
                    })
            }),
        )?;
        family(
            &mut enc,
            (
                "weir_sent_bytes",
                "Response body bytes sent, by channel and protocol.",
                Counter,
            ),
            serving.iter().flat_map(|(name, s)| {
                s.bytes_sent().filter(|(_, n)| *n > 0).map(move |(p, n)| {
                    (
                        vec![
                            ("channel", name.clone()),
                            ("protocol", p.label().to_string()),
                        ],
                        counter(n),
                    )
                })
            }),
        )?;
        family(
            &mut enc,
            (
                "weir_hold_seconds",
                "How long requests for what did not exist yet were held (blocking reloads, \
                 the start-up hold, media ahead of the live edge).",
                Histogram,
            ),
            serving.iter().flat_map(|(name, s)| {
                s.holds().into_iter().map(move |(kind, h)| {
                    (
                        vec![("channel", name.clone()), ("kind", kind.to_string())],
                        h.clone(),
                    )
                })
            }),
        )?;
        if let Some(dvr) = o.dvr() {
            dvr_metrics(&mut enc, dvr)?;
        }
        Ok(())
    }
}

/// The DVR's counters and what it holds per rendition.
fn dvr_metrics(enc: &mut DescriptorEncoder, dvr: &crate::dvr::Dvr) -> Result<(), std::fmt::Error> {
    let st = dvr.stats();
    for (name, help, v) in [
        (
            "weir_dvr_segments_written",
            "Segments written to the DVR.",
            &st.segments_written,
        ),
        (
            "weir_dvr_bytes_written",
            "Bytes of segments written to the DVR.",
            &st.bytes_written,
        ),
        (
            "weir_dvr_write_errors",
            "DVR writes that failed (disk full, I/O error); live serving goes on.",
            &st.write_errors,
        ),
        (
            "weir_dvr_dropped",
            "Segments not stored because the DVR writer was too far behind.",
            &st.dropped,
        ),
        (
            "weir_dvr_segments_deleted",
            "Segments deleted as they left the DVR window.",
            &st.segments_deleted,
        ),
        (
            "weir_dvr_segments_served",
            "Segments served from the DVR's files.",
            &st.served,
        ),
    ] {
        family(
            enc,
            (name, help, MetricType::Counter),
            [(Labels::new(), counter(v.load(Relaxed)))],
        )?;
    }
    let usage = dvr.usage();
    let labels = |c: &str, t: &str| vec![("channel", c.to_string()), ("rendition", t.to_string())];
    family(
        enc,
        (
            "weir_dvr_segments",
            "Segments stored on disk per rendition.",
            MetricType::Gauge,
        ),
        usage
            .iter()
            .map(|(c, t, n, _)| (labels(c, t), gauge(*n as u64))),
    )?;
    family(
        enc,
        (
            "weir_dvr_bytes",
            "Bytes stored on disk per rendition.",
            MetricType::Gauge,
        ),
        usage.iter().map(|(c, t, _, b)| (labels(c, t), gauge(*b))),
    )
}
