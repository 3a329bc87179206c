//! Segment and part boundary decisions.
//!
//! Segments are cut on a grid anchored at media time zero: a new segment starts at the
//! first key frame whose decode time falls in a later target-duration cell than the
//! current segment's start. Two origins fed by the same encoder therefore cut at the
//! same samples, and renditions of one channel (same media clock) share sequence
//! numbers for the same time span. The first segment's number is derived from its
//! start time (`cell + 1`, never 0); later segments count up by one.
//!
//! Parts are runs of whole samples. [HLS §4.4.4.9] "The duration of a Partial Segment
//! MUST be less than or equal to the Part Target Duration." A part is closed as soon
//! as the next sample (assumed as long as the last) would not fit, or when its end
//! reaches a segment grid point, so it is published without waiting for the next sample.

use serde::{Deserialize, Serialize};

use crate::time::{grid_cell, ms_to_ticks};
use crate::{MediaKind, Part, Segment, TimelineError, TimingConfig, TrackTimeline};

/// Where one appended sample landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// Media sequence number of the sample's segment.
    pub msn: u64,
    /// Index of the sample's part within the segment.
    pub part: u32,
    /// True when this sample opened a new segment.
    pub new_segment: bool,
    /// True when this sample opened a new part.
    pub new_part: bool,
    /// True when the part is complete after this sample.
    pub part_closed: bool,
    /// The previous segment, completed because this sample opened a new one.
    pub completed_segment: Option<u64>,
}

impl TrackTimeline {
    /// Appends one sample (decode time, duration, random-access flag) of `bytes` bytes
    /// and reports where it landed.
    pub fn append(
        &mut self,
        cfg: &TimingConfig,
        dts: u64,
        duration: u32,
        sync: bool,
        bytes: u64,
    ) -> Result<Placement, TimelineError> {
        let ts = self.meta.timescale;
        if ts == 0 {
            return Err(TimelineError::ZeroTimescale);
        }
        if duration == 0 {
            return Err(TimelineError::ZeroDuration { dts });
        }
        let sync = sync || self.meta.kind == MediaKind::Audio;
        if let Some(end) = self.end().filter(|end| dts < *end) {
            return Err(TimelineError::TimeWentBack { dts, end });
        }
        let cell = |t| grid_cell(t, ts, cfg.target_duration_ms);
        let starts_segment = match self.segments.back() {
            None => true,
            Some(seg) if seg.complete => true,
            Some(seg) => sync && cell(dts) > cell(seg.start),
        };
        // A segment must begin with a random-access sample.
        if starts_segment && !sync {
            return Err(TimelineError::NoKeyFrame { dts });
        }
        let mut completed_segment = None;
        if starts_segment {
            let msn = match self.segments.back_mut() {
                Some(prev) => {
                    if !prev.complete {
                        prev.complete = true;
                        prev.parts.iter_mut().for_each(|p| p.complete = true);
                        completed_segment = Some(prev.msn);
                        self.longest_segment = self.longest_segment.max(prev.duration);
                    }
                    prev.msn + 1
                }
                None => cell(dts) + 1,
            };
            let discontinuity = std::mem::take(&mut self.pending_discontinuity);
            self.segments.push_back(Segment {
                msn,
                start: dts,
                duration: 0,
                parts: Vec::new(),
                complete: false,
                discontinuity,
                bytes: 0,
            });
        }
        let seg = self
            .segments
            .back_mut()
            .expect("a segment was just ensured");
        // A gap inside a segment (dts after the current end) is absorbed into the
        // previous sample's time so that parts stay contiguous.
        let gap = dts - seg.end();
        let new_part = seg.parts.last().is_none_or(|p| p.complete);
        if new_part {
            seg.parts.push(Part {
                duration: 0,
                independent: sync,
                complete: false,
                bytes: 0,
            });
        }
        let part_target = ms_to_ticks(u64::from(cfg.part_target_ms), ts).max(1);
        let seg_start_cell = cell(seg.start);
        seg.duration += gap + u64::from(duration);
        seg.bytes += bytes;
        let reaches_grid = cell(dts) == seg_start_cell && cell(seg.end()) > seg_start_cell;
        let part_index = u32::try_from(seg.parts.len() - 1).unwrap_or(u32::MAX);
        let part = seg.parts.last_mut().expect("a part was just ensured");
        part.duration += gap + u64::from(duration);
        let next_wont_fit = part.duration + u64::from(duration) > part_target;
        part.complete = reaches_grid || next_wont_fit;
        Ok(Placement {
            msn: seg.msn,
            part: part_index,
            new_segment: starts_segment,
            new_part,
            part_closed: part.complete,
            completed_segment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(kind: MediaKind, timescale: u32) -> TrackTimeline {
        crate::test_util::track("v", kind, timescale)
    }

    /// Feeds `n` video frames of 512 ticks at 15360 Hz (30 fps), key frame every `gop`.
    fn feed_video(t: &mut TrackTimeline, cfg: &TimingConfig, from: u64, n: u64, gop: u64) {
        for i in from..from + n {
            t.append(cfg, i * 512, 512, i % gop == 0, 100).unwrap();
        }
    }

    #[test]
    fn segments_cut_on_grid_and_numbered_from_time() {
        let cfg = TimingConfig::default();
        let mut t = track(MediaKind::Video, 15360);
        feed_video(&mut t, &cfg, 0, 30 * 5, 30);
        let msns: Vec<_> = t.segments.iter().map(|s| s.msn).collect();
        assert_eq!(msns, vec![1, 2, 3]);
        assert!(t.segments[0].complete && t.segments[1].complete);
        assert!(!t.segments[2].complete);
        assert_eq!(t.segments[0].duration, 30720);
        // 2 s segments of 0.2 s parts: 10 parts of 6 frames, all complete.
        assert_eq!(t.segments[0].parts.len(), 10);
        assert!(
            t.segments[0]
                .parts
                .iter()
                .all(|p| p.duration == 3072 && p.complete)
        );
        // Only parts starting on a key frame (every 30 frames = every 5th part) are independent.
        let ind: Vec<_> = t.segments[0].parts.iter().map(|p| p.independent).collect();
        assert_eq!(ind.iter().filter(|b| **b).count(), 2);
        assert!(ind[0] && ind[5]);
    }

    #[test]
    fn numbering_agrees_when_joining_late() {
        let cfg = TimingConfig::default();
        let mut early = track(MediaKind::Video, 15360);
        let mut late = track(MediaKind::Video, 15360);
        feed_video(&mut early, &cfg, 0, 30 * 10, 30);
        // The late origin starts at the key frame at 5 s.
        feed_video(&mut late, &cfg, 150, 150, 30);
        let e = early
            .segments
            .iter()
            .find(|s| s.start == 6 * 15360)
            .unwrap();
        let l = late.segments.iter().find(|s| s.start == 6 * 15360).unwrap();
        assert_eq!(e.msn, l.msn);
        assert_eq!(e.msn, 4);
        // The late origin's first segment is a short one starting at 5 s, in cell 2.
        assert_eq!(late.segments[0].msn, 3);
    }

    #[test]
    fn parts_never_exceed_target_and_close_eagerly() {
        let cfg = TimingConfig::default();
        let mut t = track(MediaKind::Audio, 48000);
        let mut closed = 0;
        for i in 0..200u64 {
            let p = t.append(&cfg, i * 1024, 1024, false, 10).unwrap();
            closed += u32::from(p.part_closed);
        }
        let target = 9600;
        for s in &t.segments {
            for p in &s.parts {
                assert!(p.duration <= target, "part {} > target", p.duration);
            }
        }
        // 9 AAC frames (9216 ticks) fit, a 10th would not: the part closes on the 9th.
        assert_eq!(t.segments[0].parts[0].duration, 9216);
        assert!(closed > 10);
    }

    #[test]
    fn audio_segments_align_with_video_grid() {
        let cfg = TimingConfig::default();
        let mut a = track(MediaKind::Audio, 48000);
        for i in 0..300u64 {
            a.append(&cfg, i * 1024, 1024, true, 10).unwrap();
        }
        // Second segment starts at the first AAC frame at or after 2 s (96000 ticks).
        assert_eq!(a.segments[1].start, 94 * 1024);
        assert_eq!(a.segments[1].msn, 2);
    }

    #[test]
    fn long_gop_keeps_numbers_consecutive() {
        let cfg = TimingConfig::default();
        let mut t = track(MediaKind::Video, 15360);
        // Key frame every 3 s: segments are 4 s or 2 s long but never skip a number.
        feed_video(&mut t, &cfg, 0, 30 * 12, 90);
        let msns: Vec<_> = t.segments.iter().map(|s| s.msn).collect();
        assert!(msns.windows(2).all(|w| w[1] == w[0] + 1), "{msns:?}");
        for s in &t.segments {
            for p in &s.parts {
                assert!(p.duration <= 3072);
            }
        }
    }

    #[test]
    fn longest_segment_tracks_long_gops() {
        let cfg = TimingConfig::default();
        let mut t = track(MediaKind::Video, 15360);
        feed_video(&mut t, &cfg, 0, 30 * 4, 30);
        assert_eq!(t.longest_segment, 30720);
        // A 3 s GOP makes a 4 s segment (key frames at 4 s and 7 s; cut at 4 s and 7 s).
        feed_video(&mut t, &cfg, 120, 30 * 9, 90);
        assert!(t.longest_segment >= 3 * 15360, "{}", t.longest_segment);
    }

    #[test]
    fn bad_samples_are_rejected() {
        let cfg = TimingConfig::default();
        let mut t = track(MediaKind::Video, 15360);
        assert_eq!(
            t.append(&cfg, 0, 512, false, 1),
            Err(TimelineError::NoKeyFrame { dts: 0 })
        );
        t.append(&cfg, 0, 512, true, 1).unwrap();
        assert_eq!(
            t.append(&cfg, 100, 512, false, 1),
            Err(TimelineError::TimeWentBack { dts: 100, end: 512 })
        );
        assert_eq!(
            t.append(&cfg, 512, 0, false, 1),
            Err(TimelineError::ZeroDuration { dts: 512 })
        );
    }

    #[test]
    fn eviction_keeps_the_newest_complete_segments() {
        let cfg = TimingConfig::default();
        let mut t = track(MediaKind::Video, 15360);
        feed_video(&mut t, &cfg, 0, 30 * 11, 30);
        assert_eq!(t.evict(3), vec![1, 2]);
        assert_eq!(t.segments.front().unwrap().msn, 3);
        assert!(t.segment(2).is_none());
        assert_eq!(t.segment(4).unwrap().msn, 4);
    }
}
