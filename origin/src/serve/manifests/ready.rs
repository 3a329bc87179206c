//! When a manifest may be rendered: the start-up hold of the master and the MPD, and
//! the blocking reload of a media playlist, both bounded like every hold.

use std::sync::Arc;

use manifest::hls::Directives;
use manifest::policy::{self, Failure, Resource};
use timeline::{ChannelSnapshot, TimingConfig};

use crate::error::ServeError;
use crate::serve::hold;
use crate::store::Channel;
use crate::store::stats::HoldKind;

/// The start-up hold of the multivariant playlist and the MPD
/// ([`policy::ready_to_render`]): waits (bounded) until every rendition has a complete
/// segment, then returns that snapshot; after the bound, whatever exists. Also applied
/// by the timeline API for `hold=startup` ([`policy::STARTUP_HOLD`]), so an edge
/// renders the master the origin would.
pub async fn settled(ch: &Channel, cfg: &TimingConfig) -> Arc<ChannelSnapshot> {
    let none = Directives::default();
    let ready = |s: &ChannelSnapshot| policy::ready_to_render(s, Resource::Master, &none);
    let now = ch.snapshot();
    if ready(&now) {
        return now;
    }
    hold::until(ch, cfg, HoldKind::Manifest, ready)
        .await
        .unwrap_or_else(|| ch.snapshot())
}

/// Waits (bounded) until rendition `track` has a segment to list and `directives` are
/// met, then returns that snapshot. Shared by playlists and the timeline API, so both
/// hold, refuse (400) and give up (503) alike.
pub async fn hold_for(
    ch: &Channel,
    track: &str,
    directives: &Directives,
    cfg: &TimingConfig,
) -> Result<Arc<ChannelSnapshot>, ServeError> {
    // A directive that became an error (it cannot) also ends the wait, to be reported.
    let ready =
        |s: &ChannelSnapshot| policy::ready_to_render(s, Resource::Media(track), directives);
    let mut snap = ch.snapshot();
    let t = snap
        .track(track)
        .ok_or_else(|| manifest::ManifestError::UnknownTrack(track.to_string()))?;
    directives.readiness(t, &snap.config)?;
    if !ready(&snap) {
        let what = match directives.msn {
            Some(m) => format!(
                "playlist of '{track}' with {m}.{}",
                directives.part.unwrap_or(0)
            ),
            None => format!("first segment of '{track}'"),
        };
        snap = hold::until_track(ch, track, cfg, HoldKind::Manifest, ready)
            .await
            .ok_or(Failure::Timeout(what))?;
    }
    if let Some(t) = snap.track(track) {
        directives.readiness(t, &snap.config)?;
    }
    Ok(snap)
}
