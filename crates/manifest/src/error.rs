//! Errors of the renderers.

/// Why a manifest could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The requested rendition does not exist in the channel.
    #[error("unknown rendition '{0}'")]
    UnknownTrack(String),
    /// The channel or rendition has no complete segment yet.
    #[error("no complete segment yet")]
    NotReady,
    /// The manifest could not be encoded (JSON).
    #[error("cannot encode the manifest: {0}")]
    Encode(String),
}
