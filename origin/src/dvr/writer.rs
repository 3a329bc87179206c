//! The DVR writer: one thread that turns completed segments into files and deletes
//! them once they leave the window. Ingest hands it a [`Job`] without waiting (a full
//! queue drops the job and counts it), so a slow or failing disk never slows live
//! serving; a write that fails is logged and counted, and the next one tries again.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use timeline::TrackMeta;
use timeline::history::PastSegment;

use super::index::{ChannelIndex, ChannelMeta, Stored, TrackIndex};
use super::layout::{self, SegmentName};
use super::{DvrError, DvrStats};

/// How often expired segments are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One completed segment to store.
#[derive(Debug, Clone)]
pub struct Job {
    /// Channel name.
    pub channel: String,
    /// The channel's anchor and cadence now.
    pub channel_meta: ChannelMeta,
    /// The rendition.
    pub track: TrackMeta,
    /// The segment, its period and the period's start.
    pub past: PastSegment,
    /// The init it was made with (id and bytes).
    pub init: (u32, Bytes),
    /// Its bytes, as served.
    pub body: Vec<Bytes>,
}

/// The writer's shared state.
#[derive(Debug)]
pub struct Writer {
    /// The DVR directory.
    pub dir: PathBuf,
    /// How long each channel's segments are kept.
    pub windows: super::Windows,
    /// The index readers look segments up in.
    pub index: Arc<Mutex<HashMap<String, ChannelIndex>>>,
    /// Counters.
    pub stats: Arc<DvrStats>,
    /// Bumped after every job handled (written or failed): a readiness signal.
    pub done: tokio::sync::watch::Sender<u64>,
}

impl Writer {
    /// Handles jobs until every sender is gone, sweeping expired segments meanwhile.
    pub fn run(self, rx: Receiver<Job>) {
        let mut last_sweep = Instant::now();
        loop {
            match rx.recv_timeout(SWEEP_EVERY) {
                Ok(job) => {
                    if let Err(e) = self.write(&job) {
                        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(
                            "dvr: segment {} of {}/{} not stored: {e}",
                            job.past.segment.msn,
                            job.channel,
                            job.track.id
                        );
                    }
                    self.done.send_modify(|n| *n += 1);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if last_sweep.elapsed() >= SWEEP_EVERY {
                last_sweep = Instant::now();
                self.sweep(crate::clock::now_us());
            }
        }
    }

    /// Stores one segment: metadata files when they changed, its init if missing, then
    /// the segment itself, each atomically; then indexes it.
    fn write(&self, job: &Job) -> Result<(), DvrError> {
        let track_dir = layout::track_dir(&self.dir, &job.channel, &job.track.id);
        let mut meta = job.track.clone();
        (meta.bandwidth, meta.average_bandwidth) = (0, 0);
        let (channel_changed, track_changed) = {
            let idx = self.lock();
            let ch = idx.get(&job.channel);
            (
                ch.is_none_or(|c| c.meta != job.channel_meta),
                ch.and_then(|c| c.tracks.get(&meta.id))
                    .is_none_or(|t| t.meta != meta),
            )
        };
        if channel_changed {
            let path = layout::channel_dir(&self.dir, &job.channel).join(layout::CHANNEL_FILE);
            write_atomic(&path, &[json(&job.channel_meta)?])?;
        }
        if track_changed {
            write_atomic(&track_dir.join(layout::TRACK_FILE), &[json(&meta)?])?;
        }
        let init_path = layout::init_path(&track_dir, job.init.0);
        if !init_path.exists() {
            write_atomic(&init_path, std::slice::from_ref(&job.init.1))?;
        }
        let seg = &job.past.segment;
        let ts = meta.timescale;
        let wall_start = job.channel_meta.epoch_us.saturating_add(
            i64::try_from(timeline::time::to_micros(seg.start, ts)).unwrap_or(i64::MAX),
        );
        let name = SegmentName {
            msn: seg.msn,
            period: job.past.period,
            period_start: job.past.period_start,
            start: seg.start,
            duration: seg.duration,
            init: seg.init,
        };
        let path = layout::hour_dir(&track_dir, wall_start).join(name.file_name());
        write_atomic(&path, &job.body)?;
        let bytes: u64 = job.body.iter().map(|b| b.len() as u64).sum();
        self.stats.segments_written.fetch_add(1, Ordering::Relaxed);
        self.stats.bytes_written.fetch_add(bytes, Ordering::Relaxed);
        let path_written = path.clone();
        let stored = Stored::from_name(name, path, bytes, ts, &job.channel_meta);
        let mut idx = self.lock();
        let ch = idx
            .entry(job.channel.clone())
            .or_insert_with(|| ChannelIndex {
                meta: job.channel_meta,
                tracks: Default::default(),
            });
        ch.meta = job.channel_meta;
        let t = ch
            .tracks
            .entry(meta.id.clone())
            .or_insert_with(|| TrackIndex::new(meta.clone()));
        t.meta = meta;
        let replaced = t.insert(stored);
        drop(idx);
        // The same number written again (an origin that lost its state and numbered the
        // same media again): the older file goes, so none is left unindexed.
        if let Some(old) = replaced.filter(|o| o.path != path_written) {
            let _ = std::fs::remove_file(&old.path);
        }
        Ok(())
    }

    /// Deletes the segments whose media ended more than their channel's window before
    /// `now_us`,
    /// the inits no stored segment uses any more, and directories left empty.
    pub fn sweep(&self, now_us: i64) {
        let mut gone: Vec<Stored> = Vec::new();
        let mut inits: Vec<PathBuf> = Vec::new();
        {
            let mut idx = self.lock();
            for (name, ch) in idx.iter_mut() {
                let before = now_us.saturating_sub(self.windows.us(name));
                for (id, t) in ch.tracks.iter_mut() {
                    let expired = t.expire(before);
                    let track_dir = layout::track_dir(&self.dir, name, id);
                    // An init no stored segment uses any more (a live one is written
                    // again with its next segment).
                    for s in &expired {
                        let init = s.past.segment.init;
                        if !t.uses_init(init) {
                            inits.push(layout::init_path(&track_dir, init));
                        }
                    }
                    gone.extend(expired);
                }
            }
        }
        for s in &gone {
            match std::fs::remove_file(&s.path) {
                Ok(()) => {
                    self.stats.segments_deleted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("dvr: cannot delete {}: {e}", s.path.display()),
            }
            remove_empty_dirs(&s.path);
        }
        inits.sort();
        inits.dedup();
        for p in inits {
            let _ = std::fs::remove_file(p);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ChannelIndex>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `value` as JSON bytes.
fn json<T: serde::Serialize>(value: &T) -> Result<Bytes, DvrError> {
    serde_json::to_vec_pretty(value)
        .map(Bytes::from)
        .map_err(|e| DvrError::Encode(e.to_string()))
}

/// Writes `body` to `path` so that no reader ever sees part of it: into a temporary
/// file of the same directory, flushed to the disk, then renamed over `path`.
pub fn write_atomic(path: &Path, body: &[Bytes]) -> Result<(), DvrError> {
    let io = |e| DvrError::Io(path.to_path_buf(), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = layout::temporary(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        for b in body {
            f.write_all(b)?;
        }
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Removes the hour and day directories of `file` once they are empty.
fn remove_empty_dirs(file: &Path) {
    let mut dir = file.parent();
    for _ in 0..2 {
        let Some(d) = dir else { return };
        // Fails (and stops) when the directory is not empty.
        if std::fs::remove_dir(d).is_err() {
            return;
        }
        dir = d.parent();
    }
}
