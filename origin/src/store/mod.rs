//! The live store: channels, their tracks, and one stored copy of every chunk. It knows
//! nothing of HTTP: ingest writes into it, serving reads from it.
//!
//! - [`Origin`]: the channels, created by their first valid init segment (a refused
//!   upload creates nothing), bounded in number, removed when idle;
//! - [`Channel`]: a channel's renditions, cadence and published snapshot;
//! - [`LiveTrack`]: one rendition's timeline, init versions and segments;
//! - [`Growing`]: one segment's bytes, read by any number of readers while it grows.

mod bandwidth;
mod channel;
mod companion;
mod growing;
pub mod stats;
mod track;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use channel::{Channel, ChunkIn};
pub use companion::KeyFrame;
pub use growing::{ChunkMark, ChunkTimes, End, Granularity, Growing, Reader, Step};
pub use track::{InitVersion, LiveTrack};

use crate::config::Config;
use crate::dvr::Dvr;
use crate::error::IngestError;

/// All channels of one origin.
#[derive(Debug)]
pub struct Origin {
    config: Config,
    /// The DVR, with `--dvr-dir`.
    dvr: Option<Arc<Dvr>>,
    channels: Mutex<HashMap<String, Arc<Channel>>>,
    /// Bumped whenever a channel is created, so callers can await a channel's arrival.
    created: tokio::sync::watch::Sender<u64>,
}

impl Origin {
    /// An origin with no channels and no DVR (whatever `config.dvr` says).
    pub fn new(config: Config) -> Self {
        Origin {
            config,
            dvr: None,
            channels: Mutex::new(HashMap::new()),
            created: tokio::sync::watch::Sender::new(0),
        }
    }

    /// An origin with the DVR of `config.dvr` (if any): its directory opened, its index
    /// rebuilt, and every channel it holds continued (same anchor, cadence, numbers
    /// and URLs; the live edge resumes when the encoder reconnects). Fails when the
    /// DVR directory cannot be created or read.
    pub fn open(config: Config) -> Result<Self, crate::dvr::DvrError> {
        let Some(dvr_cfg) = config.dvr.clone() else {
            return Ok(Origin::new(config));
        };
        let windows = config
            .channels
            .iter()
            .filter_map(|(n, c)| Some((n.clone(), c.dvr_window_s?)))
            .collect();
        let (dvr, restored) = Dvr::open(dvr_cfg, windows)?;
        let dvr = Arc::new(dvr);
        let origin = Origin {
            dvr: Some(dvr.clone()),
            ..Origin::new(config)
        };
        {
            let mut map = origin.lock();
            for rc in restored.iter().take(origin.config.limits.max_channels) {
                let ch = Channel::restored(
                    rc,
                    origin.config.timing_of(&rc.name),
                    &origin.config.limits,
                    origin.byterange(&rc.name),
                    Some(dvr.clone()),
                );
                if !ch.snapshot().tracks.is_empty() {
                    map.insert(rc.name.clone(), Arc::new(ch));
                }
            }
        }
        Ok(origin)
    }

    /// The DVR, if configured.
    pub fn dvr(&self) -> Option<&Arc<Dvr>> {
        self.dvr.as_ref()
    }

    fn byterange(&self, name: &str) -> bool {
        self.config.byterange_of(name)
    }

    /// The origin's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The channel `name`, if it exists.
    pub fn channel(&self, name: &str) -> Option<Arc<Channel>> {
        self.lock().get(name).cloned()
    }

    /// The channel `name`, created if it does not exist (called by ingest once it holds a
    /// valid init segment). Refused beyond the channel limit.
    pub fn channel_or_create(&self, name: &str) -> Result<Arc<Channel>, IngestError> {
        let mut map = self.lock();
        if let Some(ch) = map.get(name) {
            return Ok(ch.clone());
        }
        let limits = &self.config.limits;
        if map.len() >= limits.max_channels {
            return Err(IngestError::Limit(format!(
                "the origin already has {} channels (the limit)",
                limits.max_channels
            )));
        }
        let byterange = self.byterange(name);
        let timing = self.config.timing_of(name);
        // A channel the DVR still holds continues where it was stored.
        let continued = self
            .dvr
            .as_ref()
            .and_then(|d| d.continuation(name))
            .map(|rc| Channel::restored(&rc, timing, limits, byterange, self.dvr.clone()))
            .filter(|c| !c.snapshot().tracks.is_empty());
        let ch =
            Arc::new(continued.unwrap_or_else(|| {
                Channel::new(name, timing, limits, byterange, self.dvr.clone())
            }));
        map.insert(name.to_string(), ch.clone());
        drop(map);
        self.created.send_modify(|n| *n += 1);
        Ok(ch)
    }

    /// Removes channel `name` if it has no track (an upload that created it was refused
    /// before its first track was stored).
    pub fn remove_if_empty(&self, name: &str) {
        let mut map = self.lock();
        if map
            .get(name)
            .is_some_and(|ch| ch.snapshot().tracks.is_empty())
        {
            map.remove(name);
        }
    }

    /// Waits until channel `name` exists (it is created by its first upload).
    pub async fn wait_channel(&self, name: &str) -> Arc<Channel> {
        let mut rx = self.created.subscribe();
        loop {
            if let Some(ch) = self.channel(name) {
                return ch;
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as `self`, so this cannot happen while we
                // hold `&self`; fall back to a fresh check.
                continue;
            }
        }
    }

    /// Closes every segment in progress where it is (shutdown): each becomes a complete,
    /// shorter segment, handed to the DVR. Returns how many were closed.
    pub fn close_all(&self) -> usize {
        let channels: Vec<Arc<Channel>> = self.lock().values().cloned().collect();
        channels.iter().map(|c| c.close_all()).sum()
    }

    /// Names of all channels, sorted.
    pub fn channel_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock().keys().cloned().collect();
        v.sort();
        v
    }

    /// Removes idle tracks, and idle channels, as of wall-clock
    /// time `now_us`; returns the names of the channels removed.
    pub fn reap(&self, now_us: i64) -> Vec<String> {
        let idle_us = i64::try_from(self.config.limits.idle_timeout_s.saturating_mul(1_000_000))
            .unwrap_or(i64::MAX);
        let before = now_us.saturating_sub(idle_us);
        let channels: Vec<Arc<Channel>> = self.lock().values().cloned().collect();
        for ch in &channels {
            ch.reap_tracks(before);
        }
        let mut removed = Vec::new();
        self.lock().retain(|name, ch| {
            let keep = ch.last_activity_us() >= before;
            if !keep {
                ch.abort();
                removed.push(name.clone());
            }
            keep
        });
        for name in &removed {
            tracing::info!(
                "channel {name}: removed after {} s without ingest",
                idle_us / 1_000_000
            );
        }
        removed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        // A panic while holding this lock cannot leave the map inconsistent (single
        // insert or retain), so a poisoned lock is still usable.
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }
}
