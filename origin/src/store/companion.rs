//! Key-frame-only companion tracks: the source of HESP initialization packets.
//!
//! [HESP §4] an Initialization Packet starts with an independent sample whose PTS equals
//! a continuation sample's, so that a player can start (or switch) at any frame instead
//! of waiting for the next key frame of the continuation stream. The encoder sends,
//! beside a video rendition `v`, a second encoding of the same source with every frame a
//! key frame, pushed as `{v}.kf` (see the README's HESP section for the ffmpeg command).
//! weir keeps only its last few seconds: a packet is asked for at the live edge or at a
//! player's buffered end, never further back.

use std::collections::VecDeque;

use bytes::Bytes;
use manifest::policy::hesp::{COMPANION_KEEP_MS, COMPANION_MAX_FRAMES};
use tokio::sync::watch;

use super::channel::ChunkIn;
use crate::error::IngestError;

/// One key frame of a companion track, on its paired rendition's timeline.
#[derive(Debug, Clone)]
pub struct KeyFrame {
    /// Decode time in the paired rendition's ticks (its restart offset applied).
    pub time: u64,
    /// Duration in the paired rendition's ticks.
    pub duration: u32,
    /// Composition offset in the paired rendition's ticks.
    pub cts_offset: i32,
    /// sample_flags as received.
    pub flags: u32,
    /// The coded frame.
    pub data: Bytes,
}

/// A companion track of one video rendition.
#[derive(Debug)]
pub struct Companion {
    /// The rendition it pairs with.
    pub of: String,
    /// Its own init segment (its track id and timescale).
    info: cmaf::InitSegment,
    frames: VecDeque<KeyFrame>,
    /// Wall-clock time of the last ingest activity, Unix microseconds.
    pub last_activity_us: i64,
    changed: watch::Sender<u64>,
}

impl Companion {
    /// A companion of rendition `of` from its init segment (one video track).
    pub fn new(of: &str, info: cmaf::InitSegment, now_us: i64) -> Result<Self, IngestError> {
        match info.tracks.as_slice() {
            [t] if t.kind == cmaf::TrackKind::Video && t.timescale > 0 => {}
            _ => {
                return Err(IngestError::Unsupported(
                    "a key-frame companion track must be one video track".into(),
                ));
            }
        }
        Ok(Companion {
            of: of.to_string(),
            info,
            frames: VecDeque::new(),
            last_activity_us: now_us,
            changed: watch::Sender::new(0),
        })
    }

    /// The companion's init segment, for uploads that carry only media.
    pub fn info(&self) -> &cmaf::InitSegment {
        &self.info
    }

    /// Replaces the init segment (the encoder restarted).
    pub fn set_init(&mut self, info: cmaf::InitSegment) -> Result<(), IngestError> {
        let fresh = Companion::new(&self.of, info, self.last_activity_us)?;
        self.info = fresh.info;
        Ok(())
    }

    /// Stores the key frames of one ingest chunk, placed on the paired rendition's
    /// timeline (`timescale` ticks, plus its restart `offset`); drops non-key frames
    /// and frames older than the kept span. Returns how many were stored.
    pub fn add_chunk(&mut self, chunk: &ChunkIn, timescale: u32, offset: i64) -> usize {
        let own = &self.info.tracks[0];
        let Some(traf) = chunk
            .fragment
            .tracks
            .iter()
            .find(|t| t.track_id == own.track_id)
        else {
            return 0;
        };
        let scale = |v: u64| rescale(v, own.timescale, timescale);
        let mut stored = 0;
        for s in traf.samples.iter().filter(|s| s.is_sync && s.duration > 0) {
            let Some(start) = usize::try_from(s.offset.saturating_sub(chunk.mdat_offset))
                .ok()
                .filter(|&a| a + s.size as usize <= chunk.mdat.len())
            else {
                continue;
            };
            let Some(time) = super::track::shift(scale(s.dts), offset) else {
                continue;
            };
            if self.frames.back().is_some_and(|f| f.time >= time) {
                // A repeat, or the encoder's clock went back: keep one timeline.
                if self.frames.back().is_some_and(|f| f.time > time) {
                    self.frames.clear();
                } else {
                    continue;
                }
            }
            self.frames.push_back(KeyFrame {
                time,
                duration: u32::try_from(scale(u64::from(s.duration))).unwrap_or(u32::MAX),
                cts_offset: i32::try_from(rescale_signed(s.cts_offset, own.timescale, timescale))
                    .unwrap_or(0),
                flags: s.flags,
                data: chunk.mdat.slice(start..start + s.size as usize),
            });
            stored += 1;
        }
        let keep = rescale(COMPANION_KEEP_MS, 1000, timescale);
        if let Some(newest) = self.frames.back().map(|f| f.time) {
            while self.frames.len() > COMPANION_MAX_FRAMES
                || self.frames.front().is_some_and(|f| f.time + keep < newest)
            {
                self.frames.pop_front();
            }
        }
        if stored > 0 {
            self.changed.send_modify(|v| *v = v.wrapping_add(1));
        }
        stored
    }

    /// The newest kept frame that starts at or before `time`, and every newer one
    /// (newest first).
    pub fn frames_upto(&self, time: u64) -> Vec<KeyFrame> {
        self.frames
            .iter()
            .rev()
            .filter(|f| f.time <= time)
            .cloned()
            .collect()
    }

    /// Decode time just after the newest kept frame.
    pub fn end(&self) -> Option<u64> {
        self.frames.back().map(|f| f.time + u64::from(f.duration))
    }

    /// A watch that changes with every stored frame.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Bytes of frames held.
    pub fn held_bytes(&self) -> u64 {
        self.frames.iter().map(|f| f.data.len() as u64).sum()
    }
}

fn rescale(v: u64, from: u32, to: u32) -> u64 {
    if from == to || from == 0 {
        return v;
    }
    u64::try_from(u128::from(v) * u128::from(to) / u128::from(from)).unwrap_or(u64::MAX)
}

fn rescale_signed(v: i32, from: u32, to: u32) -> i64 {
    if from == to || from == 0 {
        return i64::from(v);
    }
    i64::from(v) * i64::from(to) / i64::from(from)
}
