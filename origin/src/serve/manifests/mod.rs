//! Manifests: HLS playlists and the DASH MPD rendered by the pure `manifest` crate from
//! the latest snapshot (held until ready, rendered once per snapshot, gzip-encoded when
//! accepted), and the timeline API an edge renders the same manifests from.

mod dash;
mod hesp;
mod hls;
pub mod lhls;
mod ready;
mod render_cache;
mod timeline_api;

use std::sync::Arc;

use http::{Response, StatusCode};
use manifest::policy::Failure;
use timeline::ChannelSnapshot;
use timeline::history::Span;

pub use dash::mpd;
pub use hesp::hesp;
pub use hls::{master, media};
pub use render_cache::RenderCache;
pub use timeline_api::timeline;

use self::render_cache::Rendered;
use super::response::builder;
use crate::error::ServeError;
use crate::http::{Body, full};
use crate::store::{Channel, Origin};

/// A manifest ready to send.
#[derive(Debug)]
pub struct Manifest {
    /// The rendering (plain and gzip).
    pub rendered: Arc<Rendered>,
    /// Its media type.
    pub content_type: &'static str,
    /// Its `Cache-Control`.
    pub cache: String,
}

impl Manifest {
    /// A manifest response, gzip-encoded when the client accepts it: [HLS §6.2.1] text
    /// playlists SHOULD be compressed, and the low-latency profile requires it.
    pub fn response(&self, gzip: bool) -> Response<Body> {
        let use_gzip = gzip && !self.rendered.gzip.is_empty();
        let body = if use_gzip {
            self.rendered.gzip.clone()
        } else {
            self.rendered.plain.clone()
        };
        let mut b = builder(StatusCode::OK, self.content_type, &self.cache)
            .header(http::header::VARY, "Accept-Encoding");
        if use_gzip {
            b = b.header(http::header::CONTENT_ENCODING, "gzip");
        }
        b.body(full(body)).expect("valid response")
    }
}

/// A channel-wide manifest (a multivariant playlist, the MPD): held by the start-up
/// hold, rendered once per snapshot under `key`, with the non-blocking lifetime of the
/// target duration it announces. With a start-over `span`, rendered from the snapshot
/// extended over the DVR ([`start_over`]), per request (spans are the clients').
async fn channel_manifest(
    origin: &Origin,
    cache: &RenderCache,
    (name, span): (&str, Option<Span>),
    cfg: &timeline::TimingConfig,
    (key, content_type): (&str, &'static str),
    render: impl FnOnce(&timeline::ChannelSnapshot) -> Result<String, ServeError>,
) -> Result<Manifest, ServeError> {
    let ch = channel(origin, name)?;
    let snap = ready::settled(&ch, cfg).await;
    let rendered = match span {
        Some(span) => {
            let wide = start_over(origin, &snap, span);
            Arc::new(Rendered::new(snap.version, render(&wide)?))
        }
        None => cache.get_or_render(name, key, snap.version, || render(&snap))?,
    };
    Ok(Manifest {
        rendered,
        content_type,
        cache: manifest::policy::cache_success(snap.target_duration_secs(), false),
    })
}

/// A rendition's playlist: held until the rendition can answer `directives`
/// ([`ready::hold_for`]), rendered once per snapshot under `key` (per request with a
/// start-over `span`), with the lifetime of a blocking or non-blocking answer.
async fn track_manifest(
    origin: &Origin,
    cache: &RenderCache,
    (name, track, span): (&str, &str, Option<Span>),
    (directives, cfg): (&manifest::hls::Directives, &timeline::TimingConfig),
    key: &str,
    render: impl FnOnce(&timeline::ChannelSnapshot) -> Result<String, ServeError>,
) -> Result<Manifest, ServeError> {
    let ch = channel(origin, name)?;
    let snap = ready::hold_for(&ch, track, directives, cfg).await?;
    let rendered = match span {
        Some(span) => {
            let wide = start_over(origin, &snap, span);
            Arc::new(Rendered::new(snap.version, render(&wide)?))
        }
        None => cache.get_or_render(name, key, snap.version, || render(&snap))?,
    };
    Ok(Manifest {
        rendered,
        content_type: manifest::headers::HLS_PLAYLIST,
        cache: manifest::policy::cache_success(
            snap.target_duration_secs(),
            directives.is_blocking(),
        ),
    })
}

/// `snap` reaching back over `span` into the DVR (as far as it holds: without a DVR,
/// the live window alone, marked as a start-over).
pub fn start_over(origin: &Origin, snap: &ChannelSnapshot, span: Span) -> ChannelSnapshot {
    snap.start_over(span, |track| {
        origin
            .dvr()
            .map(|d| d.history(&snap.channel, track))
            .unwrap_or_default()
    })
}

/// The start-over span `query` asks for (`None`: live), refused with 400 when
/// malformed, before the channel is looked up (as directives are).
pub fn span(query: &str) -> Result<Option<Span>, ServeError> {
    manifest::start_over::span(query, crate::clock::now_us(), true)
        .map_err(|e| ServeError::Manifest(e.into()))
}

/// The span of a manifest that is always dynamic (the MPD, HESP): as [`span`], and,
/// once the channel is known to exist, `end=` refused. The edge component answers in
/// this order too: the timeline request it stands on takes `end=` (for the HLS
/// playlists' sake) and the component refuses it after the channel answered.
pub fn dynamic_span(origin: &Origin, name: &str, query: &str) -> Result<Option<Span>, ServeError> {
    let s = span(query)?;
    channel(origin, name)?;
    manifest::start_over::span(query, crate::clock::now_us(), false)
        .map_err(|e| ServeError::Manifest(e.into()))?;
    Ok(s)
}

/// The channel `name`, or the policy's unknown-channel failure.
pub fn channel(origin: &Origin, name: &str) -> Result<Arc<Channel>, ServeError> {
    origin
        .channel(name)
        .ok_or_else(|| Failure::UnknownChannel(name.to_string()).into())
}
