//! The playback listener: manifests, init segments, segments, parts and the time source,
//! read from the store. [`PlaybackService`] parses the URL ([`Route`]), applies the
//! shared manifest policy, and hands each route to its room: `media/`, `manifests/`,
//! `web`, `metrics`; `hold` is the bounded wait both media and manifests use, and
//! `response` the headers every answer shares.

mod health;
mod hold;
mod manifests;
mod media;
mod metrics;
mod requests;
mod response;
mod route;
mod web;

use std::sync::Arc;

use http::header::{ACCEPT_ENCODING, CACHE_CONTROL};
use http::{HeaderValue, Method};
use hyper::body::Incoming;
use hyper::{Request, Response};
use manifest::hls::Directives;
use manifest::policy::{self, Resource};

use self::manifests::RenderCache;
use crate::error::ServeError;
use crate::http::{Body, Handler};
use crate::store::Origin;
use crate::store::stats::Protocol;
pub use route::Route;

/// Answers players.
#[derive(Debug)]
pub struct PlaybackService {
    origin: Arc<Origin>,
    rendered: RenderCache,
    requests: Arc<requests::RequestCounts>,
    /// Answers to requests naming no live channel (one bounded set, not a set per
    /// name a client made up).
    unknown: Arc<crate::store::stats::ServeStats>,
    /// What `/metrics` encodes.
    registry: prometheus_client::registry::Registry,
}

impl PlaybackService {
    /// A playback service reading from `origin`.
    pub fn new(origin: Arc<Origin>) -> Self {
        let requests = Arc::new(requests::RequestCounts::default());
        let unknown = Arc::new(crate::store::stats::ServeStats::default());
        PlaybackService {
            registry: metrics::registry(origin.clone(), requests.clone(), unknown.clone()),
            origin,
            rendered: RenderCache::default(),
            requests,
            unknown,
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
        let query = req.uri().query().unwrap_or("");
        let m = match route {
            Route::Time => return Ok(response::time(crate::clock::now_us())),
            Route::Index => return web::index(o.config().web.as_deref(), &o.channel_names()).await,
            Route::Channels => {
                let window = |c: &str| o.dvr().map(|d| d.window_s(c));
                return Ok(web::channels(&o.channel_names(), window));
            }
            Route::Metrics => return Ok(metrics::metrics(&self.registry)),
            Route::Health => return Ok(health::health()),
            Route::Ready => return Ok(health::ready(o, query)),
            Route::Timeline { channel } => {
                let accept = req
                    .headers()
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                return manifests::timeline(o, &channel, query, directives, accept, cfg).await;
            }
            Route::Script { name } => return web::script(o.config().web.as_deref(), name).await,
            Route::Vendor { package, path } => {
                return web::vendor(o.config().web.as_deref(), &package, &path).await;
            }
            Route::Init {
                channel,
                track,
                version,
            } => return media::init(o, &channel, &track, version, &conditions(req)).await,
            Route::Segment {
                channel,
                track,
                msn,
                period,
                hesp,
            } => {
                let form = match (period, hesp) {
                    (Some(p), true) => media::Form::Hesp(p),
                    (Some(p), false) => media::Form::Dash(p),
                    (None, _) => media::Form::Hls,
                };
                let at = (channel.as_str(), track.as_str());
                return media::segment(o, at, (msn, form), &conditions(req), cfg).await;
            }
            Route::Part {
                channel,
                track,
                msn,
                part,
            } => return media::part(o, &channel, &track, msn, part, cfg).await,
            Route::Master { channel } => {
                let span = manifests::span(query)?;
                manifests::master(o, &self.rendered, (&channel, span), cfg).await?
            }
            Route::Mpd { channel } => {
                let span = manifests::dynamic_span(o, &channel, query)?;
                manifests::mpd(o, &self.rendered, (&channel, span), cfg).await?
            }
            Route::Hesp { channel } => {
                let span = manifests::dynamic_span(o, &channel, query)?;
                manifests::hesp(o, &self.rendered, (&channel, span), cfg).await?
            }
            Route::HespPacket {
                channel,
                track,
                period,
                seq,
            } => return media::hesp_packet(o, &channel, &track, period, seq, cfg).await,
            Route::LhlsMaster { channel } => {
                let span = manifests::span(query)?;
                manifests::lhls::master(o, &self.rendered, (&channel, span), cfg).await?
            }
            Route::LhlsMedia { channel, track } => {
                let span = manifests::span(query)?;
                manifests::lhls::media(o, &self.rendered, (&channel, &track, span), cfg).await?
            }
            Route::Media { channel, track } => {
                let span = manifests::span(query)?;
                let at = (channel.as_str(), track.as_str(), span);
                manifests::media(o, &self.rendered, at, directives, cfg).await?
            }
        };
        Ok(m.response(gzip))
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
    /// node (`weir up`). The request gets an id ([`listener::request_id`]): every log
    /// line about it carries it, and so does the answer's `x-request-id`.
    pub async fn respond(self: Arc<Self>, req: Request<()>) -> Response<Body> {
        let traced = listener::request_id::Traced::begin(&req, listener::request_id::as_is);
        traced.answer(self.answer_request(req)).await
    }

    async fn answer_request(&self, req: Request<()>) -> Response<Body> {
        if req.method() == Method::OPTIONS {
            return response::preflight();
        }
        let route = Route::parse(req.uri().path());
        self.requests.count(&route);
        let labels = route.as_ref().map_or((None, Protocol::Other), |r| {
            (r.channel().map(str::to_string), r.protocol())
        });
        let query = req.uri().query().unwrap_or("");
        // The manifest a playlist route (or the timeline API request standing for one)
        // answers, and its channel: the shared policy decides its directives, failure
        // status and failure lifetime, exactly as the edge component does.
        let policy_of = |r: &Route| -> Option<(String, Resource<'static>)> {
            match r {
                Route::Master { channel } => Some((channel.clone(), Resource::Master)),
                Route::Mpd { channel } | Route::Hesp { channel } => {
                    Some((channel.clone(), Resource::Mpd))
                }
                // L-HLS playlists take no directives and never block: as the master.
                Route::LhlsMaster { channel } | Route::LhlsMedia { channel, .. } => {
                    Some((channel.clone(), Resource::Master))
                }
                // Any rendition: only "is it a media playlist" matters below.
                Route::Media { channel, .. } => Some((channel.clone(), Resource::Media(""))),
                Route::Timeline { channel } => Some((
                    channel.clone(),
                    if query.split('&').any(|p| p.starts_with("rendition=")) {
                        Resource::Media("")
                    } else {
                        Resource::Master
                    },
                )),
                _ => None,
            }
        };
        let playlist = route.as_ref().ok().and_then(policy_of);
        let parsed = route.and_then(|r| {
            let d = match &playlist {
                Some((_, res)) => policy::directives(*res, query)?,
                None => Directives::default(),
            };
            Ok((r, d))
        });
        let result = match (req.method(), parsed) {
            (&Method::GET | &Method::HEAD, Ok((route, d))) => self.answer(&req, route, &d).await,
            (&Method::GET | &Method::HEAD, Err(e)) => Err(e),
            (m, _) => Err(ServeError::Method(m.to_string())),
        };
        let reason = requests::reason(&result.as_ref().map(|_| ()));
        let resp = result.unwrap_or_else(|e| {
            let mut r = response::error(&e);
            if let Some((channel, res)) = &playlist {
                // [HLS B.1] failure lifetimes, from the target duration the channel's
                // playlists announce (the configured one for an unknown channel).
                let td = self.origin.channel(channel).map_or_else(
                    || self.origin.config().timing.target_duration_secs(),
                    |c| c.snapshot().target_duration_secs(),
                );
                let v = policy::cache_failure(td, policy::is_blocking(*res, query));
                if let Ok(v) = HeaderValue::from_str(&v) {
                    r.headers_mut().insert(CACHE_CONTROL, v);
                }
            }
            r
        });
        self.account(labels, reason, resp)
    }

    /// Counts an answer for `/metrics` (by channel, protocol, status and reason), and
    /// its body's bytes as they are sent.
    fn account(
        &self,
        (channel, protocol): (Option<String>, Protocol),
        reason: &'static str,
        resp: Response<Body>,
    ) -> Response<Body> {
        let channel = channel.and_then(|c| self.origin.channel(&c));
        let stats = channel.as_ref().map_or(&*self.unknown, |c| c.serve_stats());
        stats.answer(protocol, resp.status().as_u16(), reason);
        let sent = stats.bytes(protocol);
        resp.map(|b| crate::http::counted(b, sent))
    }
}

/// The `Range` and `If-None-Match` of a media request.
fn conditions(req: &Request<()>) -> media::Conditions {
    let header = |h| req.headers().get(h).and_then(|v| v.to_str().ok());
    media::Conditions {
        range: header(http::header::RANGE).and_then(media::ByteRange::parse),
        if_none_match: header(http::header::IF_NONE_MATCH).map(str::to_string),
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
