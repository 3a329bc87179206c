//! One encoder per track: an upload holds its track's publisher lease from before its
//! first byte is read until it ends.
//!
//! Two encoders pushing the same track would interleave their fragments into one
//! timeline. weir refuses the second clearly instead (409, nothing read, nothing
//! stored); redundant encoders belong on different channels. An upload that goes
//! silent is cut after the ingest idle timeout, which frees its lease, so an encoder
//! that reconnects after its old connection died unseen is in again within that time.
//!
//! ffmpeg's DASH and HLS muxers send one request per segment and open the next one as
//! the last one closes: a new upload waits up to [`HANDOVER`] for the one before it to
//! end before it is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::IngestError;

/// How long an upload waits for an upload of the same track to end before it is
/// refused as a second encoder.
pub const HANDOVER: Duration = Duration::from_secs(2);

/// A track's publisher slot: channel, track, and whether it is the companion track.
type Key = (String, String, bool);

/// The tracks being pushed right now.
#[derive(Debug, Default)]
pub struct Publishers {
    slots: Mutex<HashMap<Key, Arc<Semaphore>>>,
}

/// The right to push one track; released when dropped.
#[derive(Debug)]
pub struct Lease {
    owner: Arc<Publishers>,
    key: Key,
    slot: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Publishers {
    /// Takes the lease of `track` of `channel`, waiting up to [`HANDOVER`] for the
    /// upload holding it to end; [`IngestError::Busy`] if it does not.
    pub async fn acquire(
        self: &Arc<Self>,
        channel: &str,
        track: &str,
        companion: bool,
    ) -> Result<Lease, IngestError> {
        let key = (channel.to_string(), track.to_string(), companion);
        let slot = self
            .lock()
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone();
        // Built before waiting, so a refused waiter still drops its share of the slot.
        let mut lease = Lease {
            owner: self.clone(),
            key,
            slot: slot.clone(),
            permit: None,
        };
        match tokio::time::timeout(HANDOVER, slot.acquire_owned()).await {
            Ok(Ok(permit)) => {
                lease.permit = Some(permit);
                Ok(lease)
            }
            _ => Err(IngestError::Busy(format!(
                "track '{track}' of channel '{channel}' is already being pushed by another \
                 upload; one encoder per track (a silent upload is cut after the ingest idle \
                 timeout)"
            ))),
        }
    }

    /// Tracks with a slot (held or waited for): what the map holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no upload holds or waits for a slot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Semaphore>>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // The permit goes first, so a waiter wakes to a free slot.
        self.permit.take();
        let mut slots = self.owner.lock();
        // Waiters clone the slot under this lock: the map's and this lease's are the
        // only references when nobody else wants the track.
        if Arc::strong_count(&self.slot) == 2 {
            slots.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_second_upload_waits_for_the_first_then_is_refused() {
        let p = Arc::new(Publishers::default());
        let first = p.acquire("live", "v1", false).await.unwrap();
        // Another track, or the companion of the same one, is free.
        let other = p.acquire("live", "v2", false).await.unwrap();
        let companion = p.acquire("live", "v1", true).await.unwrap();
        let started = tokio::time::Instant::now();
        let e = p.acquire("live", "v1", false).await.unwrap_err();
        assert_eq!(started.elapsed(), HANDOVER);
        assert_eq!(e.status(), http::StatusCode::CONFLICT);
        drop((other, companion));
        assert_eq!(p.len(), 1);
        drop(first);
        assert!(p.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_segment_upload_takes_over_when_the_last_ends() {
        let p = Arc::new(Publishers::default());
        let first = p.acquire("live", "v1", false).await.unwrap();
        let waiting = {
            let p = p.clone();
            tokio::spawn(async move { p.acquire("live", "v1", false).await.map(|_| ()) })
        };
        tokio::time::sleep(HANDOVER / 2).await;
        drop(first);
        waiting.await.unwrap().unwrap();
        assert!(p.is_empty());
    }
}
