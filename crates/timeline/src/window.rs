//! One rendition's sliding list of segments.

use std::sync::Arc;

use imbl::Vector;
use serde::{Deserialize, Serialize};

use crate::{Segment, TrackMeta};

/// A track's timeline: its metadata and the segments currently held, oldest first.
/// The last segment may still be in progress.
///
/// The segments are a persistent vector of shared segments: cloning a timeline (a
/// snapshot, published after every chunk) costs the same whatever the window's length,
/// and appending to the segment in progress copies only that segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackTimeline {
    /// The rendition this timeline belongs to.
    pub meta: TrackMeta,
    /// Held segments, oldest first; consecutive media sequence numbers.
    pub segments: Vector<Arc<Segment>>,
    /// Set when the next segment must carry a discontinuity (e.g. an encoder restart).
    #[serde(default)]
    pub pending_discontinuity: bool,
    /// Number of discontinuities in segments already evicted (EXT-X-DISCONTINUITY-SEQUENCE
    /// of the first held segment).
    #[serde(default)]
    pub discontinuity_sequence: u64,
    /// Duration in ticks of the longest segment completed over the track's life. It
    /// never decreases, so a target duration derived from it never shrinks.
    #[serde(default)]
    pub longest_segment: u64,
    /// Id of the init segment that new segments are made with (see [`Segment::init`]).
    #[serde(default)]
    pub init: u32,
    /// Decode time of the first key frame appended (video), to measure the key-frame
    /// interval (cutter state).
    #[serde(default)]
    pub(crate) first_key: Option<u64>,
    /// True once the held segments are numbered on the channel's cadence.
    #[serde(default)]
    pub(crate) numbered: bool,
    /// (discontinuity sequence number, start in ticks) of the first segment after each
    /// discontinuity still relevant to the held segments: DASH starts a Period there,
    /// and its start must not move when that segment leaves the window.
    #[serde(default)]
    pub period_starts: Vec<(u64, u64)>,
    /// The rendition stopped while the channel's others go on: its encoder has sent
    /// nothing for 3 target durations. Manifests stop offering it
    /// ([`crate::ChannelSnapshot::listed`]) until it sends again.
    #[serde(default)]
    pub stalled: bool,
}

impl TrackTimeline {
    /// An empty timeline for `meta`.
    pub fn new(meta: TrackMeta) -> Self {
        TrackTimeline {
            meta,
            segments: Vector::new(),
            pending_discontinuity: false,
            discontinuity_sequence: 0,
            longest_segment: 0,
            init: 0,
            first_key: None,
            numbered: false,
            period_starts: Vec::new(),
            stalled: false,
        }
    }

    /// A timeline that continues one restored from disk after a restart: `last` (the
    /// newest segment stored, complete) in period `period` starting at
    /// `period_start`. Numbering continues after it on the channel's cadence, and the
    /// next segment starts a new period (the media between the two was never stored).
    pub fn restored(meta: TrackMeta, last: Segment, period: u64, period_start: u64) -> Self {
        let mut t = TrackTimeline::new(meta);
        t.init = last.init;
        t.longest_segment = last.duration;
        t.discontinuity_sequence = period.saturating_sub(u64::from(last.discontinuity));
        if period > 0 {
            t.period_starts.push((period, period_start));
        }
        t.numbered = true;
        t.pending_discontinuity = true;
        t.segments.push_back(Arc::new(Segment {
            complete: true,
            ..last
        }));
        t
    }

    /// End of the media appended so far, in track ticks (None before the first sample).
    pub fn end(&self) -> Option<u64> {
        self.segments.back().map(|s| s.end())
    }

    /// The segment with media sequence number `msn`, if held.
    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        self.index_of(msn)
            .and_then(|i| self.segments.get(i))
            .map(|s| &**s)
    }

    /// Position of segment `msn` among the held segments (numbers are consecutive).
    pub fn index_of(&self, msn: u64) -> Option<usize> {
        let first = self.segments.front()?.msn;
        let idx = usize::try_from(msn.checked_sub(first)?).ok()?;
        (idx < self.segments.len()).then_some(idx)
    }

    /// [HLS §4.4.3.3] discontinuity sequence number of the segment `msn`: discontinuities
    /// before it, counting evicted ones (a segment's own tag comes after the number).
    pub fn discontinuity_sequence_at(&self, msn: u64) -> u64 {
        self.discontinuity_sequence
            + self
                .segments
                .iter()
                .filter(|s| s.msn <= msn && s.discontinuity)
                .count() as u64
            - self.segment(msn).map_or(0, |s| u64::from(s.discontinuity))
    }

    /// The discontinuity sequence number a segment `seg` (held) belongs to: the number
    /// of discontinuities up to and including its own.
    pub fn period_of(&self, seg: &Segment) -> u64 {
        self.discontinuity_sequence_at(seg.msn) + u64::from(seg.discontinuity)
    }

    /// Start (ticks) of the period `dseq` as recorded when its first segment was cut;
    /// media time zero for the period before any discontinuity.
    pub fn period_start(&self, dseq: u64) -> Option<u64> {
        if dseq == 0 {
            return Some(0);
        }
        self.period_starts
            .iter()
            .find(|&&(d, _)| d == dseq)
            .map(|&(_, t)| t)
    }

    /// Complete segments, oldest first.
    pub fn complete_segments(&self) -> impl DoubleEndedIterator<Item = &Segment> {
        self.segments.iter().map(|s| &**s).filter(|s| s.complete)
    }

    /// Number of complete segments held (all but a segment in progress).
    pub fn complete_count(&self) -> usize {
        let open = self.segments.back().is_some_and(|s| !s.complete);
        self.segments.len() - usize::from(open)
    }

    /// Media sequence number of the newest complete segment.
    pub fn last_complete_msn(&self) -> Option<u64> {
        self.complete_segments().next_back().map(|s| s.msn)
    }

    /// Records `n` more served bytes in part `part` of segment `msn`.
    pub fn add_part_bytes(&mut self, msn: u64, part: u32, n: u64) {
        let Some(idx) = self.index_of(msn) else {
            return;
        };
        if let Some(p) = self
            .segments
            .get_mut(idx)
            .and_then(|s| Arc::make_mut(s).parts.get_mut(part as usize))
        {
            p.bytes += n;
        }
    }

    /// Drops the oldest complete segments so that at most `keep` complete segments remain;
    /// returns the media sequence numbers dropped.
    pub fn evict(&mut self, keep: usize) -> Vec<u64> {
        let complete = self.complete_count();
        let mut dropped = Vec::new();
        for _ in keep..complete {
            if let Some(s) = self.segments.pop_front() {
                self.discontinuity_sequence += u64::from(s.discontinuity);
                dropped.push(s.msn);
            }
        }
        let first = self.discontinuity_sequence;
        self.period_starts.retain(|&(d, _)| d >= first);
        dropped
    }

    /// Marks the in-progress segment complete (e.g. at the end of a stream) and the next
    /// segment as discontinuous if `discontinuity` is set.
    pub fn close(&mut self, discontinuity: bool) {
        if let Some(last) = self.segments.back_mut() {
            let last = Arc::make_mut(last);
            last.complete = true;
            for p in &mut last.parts {
                p.complete = true;
            }
            self.longest_segment = self.longest_segment.max(last.duration);
        }
        self.pending_discontinuity |= discontinuity;
    }
}
