//! The playback listener: manifests, init segments, segments, parts and the time source.

pub mod body;
mod hold;
pub mod http;
mod manifests;
mod media;
mod range;
mod ranged;
mod render_cache;
mod response;
mod route;
mod timeline_api;
mod web;

use std::sync::Arc;

use ::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, HOST};
use ::http::{HeaderValue, Method};
use hyper::body::Incoming;
use hyper::{Request, Response};
use manifest::hls::Directives;

use self::http::{Body, Handler};
use self::render_cache::RenderCache;
use crate::Origin;
use crate::error::ServeError;
pub use route::Route;

/// Answers players.
#[derive(Debug)]
pub struct PlaybackService {
    origin: Arc<Origin>,
    rendered: RenderCache,
}

impl PlaybackService {
    /// A playback service reading from `origin`.
    pub fn new(origin: Arc<Origin>) -> Self {
        PlaybackService {
            origin,
            rendered: RenderCache::default(),
        }
    }

    async fn answer(
        &self,
        req: &Request<()>,
        route: Route,
        directives: &Directives,
    ) -> Result<Response<Body>, ServeError> {
        let o = &self.origin;
        let cfg = &o.config().timing;
        let gzip = accepts_gzip(req);
        let m = match route {
            Route::Time => return Ok(response::time(crate::clock::now_us())),
            Route::Index => return web::index(o.config().web.as_deref(), &o.channel_names()).await,
            Route::Channels => return Ok(web::channels(&o.channel_names())),
            Route::Metrics => return Ok(response::metrics(o)),
            Route::Timeline { channel } => {
                let query = req.uri().query().unwrap_or("");
                let accept = req
                    .headers()
                    .get(::http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                return timeline_api::timeline(o, &channel, query, accept, cfg).await;
            }
            Route::Vendor { package, path } => {
                return web::vendor(o.config().web.as_deref(), &package, &path).await;
            }
            Route::Init {
                channel,
                track,
                version,
            } => return media::init(o, &channel, &track, version),
            Route::Segment {
                channel,
                track,
                msn,
            } => {
                let range = req
                    .headers()
                    .get(::http::header::RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(range::ByteRange::parse);
                return media::segment(o, &channel, &track, msn, range, cfg).await;
            }
            Route::Part {
                channel,
                track,
                msn,
                part,
            } => return media::part(o, &channel, &track, msn, part, cfg).await,
            Route::Master { channel } => {
                manifests::master(o, &self.rendered, &channel, cfg).await?
            }
            Route::Mpd { channel } => {
                manifests::mpd(o, &self.rendered, &channel, cfg, &host(req)).await?
            }
            Route::Media { channel, track } => {
                manifests::media(o, &self.rendered, &channel, &track, directives, cfg).await?
            }
        };
        Ok(response::manifest(&m, gzip))
    }
}

impl Handler for PlaybackService {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        // Playback requests carry no body worth reading.
        self.respond(req.map(|_| ())).await
    }
}

impl PlaybackService {
    /// Answers one player request; also the in-process entry point of a co-hosted edge
    /// node (`weir up`).
    pub async fn respond(self: Arc<Self>, req: Request<()>) -> Response<Body> {
        if req.method() == Method::OPTIONS {
            return response::preflight();
        }
        let cfg = self.origin.config().timing;
        let route = Route::parse(req.uri().path());
        let query = req.uri().query().unwrap_or("");
        // Manifests (and the timeline they are rendered from) share the failure lifetimes.
        let is_playlist = matches!(
            route,
            Ok(Route::Media { .. }
                | Route::Master { .. }
                | Route::Mpd { .. }
                | Route::Timeline { .. })
        );
        // A request naming `_HLS_msn` or `_HLS_part` is a blocking one, even when a
        // directive is invalid: its failure is cached as a blocking failure.
        let blocking = is_playlist
            && query
                .split('&')
                .any(|p| matches!(p.split('=').next(), Some("_HLS_msn" | "_HLS_part")));
        let parsed = route.and_then(|r| {
            let d = match r {
                Route::Media { .. } => Directives::parse(query)?,
                _ => Directives::default(),
            };
            Ok((r, d))
        });
        let result = match (req.method(), parsed) {
            (&Method::GET | &Method::HEAD, Ok((route, d))) => self.answer(&req, route, &d).await,
            (&Method::GET | &Method::HEAD, Err(e)) => Err(e),
            (m, _) => Err(ServeError::Method(m.to_string())),
        };
        result.unwrap_or_else(|e| {
            let mut r = response::error(&e);
            if is_playlist {
                let v = manifests::cache_failure(&cfg, blocking);
                if let Ok(v) = HeaderValue::from_str(&v) {
                    r.headers_mut().insert(CACHE_CONTROL, v);
                }
            }
            r
        })
    }
}

/// True when the client accepts a gzip content coding.
fn accepts_gzip(req: &Request<()>) -> bool {
    req.headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(manifest::headers::accepts_gzip)
}

/// The authority the client used (Host header, or :authority on HTTP/2).
fn host(req: &Request<()>) -> String {
    req.headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1".to_string())
}
