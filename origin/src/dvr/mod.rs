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

use std::collections::{BTreeMap, HashMap};
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

/// How long each channel's segments are kept.
#[derive(Debug, Clone, Default)]
pub struct Windows {
    /// The origin's window, in seconds.
    pub default_s: u64,
    /// Channels with their own, in seconds.
    pub channels: BTreeMap<String, u64>,
}

impl Windows {
    /// The window of `channel`, in seconds.
    pub fn secs(&self, channel: &str) -> u64 {
        self.channels
            .get(channel)
            .copied()
            .unwrap_or(self.default_s)
    }

    /// The window of `channel`, in microseconds.
    pub fn us(&self, channel: &str) -> i64 {
        i64::try_from(self.secs(channel).saturating_mul(1_000_000)).unwrap_or(i64::MAX)
    }
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
    windows: Windows,
    index: Arc<Mutex<HashMap<String, index::ChannelIndex>>>,
    tx: SyncSender<Job>,
    stats: Arc<DvrStats>,
    done: tokio::sync::watch::Receiver<u64>,
    /// Jobs queued (handed to the writer) so far.
    queued: AtomicU64,
}

impl Dvr {
    /// Opens the DVR directory (created if missing), rebuilds its index, deletes what
    /// already left the window, and starts the writer thread. Returns what each
    /// channel needs to continue.
    /// `channel_windows`: channels whose window (seconds) is not `config.window_s`.
    pub fn open(
        config: DvrConfig,
        channel_windows: BTreeMap<String, u64>,
    ) -> Result<(Dvr, Vec<RestoredChannel>), DvrError> {
        let windows = Windows {
            default_s: config.window_s,
            channels: channel_windows,
        };
        let now = crate::clock::now_us();
        let (idx, restored) = restore::scan(&config.dir, &|ch| now.saturating_sub(windows.us(ch)))?;
        let index = Arc::new(Mutex::new(idx));
        let stats = Arc::new(DvrStats::default());
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let (done_tx, done) = tokio::sync::watch::channel(0);
        let w = writer::Writer {
            dir: config.dir.clone(),
            windows: windows.clone(),
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
                windows,
                index,
                tx,
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

    /// How long `channel`'s segments are kept, in seconds.
    pub fn window_s(&self, channel: &str) -> u64 {
        self.windows.secs(channel)
    }

    /// Queues a completed segment for the disk without waiting; drops it (counted in
    /// `dropped`) when the writer is [`QUEUE`] segments behind.
    pub fn submit(&self, job: Job) {
        match self.tx.try_send(job) {
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
        Some(restore::continuation(&self.config.dir, channel, &ch))
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
        let (dvr, restored) = Dvr::open(cfg.clone(), BTreeMap::new()).unwrap();
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
        let (dvr, restored) = Dvr::open(cfg, BTreeMap::new()).unwrap();
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

    #[tokio::test]
    async fn each_channel_keeps_its_own_window() {
        let dir = std::env::temp_dir().join(format!("weir-dvr-windows-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = DvrConfig {
            dir: dir.clone(),
            window_s: 60,
        };
        let windows = BTreeMap::from([("short".to_string(), 10)]);
        let (dvr, _) = Dvr::open(cfg, windows).unwrap();
        assert_eq!((dvr.window_s("short"), dvr.window_s("c")), (10, 60));
        // Segments 0..40 of two channels, the last ending now: the short channel keeps
        // what ended in the last 10 s, the other what ended in the last 60 s.
        let epoch = crate::clock::now_us() - 40_000_000;
        for msn in 0..40 {
            dvr.submit(job(epoch, msn, 0));
            let mut short = job(epoch, msn, 0);
            short.channel = "short".into();
            dvr.submit(short);
        }
        handled(&dvr, 80).await;
        // The writer sweeps once a second; this waits for a sweep after the writes.
        let deleted = || dvr.stats().segments_deleted.load(Ordering::Relaxed);
        let mut rx = dvr.handled();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while deleted() < 29 {
                let _ =
                    tokio::time::timeout(std::time::Duration::from_millis(100), rx.changed()).await;
            }
        })
        .await;
        let oldest = |ch: &str| dvr.history(ch, "v").first().map(|p| p.segment.msn);
        assert_eq!(oldest("c"), Some(0), "60 s window: everything kept");
        let short = oldest("short").expect("some kept");
        assert!(
            (29..=31).contains(&short),
            "10 s window: oldest kept {short}"
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
