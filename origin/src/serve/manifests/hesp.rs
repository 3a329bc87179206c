//! The HESP manifest: `/{channel}/hesp.json`, held and cached like the MPD (it changes
//! with the same snapshots, and only its `currentTime` with every chunk).

use manifest::hesp::{HESP_MANIFEST, HespOptions};
use manifest::policy;
use timeline::TimingConfig;
use timeline::history::Span;

use super::render_cache::RenderCache;
use super::{Manifest, channel_manifest};
use crate::error::ServeError;
use crate::store::Origin;

/// `/{channel}/hesp.json`. Its `timeSource` is the configured public URL or the
/// relative `../time` ([`policy::time_url`]), as the MPD's UTCTiming.
pub async fn hesp(
    origin: &Origin,
    cache: &RenderCache,
    (name, span): (&str, Option<Span>),
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let opts = HespOptions {
        time_url: policy::time_url(origin.config().public_url.as_deref()),
    };
    channel_manifest(
        origin,
        cache,
        (name, span),
        cfg,
        ("hesp", HESP_MANIFEST),
        |snap| Ok(manifest::hesp::hesp_manifest(snap, &opts)?),
    )
    .await
}
