//! Errors of the origin: why an upload was refused ([`IngestError`], also the store's
//! error) and why a playback request could not be answered ([`ServeError`]). Plain
//! values with no HTTP in them; each listener gives them their statuses
//! (`ingest/status.rs`, `serve/response.rs`).

/// Why an ingest request was refused. Every variant maps to a 4xx/5xx with a one-line
/// reason. The refused box and everything after it are discarded; chunks of the same
/// request that completed before the error stay stored, and no stored byte is altered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The path is not an ingest path.
    #[error("no ingest endpoint at {0}; upload to /ingest/{{channel}}/{{track}}")]
    UnknownPath(String),
    /// The method is not PUT, POST or DELETE.
    #[error("method {0} not allowed on ingest paths")]
    Method(String),
    /// A channel or track name with characters outside `[A-Za-z0-9_-]`.
    #[error("invalid name '{0}': use 1-64 characters of A-Z a-z 0-9 _ -")]
    BadName(String),
    /// The body is not valid fragmented MP4 (parser's reason attached).
    #[error("{0}")]
    Media(#[from] cmaf::CmafError),
    /// Media arrived for a track whose init segment was never received.
    #[error("no init segment received yet for track '{0}'")]
    NoInit(String),
    /// The init segment does not describe exactly one audio or video track.
    #[error("{0}")]
    Unsupported(String),
    /// The samples do not fit the track's timeline.
    #[error("{0}")]
    Timeline(#[from] timeline::TimelineError),
    /// A limit on channels or tracks would be exceeded.
    #[error("{0}")]
    Limit(String),
    /// Ingest needs a secret this request did not carry (401).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The upload body could not be read.
    #[error("upload body ended abnormally: {0}")]
    Body(String),
    /// Another upload is pushing the same track (409).
    #[error("{0}")]
    Busy(String),
}

/// Why a playback request could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServeError {
    /// Nothing is served at this path.
    #[error("not found: {0}")]
    NotFound(String),
    /// The object does not exist yet and did not appear within the hold time.
    #[error("{0} did not become available in time")]
    Timeout(String),
    /// A manifest (or timeline) request failed; its status is the shared response
    /// policy's, the one the edge component applies too.
    #[error("{0}")]
    Manifest(#[from] manifest::policy::Failure),
    /// Only GET, HEAD and OPTIONS are served.
    #[error("method {0} not allowed")]
    Method(String),
}

impl From<manifest::ManifestError> for ServeError {
    fn from(e: manifest::ManifestError) -> Self {
        ServeError::Manifest(e.into())
    }
}

impl From<manifest::hls::DirectiveError> for ServeError {
    fn from(e: manifest::hls::DirectiveError) -> Self {
        ServeError::Manifest(e.into())
    }
}
