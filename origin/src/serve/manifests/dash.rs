//! The DASH MPD.

use manifest::dash::MpdOptions;
use manifest::headers::DASH_MPD;
use manifest::policy;
use timeline::TimingConfig;
use timeline::history::Span;

use super::render_cache::RenderCache;
use super::{Manifest, channel_manifest};
use crate::error::ServeError;
use crate::store::Origin;

/// `/{channel}/manifest.mpd`. Its UTCTiming names the configured public URL or the
/// relative `../time` ([`policy::time_url`]), never the request's Host, so the MPD
/// is the same for every client and cached once per snapshot.
pub async fn mpd(
    origin: &Origin,
    cache: &RenderCache,
    (name, span): (&str, Option<Span>),
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let opts = MpdOptions {
        time_url: policy::time_url(origin.config().public_url.as_deref()),
    };
    channel_manifest(
        origin,
        cache,
        (name, span),
        cfg,
        ("mpd", DASH_MPD),
        |snap| Ok(manifest::dash::mpd(snap, &opts)?),
    )
    .await
}
