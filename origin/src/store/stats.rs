//! What a channel counts for `/metrics`: per rendition, its ingest (bytes, the gap
//! between chunk arrivals, parts and segments published); per channel, its playback
//! (answers by protocol, status and reason, bytes sent by protocol, how long requests
//! were held). The counters live with the channel and go with it, so the metrics of
//! removed channels never pile up, whatever names encoders push to.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

/// Upper bounds (seconds) of the chunk-arrival-gap histogram: from a chunk per frame
/// (~17-40 ms) to a stalled encoder.
pub const CHUNK_GAP_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
];

/// Upper bounds (seconds) of the hold-time histogram: a part's duration and below for a
/// blocking reload that is on time, up to the hold limit (3 target durations).
pub const HOLD_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// One rendition's ingest.
#[derive(Debug)]
pub struct TrackStats {
    /// Media bytes received (`mdat` payloads).
    pub ingest_bytes: Counter,
    /// Seconds between the arrivals of consecutive chunks.
    pub chunk_gap: Histogram,
    /// Parts published.
    pub parts: Counter,
    /// Segments completed.
    pub segments: Counter,
    last_chunk_us: AtomicI64,
}

impl Default for TrackStats {
    fn default() -> Self {
        TrackStats {
            ingest_bytes: Counter::default(),
            chunk_gap: Histogram::new(CHUNK_GAP_BUCKETS),
            parts: Counter::default(),
            segments: Counter::default(),
            last_chunk_us: AtomicI64::new(0),
        }
    }
}

impl TrackStats {
    /// Counts a chunk of `bytes` media bytes that arrived at `arrival_us`.
    pub fn chunk(&self, bytes: u64, arrival_us: i64) {
        self.ingest_bytes.inc_by(bytes);
        let last = self.last_chunk_us.swap(arrival_us, Ordering::Relaxed);
        if last > 0 && arrival_us >= last {
            self.chunk_gap.observe((arrival_us - last) as f64 / 1e6);
        }
    }
}

/// The delivery protocol a playback URL belongs to (the label of answers and bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// HLS and LL-HLS: multivariant and media playlists, `seg-N`, parts, inits (HLS's
    /// URLs serve both; LL-HLS is told apart by its parts and blocking reloads).
    Hls,
    /// DASH and LL-DASH: the MPD and its `p{period}/seg-N` segments.
    Dash,
    /// L-HLS playlists (their segments are HLS's).
    Lhls,
    /// HESP: its manifest, initialization packets and continuation segments.
    Hesp,
    /// The timeline API the edge renders from.
    Timeline,
    /// Everything else: the page, the clock, metrics, health.
    Other,
}

impl Protocol {
    /// Every protocol, in label order.
    pub const ALL: [Protocol; 6] = [
        Protocol::Hls,
        Protocol::Dash,
        Protocol::Lhls,
        Protocol::Hesp,
        Protocol::Timeline,
        Protocol::Other,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Hls => "hls",
            Protocol::Dash => "dash",
            Protocol::Lhls => "lhls",
            Protocol::Hesp => "hesp",
            Protocol::Timeline => "timeline",
            Protocol::Other => "other",
        }
    }
}

/// What a held request waited for (the label of the hold histogram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldKind {
    /// A playlist, MPD or timeline: a blocking reload, or the start-up hold.
    Manifest,
    /// A segment, part or packet that did not exist yet.
    Media,
}

/// One channel's playback: what its viewers were answered.
#[derive(Debug)]
pub struct ServeStats {
    /// Answers by (protocol, status, reason); the keys are bounded by construction
    /// (6 protocols, the statuses and reasons weir answers with).
    answers: Mutex<HashMap<(Protocol, u16, &'static str), Counter>>,
    bytes: [Counter; 6],
    hold: [Histogram; 2],
}

impl Default for ServeStats {
    fn default() -> Self {
        ServeStats {
            answers: Mutex::default(),
            bytes: Default::default(),
            hold: [Histogram::new(HOLD_BUCKETS), Histogram::new(HOLD_BUCKETS)],
        }
    }
}

impl ServeStats {
    /// Counts one answer.
    pub fn answer(&self, protocol: Protocol, status: u16, reason: &'static str) {
        self.answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((protocol, status, reason))
            .or_default()
            .inc();
    }

    /// The counter of body bytes sent for `protocol` (shared: a body adds to it as
    /// its frames go out).
    pub fn bytes(&self, protocol: Protocol) -> Counter {
        let i = Protocol::ALL
            .iter()
            .position(|p| *p == protocol)
            .unwrap_or(5);
        self.bytes[i].clone()
    }

    /// Records a request held for `waited` until what it asked for existed (or the hold
    /// ended).
    pub fn held(&self, kind: HoldKind, waited: Duration) {
        self.hold[kind as usize].observe(waited.as_secs_f64());
    }

    /// Every answer counter: ((protocol, status, reason), count).
    pub fn answers(&self) -> Vec<((Protocol, u16, &'static str), u64)> {
        let map = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<_> = map.iter().map(|(k, c)| (*k, c.get())).collect();
        v.sort_by_key(|((p, s, r), _)| (p.label(), *s, *r));
        v
    }

    /// Bytes sent per protocol.
    pub fn bytes_sent(&self) -> impl Iterator<Item = (Protocol, u64)> + '_ {
        Protocol::ALL
            .iter()
            .zip(&self.bytes)
            .map(|(p, c)| (*p, c.get()))
    }

    /// The hold histograms: (kind label, histogram).
    pub fn holds(&self) -> [(&'static str, &Histogram); 2] {
        [("manifest", &self.hold[0]), ("media", &self.hold[1])]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_gaps_are_measured_between_arrivals() {
        let t = TrackStats::default();
        t.chunk(100, 1_000_000);
        t.chunk(50, 1_040_000);
        assert_eq!(t.ingest_bytes.get(), 150);
        // One gap observed (40 ms); the first chunk has none.
        let mut text = String::new();
        let mut reg = prometheus_client::registry::Registry::default();
        reg.register("gap", "", t.chunk_gap.clone());
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        assert!(text.contains("gap_count 1"), "{text}");
        assert!(text.contains("gap_bucket{le=\"0.04\"} 1"), "{text}");
    }

    #[test]
    fn answers_and_bytes_by_protocol() {
        let s = ServeStats::default();
        s.answer(Protocol::Hls, 200, "ok");
        s.answer(Protocol::Hls, 200, "ok");
        s.answer(Protocol::Dash, 404, "not_found");
        s.bytes(Protocol::Dash).inc_by(10);
        assert_eq!(
            s.answers(),
            [
                ((Protocol::Dash, 404, "not_found"), 1),
                ((Protocol::Hls, 200, "ok"), 2)
            ]
        );
        assert_eq!(
            s.bytes_sent().find(|(p, _)| *p == Protocol::Dash),
            Some((Protocol::Dash, 10))
        );
    }
}
