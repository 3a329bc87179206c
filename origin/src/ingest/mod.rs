//! The ingest listener: encoders PUT/POST fragmented MP4 here.

mod auth;
mod path;
mod publisher;
mod push;
mod status;

use std::sync::Arc;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};

pub use path::{Target, check_name, classify};
pub use publisher::{HANDOVER, Publishers};
pub use push::{Role, drain_events};

use crate::error::IngestError;
use crate::http::{Body, Handler, full};
use crate::store::Origin;

/// Answers ingest requests.
#[derive(Debug)]
pub struct IngestService {
    origin: Arc<Origin>,
    publishers: Arc<Publishers>,
}

impl IngestService {
    /// An ingest service storing into `origin`.
    pub fn new(origin: Arc<Origin>) -> Self {
        IngestService {
            origin,
            publishers: Arc::default(),
        }
    }

    async fn route(&self, req: Request<Incoming>) -> Result<StatusCode, IngestError> {
        let target = classify(req.uri().path())?;
        // Access first: a refused request reads no body and stores nothing.
        let channel = req
            .uri()
            .path()
            .strip_prefix("/ingest/")
            .and_then(|p| p.split('/').next())
            .unwrap_or("");
        if let Some(secret) = self.origin.config().secret_of(channel) {
            auth::check(req.headers(), secret)?;
        }
        match (req.method().clone(), target) {
            (Method::DELETE, _) => {
                // ffmpeg's DASH muxer deletes old segments; weir manages its own window.
                // The (empty, chunked) body must still be consumed.
                drain(req.into_body()).await?;
                Ok(StatusCode::NO_CONTENT)
            }
            (Method::PUT | Method::POST, Target::Manifest) => {
                drain(req.into_body()).await?;
                Ok(StatusCode::CREATED)
            }
            (
                Method::PUT | Method::POST,
                Target::Track {
                    channel,
                    track,
                    companion,
                },
            ) => {
                let role = if companion {
                    push::Role::Companion
                } else {
                    push::Role::Rendition
                };
                // One encoder per track: taken before the body is read.
                let _lease = self.publishers.acquire(&channel, &track, companion).await?;
                push::ingest_body(&self.origin, &channel, (&track, role), req.into_body()).await?;
                Ok(StatusCode::CREATED)
            }
            (m, _) => Err(IngestError::Method(m.to_string())),
        }
    }
}

impl Handler for IngestService {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path().to_string();
        match self.route(req).await {
            Ok(status) => Response::builder()
                .status(status)
                .body(full(""))
                .expect("valid response"),
            Err(e) => {
                tracing::warn!("ingest {path}: {e}");
                let mut r = Response::builder().status(e.status());
                if matches!(e, IngestError::Unauthorized(_)) {
                    r = r.header(http::header::WWW_AUTHENTICATE, auth::CHALLENGE);
                }
                r.header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                    .header(http::header::CONNECTION, "close")
                    .body(full(format!("{e}\n")))
                    .expect("valid response")
            }
        }
    }
}

/// Reads and discards a body.
async fn drain(mut body: Incoming) -> Result<(), IngestError> {
    while let Some(frame) = body.frame().await {
        frame.map_err(|e| IngestError::Body(e.to_string()))?;
    }
    Ok(())
}
