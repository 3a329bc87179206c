//! One live track: its timeline, its init versions, the growing object of every held
//! segment, and the re-fragmentation of ingest chunks into weir's own chunks aligned
//! with part boundaries.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use timeline::{Grid, MediaKind, Placement, TimelineError, TimingConfig, TrackMeta, TrackTimeline};
use tokio::sync::watch;

use super::bandwidth::Meter;
use super::channel::ChunkIn;
use super::growing::{ChunkTimes, Growing};
use crate::error::IngestError;

/// One version of a track's init segment.
#[derive(Debug, Clone)]
pub struct InitVersion {
    /// Checksum of `bytes` (CRC-32): the id in the init's URL and in
    /// [`timeline::Segment::init`].
    pub id: u32,
    /// `ftyp` + `moov` exactly as received.
    pub bytes: Bytes,
    /// The parsed init (exactly one track).
    pub info: cmaf::InitSegment,
}

/// A rendition being ingested.
#[derive(Debug)]
pub struct LiveTrack {
    /// Segments and parts, as listed to renderers.
    pub timeline: TrackTimeline,
    /// The growing object of each segment of `timeline`, in the same order.
    media: VecDeque<Arc<Growing>>,
    /// Init versions still referenced by a held segment, oldest first; the last is the
    /// one new media is read with.
    inits: Vec<InitVersion>,
    declared_bitrate: Option<u64>,
    meter: Meter,
    /// Added to every incoming decode time: non-zero after an encoder restart, negative
    /// when the restart took out a jump of the encoder's clock ahead of the channel's.
    offset: i64,
    /// Set by a new init segment: the next chunk may restart the encoder's clock.
    rebase_pending: bool,
    next_sequence: u32,
    /// Samples dropped because they repeated media already stored.
    pub duplicates_dropped: u64,
    /// Wall-clock time of the last ingest activity, Unix microseconds.
    pub last_activity_us: i64,
    /// Changes whenever the track's timeline does (per-rendition wake-ups).
    changed: watch::Sender<u64>,
    /// Segments completed since the DVR last took them ([`LiveTrack::take_completed`]).
    completed: Vec<u64>,
    /// Its ingest counters (`/metrics`).
    pub stats: Arc<super::stats::TrackStats>,
}

/// What an encoder restart needs to know of the whole channel, so that all of its
/// renditions continue at one point and stay in sync with each other.
#[derive(Debug, Default, Clone, Copy)]
pub struct Restart {
    /// The offset the channel's latest restart gave the first rendition that restarted:
    /// (ticks, timescale). A rendition restarting with it continues forward in sync.
    pub offset: Option<(i64, u32)>,
    /// The grid cell after the newest media of any rendition of the channel.
    pub next_cell: u64,
}

/// What one ingest chunk did to a track.
#[derive(Debug, Clone, Copy, Default)]
pub struct Applied {
    /// Samples stored.
    pub stored: usize,
    /// True when a sample chose the channel's cadence.
    pub cadence_chosen: bool,
    /// True when a segment was cut without a key frame.
    pub forced_cut: bool,
    /// True when an encoder restart closed the segment in progress (even if no sample
    /// was stored yet): the change must be published.
    pub closed: bool,
}

impl LiveTrack {
    /// A new track `id` from its init segment.
    pub fn new(
        id: &str,
        init: cmaf::InitSegment,
        bytes: Bytes,
        now_us: i64,
    ) -> Result<Self, IngestError> {
        let info = single_track(&init)?;
        let meta = TrackMeta {
            id: id.to_string(),
            kind: match info.kind {
                cmaf::TrackKind::Video => MediaKind::Video,
                _ => MediaKind::Audio,
            },
            codec: info.codec.clone(),
            timescale: info.timescale,
            width: info.width,
            height: info.height,
            frame_duration: 0,
            sample_rate: info.sample_rate,
            channels: info.channels,
            language: info.language.clone(),
            bandwidth: 0,
            average_bandwidth: 0,
        };
        if meta.timescale == 0 {
            return Err(IngestError::Unsupported(
                "init segment has timescale 0".into(),
            ));
        }
        let declared_bitrate = info.max_bitrate.or(info.avg_bitrate).map(u64::from);
        let version = InitVersion {
            id: crc32fast::hash(&bytes),
            bytes,
            info: init,
        };
        let mut timeline = TrackTimeline::new(meta);
        timeline.init = version.id;
        Ok(LiveTrack {
            timeline,
            media: VecDeque::new(),
            inits: vec![version],
            declared_bitrate,
            meter: Meter::default(),
            offset: 0,
            rebase_pending: false,
            next_sequence: 1,
            duplicates_dropped: 0,
            last_activity_us: now_us,
            stats: Arc::default(),
            changed: watch::Sender::new(0),
            completed: Vec::new(),
        })
    }

    /// A track continued from the DVR after a restart: its init versions and its newest
    /// stored segment (held in memory again, so that numbering, discontinuity sequence
    /// and period continue where they were, and an encoder that reconnects continues
    /// after it with a discontinuity).
    pub fn restored(rt: &crate::dvr::RestoredTrack, now_us: i64) -> Result<Self, IngestError> {
        let (stored, bytes) = rt.last.as_ref().ok_or_else(|| {
            IngestError::Unsupported(format!("track '{}' has no stored segment", rt.meta.id))
        })?;
        let mut inits = Vec::new();
        for (id, b) in &rt.inits {
            let info = stored_init(b).ok_or_else(|| {
                IngestError::Unsupported(format!(
                    "stored init {} of '{}' does not parse",
                    manifest::init_uri(*id),
                    rt.meta.id
                ))
            })?;
            single_track(&info)?;
            inits.push(InitVersion {
                id: *id,
                bytes: b.clone(),
                info,
            });
        }
        let seg = stored.past.segment.as_ref().clone();
        if inits.last().is_none_or(|v| v.id != seg.init) {
            return Err(IngestError::Unsupported(format!(
                "the init of the newest stored segment of '{}' is missing",
                rt.meta.id
            )));
        }
        let timeline = TrackTimeline::restored(
            rt.meta.clone(),
            seg.clone(),
            stored.past.period,
            stored.past.period_start,
        );
        let g = Growing::new();
        let times = ChunkTimes {
            start: seg.start,
            end: seg.end(),
        };
        g.append(0, vec![bytes.clone()], times);
        g.end_period();
        if let Some(s) = timeline.segments.back() {
            g.sync(s);
        }
        Ok(LiveTrack {
            timeline,
            media: VecDeque::from([g]),
            inits,
            declared_bitrate: None,
            meter: Meter::default(),
            offset: 0,
            // The next chunk comes from a reconnected encoder: its clock may restart.
            rebase_pending: true,
            next_sequence: 1,
            duplicates_dropped: 0,
            last_activity_us: now_us,
            stats: Arc::default(),
            changed: watch::Sender::new(0),
            completed: Vec::new(),
        })
    }

    /// The segments completed since the last call (for the DVR), oldest first.
    pub fn take_completed(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.completed)
    }

    /// The init new media is read with.
    pub fn current_init(&self) -> &InitVersion {
        self.inits.last().expect("a track always has an init")
    }

    /// The init version `id`, if still held.
    pub fn init(&self, id: u32) -> Option<&InitVersion> {
        self.inits.iter().rev().find(|v| v.id == id)
    }

    /// Takes an init segment for an existing track (an encoder reconnecting). The
    /// timescale and media kind must not change, or stored media would be misread. An
    /// init with the same bytes keeps its id and URL; a different one becomes a new
    /// version: the segment in progress is closed, and the next segment starts with a
    /// discontinuity and refers to the new init, while older segments keep theirs.
    /// Returns true when the init changed.
    pub fn set_init(&mut self, init: cmaf::InitSegment, bytes: Bytes) -> Result<bool, IngestError> {
        let info = single_track(&init)?;
        let meta = &self.timeline.meta;
        if info.timescale != meta.timescale {
            return Err(IngestError::Unsupported(format!(
                "track '{}' changed timescale from {} to {}; use a new track name",
                meta.id, meta.timescale, info.timescale
            )));
        }
        let kind = match info.kind {
            cmaf::TrackKind::Video => MediaKind::Video,
            _ => MediaKind::Audio,
        };
        if kind != meta.kind {
            return Err(IngestError::Unsupported(format!(
                "track '{}' changed media kind; use a new track name",
                meta.id
            )));
        }
        self.rebase_pending = true;
        let id = crc32fast::hash(&bytes);
        if id == self.current_init().id {
            return Ok(false);
        }
        let meta = &mut self.timeline.meta;
        meta.codec = info.codec.clone();
        meta.width = info.width;
        meta.height = info.height;
        meta.sample_rate = info.sample_rate;
        meta.channels = info.channels;
        self.inits.retain(|v| v.id != id);
        self.inits.push(InitVersion {
            id,
            bytes,
            info: init,
        });
        self.timeline.init = id;
        self.close(true);
        // A new init may bring a new frame rate: the next sample sets it again.
        self.timeline.meta.frame_duration = 0;
        Ok(true)
    }

    /// Measured (peak, average) bit rate, or the declared one before any segment completes.
    pub fn bandwidth(&self) -> (u64, u64) {
        match (
            self.meter.rates(self.timeline.meta.timescale),
            self.declared_bitrate,
        ) {
            ((0, _), Some(d)) => (d, d),
            (r, _) => r,
        }
    }

    /// Maps an incoming decode time onto the track's timeline.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// An incoming decode time on the track's timeline; none before its zero.
    fn shifted(&self, dts: u64) -> Option<u64> {
        shift(dts, self.offset)
    }

    /// The growing object of segment `msn`, if held.
    pub fn object(&self, msn: u64) -> Option<Arc<Growing>> {
        let i = self.timeline.index_of(msn)?;
        self.media.get(i).cloned()
    }

    /// A watch that changes whenever this track's timeline does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Requests waiting on this track (blocking reloads, held media).
    pub fn waiting(&self) -> usize {
        self.changed.receiver_count() + self.media.iter().map(|g| g.readers()).sum::<usize>()
    }

    /// Wakes the track's waiters.
    pub fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Bytes of media held (init versions included).
    pub fn held_bytes(&self) -> u64 {
        self.media.iter().map(|g| g.len()).sum::<u64>()
            + self.inits.iter().map(|v| v.bytes.len() as u64).sum::<u64>()
    }

    /// Places the samples of one ingest chunk on the timeline and stores them as one
    /// or more weir chunks (one per part the samples fall into). Checks the chunk's
    /// times before changing anything.
    pub fn apply_chunk(
        &mut self,
        cfg: &TimingConfig,
        grid: &mut Grid,
        restart: &mut Restart,
        chunk: &ChunkIn,
    ) -> Result<Applied, IngestError> {
        let source_id = self.current_init().info.tracks[0].track_id;
        let traf =
            self.source_traf(chunk)
                .ok_or(IngestError::Media(cmaf::CmafError::UnknownTrack(
                    chunk.fragment.tracks.first().map_or(0, |t| t.track_id),
                )))?;
        if let Some(s) = traf.samples.iter().find(|s| s.duration == 0) {
            return Err(TimelineError::ZeroDuration { dts: s.dts }.into());
        }
        let Some(first) = traf.samples.first() else {
            return Ok(Applied::default());
        };
        let mut applied = Applied::default();
        if std::mem::take(&mut self.rebase_pending) {
            applied.closed = self.rebase(grid, cfg, restart, first.dts);
        }
        // Every decode time must stay representable once offset.
        if let Some(s) = traf.samples.iter().find(|s| {
            self.shifted(s.dts)
                .and_then(|t| t.checked_add(u64::from(s.duration)))
                .is_none()
        }) {
            return Err(TimelineError::TimeOverflow { dts: s.dts }.into());
        }
        let end = self.timeline.end();
        let mut runs: Vec<Run> = Vec::new();
        for s in &traf.samples {
            // Representable: checked above.
            let Some(dts) = self.shifted(s.dts) else {
                continue;
            };
            if end.is_some_and(|e| dts < e) {
                self.duplicates_dropped += 1;
                continue;
            }
            let duration = self.bounded_duration(cfg, s.duration);
            let p =
                match self
                    .timeline
                    .append(cfg, grid, dts, duration, s.is_sync, u64::from(s.size))
                {
                    Ok(p) => p,
                    // Waiting for the first key frame (e.g. joined mid-GOP): skip the sample.
                    Err(TimelineError::NoKeyFrame { .. }) => continue,
                    Err(e) => return Err(e.into()),
                };
            applied.cadence_chosen |= p.cadence_chosen;
            applied.forced_cut |= p.forced_cut;
            if let Some(done) = p.completed_segment {
                self.completed(done);
            }
            if self.timeline.meta.frame_duration == 0 {
                self.timeline.meta.frame_duration = s.duration;
            }
            // The demuxer checked that every sample lies inside the mdat payload.
            let start = usize::try_from(s.offset - chunk.mdat_offset).unwrap_or(usize::MAX);
            let range = (start, start + s.size as usize);
            let out = cmaf::SampleOut {
                duration,
                size: s.size,
                flags: s.flags,
                cts_offset: s.cts_offset,
            };
            match runs.last_mut() {
                Some(r) if r.placement.msn == p.msn && r.placement.part == p.part => {
                    r.push(out, range)
                }
                _ => runs.push(Run::new(p, dts, out, range)),
            }
        }
        while self.media.len() < self.timeline.segments.len() {
            self.media.push_back(Growing::new());
        }
        applied.stored = runs.iter().map(|r| r.samples.len()).sum();
        let first_touched = runs
            .first()
            .and_then(|r| self.timeline.index_of(r.placement.msn));
        for run in runs {
            let header =
                cmaf::write_fragment_header(self.next_sequence, source_id, run.base, &run.samples);
            self.next_sequence = self.next_sequence.wrapping_add(1);
            // One buffer per output chunk (its `moof` and `mdat` copied together once,
            // here): every body then sends a CMAF chunk as one frame, one HTTP/1.1
            // chunk, so a cache in front (`weir edge`) wakes its viewers once per chunk
            // instead of once per box. It also frees the ingest's read buffer.
            let served = header.len() + run.ranges.iter().map(|&(a, b)| b - a).sum::<usize>();
            let mut joined = BytesMut::with_capacity(served);
            joined.extend_from_slice(&header);
            for &(a, b) in &run.ranges {
                joined.extend_from_slice(&chunk.mdat[a..b]);
            }
            let bytes = vec![joined.freeze()];
            self.timeline
                .add_part_bytes(run.placement.msn, run.placement.part, served as u64);
            let end = run.base
                + run
                    .samples
                    .iter()
                    .map(|s| u64::from(s.duration))
                    .sum::<u64>();
            if let Some(g) = self.object(run.placement.msn) {
                let times = ChunkTimes {
                    start: run.base,
                    end,
                };
                g.append(run.placement.part, bytes, times);
            }
        }
        // Part and segment completion reach the growing objects after their bytes.
        if let Some(i) = first_touched {
            self.sync_from(i.saturating_sub(1));
        }
        Ok(applied)
    }

    /// Brings the growing objects from position `i` on in line with the timeline.
    /// Indexed, not skipped: an iterator's `skip` would walk the whole window.
    fn sync_from(&self, i: usize) {
        for idx in i..self.media.len() {
            if let (Some(seg), Some(g)) = (self.timeline.segments.get(idx), self.media.get(idx)) {
                g.sync(seg);
            }
        }
    }

    fn completed(&mut self, msn: u64) {
        if let Some(s) = self.timeline.segment(msn) {
            self.meter.complete(s, self.timeline.meta.timescale);
            self.completed.push(msn);
            // Every way a segment completes passes here (cut, restart, new init,
            // broken upload): the count of `/metrics`.
            self.stats.segments.inc();
        }
    }

    /// Marks the segment in progress complete (end of stream, new init) and the next
    /// one discontinuous if `discontinuity` is set.
    pub fn close(&mut self, discontinuity: bool) {
        let open = self
            .timeline
            .segments
            .back()
            .filter(|s| !s.complete)
            .map(|s| s.msn);
        if discontinuity && open.is_some() {
            // Before it completes, so that a reader that sees the end sees the mark.
            if let Some(g) = self.media.back() {
                g.end_period();
            }
        }
        self.timeline.close(discontinuity);
        if let Some(msn) = open {
            self.completed(msn);
        }
        if !self.media.is_empty() {
            self.sync_from(self.media.len() - 1);
        }
    }

    /// The encoder's upload broke: the segment in progress ends at what is stored (its
    /// readers end with an error) and the next segment starts a new period. Returns
    /// true when a segment was in progress.
    pub fn interrupt(&mut self) -> bool {
        let open = self.timeline.segments.back().is_some_and(|s| !s.complete);
        if !open {
            return false;
        }
        if let Some(g) = self.media.back() {
            // Before the end, so that a reader that sees the end sees the mark.
            g.end_period();
            g.truncate();
        }
        self.close(true);
        true
    }

    /// Drops the oldest complete segments so that at most `keep` remain, with their
    /// media and any init version no longer referenced.
    pub fn evict(&mut self, keep: usize) {
        let dropped = self.timeline.evict(keep);
        let Some(&last) = dropped.last() else {
            return;
        };
        for _ in &dropped {
            self.media.pop_front();
        }
        self.meter.evict_through(last);
        if self.inits.len() > 1 {
            let current = self.current_init().id;
            let segments = &self.timeline.segments;
            self.inits
                .retain(|v| v.id == current || segments.iter().any(|s| s.init == v.id));
        }
    }

    /// Ends every object still being produced (the track is being removed).
    pub fn abort(&self) {
        self.media.iter().for_each(|g| g.abort());
    }

    /// True when the next chunk may follow an encoder restart (an init was just set).
    pub fn rebase_pending(&self) -> bool {
        self.rebase_pending
    }

    /// True when `chunk` starts before the oldest media the track holds, and more than a
    /// target duration before its newest, within one upload: the encoder's clock went
    /// back without a new init (a reset clock, a looping source). Dropping such samples
    /// as repeats would stall the rendition until the clock caught up again (an hour,
    /// for a clock reset after an hour), so they are taken as an encoder restart
    /// instead ([`LiveTrack::restart_clock`]). Media within what the track holds is
    /// media sent again (a retried upload): dropped, as before.
    pub fn clock_went_back(&self, chunk: &ChunkIn, cfg: &TimingConfig) -> bool {
        let first = self.source_traf(chunk).and_then(|t| t.samples.first());
        let (Some(first), Some(end), Some(oldest)) = (
            first,
            self.timeline.end(),
            self.timeline.segments.front().map(|s| s.start),
        ) else {
            return false;
        };
        let slack = self.target_ticks(cfg);
        let at = self.shifted(first.dts).unwrap_or(0);
        at < oldest && at.saturating_add(slack) < end
    }

    /// True when `chunk` starts more than a target duration after this track's newest
    /// media and more than a target duration ahead of the channel's clock (`clock`:
    /// media time now, in this track's ticks), within one upload: the encoder's clock
    /// jumped ahead of real time (a source switched to another time base). Kept as it
    /// is, the media after the jump would be published ahead of the wall clock, and
    /// DASH players, who find segments from the clock, would wait the jump out; so it is
    /// taken as an encoder restart ([`LiveTrack::restart_clock`]), which continues at
    /// the clock. A jump that real time also made (frames lost while the clock ran) is
    /// not ahead of the clock and keeps its gap.
    pub fn clock_ran_ahead(&self, chunk: &ChunkIn, cfg: &TimingConfig, clock: u64) -> bool {
        let first = self.source_traf(chunk).and_then(|t| t.samples.first());
        let (Some(first), Some(end)) = (first, self.timeline.end()) else {
            return false;
        };
        let slack = self.target_ticks(cfg);
        self.shifted(first.dts)
            .is_some_and(|at| at > end.saturating_add(slack) && at > clock.saturating_add(slack))
    }

    /// A sample's duration as stored: at most a target duration.
    ///
    /// [HLS §4.4.3.1] "The EXTINF duration of each Media Segment in a Playlist file, when
    /// rounded to the nearest integer, MUST be less than or equal to the Target
    /// Duration." An encoder whose clock jumps writes the jump as the duration of the
    /// frame before it (ffmpeg's fragmented MP4 muxer does: a frame of 30 s), which no
    /// segment could hold; that frame is given the track's frame duration, so the jump
    /// shows as one at the next chunk and is handled as one
    /// ([`LiveTrack::clock_ran_ahead`], or a gap the cutter marks).
    fn bounded_duration(&self, cfg: &TimingConfig, duration: u32) -> u32 {
        let frame = self.timeline.meta.frame_duration;
        if frame > 0 && u64::from(duration) > self.target_ticks(cfg) {
            frame
        } else {
            duration
        }
    }

    /// The target duration in this track's ticks.
    fn target_ticks(&self, cfg: &TimingConfig) -> u64 {
        timeline::time::ms_to_ticks(
            u64::from(cfg.target_duration_ms),
            self.timeline.meta.timescale,
        )
    }

    /// The fragment of `chunk` for this track's source track (its init's one track).
    fn source_traf<'a>(&self, chunk: &'a ChunkIn) -> Option<&'a cmaf::TrackFragment> {
        let source_id = self.current_init().info.tracks[0].track_id;
        chunk
            .fragment
            .tracks
            .iter()
            .find(|t| t.track_id == source_id)
    }

    /// Takes the next chunk as the start of a restarted encoder clock: it continues the
    /// timeline after a discontinuity, as after a new init.
    pub fn restart_clock(&mut self) {
        self.rebase_pending = true;
    }

    /// The first grid cell that starts at or after this track's newest media less one
    /// frame (0 without media): where a restart can continue it, dropping at most one
    /// repeated frame (an audio frame that crosses the grid point, typically).
    pub fn next_cell(&self, grid: &Grid, cfg: &TimingConfig) -> u64 {
        let c = grid.current(cfg.target_duration_ms);
        let frame = u64::from(self.timeline.meta.frame_duration);
        self.timeline
            .end()
            .map_or(0, |end| match end.saturating_sub(frame) {
                0 => 0,
                t => c
                    .cell(t - 1, self.timeline.meta.timescale)
                    .saturating_add(1),
            })
    }

    /// After an encoder restart whose clock went back, or jumped ahead of the channel's
    /// clock, continue the timeline with a discontinuity. Returns true when it did. A
    /// restart whose media lands after the newest media and at most a target duration
    /// beyond where a restart continues keeps its own times (the cutter marks the gap).
    ///
    /// Every rendition of the encoder restarted together, so all of them take one
    /// offset: the first to restart continues at `restart.next_cell` (the grid point
    /// after the newest media of any rendition, or the clock's, whichever is later), and
    /// the others reuse its offset, which keeps them in sync as the encoder had them.
    fn rebase(
        &mut self,
        grid: &Grid,
        cfg: &TimingConfig,
        restart: &mut Restart,
        first_dts: u64,
    ) -> bool {
        let Some(end) = self.timeline.end() else {
            return false;
        };
        let ts = self.timeline.meta.timescale;
        let next = grid
            .current(cfg.target_duration_ms)
            .boundary(restart.next_cell, ts);
        let beyond = next.saturating_add(self.target_ticks(cfg));
        let fits = |at: Option<u64>| at.is_some_and(|a| a >= end && a <= beyond);
        if fits(self.shifted(first_dts)) {
            return false;
        }
        // Within a frame of the end: the repeated frame is dropped as a duplicate.
        let frame = u64::from(self.timeline.meta.frame_duration);
        let shared = restart
            .offset
            .map(|(o, ots)| rescale_signed(o, ots, ts))
            .filter(|o| fits(shift(first_dts, *o).map(|a| a.saturating_add(frame))));
        self.offset = match shared {
            Some(o) => o,
            None => {
                let o = i64::try_from(i128::from(next) - i128::from(first_dts)).unwrap_or(0);
                restart.offset = Some((o, ts));
                o
            }
        };
        self.close(true);
        true
    }
}

/// `dts` moved by `offset` ticks; none before zero or past the last tick.
pub(crate) fn shift(dts: u64, offset: i64) -> Option<u64> {
    u64::try_from(i128::from(dts) + i128::from(offset)).ok()
}

/// A signed offset of `from` ticks in `to` ticks (rounded towards zero).
fn rescale_signed(v: i64, from: u32, to: u32) -> i64 {
    let r = i64::try_from(timeline::time::rescale(v.unsigned_abs(), from, to)).unwrap_or(i64::MAX);
    if v < 0 { -r } else { r }
}

/// Consecutive samples that landed in the same part.
struct Run {
    placement: Placement,
    base: u64,
    samples: Vec<cmaf::SampleOut>,
    /// Byte ranges of the samples in the ingest mdat payload; adjacent ranges merged, so
    /// the usual case is one zero-copy slice per run.
    ranges: Vec<(usize, usize)>,
}

impl Run {
    fn new(placement: Placement, base: u64, s: cmaf::SampleOut, range: (usize, usize)) -> Self {
        Run {
            placement,
            base,
            samples: vec![s],
            ranges: vec![range],
        }
    }

    fn push(&mut self, s: cmaf::SampleOut, range: (usize, usize)) {
        self.samples.push(s);
        match self.ranges.last_mut() {
            Some(last) if last.1 == range.0 => last.1 = range.1,
            _ => self.ranges.push(range),
        }
    }
}

/// The parsed `moov` of a stored init segment (`ftyp` + `moov`, as received).
fn stored_init(bytes: &[u8]) -> Option<cmaf::InitSegment> {
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let cmaf::Scan::Header(h) = cmaf::scan_header(rest, u64::MAX).ok()? else {
            return None;
        };
        let size = usize::try_from(h.size).ok()?;
        if &h.kind == b"moov" {
            return cmaf::parse_init(rest.get(..size)?).ok();
        }
        at = at.checked_add(size)?;
    }
    None
}

/// The one track of an init segment, if it is audio or video.
fn single_track(init: &cmaf::InitSegment) -> Result<&cmaf::TrackInfo, IngestError> {
    match init.tracks.as_slice() {
        [t] if matches!(t.kind, cmaf::TrackKind::Video | cmaf::TrackKind::Audio) => Ok(t),
        [_] => Err(IngestError::Unsupported(
            "init segment track is neither audio nor video".into(),
        )),
        ts => Err(IngestError::Unsupported(format!(
            "init segment has {} tracks; push one track per ingest path",
            ts.len()
        ))),
    }
}
