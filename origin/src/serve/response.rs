//! Response construction for players: headers shared by every answer (CORS, caching),
//! error answers with their statuses, the CORS preflight and the time source.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, CACHE_CONTROL, CONTENT_TYPE,
};
use http::{HeaderValue, Response, StatusCode};

use crate::error::ServeError;
use crate::http::{Body, full};

/// A response builder with CORS headers. Players read `Age` (hls.js CDN tune-in) and
/// `Date` (dash.js clock) cross-origin; neither is CORS-safelisted, so both are exposed.
pub fn builder(status: StatusCode, content_type: &str, cache: &str) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, content_type)
        .header(CACHE_CONTROL, cache)
        .header(ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header(ACCESS_CONTROL_EXPOSE_HEADERS, "Age, Date")
}

/// A 200 response carrying `body`.
pub fn ok(content_type: &str, cache: &str, body: Body) -> Response<Body> {
    builder(StatusCode::OK, content_type, cache)
        .body(body)
        .expect("valid response")
}

/// An error response with a one-line reason.
pub fn error(e: &ServeError) -> Response<Body> {
    builder(
        e.status(),
        manifest::policy::FAILURE_CONTENT_TYPE,
        "no-store",
    )
    .body(full(format!("{e}\n")))
    .expect("valid response")
}

impl ServeError {
    /// HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::NotFound(_) => StatusCode::NOT_FOUND,
            // [HLS §6.2.5.2] a blocked request that cannot be satisfied in time gets 503.
            ServeError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::Manifest(f) => {
                StatusCode::from_u16(f.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ServeError::Method(_) => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

/// The CORS preflight answer.
pub fn preflight() -> Response<Body> {
    let mut r = builder(StatusCode::NO_CONTENT, "text/plain", "max-age=86400")
        .body(full(""))
        .expect("valid response");
    let h = r.headers_mut();
    h.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*"));
    r
}

/// The time source: ISO 8601 UTC with milliseconds
/// (`urn:mpeg:dash:utc:http-iso:2014`).
pub fn time(now_us: i64) -> Response<Body> {
    ok(
        manifest::headers::TIME,
        "no-store",
        full(timeline::time::format_iso8601_micros(now_us)),
    )
}
