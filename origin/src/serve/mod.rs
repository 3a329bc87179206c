//! The playback listener: manifests, init segments, segments, parts and the time source.

pub mod body;
mod hold;
pub mod http;
mod manifests;
mod media;
mod response;
mod route;

use std::sync::Arc;

use ::http::Method;
use hyper::body::Incoming;
use hyper::{Request, Response};

use self::http::{Body, Handler};
use crate::Origin;
use crate::error::ServeError;
pub use route::Route;

/// Answers players.
#[derive(Debug)]
pub struct PlaybackService {
    origin: Arc<Origin>,
}

impl PlaybackService {
    /// A playback service reading from `origin`.
    pub fn new(origin: Arc<Origin>) -> Self {
        PlaybackService { origin }
    }

    async fn answer(&self, req: &Request<Incoming>) -> Result<Response<Body>, ServeError> {
        let route = Route::parse(req.uri().path())?;
        let cfg = &self.origin.config().timing;
        match route {
            Route::Time => Ok(response::time(crate::clock::now_us())),
            Route::Index => Ok(response::index(&self.origin.channel_names())),
            Route::Master { channel } => manifests::master(&self.origin, &channel, cfg).await,
            Route::Mpd { channel } => {
                let host = host(req);
                manifests::mpd(&self.origin, &channel, cfg, &host).await
            }
            Route::Media { channel, track } => {
                manifests::media(&self.origin, &channel, &track, cfg).await
            }
            Route::Init { channel, track } => media::init(&self.origin, &channel, &track),
            Route::Segment {
                channel,
                track,
                msn,
            } => media::segment(&self.origin, &channel, &track, msn, cfg).await,
            Route::Part {
                channel,
                track,
                msn,
                part,
            } => media::part(&self.origin, &channel, &track, msn, part, cfg).await,
        }
    }
}

impl Handler for PlaybackService {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let result = match *req.method() {
            Method::OPTIONS => return response::preflight(),
            Method::GET | Method::HEAD => self.answer(&req).await,
            ref m => Err(ServeError::Method(m.to_string())),
        };
        result.unwrap_or_else(|e| response::error(&e))
    }
}

/// The authority the client used (Host header, or :authority on HTTP/2).
fn host(req: &Request<Incoming>) -> String {
    req.headers()
        .get(::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1".to_string())
}
