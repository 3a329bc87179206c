//! Segment and part boundary decisions: functions of media time.
//!
//! Every rendition of a channel is cut on one grid anchored at media time zero, whose
//! cells are the channel's [`Cadence`] `D` long. Segment `n` is the one that starts in
//! cell `n - 1`, so any origin fed by the same encoder, joining at any time, gives the
//! same number to the same media, and renditions share numbers. The cadence is chosen
//! once, by the first video rendition's key-frame interval (the smallest multiple of it
//! at or above the target duration, so each cell holds a key frame), or by the
//! configured target for audio-only channels; a video rendition that shows no second
//! key frame within the configured limit falls back to the target.
//!
//! Within a cell, a segment starts at the first key frame at or after the cell's
//! start. If no key frame comes, the segment is cut anyway before the sample that would
//! make it longer than the target duration allows ([`Cadence::max_segment_ticks`]) or
//! reach the cell after next (then possibly a one-sample segment): a source whose key frames come late or stop still gets
//! one segment per cell, a fixed EXT-X-TARGETDURATION and bounded memory; such a
//! segment does not start with an independent frame. Across a gap in media time the
//! numbers stay consecutive (`prev + 1`), as [HLS §6.2.1] requires of a playlist, and
//! a segment that does not start in the cell after its predecessor's opens a new
//! discontinuity (a new DASH Period), so that within a period number and cell advance
//! together.
//!
//! Parts are runs of whole samples. [HLS §4.4.4.9] "The duration of a Partial Segment
//! MUST be less than or equal to the Part Target Duration." A part is closed as soon
//! as the next sample (assumed as long as the last) would not fit, or when its end
//! reaches a grid point, so it is published without waiting for the next sample.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::time::ms_to_ticks;
use crate::{Cadence, Grid, MediaKind, Part, Segment, TimelineError, TimingConfig, TrackTimeline};

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
    /// True when this sample chose the channel's cadence: the caller renumbers the
    /// other renditions' first segments with [`TrackTimeline::renumber`].
    pub cadence_chosen: bool,
    /// True when the new segment was cut without a key frame (none came in time).
    pub forced_cut: bool,
}

impl TrackTimeline {
    /// Appends one sample (decode time, duration, random-access flag) of `bytes` bytes
    /// on the channel's `grid` and reports where it landed.
    pub fn append(
        &mut self,
        cfg: &TimingConfig,
        grid: &mut Grid,
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
        let end = dts
            .checked_add(u64::from(duration))
            .ok_or(TimelineError::TimeOverflow { dts })?;
        let video = self.meta.kind == MediaKind::Video;
        let sync = sync || !video;
        if let Some(e) = self.end().filter(|e| dts < *e) {
            return Err(TimelineError::TimeWentBack { dts, end: e });
        }
        // The open segment's start only (holding the segment itself would make the
        // mutation below copy it).
        let open = self
            .segments
            .back()
            .filter(|s| !s.complete)
            .map(|s| s.start);
        // A segment must begin with a random-access sample, unless it continues an
        // open one that had to be cut.
        if open.is_none() && !sync {
            return Err(TimelineError::NoKeyFrame { dts });
        }
        let cadence_chosen =
            grid.cadence.is_none() && self.choose_cadence(cfg, grid, dts, end, sync);
        if cadence_chosen {
            self.renumber(grid);
        }
        if video && sync && self.first_key.is_none() {
            self.first_key = Some(dts);
        }
        // The grid of this sample: the cadence, or (before it is chosen) the target,
        // which gives provisional numbers and part boundaries.
        let grid_now = grid.current(cfg.target_duration_ms);
        let (starts_segment, forced_cut) = match (open, grid.cadence) {
            (None, _) => (true, false),
            // The cadence is not chosen yet: the first segment keeps growing.
            (Some(_), None) => (false, false),
            (Some(seg_start), Some(c)) => {
                let sc = c.cell(seg_start, ts);
                let dc = c.cell(dts, ts);
                // Without a key frame, cut before the sample that would make the
                // segment too long, or that would leave the next cell without a start.
                let too_long = end > seg_start.saturating_add(c.max_segment_ticks(ts));
                let last_chance = end >= c.boundary(sc.saturating_add(2), ts);
                let cut = dc > sc && (sync || dc > sc + 1 || too_long || last_chance);
                (cut, cut && !sync)
            }
        };
        let mut completed_segment = None;
        if starts_segment {
            let msn = match self.segments.back_mut() {
                Some(prev) => {
                    // Segment `n` of a period is the one in cell `n - 1 + k` for one
                    // constant `k` (DASH addresses it as `Period@start + (n -
                    // startNumber) × D`): a new segment that does not start in the cell
                    // after its predecessor's (a gap in media time of a cell or more)
                    // starts a new period, as a jump in the encoder's clock does.
                    if let Some(c) = grid.cadence.filter(|_| self.numbered)
                        && c.cell(dts, ts) != c.cell(prev.start, ts).saturating_add(1)
                    {
                        self.pending_discontinuity = true;
                    }
                    let prev = Arc::make_mut(prev);
                    if !prev.complete {
                        prev.complete = true;
                        prev.parts.iter_mut().for_each(|p| p.complete = true);
                        completed_segment = Some(prev.msn);
                        self.longest_segment = self.longest_segment.max(prev.duration);
                    }
                    prev.msn + 1
                }
                // A track's first segment: its cell plus one (never 0).
                None => {
                    self.numbered = grid.cadence.is_some();
                    grid_now.cell(dts, ts).saturating_add(1)
                }
            };
            let discontinuity = std::mem::take(&mut self.pending_discontinuity);
            if discontinuity {
                let dseq = self.discontinuity_sequence
                    + self.segments.iter().filter(|s| s.discontinuity).count() as u64
                    + 1;
                self.period_starts.push((dseq, dts));
            }
            self.segments.push_back(Arc::new(Segment {
                msn,
                start: dts,
                duration: 0,
                parts: Vec::new(),
                complete: false,
                discontinuity,
                bytes: 0,
                init: self.init,
            }));
        }
        let seg = Arc::make_mut(
            self.segments
                .back_mut()
                .expect("a segment was just ensured"),
        );
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
        let seg_start_cell = grid_now.cell(seg.start, ts);
        seg.duration += gap + u64::from(duration);
        seg.bytes += bytes;
        let reaches_grid = grid_now.cell(dts, ts) == seg_start_cell
            && grid_now.cell(seg.end(), ts) > seg_start_cell;
        let part_index = u32::try_from(seg.parts.len() - 1).unwrap_or(u32::MAX);
        let msn = seg.msn;
        let part = seg.parts.last_mut().expect("a part was just ensured");
        part.duration += gap + u64::from(duration);
        let next_wont_fit = part.duration + u64::from(duration) > part_target;
        part.complete = reaches_grid || next_wont_fit;
        Ok(Placement {
            msn,
            part: part_index,
            new_segment: starts_segment,
            new_part,
            part_closed: part.complete,
            completed_segment,
            cadence_chosen,
            forced_cut,
        })
    }

    /// Chooses the channel's cadence if this sample decides it; returns whether it did.
    ///
    /// - A video rendition's second key frame gives the key-frame interval; the cadence is
    ///   its smallest multiple at or above the target (the target itself when the
    ///   interval exceeds `max_keyframe_interval_ms`).
    /// - An audio rendition of a channel without video chooses the target when its first
    ///   segment reaches a target grid point.
    /// - Any rendition whose first segment grows past `max_keyframe_interval_ms` without
    ///   a cadence chooses the target (a video source without a second key frame).
    fn choose_cadence(
        &mut self,
        cfg: &TimingConfig,
        grid: &mut Grid,
        dts: u64,
        end: u64,
        sync: bool,
    ) -> bool {
        let ts = self.meta.timescale;
        let target = Cadence::from_millis(cfg.target_duration_ms);
        let max_gop = ms_to_ticks(u64::from(cfg.max_keyframe_interval_ms), ts);
        let video = self.meta.kind == MediaKind::Video;
        let chosen = if let (true, true, Some(k)) = (video, sync, self.first_key) {
            let gop = dts.saturating_sub(k);
            if gop == 0 {
                None
            } else if gop > max_gop {
                Some(target)
            } else {
                Cadence::for_key_frames(gop, ts, cfg.target_duration_ms)
            }
        } else {
            None
        };
        let first = self.segments.front().map_or(dts, |s| s.start);
        let chosen = chosen.or_else(|| {
            let crosses = target.cell(dts, ts) > target.cell(first, ts);
            let audio_alone = !video && !grid.has_video && crosses;
            let waited_too_long = end.saturating_sub(first) > max_gop;
            (audio_alone || waited_too_long).then_some(target)
        });
        grid.cadence = chosen;
        chosen.is_some()
    }

    /// Numbers the held segments from media time once the channel's cadence is chosen
    /// (segments opened before then carry provisional numbers that no playlist has
    /// listed yet). Does nothing once numbered.
    pub fn renumber(&mut self, grid: &Grid) {
        let Some(c) = grid.cadence else {
            return;
        };
        if self.numbered {
            return;
        }
        self.numbered = true;
        let Some(first) = self.segments.front() else {
            return;
        };
        let base = c.cell(first.start, self.meta.timescale).saturating_add(1);
        for (i, seg) in self.segments.iter_mut().enumerate() {
            Arc::make_mut(seg).msn = base + i as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(kind: MediaKind, timescale: u32) -> TrackTimeline {
        crate::test_util::track("v", kind, timescale)
    }

    fn video_grid() -> Grid {
        Grid {
            cadence: None,
            has_video: true,
        }
    }

    /// Feeds `n` video frames of 512 ticks at 15360 Hz (30 fps), key frame every `gop`.
    fn feed_video(
        t: &mut TrackTimeline,
        cfg: &TimingConfig,
        g: &mut Grid,
        from: u64,
        n: u64,
        gop: u64,
    ) {
        for i in from..from + n {
            match t.append(cfg, g, i * 512, 512, i % gop == 0, 100) {
                Ok(_) | Err(TimelineError::NoKeyFrame { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }

    fn starts(t: &TrackTimeline) -> Vec<(u64, u64)> {
        t.segments.iter().map(|s| (s.msn, s.start)).collect()
    }

    #[test]
    fn segments_cut_on_grid_and_numbered_from_time() {
        let cfg = TimingConfig::default();
        let mut g = video_grid();
        let mut t = track(MediaKind::Video, 15360);
        feed_video(&mut t, &cfg, &mut g, 0, 30 * 5, 30);
        let msns: Vec<_> = t.segments.iter().map(|s| s.msn).collect();
        assert_eq!(msns, vec![1, 2, 3]);
        assert_eq!(
            g.cadence,
            Some(Cadence {
                ticks: 30720,
                timescale: 15360
            })
        );
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
        let (mut ge, mut gl) = (video_grid(), video_grid());
        let mut early = track(MediaKind::Video, 15360);
        let mut late = track(MediaKind::Video, 15360);
        feed_video(&mut early, &cfg, &mut ge, 0, 30 * 10, 30);
        // The late origin starts at the key frame at 5 s.
        feed_video(&mut late, &cfg, &mut gl, 150, 150, 30);
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
        let mut g = Grid::default();
        let mut t = track(MediaKind::Audio, 48000);
        let mut closed = 0;
        for i in 0..200u64 {
            let p = t.append(&cfg, &mut g, i * 1024, 1024, false, 10).unwrap();
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
    fn audio_alone_cuts_on_the_target() {
        let cfg = TimingConfig::default();
        let mut g = Grid::default();
        let mut a = track(MediaKind::Audio, 48000);
        for i in 0..300u64 {
            a.append(&cfg, &mut g, i * 1024, 1024, true, 10).unwrap();
        }
        assert_eq!(g.cadence, Some(Cadence::from_millis(2000)));
        // Second segment starts at the first AAC frame at or after 2 s (96000 ticks).
        assert_eq!(a.segments[1].start, 94 * 1024);
        assert_eq!(a.segments[1].msn, 2);
    }

    #[test]
    fn audio_waits_for_the_video_cadence() {
        let cfg = TimingConfig::default();
        let mut g = video_grid();
        let mut v = track(MediaKind::Video, 15360);
        let mut a = track(MediaKind::Audio, 48000);
        // A 3 s GOP: the cadence is 3 s, and audio (fed first, ahead of video by up to
        // a frame) cuts there too, with the same numbers.
        let (mut vi, mut ai) = (0u64, 0u64);
        while vi < 30 * 12 {
            let (vt, at) = (vi * 512 * 48000 / 15360, ai * 1024);
            if at <= vt {
                a.append(&cfg, &mut g, ai * 1024, 1024, true, 10).unwrap();
                ai += 1;
            } else {
                let p = v
                    .append(&cfg, &mut g, vi * 512, 512, vi % 90 == 0, 100)
                    .unwrap();
                if p.cadence_chosen {
                    a.renumber(&g);
                }
                vi += 1;
            }
        }
        let c = g.cadence.unwrap();
        assert_eq!(c.ticks, 3 * 15360);
        let vs = starts(&v);
        assert_eq!(vs[..3], [(1, 0), (2, 3 * 15360), (3, 6 * 15360)]);
        let as_: Vec<_> = starts(&a);
        for (msn, start) in &as_ {
            // The first AAC frame at or after the cell start.
            let b = c.boundary(msn - 1, 48000);
            assert!(*start == 0 || (*start >= b && *start < b + 1024), "{as_:?}");
        }
        assert_eq!(
            as_.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
    }

    #[test]
    fn long_gop_gets_a_longer_cadence_with_numbers_from_time() {
        let cfg = TimingConfig::default();
        let mut g = video_grid();
        let mut t = track(MediaKind::Video, 15360);
        // Key frame every 3 s with a 2 s target: 3 s segments, one per 3 s cell.
        feed_video(&mut t, &cfg, &mut g, 0, 30 * 12, 90);
        let c = g.cadence.unwrap();
        assert_eq!(c.target_duration_secs(), 3);
        for s in &t.segments {
            assert_eq!(s.msn, c.cell(s.start, 15360) + 1);
            for p in &s.parts {
                assert!(p.duration <= 3072);
            }
        }
    }

    #[test]
    fn late_key_frames_are_cut_without_them_within_the_target_duration() {
        let cfg = TimingConfig::default();
        let mut g = video_grid();
        let mut t = track(MediaKind::Video, 15360);
        feed_video(&mut t, &cfg, &mut g, 0, 30 * 4, 30);
        // Then the GOP grows to 7 s: segments are cut without key frames.
        feed_video(&mut t, &cfg, &mut g, 120, 30 * 20, 210);
        let c = g.cadence.unwrap();
        assert_eq!(c.target_duration_secs(), 2);
        let max = c.max_segment_ticks(15360);
        let msns: Vec<_> = t.segments.iter().map(|s| s.msn).collect();
        assert!(msns.windows(2).all(|w| w[1] == w[0] + 1), "{msns:?}");
        let all: Vec<_> = t
            .segments
            .iter()
            .map(|s| (s.msn, s.start, s.duration))
            .collect();
        for s in t.segments.iter().filter(|s| s.complete) {
            assert!(s.duration <= max, "{} > {max} {all:?}", s.duration);
            assert_eq!(s.msn, c.cell(s.start, 15360) + 1, "{all:?}");
            assert_eq!(s.msn, c.cell(s.start, 15360) + 1);
        }
        assert!(t.segments.iter().any(|s| !s.independent()));
    }

    #[test]
    fn no_second_key_frame_falls_back_to_the_target() {
        let cfg = TimingConfig::default();
        let mut g = video_grid();
        let mut t = track(MediaKind::Video, 15360);
        // One key frame, then 60 s without: the first segment stops growing at the limit.
        feed_video(&mut t, &cfg, &mut g, 0, 30 * 60, 1 << 40);
        assert_eq!(g.cadence, Some(Cadence::from_millis(2000)));
        let limit = u64::from(cfg.max_keyframe_interval_ms) * 15360 / 1000;
        assert!(t.segments[0].duration <= limit + 512);
        let max = g.cadence.unwrap().max_segment_ticks(15360);
        assert!(t.segments.iter().skip(1).all(|s| s.duration <= max));
        assert!(t.segments.len() > 20);
    }

    #[test]
    fn bad_samples_are_rejected() {
        let cfg = TimingConfig::default();
        let mut g = video_grid();
        let mut t = track(MediaKind::Video, 15360);
        assert_eq!(
            t.append(&cfg, &mut g, 0, 512, false, 1),
            Err(TimelineError::NoKeyFrame { dts: 0 })
        );
        t.append(&cfg, &mut g, 0, 512, true, 1).unwrap();
        assert_eq!(
            t.append(&cfg, &mut g, 100, 512, false, 1),
            Err(TimelineError::TimeWentBack { dts: 100, end: 512 })
        );
        assert_eq!(
            t.append(&cfg, &mut g, 512, 0, false, 1),
            Err(TimelineError::ZeroDuration { dts: 512 })
        );
        assert_eq!(
            t.append(&cfg, &mut g, u64::MAX - 10, 512, false, 1),
            Err(TimelineError::TimeOverflow { dts: u64::MAX - 10 })
        );
    }

    #[test]
    fn eviction_keeps_the_newest_complete_segments() {
        let cfg = TimingConfig::default();
        let mut g = video_grid();
        let mut t = track(MediaKind::Video, 15360);
        feed_video(&mut t, &cfg, &mut g, 0, 30 * 11, 30);
        assert_eq!(t.evict(3), vec![1, 2]);
        assert_eq!(t.segments.front().unwrap().msn, 3);
        assert!(t.segment(2).is_none());
        assert_eq!(t.segment(4).unwrap().msn, 4);
    }
}
