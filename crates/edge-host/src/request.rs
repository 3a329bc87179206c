//! What the node itself reads of a player request (the component reads the rest).

/// True for the paths of playlists and MPDs, the only answers the node collapses and
/// asks the component's `manifest-handler` for (the component still decides).
pub fn is_manifest_path(path: &str) -> bool {
    path.ends_with(".m3u8") || path.ends_with(".mpd")
}

/// The value of header `name` as text ("" when absent or not text).
pub fn header_text<B>(req: &http::Request<B>, name: http::header::HeaderName) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The request's path and query ("" when it has none).
pub fn path_and_query<B>(req: &http::Request<B>) -> String {
    req.uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}
