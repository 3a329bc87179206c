//! The timeline API the edge renders from: `GET /{channel}/timeline.json`, the
//! channel's snapshot in its versioned wire form (`timeline::wire`).
//!
//! `?rendition=ID` trims it to what a media playlist of ID needs (an LL-HLS reload
//! must not ship every rendition's window). With delivery directives
//! (`_HLS_msn`/`_HLS_part`) the request is held exactly like the blocking playlist
//! request it stands for, so identical waits can be collapsed by a CDN on the URL;
//! 400 and 503 as for playlists. Without `rendition`, `hold=startup`
//! ([`manifest::policy::STARTUP_HOLD`]) applies the start-up hold of the multivariant
//! playlist and the MPD: held (bounded) until every rendition has a complete segment,
//! exactly as the origin holds its own master, so an edge renders the same master.
//! `Accept: application/vnd.weir.timeline+postcard` selects the compact binary encoding
//! (what weir's edge component asks for). Statuses and cache lifetimes are those of the
//! playlist the request stands for ([`manifest::policy`]). `start=` (and `end=`) ask
//! for the start-over snapshot ([`manifest::start_over`]): the same span the origin
//! would render.

use std::sync::Arc;

use manifest::hls::Directives;
use manifest::policy::{cache_success, wants_startup_hold};
use timeline::wire::Format;
use timeline::{ChannelSnapshot, TimingConfig};

use crate::error::ServeError;
use crate::http::{Body, full};
use crate::serve::response::ok;
use crate::store::Origin;

/// `/{channel}/timeline.json[?rendition=ID][&_HLS_msn=M[&_HLS_part=N]]` or
/// `/{channel}/timeline.json?hold=startup`. `directives` were parsed from the query by
/// the caller (before the channel is looked up, as for a playlist).
pub async fn timeline(
    origin: &Origin,
    name: &str,
    query: &str,
    directives: &Directives,
    accept: &str,
    cfg: &TimingConfig,
) -> Result<hyper::Response<Body>, ServeError> {
    // The span is checked first, as directives are (they were parsed by the caller).
    let span = super::span(query)?;
    let ch = super::channel(origin, name)?;
    let rendition = query
        .split('&')
        .find_map(|p| p.strip_prefix("rendition="))
        .map(str::to_string);
    let snap: Arc<ChannelSnapshot> = match &rendition {
        Some(id) => super::ready::hold_for(&ch, id, directives, cfg).await?,
        None if wants_startup_hold(query) => super::ready::settled(&ch, cfg).await,
        None => ch.snapshot(),
    };
    // A start-over request for the edge: the snapshot reaching back into the DVR, which
    // the edge renders exactly as the origin would.
    let snap = match span {
        Some(span) => Arc::new(super::start_over(origin, &snap, span)),
        None => snap,
    };
    let format = Format::negotiate(accept);
    let body = match &rendition {
        Some(id) => timeline::wire::encode_as(&snap.for_rendition(id), format),
        None => timeline::wire::encode_as(&snap, format),
    };
    let mut resp = ok(
        format.content_type(),
        &cache_success(snap.target_duration_secs(), directives.is_blocking()),
        full(body),
    );
    resp.headers_mut().insert(
        hyper::header::VARY,
        hyper::header::HeaderValue::from_static("Accept"),
    );
    Ok(resp)
}
