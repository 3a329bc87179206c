//! The DASH MPD.

use manifest::dash::MpdOptions;
use manifest::headers::DASH_MPD;
use manifest::policy::{self, cache_success};
use timeline::TimingConfig;

use super::ready::settled;
use super::render_cache::RenderCache;
use super::{Manifest, channel};
use crate::error::ServeError;
use crate::store::Origin;

/// `/{channel}/manifest.mpd`. Its UTCTiming names the configured public URL or the
/// relative `../time` ([`policy::time_url`]), never the request's Host, so the MPD
/// is the same for every client and cached once per snapshot.
pub async fn mpd(
    origin: &Origin,
    cache: &RenderCache,
    name: &str,
    cfg: &TimingConfig,
) -> Result<Manifest, ServeError> {
    let ch = channel(origin, name)?;
    let snap = settled(&ch, cfg).await;
    let opts = MpdOptions {
        time_url: policy::time_url(origin.config().public_url.as_deref()),
    };
    let rendered = cache.get_or_render(name, "mpd", snap.version, || {
        Ok(manifest::dash::mpd(&snap, &opts)?)
    })?;
    Ok(Manifest {
        rendered,
        content_type: DASH_MPD,
        cache: cache_success(snap.target_duration_secs(), false),
    })
}
