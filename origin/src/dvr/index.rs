//! The DVR's in-memory index of what is on disk: per channel its anchor, per track
//! its metadata and its stored segments in number order. Rebuilt from the directory
//! listing on start ([`super::restore`]); changed only by the writer thread.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use timeline::history::PastSegment;
use timeline::{Cadence, ClockSource, Segment, TrackMeta};

use super::layout::SegmentName;

/// What `channel.json` holds: what places a channel's media on the wall clock and
/// numbers it, so that a restarted origin gives the same media the same URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelMeta {
    /// Wall-clock time of media time zero, Unix microseconds.
    pub epoch_us: i64,
    /// Where the anchor came from.
    pub epoch_source: Option<ClockSource>,
    /// The channel's segment cadence.
    pub cadence: Option<Cadence>,
}

/// One segment on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its playlist entry and period.
    pub past: PastSegment,
    /// Its file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Wall-clock end of its media, Unix microseconds: it is deleted once this is
    /// older than the DVR window.
    pub wall_end_us: i64,
}

impl Stored {
    /// The entry of file `path` named `name`, of `bytes` bytes, on `meta`'s clock.
    pub fn from_name(
        name: SegmentName,
        path: PathBuf,
        bytes: u64,
        ts: u32,
        meta: &ChannelMeta,
    ) -> Self {
        let end = name.start.saturating_add(name.duration);
        let us = i64::try_from(timeline::time::to_micros(end, ts)).unwrap_or(i64::MAX);
        Stored {
            past: PastSegment {
                segment: Arc::new(Segment {
                    msn: name.msn,
                    start: name.start,
                    duration: name.duration,
                    parts: Vec::new(),
                    complete: true,
                    discontinuity: false,
                    bytes,
                    init: name.init,
                }),
                period: name.period,
                period_start: name.period_start,
            },
            path,
            bytes,
            wall_end_us: meta.epoch_us.saturating_add(us),
        }
    }

    /// The file name's fields.
    pub fn name(&self) -> SegmentName {
        let s = &self.past.segment;
        SegmentName {
            msn: s.msn,
            period: self.past.period,
            period_start: self.past.period_start,
            start: s.start,
            duration: s.duration,
            init: s.init,
        }
    }
}

/// One track's stored segments, oldest first, numbers increasing.
#[derive(Debug, Clone)]
pub struct TrackIndex {
    /// What the rendition is (bit rates left at 0: they are measured live).
    pub meta: TrackMeta,
    segments: VecDeque<Stored>,
    bytes: u64,
}

impl TrackIndex {
    /// An empty index of a track described by `meta`.
    pub fn new(meta: TrackMeta) -> Self {
        TrackIndex {
            meta,
            segments: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Adds a stored segment, keeping number order; returns the one it replaces (same
    /// number), whose file the caller removes if it is another. Its discontinuity flag
    /// is set from its period and its predecessor's.
    pub fn insert(&mut self, mut s: Stored) -> Option<Stored> {
        let msn = s.past.segment.msn;
        let at = self.segments.partition_point(|o| o.past.segment.msn < msn);
        let mut replaced = None;
        if self
            .segments
            .get(at)
            .is_some_and(|o| o.past.segment.msn == msn)
        {
            let old = self.segments.remove(at).expect("present");
            self.bytes -= old.bytes;
            replaced = Some(old);
        }
        let disc = at
            .checked_sub(1)
            .and_then(|i| self.segments.get(i))
            .is_some_and(|p| p.past.period != s.past.period);
        if disc != s.past.segment.discontinuity {
            Arc::make_mut(&mut s.past.segment).discontinuity = disc;
        }
        self.bytes += s.bytes;
        self.segments.insert(at, s);
        replaced
    }

    /// The stored segment `msn`.
    pub fn get(&self, msn: u64) -> Option<&Stored> {
        let at = self.segments.partition_point(|o| o.past.segment.msn < msn);
        self.segments.get(at).filter(|o| o.past.segment.msn == msn)
    }

    /// Removes and returns the segments whose media ended before `before_us`.
    pub fn expire(&mut self, before_us: i64) -> Vec<Stored> {
        let mut out = Vec::new();
        while self
            .segments
            .front()
            .is_some_and(|s| s.wall_end_us < before_us)
        {
            let s = self.segments.pop_front().expect("present");
            self.bytes -= s.bytes;
            out.push(s);
        }
        out
    }

    /// Every stored segment as a start-over snapshot takes it, oldest first.
    pub fn history(&self) -> Vec<PastSegment> {
        self.segments.iter().map(|s| s.past.clone()).collect()
    }

    /// The newest stored segment.
    pub fn last(&self) -> Option<&Stored> {
        self.segments.back()
    }

    /// True when some stored segment was made with init `id`.
    pub fn uses_init(&self, id: u32) -> bool {
        self.segments.iter().any(|s| s.past.segment.init == id)
    }

    /// Number of stored segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// True without stored segments.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Bytes of the stored segments.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// One channel's stored state.
#[derive(Debug, Clone)]
pub struct ChannelIndex {
    /// The channel's anchor and cadence, as last written.
    pub meta: ChannelMeta,
    /// Its tracks by id.
    pub tracks: BTreeMap<String, TrackIndex>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(msn: u64, period: u64) -> Stored {
        let meta = ChannelMeta {
            epoch_us: 0,
            epoch_source: None,
            cadence: None,
        };
        let name = SegmentName {
            msn,
            period,
            period_start: 0,
            start: msn * 1000,
            duration: 1000,
            init: 1,
        };
        Stored::from_name(name, PathBuf::from(name.file_name()), 10, 1000, &meta)
    }

    #[test]
    fn keeps_number_order_marks_periods_and_expires_by_time() {
        let meta = crate::dvr::tests::meta("v");
        let mut t = TrackIndex::new(meta);
        for (msn, p) in [(3, 0), (1, 0), (2, 0), (4, 1), (5, 1)] {
            t.insert(stored(msn, p));
        }
        t.insert(stored(2, 0));
        assert_eq!(t.len(), 5);
        assert_eq!(t.bytes(), 50);
        let flags: Vec<bool> = t
            .history()
            .iter()
            .map(|p| p.segment.discontinuity)
            .collect();
        assert_eq!(flags, [false, false, false, true, false]);
        assert_eq!(t.get(4).map(|s| s.past.period), Some(1));
        assert!(t.get(9).is_none());
        // Segment n ends at (n + 1) s.
        let gone = t.expire(3_500_000);
        assert_eq!(
            gone.iter().map(|s| s.past.segment.msn).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(t.len(), 3);
        assert_eq!(t.bytes(), 30);
    }
}
