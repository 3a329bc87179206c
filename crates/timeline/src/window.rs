//! One rendition's sliding list of segments.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::{Segment, TrackMeta};

/// A track's timeline: its metadata and the segments currently held, oldest first.
/// The last segment may still be in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackTimeline {
    /// The rendition this timeline belongs to.
    pub meta: TrackMeta,
    /// Held segments, oldest first; consecutive media sequence numbers.
    pub segments: VecDeque<Segment>,
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
}

impl TrackTimeline {
    /// An empty timeline for `meta`.
    pub fn new(meta: TrackMeta) -> Self {
        TrackTimeline {
            meta,
            segments: VecDeque::new(),
            pending_discontinuity: false,
            discontinuity_sequence: 0,
            longest_segment: 0,
        }
    }

    /// End of the media appended so far, in track ticks (None before the first sample).
    pub fn end(&self) -> Option<u64> {
        self.segments.back().map(Segment::end)
    }

    /// The segment with media sequence number `msn`, if held.
    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        let first = self.segments.front()?.msn;
        let idx = usize::try_from(msn.checked_sub(first)?).ok()?;
        self.segments.get(idx)
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

    /// Complete segments, oldest first.
    pub fn complete_segments(&self) -> impl DoubleEndedIterator<Item = &Segment> {
        self.segments.iter().filter(|s| s.complete)
    }

    /// Media sequence number of the newest complete segment.
    pub fn last_complete_msn(&self) -> Option<u64> {
        self.complete_segments().next_back().map(|s| s.msn)
    }

    /// Records `n` more served bytes in part `part` of segment `msn`.
    pub fn add_part_bytes(&mut self, msn: u64, part: u32, n: u64) {
        let first = self.segments.front().map_or(0, |s| s.msn);
        let idx = usize::try_from(msn.wrapping_sub(first)).unwrap_or(usize::MAX);
        if let Some(p) = self
            .segments
            .get_mut(idx)
            .and_then(|s| s.parts.get_mut(part as usize))
        {
            p.bytes += n;
        }
    }

    /// Drops the oldest complete segments so that at most `keep` complete segments remain;
    /// returns the media sequence numbers dropped.
    pub fn evict(&mut self, keep: usize) -> Vec<u64> {
        let complete = self.segments.iter().filter(|s| s.complete).count();
        let mut dropped = Vec::new();
        for _ in keep..complete {
            if let Some(s) = self.segments.pop_front() {
                self.discontinuity_sequence += u64::from(s.discontinuity);
                dropped.push(s.msn);
            }
        }
        dropped
    }

    /// Marks the in-progress segment complete (e.g. at the end of a stream) and the next
    /// segment as discontinuous if `discontinuity` is set.
    pub fn close(&mut self, discontinuity: bool) {
        if let Some(last) = self.segments.back_mut() {
            last.complete = true;
            for p in &mut last.parts {
                p.complete = true;
            }
            self.longest_segment = self.longest_segment.max(last.duration);
        }
        self.pending_discontinuity |= discontinuity;
    }
}
