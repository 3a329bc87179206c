//! What the node itself reads of a player request (the component reads the rest).

/// True for the paths of playlists, MPDs and HESP manifests: the answers the node's
/// cache has the component render, and asks the component's `manifest-handler` for
/// (the component still decides).
pub fn is_manifest_path(path: &str) -> bool {
    path.ends_with(".m3u8") || path.ends_with(".mpd") || path.ends_with("/hesp.json")
}

/// The values of header `name` as text, joined with `, ` ("" when absent or not text).
pub fn header_text<B>(req: &http::Request<B>, name: http::header::HeaderName) -> String {
    // Several fields of one name are one comma-separated list (RFC 9110 §5.3), as the
    // origin reads them (e.g. two `Accept-Encoding` fields, one naming gzip).
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The request's path and query ("" when it has none).
pub fn path_and_query<B>(req: &http::Request<B>) -> String {
    req.uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}
