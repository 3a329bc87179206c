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

/// How long a request may be held.
pub fn limit(cfg: &TimingConfig) -> Duration {
    Duration::from_millis(u64::from(cfg.target_duration_ms) * 3)
}

/// Waits until `ready` holds for the channel's snapshot, at most `limit(cfg)`.
/// Returns the snapshot that satisfied it, or `None` on timeout.
pub async fn until(
    channel: &Channel,
    cfg: &TimingConfig,
    ready: impl Fn(&ChannelSnapshot) -> bool,
) -> Option<Arc<ChannelSnapshot>> {
    let mut rx = channel.subscribe();
    let wait = rx.wait_for(|s| ready(s));
    match tokio::time::timeout(limit(cfg), wait).await {
        Ok(Ok(s)) => Some(s.clone()),
        _ => None,
    }
}
