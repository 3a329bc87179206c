//! A channel: its renditions, its wall-clock anchor, and the published snapshot.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use timeline::time::to_micros;
use timeline::{ChannelSnapshot, TimingConfig};
use tokio::sync::watch;

use super::track::LiveTrack;
use crate::Config;
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
    state: Mutex<State>,
    tx: watch::Sender<Arc<ChannelSnapshot>>,
}

#[derive(Debug, Default)]
struct State {
    epoch_us: Option<i64>,
    tracks: Vec<LiveTrack>,
}

impl Channel {
    /// An empty channel.
    pub fn new(name: &str, config: &Config) -> Self {
        let snap = ChannelSnapshot {
            channel: name.to_string(),
            config: config.timing,
            version: 0,
            byterange_parts: false,
            now_us: crate::clock::now_us(),
            epoch_us: None,
            tracks: Vec::new(),
        };
        Channel {
            name: name.to_string(),
            byterange_parts: config.byterange_parts.iter().any(|c| c == name || c == "*"),
            timing: config.timing,
            keep_segments: (config.timing.window_segments + config.extra_segments) as usize,
            state: Mutex::new(State::default()),
            tx: watch::Sender::new(Arc::new(snap)),
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

    /// A receiver that sees every newly published snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ChannelSnapshot>> {
        self.tx.subscribe()
    }

    /// Registers (or replaces) the init segment of track `id`.
    pub fn set_init(
        &self,
        id: &str,
        init: cmaf::InitSegment,
        bytes: Bytes,
    ) -> Result<(), IngestError> {
        let mut st = self.lock();
        match st.tracks.iter_mut().find(|t| t.timeline.meta.id == id) {
            Some(t) => t.replace_init(init, bytes)?,
            None => {
                let t = LiveTrack::new(id, init, bytes)?;
                st.tracks.push(t);
            }
        }
        self.publish(&st);
        Ok(())
    }

    /// The parsed init segment of track `id`, for uploads that carry only media.
    pub fn init_info(&self, id: &str) -> Option<cmaf::InitSegment> {
        self.lock()
            .tracks
            .iter()
            .find(|t| t.timeline.meta.id == id)
            .map(|t| t.init.clone())
    }

    /// Stores one ingest chunk of track `id` and publishes the new state.
    pub fn add_chunk(&self, id: &str, chunk: &ChunkIn, arrival_us: i64) -> Result<(), IngestError> {
        let mut st = self.lock();
        let timing = self.timing;
        let keep = self.keep_segments;
        let st_ref = &mut *st;
        let track = st_ref
            .tracks
            .iter_mut()
            .find(|t| t.timeline.meta.id == id)
            .ok_or_else(|| IngestError::NoInit(id.to_string()))?;
        let stored = track.apply_chunk(&timing, chunk)?;
        if stored > 0 {
            if st_ref.epoch_us.is_none() {
                st_ref.epoch_us = anchor(track, chunk, arrival_us);
            }
            let dropped = track.timeline.evict(keep);
            track.media.evict(&dropped);
        }
        // Published even when no sample was stored: a restart may have closed the
        // segment in progress while the new stream waits for its first key frame.
        self.publish(&st);
        Ok(())
    }

    /// The init segment of track `id`.
    pub fn init(&self, id: &str) -> Option<Bytes> {
        self.with_track(id, |t| t.media.init.clone()).flatten()
    }

    /// The chunks of complete segment `msn` of track `id`.
    pub fn segment(&self, id: &str, msn: u64) -> Option<Vec<Bytes>> {
        self.with_track(id, |t| {
            t.timeline.segment(msn).filter(|s| s.complete)?;
            t.media.segment(msn)
        })
        .flatten()
    }

    /// The chunks stored so far for segment `msn` of track `id`, complete or not (the
    /// bytes of its complete parts are a prefix of them).
    pub fn segment_so_far(&self, id: &str, msn: u64) -> Option<Vec<Bytes>> {
        self.with_track(id, |t| t.media.segment(msn)).flatten()
    }

    /// The chunks of complete part `part` of segment `msn` of track `id`.
    pub fn part(&self, id: &str, msn: u64, part: u32) -> Option<Vec<Bytes>> {
        self.with_track(id, |t| {
            let seg = t.timeline.segment(msn)?;
            seg.parts.get(part as usize).filter(|p| p.complete)?;
            t.media.part(msn, part)
        })
        .flatten()
    }

    /// Requests currently waiting on this channel's state (blocking reloads, held
    /// media): the receivers of its watch, other than none kept by the channel itself.
    pub fn waiting(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Bytes of media held in memory for this channel.
    pub fn held_bytes(&self) -> usize {
        self.lock()
            .tracks
            .iter()
            .map(|t| t.media.held_bytes())
            .sum()
    }

    fn with_track<R>(&self, id: &str, f: impl FnOnce(&LiveTrack) -> R) -> Option<R> {
        self.lock()
            .tracks
            .iter()
            .find(|t| t.timeline.meta.id == id)
            .map(f)
    }

    /// Builds and sends a snapshot of `st`. Called with the state lock held, so
    /// snapshots are published in mutation order.
    fn publish(&self, st: &State) {
        let tracks = st
            .tracks
            .iter()
            .map(|t| {
                let mut tl = t.timeline.clone();
                (tl.meta.bandwidth, tl.meta.average_bandwidth) = t.bandwidth();
                tl
            })
            .collect();
        let snap = ChannelSnapshot {
            channel: self.name.clone(),
            config: self.timing,
            version: self.tx.borrow().version + 1,
            byterange_parts: self.byterange_parts,
            now_us: crate::clock::now_us(),
            epoch_us: st.epoch_us,
            tracks,
        };
        self.tx.send_replace(Arc::new(snap));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The wall-clock time of media time zero, from the first chunk of the channel: the
/// encoder's `prft` when it sent one (its NTP clock ↔ media time), else the chunk's
/// arrival time taken as the wall clock of the chunk's end.
fn anchor(track: &LiveTrack, chunk: &ChunkIn, arrival_us: i64) -> Option<i64> {
    let ts = track.timeline.meta.timescale;
    if let Some(p) = &chunk.prft {
        let media = i128::from(p.media_time) + i128::from(track.offset());
        let media_us = media * 1_000_000 / i128::from(ts.max(1));
        return i64::try_from(i128::from(p.unix_micros()) - media_us).ok();
    }
    let end = track.timeline.end()?;
    Some(arrival_us - i64::try_from(to_micros(end, ts)).ok()?)
}
