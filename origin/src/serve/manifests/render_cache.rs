//! Render once, serve many: rendered manifests cached by snapshot version, one slot per
//! manifest of a channel.
//!
//! When a part lands, every request blocked on it wakes with the same snapshot; the
//! first one renders (and gzips) the playlist, the others wait on that manifest's slot
//! and take the cached bytes. Each slot has its own lock, held while rendering, so
//! concurrent misses of one manifest render once, while other manifests (of the same or
//! any other channel) render at the same time. The map of slots is behind a lock that
//! is only held to find or insert a slot, never while rendering or compressing.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::ServeError;

/// Slots kept at most; beyond it, slots nobody is using are dropped (channels come and
/// go, and each has a few manifests).
const MAX_ENTRIES: usize = 4096;

/// A rendered manifest, plain and gzip-compressed.
#[derive(Debug)]
pub struct Rendered {
    /// Snapshot version it was rendered from.
    pub version: u64,
    /// The manifest text.
    pub plain: Bytes,
    /// The same, gzip-compressed.
    pub gzip: Bytes,
}

impl Rendered {
    /// `text` rendered from snapshot `version`, and its gzip encoding.
    pub fn new(version: u64, text: String) -> Self {
        let mut gz = GzEncoder::new(Vec::with_capacity(text.len() / 3), Compression::fast());
        let gzip = match gz.write_all(text.as_bytes()).and_then(|_| gz.finish()) {
            Ok(v) => Bytes::from(v),
            Err(_) => Bytes::new(),
        };
        Rendered {
            version,
            plain: Bytes::from(text),
            gzip,
        }
    }
}

/// The newest rendering of one manifest.
type Slot = Mutex<Option<Arc<Rendered>>>;

/// Cache of rendered manifests.
#[derive(Debug)]
pub struct RenderCache {
    slots: Mutex<HashMap<(String, String), Arc<Slot>>>,
    max_entries: usize,
}

impl Default for RenderCache {
    fn default() -> Self {
        RenderCache::with_capacity(MAX_ENTRIES)
    }
}

impl RenderCache {
    /// A cache keeping at most about `max_entries` slots.
    pub fn with_capacity(max_entries: usize) -> Self {
        RenderCache {
            slots: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
        }
    }

    /// The slot of manifest `key` of `channel`.
    fn slot(&self, channel: &str, key: &str) -> Arc<Slot> {
        let mut map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let k = (channel.to_string(), key.to_string());
        if let Some(s) = map.get(&k) {
            return s.clone();
        }
        if map.len() >= self.max_entries {
            // Keep the slots a request holds right now (renders in progress).
            map.retain(|_, s| Arc::strong_count(s) > 1);
        }
        map.entry(k).or_default().clone()
    }

    /// Number of slots held (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// The rendering of manifest `key` of `channel` at snapshot `version`, produced by
    /// `render` on a miss.
    pub fn get_or_render(
        &self,
        channel: &str,
        key: &str,
        version: u64,
        render: impl FnOnce() -> Result<String, ServeError>,
    ) -> Result<Arc<Rendered>, ServeError> {
        let slot = self.slot(channel, key);
        let mut cur = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cur.as_ref().filter(|r| r.version == version) {
            return Ok(hit.clone());
        }
        let r = Arc::new(Rendered::new(version, render()?));
        // A request that waited on an older snapshot must not replace a newer rendering.
        if cur.as_ref().is_none_or(|old| old.version < version) {
            *cur = Some(r.clone());
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn renders_once_per_version() {
        let c = RenderCache::default();
        let mut calls = 0;
        for _ in 0..3 {
            c.get_or_render("ch", "k", 7, || {
                calls += 1;
                Ok("#EXTM3U\n".into())
            })
            .unwrap();
        }
        assert_eq!(calls, 1);
        let r = c
            .get_or_render("ch", "k", 8, || Ok("#EXTM3U\n#x\n".into()))
            .unwrap();
        assert_eq!(&r.plain[..], b"#EXTM3U\n#x\n");
        let mut d = flate2::read::GzDecoder::new(&r.gzip[..]);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut d, &mut s).unwrap();
        assert_eq!(s, "#EXTM3U\n#x\n");
        // An older snapshot renders for its request but does not replace the newer one.
        let old = c.get_or_render("ch", "k", 7, || Ok("old".into())).unwrap();
        assert_eq!(&old.plain[..], b"old");
        let now = c.get_or_render("ch", "k", 8, || panic!("cached")).unwrap();
        assert_eq!(now.version, 8);
    }

    /// Many requests woken by one snapshot at once: one renders, all get its bytes.
    #[test]
    fn concurrent_misses_render_once() {
        const N: usize = 16;
        let c = Arc::new(RenderCache::default());
        let entered = Arc::new(AtomicUsize::new(0));
        let renders = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..N)
            .map(|_| {
                let (c, entered, renders) = (c.clone(), entered.clone(), renders.clone());
                std::thread::spawn(move || {
                    entered.fetch_add(1, Ordering::SeqCst);
                    c.get_or_render("live", "v1/No", 42, || {
                        // Render only once every request has arrived, so they overlap.
                        while entered.load(Ordering::SeqCst) < N {
                            std::thread::yield_now();
                        }
                        renders.fetch_add(1, Ordering::SeqCst);
                        Ok("#EXTM3U\n".into())
                    })
                    .unwrap()
                })
            })
            .collect();
        let got: Vec<Arc<Rendered>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert!(got.iter().all(|r| Arc::ptr_eq(r, &got[0])));
    }

    /// A render of one channel never waits for a render of another.
    #[test]
    fn two_channels_render_concurrently() {
        let c = Arc::new(RenderCache::default());
        let (a_started, a_rx) = mpsc::channel::<()>();
        let (b_started, b_rx) = mpsc::channel::<()>();
        let a = {
            let c = c.clone();
            std::thread::spawn(move || {
                c.get_or_render("a", "master", 1, || {
                    a_started.send(()).unwrap();
                    // Finish only once b is rendering too: a global lock would deadlock.
                    b_rx.recv_timeout(Duration::from_secs(30))
                        .expect("channel b rendered while a was rendering");
                    Ok("a".into())
                })
                .unwrap()
            })
        };
        let b = {
            let c = c.clone();
            std::thread::spawn(move || {
                a_rx.recv_timeout(Duration::from_secs(30))
                    .expect("a started");
                c.get_or_render("b", "master", 1, || {
                    b_started.send(()).unwrap();
                    Ok("b".into())
                })
                .unwrap()
            })
        };
        assert_eq!(&a.join().unwrap().plain[..], b"a");
        assert_eq!(&b.join().unwrap().plain[..], b"b");
    }

    #[test]
    fn entries_are_bounded() {
        let c = RenderCache::with_capacity(8);
        for i in 0..100 {
            c.get_or_render(&format!("ch{i}"), "master", 1, || Ok("x".into()))
                .unwrap();
            assert!(c.len() <= 8, "{} slots", c.len());
        }
        // A slot in use survives the pruning.
        let cc = Arc::new(c);
        let (started, rx) = mpsc::channel::<()>();
        let (release, wait) = mpsc::channel::<()>();
        let held = {
            let c = cc.clone();
            std::thread::spawn(move || {
                c.get_or_render("busy", "master", 1, || {
                    started.send(()).unwrap();
                    wait.recv_timeout(Duration::from_secs(30)).unwrap();
                    Ok("busy".into())
                })
                .unwrap()
            })
        };
        rx.recv_timeout(Duration::from_secs(30)).unwrap();
        for i in 0..20 {
            cc.get_or_render(&format!("other{i}"), "master", 1, || Ok("x".into()))
                .unwrap();
        }
        release.send(()).unwrap();
        held.join().unwrap();
        cc.get_or_render("busy", "master", 1, || panic!("still cached"))
            .unwrap();
    }
}
