//! The HTTP status of each refused upload.

use http::StatusCode;

use crate::error::IngestError;

impl IngestError {
    /// HTTP status for this error (DASH-IF ingest §6: 415 unsupported media, 412
    /// missing init, 400 otherwise).
    pub fn status(&self) -> StatusCode {
        use cmaf::CmafError as C;
        match self {
            IngestError::UnknownPath(_) => StatusCode::NOT_FOUND,
            IngestError::Method(_) => StatusCode::METHOD_NOT_ALLOWED,
            IngestError::NoInit(_) | IngestError::Media(C::MissingInit) => {
                StatusCode::PRECONDITION_FAILED
            }
            IngestError::Media(C::NotMp4 { .. }) | IngestError::Unsupported(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            IngestError::Media(C::BoxTooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::Limit(_) => StatusCode::TOO_MANY_REQUESTS,
            IngestError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            IngestError::Busy(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}
