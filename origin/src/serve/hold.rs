//! Holding a request until the state it needs exists.
//!
//! A request for something a moment before it exists is held, not answered 404
//! (players request the next segment on their own schedule); the hold is bounded by
//! three target durations, after which the caller answers 503, as [HLS §6.2.5.2]
//! prescribes for blocking requests.

use std::sync::Arc;
use std::time::Duration;

use timeline::{ChannelSnapshot, TimingConfig};

use crate::store::Channel;
use crate::store::stats::HoldKind;

/// How long a request may be held: three of the target durations the channel
/// announces (the configured target until the channel's cadence is chosen).
pub fn limit(ch: &Channel, cfg: &TimingConfig) -> Duration {
    let td_ms = ch
        .snapshot()
        .target_duration_secs()
        .saturating_mul(1000)
        .max(u64::from(cfg.target_duration_ms));
    Duration::from_millis(td_ms.saturating_mul(3))
}

/// Waits until `ready` holds for the channel's snapshot, at most [`limit`], waking on
/// every change of any track. Returns the snapshot that satisfied it, or `None` on
/// timeout.
pub async fn until(
    channel: &Channel,
    cfg: &TimingConfig,
    kind: HoldKind,
    ready: impl Fn(&ChannelSnapshot) -> bool,
) -> Option<Arc<ChannelSnapshot>> {
    let mut rx = channel.subscribe();
    let snap = rx.borrow_and_update().clone();
    if ready(&snap) {
        return Some(snap);
    }
    // Held: timed for the hold histogram, whatever the outcome.
    let started = tokio::time::Instant::now();
    let wait = rx.wait_for(|s| ready(s));
    let got = match tokio::time::timeout(limit(channel, cfg), wait).await {
        Ok(Ok(s)) => Some(s.clone()),
        _ => None,
    };
    channel.serve_stats().held(kind, started.elapsed());
    got
}

/// Like [`until`], but wakes only when track `track` changes (per-rendition wake-ups:
/// a request about one rendition sleeps through the others' chunks). Falls back to the
/// channel-wide wait while the track does not exist.
pub async fn until_track(
    channel: &Channel,
    track: &str,
    cfg: &TimingConfig,
    kind: HoldKind,
    ready: impl Fn(&ChannelSnapshot) -> bool,
) -> Option<Arc<ChannelSnapshot>> {
    let Some(mut rx) = channel.subscribe_track(track) else {
        return until(channel, cfg, kind, ready).await;
    };
    let snap = channel.snapshot();
    if ready(&snap) {
        return Some(snap);
    }
    let started = tokio::time::Instant::now();
    let wait = async {
        loop {
            rx.borrow_and_update();
            let snap = channel.snapshot();
            if ready(&snap) {
                return Some(snap);
            }
            if rx.changed().await.is_err() {
                // The track was removed: nothing it waits for will come.
                return None;
            }
        }
    };
    let got = tokio::time::timeout(limit(channel, cfg), wait)
        .await
        .ok()
        .flatten();
    channel.serve_stats().held(kind, started.elapsed());
    got
}
