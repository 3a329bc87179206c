//! The ingest listener: encoders PUT/POST fragmented MP4 here.

mod path;
mod push;
mod status;

use std::sync::Arc;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};

pub use path::{Target, check_name, classify};

use crate::error::IngestError;
use crate::http::{Body, Handler, full};
use crate::store::Origin;

/// Answers ingest requests.
#[derive(Debug)]
pub struct IngestService {
    origin: Arc<Origin>,
}

impl IngestService {
    /// An ingest service storing into `origin`.
    pub fn new(origin: Arc<Origin>) -> Self {
        IngestService { origin }
    }

    async fn route(&self, req: Request<Incoming>) -> Result<StatusCode, IngestError> {
        let target = classify(req.uri().path())?;
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
                Response::builder()
                    .status(e.status())
                    .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
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
