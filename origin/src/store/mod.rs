//! The live store: channels, their tracks, and one stored copy of every chunk.
//!
//! Writers (ingest) mutate a channel under a short mutex and then publish an immutable
//! [`timeline::ChannelSnapshot`] through a `tokio::sync::watch` channel; readers wait on
//! that watch with a predicate, so a wake-up costs nothing per waiting viewer beyond
//! re-checking its own condition, and slow viewers never slow ingest.

mod bandwidth;
mod channel;
mod media;
mod track;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use channel::{Channel, ChunkIn};
pub use media::TrackMedia;
pub use track::LiveTrack;

use crate::Config;

/// All channels of one origin.
#[derive(Debug)]
pub struct Origin {
    config: Config,
    channels: Mutex<HashMap<String, Arc<Channel>>>,
    /// Bumped whenever a channel is created, so callers can await a channel's arrival.
    created: tokio::sync::watch::Sender<u64>,
}

impl Origin {
    /// An origin with no channels.
    pub fn new(config: Config) -> Self {
        Origin {
            config,
            channels: Mutex::new(HashMap::new()),
            created: tokio::sync::watch::Sender::new(0),
        }
    }

    /// The origin's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The channel `name`, if it exists.
    pub fn channel(&self, name: &str) -> Option<Arc<Channel>> {
        self.lock().get(name).cloned()
    }

    /// The channel `name`, created on first use (by ingest).
    pub fn channel_or_create(&self, name: &str) -> Arc<Channel> {
        let mut created = false;
        let ch = self
            .lock()
            .entry(name.to_string())
            .or_insert_with(|| {
                created = true;
                Arc::new(Channel::new(name, &self.config))
            })
            .clone();
        if created {
            self.created.send_modify(|n| *n += 1);
        }
        ch
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

    /// Names of all channels, sorted.
    pub fn channel_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock().keys().cloned().collect();
        v.sort();
        v
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        // A panic while holding this lock cannot leave the map inconsistent (single
        // insert), so a poisoned lock is still usable.
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }
}
