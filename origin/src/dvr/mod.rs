//! The DVR: complete segments on disk for a window much longer than the live one,
//! served after they leave memory, and found again after a restart.
//!
//! - [`layout`]: the directory tree and file names (an operator reads it with `ls`);
//! - [`index`]: what is on disk, in memory, for lookups and start-over playlists;
//! - [`writer`]: the thread that writes segments atomically and deletes expired ones;
//! - [`restore`]: the index rebuilt from the directory on start.
//!
//! Ingest never waits for the disk: [`Dvr::submit`] queues a completed segment (its
//! bytes are the stored `Bytes`, not a copy) or drops it when the queue is full.

pub mod index;
pub mod layout;
pub mod restore;
pub mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use timeline::history::PastSegment;

pub use index::{ChannelMeta, Stored};
pub use restore::{RestoredChannel, RestoredTrack};
pub use writer::Job;

/// Segments waiting for the disk at most; one more is dropped (and counted).
pub const QUEUE: usize = 256;

/// Default DVR window: 2 hours.
pub const DEFAULT_WINDOW_S: u64 = 7200;

/// Where and how long the DVR keeps segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DvrConfig {
    /// The DVR directory (`--dvr-dir`).
    pub dir: PathBuf,
    /// How long a segment is kept after its media ended, in seconds (`--dvr-window`).
    pub window_s: u64,
}

/// Why the DVR could not do something with the disk.
#[derive(Debug, thiserror::Error)]
pub enum DvrError {
    /// A file operation failed.
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// Metadata could not be encoded.
    #[error("cannot encode DVR metadata: {0}")]
    Encode(String),
}

/// What the DVR did, for `/metrics`.
#[derive(Debug, Default)]
pub struct DvrStats {
    /// Segments written.
    pub segments_written: AtomicU64,
    /// Bytes of segments written.
    pub bytes_written: AtomicU64,
    /// Writes that failed (disk full, I/O error): the segment is not in the DVR.
    pub write_errors: AtomicU64,
    /// Segments dropped because the writer was too far behind.
    pub dropped: AtomicU64,
    /// Segments deleted as they left the window.
    pub segments_deleted: AtomicU64,
    /// Segments served from disk.
    pub served: AtomicU64,
}

/// The DVR of one origin.
#[derive(Debug)]
pub struct Dvr {
    config: DvrConfig,
    index: Arc<Mutex<HashMap<String, index::ChannelIndex>>>,
    tx: Mutex<SyncSender<Job>>,
    stats: Arc<DvrStats>,
    done: tokio::sync::watch::Receiver<u64>,
    /// Jobs queued (handed to the writer) so far.
    queued: AtomicU64,
}

impl Dvr {
    /// Opens the DVR directory (created if missing), rebuilds its index, deletes what
    /// already left the window, and starts the writer thread. Returns what each
    /// channel needs to continue.
    pub fn open(config: DvrConfig) -> Result<(Dvr, Vec<RestoredChannel>), DvrError> {
        let window_us =
            i64::try_from(config.window_s.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        let now = crate::clock::now_us();
        let (idx, restored) = restore::scan(&config.dir, now.saturating_sub(window_us))?;
        let index = Arc::new(Mutex::new(idx));
        let stats = Arc::new(DvrStats::default());
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let (done_tx, done) = tokio::sync::watch::channel(0);
        let w = writer::Writer {
            dir: config.dir.clone(),
            window_us,
            index: index.clone(),
            stats: stats.clone(),
            done: done_tx,
        };
        std::thread::Builder::new()
            .name("weir-dvr".into())
            .spawn(move || w.run(rx))
            .map_err(|e| DvrError::Io(config.dir.clone(), e))?;
        Ok((
            Dvr {
                config,
                index,
                tx: Mutex::new(tx),
                stats,
                done,
                queued: AtomicU64::new(0),
            },
            restored,
        ))
    }

    /// The configuration.
    pub fn config(&self) -> &DvrConfig {
        &self.config
    }

    /// Queues a completed segment for the disk without waiting; drops it (counted in
    /// `dropped`) when the writer is [`QUEUE`] segments behind.
    pub fn submit(&self, job: Job) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match tx.try_send(job) {
            Ok(()) => {
                self.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(j)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "dvr: the disk is {QUEUE} segments behind; segment {} of {}/{} not stored",
                    j.past.segment.msn,
                    j.channel,
                    j.track.id
                );
            }
            Err(TrySendError::Disconnected(_)) => {
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The stored segment `msn` of `channel`/`track`.
    pub fn lookup(&self, channel: &str, track: &str, msn: u64) -> Option<Stored> {
        self.lock()
            .get(channel)?
            .tracks
            .get(track)?
            .get(msn)
            .cloned()
    }

    /// The stored segments of `channel`/`track`, oldest first.
    pub fn history(&self, channel: &str, track: &str) -> Vec<PastSegment> {
        self.lock()
            .get(channel)
            .and_then(|c| c.tracks.get(track))
            .map(index::TrackIndex::history)
            .unwrap_or_default()
    }

    /// What `channel` needs to continue from the DVR (its anchor, cadence, inits and
    /// newest segments), if the DVR holds it: a channel ingest creates again, after it
    /// was removed as idle, continues its numbering instead of starting over (which
    /// could give stored numbers to new media).
    pub fn continuation(&self, channel: &str) -> Option<RestoredChannel> {
        let ch = self.lock().get(channel)?.clone();
        Some(restore::continuation(channel, &ch))
    }

    /// The stored init `id` of `channel`/`track`, if on disk.
    pub fn init_path(&self, channel: &str, track: &str, id: u32) -> Option<PathBuf> {
        let p = layout::init_path(&layout::track_dir(&self.config.dir, channel, track), id);
        p.is_file().then_some(p)
    }

    /// The kind of `channel`/`track`, if anything of it is stored.
    pub fn kind(&self, channel: &str, track: &str) -> Option<timeline::MediaKind> {
        Some(self.lock().get(channel)?.tracks.get(track)?.meta.kind)
    }

    /// (segments, bytes) stored per channel and track, sorted.
    pub fn usage(&self) -> Vec<(String, String, usize, u64)> {
        let idx = self.lock();
        let mut v: Vec<_> = idx
            .iter()
            .flat_map(|(c, ch)| {
                ch.tracks
                    .iter()
                    .map(move |(t, i)| (c.clone(), t.clone(), i.len(), i.bytes()))
            })
            .collect();
        v.sort();
        v
    }

    /// Counters.
    pub fn stats(&self) -> &DvrStats {
        &self.stats
    }

    /// Waits until the writer has handled every segment queued so far (shutdown).
    pub async fn flush(&self) {
        let target = self.queued.load(Ordering::Relaxed);
        let mut rx = self.done.clone();
        let _ = rx.wait_for(|h| *h >= target).await;
    }

    /// A watch bumped after every segment the writer handled (stored or failed).
    pub fn handled(&self) -> tokio::sync::watch::Receiver<u64> {
        self.done.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, index::ChannelIndex>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use timeline::history::PastSegment;
    use timeline::{MediaKind, Segment, TrackMeta};

    use super::*;

    pub(crate) fn meta(id: &str) -> TrackMeta {
        TrackMeta {
            id: id.into(),
            kind: MediaKind::Video,
            codec: "avc1.64001f".into(),
            timescale: 1000,
            width: 640,
            height: 360,
            frame_duration: 40,
            sample_rate: 0,
            channels: 0,
            language: None,
            bandwidth: 0,
            average_bandwidth: 0,
        }
    }

    fn job(epoch_us: i64, msn: u64, period: u64) -> Job {
        Job {
            channel: "c".into(),
            channel_meta: ChannelMeta {
                epoch_us,
                epoch_source: None,
                cadence: None,
            },
            track: meta("v"),
            past: PastSegment {
                segment: Arc::new(Segment {
                    msn,
                    start: msn * 1000,
                    duration: 1000,
                    parts: Vec::new(),
                    complete: true,
                    discontinuity: false,
                    bytes: 6,
                    init: 7,
                }),
                period,
                period_start: 0,
            },
            init: (7, Bytes::from_static(b"init")),
            body: vec![Bytes::from(format!("seg{msn:03}"))],
        }
    }

    async fn handled(dvr: &Dvr, n: u64) {
        let mut rx = dvr.handled();
        rx.wait_for(|d| *d >= n).await.expect("writer alive");
    }

    #[tokio::test]
    async fn writes_atomically_serves_expires_and_restores() {
        let dir = std::env::temp_dir().join(format!("weir-dvr-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = DvrConfig {
            dir: dir.clone(),
            window_s: 30,
        };
        // Segment n ends at epoch + (n + 1) s; the clock is now.
        let epoch = crate::clock::now_us() - 100_000_000;
        let (dvr, restored) = Dvr::open(cfg.clone()).unwrap();
        assert!(restored.is_empty());
        for msn in 60..100 {
            dvr.submit(job(epoch, msn, u64::from(msn >= 90)));
        }
        handled(&dvr, 40).await;
        let s = dvr.lookup("c", "v", 95).expect("stored");
        assert_eq!(std::fs::read(&s.path).unwrap(), b"seg095");
        assert!(s.path.starts_with(dir.join("c/v")));
        assert!(dir.join("c/v/init-00000007.mp4").exists());
        assert!(dir.join("c/channel.json").exists());
        assert_eq!(dvr.history("c", "v").len(), 40);
        // No temporary file is left behind.
        let mut tmp = 0;
        restore_walk(&dir, &mut |n| tmp += usize::from(layout::is_temporary(n)));
        assert_eq!(tmp, 0);
        drop(dvr);

        // A restart: the index comes back from the listing alone, minus what expired
        // (segments ending more than 30 s ago: 60..=69 end by now - 30 s).
        std::fs::write(dir.join("c/v/.junk.m4s.tmp"), b"half").unwrap();
        let (dvr, restored) = Dvr::open(cfg).unwrap();
        assert_eq!(restored.len(), 1);
        let t = &restored[0].tracks[0];
        let (last, bytes) = t.last.as_ref().unwrap();
        assert_eq!(last.past.segment.msn, 99);
        assert_eq!(last.past.period, 1);
        assert_eq!(&bytes[..], b"seg099");
        assert_eq!(t.inits.last().map(|i| i.0), Some(7));
        let h = dvr.history("c", "v");
        assert_eq!(h.first().map(|p| p.segment.msn), Some(70));
        assert!(
            h.iter()
                .find(|p| p.segment.msn == 90)
                .unwrap()
                .segment
                .discontinuity
        );
        assert!(!dir.join("c/v/.junk.m4s.tmp").exists());
        assert_eq!(
            dvr.lookup("c", "v", 95)
                .map(|s| std::fs::read(s.path).unwrap()),
            Some(b"seg095".to_vec())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn restore_walk(dir: &std::path::Path, f: &mut impl FnMut(&str)) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                restore_walk(&e.path(), f);
            } else {
                f(e.file_name().to_str().unwrap());
            }
        }
    }
}
