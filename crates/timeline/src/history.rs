//! Start-over: a snapshot that reaches back from the live window into the DVR window.
//!
//! The origin keeps complete segments on disk for much longer than it keeps them in
//! memory. A start-over request (`?start=`, optional `end=`) lists, per rendition, the
//! stored segments from the requested instant on followed by the live ones, so that
//! one renderer serves both: the result is an ordinary [`ChannelSnapshot`] whose window
//! is exactly what it lists.

use std::sync::Arc;

use imbl::Vector;

use crate::snapshot::StartOver;
use crate::{ChannelSnapshot, Segment, TrackSnapshot};

/// One segment of a rendition's DVR history, as the disk index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastSegment {
    /// The segment (complete; its parts are not kept).
    pub segment: Arc<Segment>,
    /// Its discontinuity sequence number (DASH Period, HESP Presentation).
    pub period: u64,
    /// Start (ticks) of its period, as recorded when the period's first segment was cut.
    pub period_start: u64,
}

/// The instants a start-over request asks for, Unix microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Segments that end after it are listed.
    pub start_us: i64,
    /// Segments that start before it are listed (open-ended without).
    pub end_us: Option<i64>,
}

impl Span {
    /// The normalized query naming this span (whole Unix seconds, rounded down, so a
    /// playlist's URLs stay the same whatever form the client used).
    pub fn query(&self) -> String {
        let secs = |us: i64| us.div_euclid(1_000_000);
        match self.end_us {
            Some(e) => format!("start={}&end={}", secs(self.start_us), secs(e)),
            None => format!("start={}", secs(self.start_us)),
        }
    }
}

impl ChannelSnapshot {
    /// This snapshot extended back to `span.start_us` with each rendition's `history`
    /// (oldest first; what is also held in memory is taken from memory), and cut at
    /// `span.end_us`. Its window is what it lists; `start_over` is set. Without a
    /// wall-clock anchor there is nothing to place an instant on: the snapshot is
    /// returned as it is, marked.
    pub fn start_over(&self, span: Span, history: impl Fn(&str) -> Vec<PastSegment>) -> Self {
        let mut out = self.clone();
        let mut ended = span.end_us.is_some();
        let mut widest = 0usize;
        if self.epoch_us.is_some() {
            for t in &mut out.tracks {
                let past = history(&t.meta.id);
                let (track, reaches_end) = self.span_of(t, &past, span);
                *t = track;
                ended &= reaches_end;
                widest = widest.max(t.complete_count());
            }
        }
        if ended {
            // Complete: nothing past the end is listed, not even a segment in progress.
            for t in &mut out.tracks {
                if t.segments.back().is_some_and(|s| !s.complete) {
                    t.segments.pop_back();
                }
            }
        }
        out.config.window_segments = u32::try_from(widest).unwrap_or(u32::MAX).max(1);
        out.start_over = Some(StartOver {
            query: span.query(),
            ended,
        });
        out
    }

    /// Track `t` over `span`, and whether its media reaches the span's end.
    fn span_of(
        &self,
        t: &TrackSnapshot,
        past: &[PastSegment],
        span: Span,
    ) -> (TrackSnapshot, bool) {
        let ts = t.meta.timescale;
        let wall = |ticks: u64| self.wallclock_us(ticks, ts).unwrap_or(i64::MIN);
        let wanted = |s: &Segment| {
            wall(s.end()) > span.start_us && span.end_us.is_none_or(|e| wall(s.start) < e)
        };
        let first_live = t.segments.front().map_or(u64::MAX, |s| s.msn);
        let mut out = t.clone();
        out.segments = Vector::new();
        out.period_starts.clear();
        let mut prev_period = None;
        for p in past.iter().filter(|p| p.segment.msn < first_live) {
            if !wanted(&p.segment) {
                continue;
            }
            let mut seg = p.segment.clone();
            if prev_period.is_some_and(|q| q != p.period) != seg.discontinuity {
                Arc::make_mut(&mut seg).discontinuity = !seg.discontinuity;
            }
            if out.segments.is_empty() {
                out.discontinuity_sequence = p.period.saturating_sub(u64::from(seg.discontinuity));
            }
            if p.period > 0 && !out.period_starts.iter().any(|&(d, _)| d == p.period) {
                out.period_starts.push((p.period, p.period_start));
            }
            prev_period = Some(p.period);
            out.segments.push_back(seg);
        }
        for s in t.segments.iter().filter(|s| wanted(s) || !s.complete) {
            if span.end_us.is_some_and(|e| wall(s.start) >= e) {
                break;
            }
            let period = t.period_of(s);
            let mut seg = s.clone();
            if let Some(q) = prev_period {
                if (q != period) != seg.discontinuity {
                    Arc::make_mut(&mut seg).discontinuity = q != period;
                }
            } else {
                out.discontinuity_sequence = period.saturating_sub(u64::from(s.discontinuity));
            }
            prev_period = Some(period);
            out.segments.push_back(seg);
        }
        for &(d, start) in &t.period_starts {
            if !out.period_starts.iter().any(|&(e, _)| e == d) {
                out.period_starts.push((d, start));
            }
        }
        let reaches = span
            .end_us
            .is_some_and(|e| t.end().is_some_and(|end| wall(end) >= e));
        (out, reaches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cadence, Grid, MediaKind, TimingConfig};

    /// A channel whose one track has `n` 2 s segments (epoch 0, 1 s = 15360 ticks),
    /// of which the newest `live` are held, and the history of the rest.
    fn channel(n: u64, live: usize) -> (ChannelSnapshot, Vec<PastSegment>) {
        let cfg = TimingConfig::default();
        let mut grid = Grid {
            cadence: None,
            has_video: true,
        };
        let mut t = crate::test_util::track("v", MediaKind::Video, 15360);
        let mut past = Vec::new();
        for i in 0..(n * 60 + 1) {
            t.append(&cfg, &mut grid, i * 512, 512, i % 60 == 0, 10)
                .unwrap();
        }
        for s in t.complete_segments() {
            past.push(PastSegment {
                segment: Arc::new(Segment {
                    parts: Vec::new(),
                    ..s.clone()
                }),
                period: t.period_of(s),
                period_start: 0,
            });
        }
        t.evict(live);
        let snap = ChannelSnapshot {
            channel: "c".into(),
            config: cfg,
            version: 1,
            byterange_parts: false,
            now_us: 0,
            epoch_us: Some(0),
            epoch_source: None,
            cadence: Some(Cadence::from_millis(2000)),
            tracks: vec![t],
            start_over: None,
        };
        (snap, past)
    }

    #[test]
    fn start_over_lists_history_then_the_live_window() {
        let (snap, past) = channel(30, 10);
        let first_live = snap.tracks[0].segments[0].msn;
        let span = Span {
            start_us: 10_500_000,
            end_us: None,
        };
        let s = snap.start_over(span, |_| past.clone());
        let t = &s.tracks[0];
        // The segment [10 s, 12 s) ends after 10.5 s: the first listed is msn 6.
        assert_eq!(t.segments[0].msn, 6);
        let msns: Vec<u64> = t.segments.iter().map(|s| s.msn).collect();
        assert!(msns.windows(2).all(|w| w[1] == w[0] + 1), "{msns:?}");
        assert!(msns.contains(&first_live));
        assert_eq!(s.config.window_segments as usize, t.complete_count());
        assert_eq!(s.start_over.as_ref().unwrap().query, "start=10");
        assert!(!s.start_over.as_ref().unwrap().ended);
        // The segment in progress is kept for a live start-over.
        assert_eq!(t.segments.back(), snap.tracks[0].segments.back());
    }

    #[test]
    fn a_past_end_closes_the_list() {
        let (snap, past) = channel(30, 10);
        let span = Span {
            start_us: 4_000_000,
            end_us: Some(20_000_000),
        };
        let s = snap.start_over(span, |_| past.clone());
        let t = &s.tracks[0];
        let msns: Vec<u64> = t.segments.iter().map(|s| s.msn).collect();
        assert_eq!(msns, (3..=10).collect::<Vec<_>>());
        assert!(t.segments.iter().all(|s| s.complete));
        assert!(s.start_over.as_ref().unwrap().ended);
        assert_eq!(s.start_over.as_ref().unwrap().query, "start=4&end=20");
    }

    #[test]
    fn periods_of_the_history_are_kept() {
        let (snap, mut past) = channel(30, 10);
        for p in past.iter_mut().skip(5) {
            p.period = 1;
            p.period_start = 5 * 30720;
        }
        let mut snap = snap;
        let t = &mut snap.tracks[0];
        t.discontinuity_sequence = 1;
        t.period_starts = vec![(1, 5 * 30720)];
        let s = snap.start_over(
            Span {
                start_us: 0,
                end_us: None,
            },
            |_| past.clone(),
        );
        let t = &s.tracks[0];
        assert_eq!(t.discontinuity_sequence, 0);
        assert!(t.segments[5].discontinuity);
        assert_eq!(t.segments.iter().filter(|s| s.discontinuity).count(), 1);
        assert_eq!(t.period_start(1), Some(5 * 30720));
        let last = t.segments.back().unwrap();
        assert_eq!(t.period_of(last), 1);
    }
}
