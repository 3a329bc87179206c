//! A channel: its renditions, its cadence and wall-clock anchor, and the published
//! snapshot.
//!
//! Writers (ingest) mutate a channel under a short mutex and publish an immutable
//! [`ChannelSnapshot`]. Publishing costs the same whatever the window's length (the
//! timelines are persistent vectors: a snapshot shares every unchanged segment), and
//! happens only when something changed. Wake-ups are per rendition: a request waiting
//! for a part of one track never wakes for another track's chunks; a channel-wide watch
//! serves the few waiters that need every track (the start-up hold of the master
//! playlist and the MPD).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use timeline::time::to_micros;
use timeline::{ChannelSnapshot, ClockSource, Grid, MediaKind, TimingConfig, snap_epoch};
use tokio::sync::watch;

use super::companion::{Companion, KeyFrame};
use super::growing::Growing;
use super::track::{InitVersion, LiveTrack, Restart};
use crate::config::Limits;
use crate::dvr::Dvr;
use crate::error::IngestError;

/// One complete ingest chunk, as the demuxer delivers it.
#[derive(Debug, Clone)]
pub struct ChunkIn {
    /// The decoded moof.
    pub fragment: cmaf::Fragment,
    /// The producer reference time sent just before the moof, if any.
    pub prft: Option<cmaf::ProducerTime>,
    /// The mdat payload.
    pub mdat: Bytes,
    /// Offset of the mdat payload from the first byte of the moof.
    pub mdat_offset: u64,
}

/// A live channel.
#[derive(Debug)]
pub struct Channel {
    name: String,
    byterange_parts: bool,
    timing: TimingConfig,
    keep_segments: usize,
    max_tracks: usize,
    state: Mutex<State>,
    tx: watch::Sender<Arc<ChannelSnapshot>>,
    last_activity_us: AtomicI64,
    /// When the current run of ingest began: the first activity after a gap longer than
    /// [`Channel::live_gap_us`] (for `/ready`).
    live_since_us: AtomicI64,
    /// Where completed segments go (none without `--dvr-dir`).
    dvr: Option<Arc<Dvr>>,
    /// What its viewers were answered (`/metrics`).
    serve_stats: super::stats::ServeStats,
}

#[derive(Debug, Default)]
struct State {
    epoch_us: Option<i64>,
    epoch_source: Option<ClockSource>,
    grid: Grid,
    restart: Restart,
    tracks: Vec<LiveTrack>,
    /// Key-frame companions of video renditions (HESP initialization packets); not
    /// renditions: no manifest lists them.
    companions: Vec<Companion>,
}

impl Channel {
    /// An empty channel.
    pub fn new(
        name: &str,
        timing: TimingConfig,
        limits: &Limits,
        byterange_parts: bool,
        dvr: Option<Arc<Dvr>>,
    ) -> Self {
        let snap = ChannelSnapshot {
            channel: name.to_string(),
            config: timing,
            version: 0,
            byterange_parts,
            now_us: crate::clock::now_us(),
            epoch_us: None,
            epoch_source: None,
            cadence: None,
            tracks: Vec::new(),
            start_over: None,
        };
        Channel {
            name: name.to_string(),
            byterange_parts,
            timing,
            keep_segments: (timing.window_segments + limits.extra_segments) as usize,
            max_tracks: limits.max_tracks,
            state: Mutex::new(State::default()),
            tx: watch::Sender::new(Arc::new(snap)),
            last_activity_us: AtomicI64::new(crate::clock::now_us()),
            live_since_us: AtomicI64::new(crate::clock::now_us()),
            serve_stats: super::stats::ServeStats::default(),
            dvr,
        }
    }

    /// A channel continued from what the DVR had on disk after a restart: the same
    /// anchor and cadence (so the same media keeps its numbers and URLs), and per track
    /// its inits and newest stored segment. Tracks that cannot be continued are left
    /// out (logged); their stored segments are still served.
    pub fn restored(
        rc: &crate::dvr::RestoredChannel,
        timing: TimingConfig,
        limits: &Limits,
        byterange_parts: bool,
        dvr: Option<Arc<Dvr>>,
    ) -> Self {
        let ch = Channel::new(&rc.name, timing, limits, byterange_parts, dvr);
        let now = crate::clock::now_us();
        {
            let mut st = ch.lock();
            st.epoch_us = Some(rc.meta.epoch_us);
            st.epoch_source = rc.meta.epoch_source;
            st.grid.cadence = rc.meta.cadence;
            for rt in &rc.tracks {
                match LiveTrack::restored(rt, now) {
                    Ok(t) => {
                        st.grid.has_video |= t.timeline.meta.kind == MediaKind::Video;
                        st.tracks.push(t);
                    }
                    Err(e) => tracing::warn!(
                        "channel {}: track '{}' not continued: {e}",
                        rc.name,
                        rt.meta.id
                    ),
                }
            }
            ch.publish(&st, None);
        }
        ch
    }

    /// Hands the segments completed since the last call to the DVR (without waiting
    /// for the disk; their bytes are the stored ones, not a copy).
    fn archive(&self, st: &mut State) {
        let (Some(dvr), Some(epoch_us)) = (&self.dvr, st.epoch_us) else {
            st.tracks.iter_mut().for_each(|t| drop(t.take_completed()));
            return;
        };
        let channel_meta = crate::dvr::ChannelMeta {
            epoch_us,
            epoch_source: st.epoch_source,
            cadence: st.grid.cadence,
        };
        for t in &mut st.tracks {
            for msn in t.take_completed() {
                let (Some(seg), Some(g)) = (t.timeline.segment(msn), t.object(msn)) else {
                    continue;
                };
                let Some(init) = t.init(seg.init) else {
                    continue;
                };
                let period = t.timeline.period_of(seg);
                let period_start = t.timeline.period_start(period).unwrap_or(seg.start);
                dvr.submit(crate::dvr::Job {
                    channel: self.name.clone(),
                    channel_meta,
                    track: t.timeline.meta.clone(),
                    past: timeline::history::PastSegment {
                        segment: Arc::new(timeline::Segment {
                            parts: Vec::new(),
                            ..seg.clone()
                        }),
                        period,
                        period_start,
                    },
                    init: (init.id, init.bytes.clone()),
                    body: g.chunks(),
                });
            }
        }
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The latest published snapshot.
    pub fn snapshot(&self) -> Arc<ChannelSnapshot> {
        self.tx.borrow().clone()
    }

    /// A receiver that sees every newly published snapshot (any track).
    pub fn subscribe(&self) -> watch::Receiver<Arc<ChannelSnapshot>> {
        self.tx.subscribe()
    }

    /// A receiver that changes whenever track `id` does, if the track exists.
    pub fn subscribe_track(&self, id: &str) -> Option<watch::Receiver<u64>> {
        self.with_track(id, LiveTrack::subscribe)
    }

    /// Registers the init segment of track `id` (a new track, or a new version of an
    /// existing one; an identical init changes nothing).
    pub fn set_init(
        &self,
        id: &str,
        init: cmaf::InitSegment,
        bytes: Bytes,
    ) -> Result<(), IngestError> {
        let now = crate::clock::now_us();
        self.touch(now);
        let mut st = self.lock();
        let st = &mut *st;
        match st.tracks.iter_mut().position(|t| t.timeline.meta.id == id) {
            Some(i) => {
                let t = &mut st.tracks[i];
                t.last_activity_us = now;
                if t.set_init(init, bytes)? {
                    self.archive(st);
                    let t = &st.tracks[i];
                    tracing::info!(
                        "channel {}: track '{id}' has a new init ({}), served as {}",
                        self.name,
                        t.timeline.meta.codec,
                        manifest::init_uri(t.current_init().id)
                    );
                    self.publish(st, Some(i));
                }
            }
            None => {
                if st.tracks.len() >= self.max_tracks {
                    return Err(IngestError::Limit(format!(
                        "channel '{}' already has {} tracks (the limit)",
                        self.name, self.max_tracks
                    )));
                }
                let t = LiveTrack::new(id, init, bytes, now)?;
                st.grid.has_video |= t.timeline.meta.kind == MediaKind::Video;
                st.tracks.push(t);
                let i = st.tracks.len() - 1;
                self.publish(st, Some(i));
            }
        }
        Ok(())
    }

    /// The parsed current init segment of track `id`, for uploads that carry only media.
    pub fn init_info(&self, id: &str) -> Option<cmaf::InitSegment> {
        self.with_track(id, |t| t.current_init().info.clone())
    }

    /// Stores one ingest chunk of track `id` and publishes the new state.
    pub fn add_chunk(&self, id: &str, chunk: &ChunkIn, arrival_us: i64) -> Result<(), IngestError> {
        self.touch(arrival_us);
        let mut st = self.lock();
        let st = &mut *st;
        let i = st
            .tracks
            .iter()
            .position(|t| t.timeline.meta.id == id)
            .ok_or_else(|| IngestError::NoInit(id.to_string()))?;
        let clock = clock_us(st, chunk, arrival_us);
        if !st.tracks[i].rebase_pending() && st.tracks[i].clock_went_back(chunk, &self.timing) {
            tracing::warn!(
                "channel {}: track '{id}': the encoder's clock went back without a new init; \
                 continuing after a discontinuity",
                self.name
            );
            st.tracks[i].restart_clock();
        } else if !st.tracks[i].rebase_pending()
            && let Some(now_us) = clock
        {
            let ts = st.tracks[i].timeline.meta.timescale;
            let clock = timeline::time::rescale(now_us, 1_000_000, ts);
            if st.tracks[i].clock_ran_ahead(chunk, &self.timing, clock) {
                tracing::warn!(
                    "channel {}: track '{id}': the encoder's clock jumped ahead of real time; \
                     continuing at the channel's clock after a discontinuity",
                    self.name
                );
                st.tracks[i].restart_clock();
            }
        }
        if st.tracks[i].rebase_pending() {
            let after_media = st
                .tracks
                .iter()
                .map(|t| t.next_cell(&st.grid, &self.timing))
                .max()
                .unwrap_or(0);
            // At the clock only when it is well past the old media (an outage); a
            // restart within the drift a real-time encoder builds up against its anchor
            // stays contiguous ([`RESTART_AT_CLOCK_AFTER_CELLS`]).
            let now = clock
                .map(|us| clock_cell(st, &self.timing, us))
                .filter(|&c| c > after_media.saturating_add(RESTART_AT_CLOCK_AFTER_CELLS));
            st.restart.next_cell = now.unwrap_or(after_media);
        }
        let track = &mut st.tracks[i];
        track.last_activity_us = arrival_us;
        track.stats.chunk(chunk.mdat.len() as u64, arrival_us);
        let before = published(&track.timeline);
        let applied = track.apply_chunk(&self.timing, &mut st.grid, &mut st.restart, chunk)?;
        count_published(&st.tracks[i], before);
        self.archive(st);
        let track = &mut st.tracks[i];
        if applied.stored == 0 {
            // Published only when something changed: a restart may have closed the
            // segment in progress while the new stream waits for its first key frame.
            if applied.closed {
                self.publish(st, Some(i));
            }
            return Ok(());
        }
        if st.epoch_us.is_none()
            && let Some((epoch, source)) = anchor(track, chunk, arrival_us)
        {
            st.epoch_us = Some(snap_epoch(epoch));
            st.epoch_source = Some(source);
        }
        track.evict(self.keep_segments);
        if applied.forced_cut {
            tracing::warn!(
                "channel {}: track '{id}' had no key frame in time; segment cut without one",
                self.name
            );
        }
        if applied.cadence_chosen {
            let grid = st.grid;
            for t in &mut st.tracks {
                t.timeline.renumber(&grid);
            }
            if let Some(c) = grid.cadence {
                tracing::info!(
                    "channel {}: segments are {} µs long (target {} ms, chosen from the key frames \
                     of '{id}'): EXT-X-TARGETDURATION {}",
                    self.name,
                    c.micros(),
                    self.timing.target_duration_ms,
                    c.target_duration_secs()
                );
            }
            self.publish(st, None);
        } else {
            self.publish(st, Some(i));
        }
        Ok(())
    }

    /// The init segment `init` (an id, or the current one) of track `id`.
    pub fn init(&self, id: &str, init: Option<u32>) -> Option<Bytes> {
        self.with_track(id, |t| match init {
            Some(v) => t.init(v).map(|v| v.bytes.clone()),
            None => Some(t.current_init().bytes.clone()),
        })
        .flatten()
    }

    /// Init version `version` of track `id` (bytes and parsed), if still held.
    pub fn init_version(&self, id: &str, version: u32) -> Option<InitVersion> {
        self.with_track(id, |t| t.init(version).cloned()).flatten()
    }

    /// Registers (or replaces) the init segment of the key-frame companion of video
    /// rendition `of`.
    pub fn set_companion_init(&self, of: &str, info: cmaf::InitSegment) -> Result<(), IngestError> {
        let now = crate::clock::now_us();
        self.touch(now);
        let mut st = self.lock();
        if let Some(c) = st.companions.iter_mut().find(|c| c.of == of) {
            c.last_activity_us = now;
            return c.set_init(info);
        }
        if st.companions.len() >= self.max_tracks {
            return Err(IngestError::Limit(format!(
                "channel '{}' already has {} companion tracks (the limit)",
                self.name, self.max_tracks
            )));
        }
        st.companions.push(Companion::new(of, info, now)?);
        tracing::info!(
            "channel {}: key-frame companion of '{of}' (HESP initialization packets)",
            self.name
        );
        Ok(())
    }

    /// The parsed init segment of the companion of `of`, for uploads that carry only media.
    pub fn companion_info(&self, of: &str) -> Option<cmaf::InitSegment> {
        self.lock()
            .companions
            .iter()
            .find(|c| c.of == of)
            .map(|c| c.info().clone())
    }

    /// Stores the key frames of one ingest chunk of the companion of `of`, on `of`'s
    /// timeline. Frames that arrive before `of` has media are dropped (nothing to pair
    /// them with).
    pub fn add_companion_chunk(
        &self,
        of: &str,
        chunk: &ChunkIn,
        arrival_us: i64,
    ) -> Result<(), IngestError> {
        self.touch(arrival_us);
        let mut st = self.lock();
        let st = &mut *st;
        let paired = st
            .tracks
            .iter()
            .find(|t| t.timeline.meta.id == of)
            .map(|t| (t.timeline.meta.timescale, t.offset()));
        let c = st
            .companions
            .iter_mut()
            .find(|c| c.of == of)
            .ok_or_else(|| {
                IngestError::NoInit(format!("{of}{}", manifest::policy::hesp::COMPANION_SUFFIX))
            })?;
        c.last_activity_us = arrival_us;
        if let Some((timescale, offset)) = paired {
            c.add_chunk(chunk, timescale, offset);
        }
        Ok(())
    }

    /// The kept companion frames of `of` that start at or before `time` (newest first),
    /// the decode time after its newest frame, and a watch of its changes; `None`
    /// without a companion.
    pub fn companion(
        &self,
        of: &str,
        time: u64,
    ) -> Option<(Vec<KeyFrame>, Option<u64>, watch::Receiver<u64>)> {
        self.lock()
            .companions
            .iter()
            .find(|c| c.of == of)
            .map(|c| (c.frames_upto(time), c.end(), c.subscribe()))
    }

    /// The growing object of segment `msn` of track `id`, if held.
    pub fn object(&self, id: &str, msn: u64) -> Option<Arc<Growing>> {
        self.with_track(id, |t| t.object(msn)).flatten()
    }

    /// What its viewers were answered (`/metrics`).
    pub fn serve_stats(&self) -> &super::stats::ServeStats {
        &self.serve_stats
    }

    /// Each rendition's ingest counters.
    pub fn track_stats(&self) -> Vec<(String, Arc<super::stats::TrackStats>)> {
        self.lock()
            .tracks
            .iter()
            .map(|t| (t.timeline.meta.id.clone(), t.stats.clone()))
            .collect()
    }

    /// Requests currently waiting on this channel: blocking reloads and held media.
    pub fn waiting(&self) -> usize {
        self.tx.receiver_count()
            + self
                .lock()
                .tracks
                .iter()
                .map(LiveTrack::waiting)
                .sum::<usize>()
    }

    /// Bytes of media held in memory for this channel.
    pub fn held_bytes(&self) -> u64 {
        let st = self.lock();
        st.tracks.iter().map(LiveTrack::held_bytes).sum::<u64>()
            + st.companions.iter().map(Companion::held_bytes).sum::<u64>()
    }

    /// Wall-clock time of the last ingest activity, Unix microseconds.
    pub fn last_activity_us(&self) -> i64 {
        self.last_activity_us.load(Ordering::Relaxed)
    }

    fn touch(&self, now_us: i64) {
        let last = self.last_activity_us.fetch_max(now_us, Ordering::Relaxed);
        if now_us.saturating_sub(last) > self.live_gap_us() {
            self.live_since_us.store(now_us, Ordering::Relaxed);
        }
    }

    /// How long ingest may pause with the channel still live: 3 target durations (the
    /// hold of a blocking request, after which players get 503).
    pub fn live_gap_us(&self) -> i64 {
        i64::from(self.timing.target_duration_ms) * 3_000
    }

    /// (live, since): whether ingest came within [`Channel::live_gap_us`] of `now_us`,
    /// and since when the channel has been live (or, if not, when ingest stopped).
    pub fn liveness(&self, now_us: i64) -> (bool, i64) {
        let last = self.last_activity_us();
        if now_us.saturating_sub(last) <= self.live_gap_us() {
            (true, self.live_since_us.load(Ordering::Relaxed))
        } else {
            (false, last)
        }
    }

    /// Removes tracks without ingest activity since `before_us` (their growing objects
    /// end with an error for readers still attached); returns how many were removed.
    pub fn reap_tracks(&self, before_us: i64) -> usize {
        let mut st = self.lock();
        let n = st.tracks.len();
        st.tracks.retain(|t| {
            let keep = t.last_activity_us >= before_us;
            if !keep {
                t.abort();
                t.notify();
            }
            keep
        });
        st.companions.retain(|c| c.last_activity_us >= before_us);
        let removed = n - st.tracks.len();
        if removed > 0 {
            self.publish(&st, None);
        }
        removed
    }

    /// The upload of track `id` broke mid-stream (the encoder died or lost its
    /// connection): its segment in progress ends where it is.
    pub fn interrupt(&self, id: &str) {
        let mut st = self.lock();
        let Some(i) = st.tracks.iter().position(|t| t.timeline.meta.id == id) else {
            return;
        };
        if st.tracks[i].interrupt() {
            self.archive(&mut st);
            tracing::warn!(
                "channel {}: the upload of track '{id}' broke; its segment in progress ends here",
                self.name
            );
            self.publish(&st, Some(i));
        }
    }

    /// Closes the segment in progress of every track where it is (shutdown), as an
    /// upload that ended would: complete, handed to the DVR; the next segment would
    /// start a new period. Returns how many segments were in progress.
    pub fn close_all(&self) -> usize {
        let mut st = self.lock();
        let mut n = 0;
        for t in &mut st.tracks {
            if t.timeline.segments.back().is_some_and(|s| !s.complete) {
                t.close(true);
                n += 1;
            }
        }
        if n > 0 {
            self.archive(&mut st);
            self.publish(&st, None);
        }
        n
    }

    /// Ends every object still being produced (the channel is being removed).
    pub fn abort(&self) {
        for t in &self.lock().tracks {
            t.abort();
            t.notify();
        }
    }

    fn with_track<R>(&self, id: &str, f: impl FnOnce(&LiveTrack) -> R) -> Option<R> {
        self.lock()
            .tracks
            .iter()
            .find(|t| t.timeline.meta.id == id)
            .map(f)
    }

    /// Builds and sends a snapshot of `st`, and wakes the waiters of track `changed`
    /// (of every track when `None`). Called with the state lock held, so snapshots are
    /// published in mutation order. Costs O(tracks), not O(window).
    fn publish(&self, st: &State, changed: Option<usize>) {
        let now = crate::clock::now_us();
        // A rendition is stalled once its encoder sent nothing for 3 target durations
        // (the hold limit: a blocking reload for it would fail by then) while another
        // rendition was fed within that time.
        let target_ms = st
            .grid
            .cadence
            .map_or(0, |c| c.target_duration_secs() * 1000);
        let target_ms = target_ms.max(u64::from(self.timing.target_duration_ms));
        let quiet_us = i64::try_from(target_ms)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000)
            .saturating_mul(STALLED_AFTER_TARGETS);
        let fed = |t: &LiveTrack| now.saturating_sub(t.last_activity_us) <= quiet_us;
        let any_fed = st.tracks.iter().any(fed);
        let tracks = st
            .tracks
            .iter()
            .map(|t| {
                let mut tl = t.timeline.clone();
                (tl.meta.bandwidth, tl.meta.average_bandwidth) = t.bandwidth();
                tl.stalled = any_fed && !fed(t);
                tl
            })
            .collect();
        let snap = ChannelSnapshot {
            channel: self.name.clone(),
            config: self.timing,
            version: self.tx.borrow().version + 1,
            byterange_parts: self.byterange_parts,
            now_us: now,
            epoch_us: st.epoch_us,
            epoch_source: st.epoch_source,
            cadence: st.grid.cadence,
            tracks,
            start_over: None,
        };
        self.tx.send_replace(Arc::new(snap));
        match changed.and_then(|i| st.tracks.get(i)) {
            Some(t) => t.notify(),
            None => st.tracks.iter().for_each(LiveTrack::notify),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The wall-clock time of media time zero, from the first chunk of the channel, and
/// where it came from: the encoder's `prft` when it sent one (its NTP clock ↔ media
/// time), else the chunk's arrival time taken as the wall clock of the chunk's end.
fn anchor(track: &LiveTrack, chunk: &ChunkIn, arrival_us: i64) -> Option<(i64, ClockSource)> {
    let ts = track.timeline.meta.timescale;
    if let Some(p) = &chunk.prft {
        let media = i128::from(p.media_time) + i128::from(track.offset());
        let media_us = media * 1_000_000 / i128::from(ts.max(1));
        let epoch = i64::try_from(i128::from(p.unix_micros()) - media_us).ok()?;
        return Some((epoch, ClockSource::Encoder));
    }
    let end = track.timeline.end()?;
    let epoch = arrival_us - i64::try_from(to_micros(end, ts)).ok()?;
    Some((epoch, ClockSource::Ingest))
}

/// How many grid cells the channel's clock must be past the old media before a restart
/// continues at the clock rather than right after it. A real-time encoder runs a little
/// behind the anchor it set (its start-up, a loaded machine: a second or two), and a
/// restart placed a cell after the old media leaves a gap between DASH Periods that
/// dash.js does not cross (it asks the old Period for the missing segment, and waits).
/// Three cells is the drift a player's presentation delay (3 × D) absorbs.
const RESTART_AT_CLOCK_AFTER_CELLS: u64 = 3;

/// The grid cell of the channel's clock at `media_us` ([`clock_us`]): where an encoder
/// that restarts (a new init, or its clock reset) continues the timeline when it was
/// away longer than its old media ran on, so that media time stays the wall-clock time
/// it was anchored to.
///
/// [IOP-T] "A service SHALL NOT publish content whose sample timeline drifts against
/// the MPD timeline": continuing right after the old media instead would put everything
/// after an outage of G seconds G seconds behind the clock. DASH players, which find
/// segments from the wall clock, would ask for segments that do not exist yet for G
/// seconds, and HLS program date-times would be G seconds early. The new media starts a
/// new Period (a discontinuity) at the clock's place, as a restart always did.
/// The cell, not the instant: the restarted media starts on a grid boundary (at most
/// one cadence before the clock), as every segment does.
fn clock_cell(st: &State, timing: &TimingConfig, media_us: u64) -> u64 {
    st.grid
        .current(timing.target_duration_ms)
        .cell(media_us, 1_000_000)
}

/// The channel's clock as media time (µs after its anchor) when `chunk` arrived at
/// `arrival_us`: the origin's clock, or the chunk's `prft` when the channel is anchored
/// to the encoder's clock; none before the anchor, or without a `prft` then.
fn clock_us(st: &State, chunk: &ChunkIn, arrival_us: i64) -> Option<u64> {
    let epoch = st.epoch_us?;
    let now_us = match st.epoch_source? {
        ClockSource::Ingest => arrival_us,
        ClockSource::Encoder => chunk.prft.as_ref()?.unix_micros(),
    };
    u64::try_from(now_us.checked_sub(epoch)?).ok()
}

/// Target durations without ingest after which a rendition counts as stopped while the
/// others go on.
const STALLED_AFTER_TARGETS: i64 = 3;

/// Where a track's publishing stood: its newest segment's number and complete parts.
fn published(t: &timeline::TrackTimeline) -> Option<(u64, usize)> {
    t.segments.back().map(|s| {
        let parts = s.parts.iter().filter(|p| p.complete).count();
        (s.msn, parts)
    })
}

/// Counts the parts `track` published since `before` (segments are counted as they
/// complete, in `LiveTrack::completed`).
fn count_published(track: &LiveTrack, before: Option<(u64, usize)>) {
    let (from, parts_before) = before.unwrap_or((0, 0));
    let mut parts = 0u64;
    for s in track.timeline.segments.iter().filter(|s| s.msn >= from) {
        let complete_parts = s.parts.iter().filter(|p| p.complete).count();
        parts += if before.is_some() && s.msn == from {
            complete_parts.saturating_sub(parts_before) as u64
        } else {
            complete_parts as u64
        };
    }
    track.stats.parts.inc_by(parts);
}
