//! For people and browsers: the player page and the player packages it loads, served
//! from the web directory (a plain channel list without one), and `/channels.json`.

use std::path::Path;

use http::Response;

use super::response::ok;
use crate::error::ServeError;
use crate::http::{Body, full};

/// `/`: the player page, or a plain list of channels when no web directory is set.
pub async fn index(web: Option<&Path>, channels: &[String]) -> Result<Response<Body>, ServeError> {
    match web {
        Some(dir) => file(&dir.join("index.html"), "no-cache").await,
        None => Ok(channel_list(channels)),
    }
}

/// `/` without a web directory: the live channels with their entry points.
fn channel_list(channels: &[String]) -> Response<Body> {
    let mut s = String::from("weir: live channels\n");
    for c in channels {
        s.push_str(&format!("/{c}/master.m3u8\n/{c}/manifest.mpd\n"));
    }
    ok("text/plain; charset=utf-8", "no-store", full(s))
}

/// `/channels.json`: every live channel and its entry points, under documented keys
/// (README, "Playback"): `{"channels":[{"name","hls","dash","lhls","hesp"}]}`.
pub fn channels(channels: &[String], dvr_window_s: impl Fn(&str) -> Option<u64>) -> Response<Body> {
    let list: Vec<serde_json::Value> = channels
        .iter()
        .map(|c| {
            let mut v = serde_json::json!({
                "name": c,
                "hls": format!("/{c}/master.m3u8"),
                "dash": format!("/{c}/manifest.mpd"),
                "lhls": format!("/{c}/lhls.m3u8"),
                "hesp": format!("/{c}/hesp.json"),
            });
            // The start-over entry points: `start=0` reaches back over the whole DVR
            // window; any Unix time or ISO 8601 instant starts there instead.
            if let Some(w) = dvr_window_s(c) {
                v["dvr"] = serde_json::json!({
                    "window_s": w,
                    "hls": format!("/{c}/master.m3u8?start=0"),
                    "dash": format!("/{c}/manifest.mpd?start=0"),
                    "lhls": format!("/{c}/lhls.m3u8?start=0"),
                    "hesp": format!("/{c}/hesp.json?start=0"),
                });
            }
            v
        })
        .collect();
    let body = serde_json::json!({ "channels": list }).to_string();
    ok("application/json", "no-store", full(body))
}

/// `/{name}`: a script of the player page (the HESP reference client).
pub async fn script(web: Option<&Path>, name: &str) -> Result<Response<Body>, ServeError> {
    let dir = web.ok_or_else(|| ServeError::NotFound("no web directory configured".into()))?;
    file(&dir.join(name), "no-cache").await
}

/// `/vendor/{package}/{path}` from `{web}/node_modules/{package}/{path}` (the route
/// has already refused `..` and hidden segments).
pub async fn vendor(
    web: Option<&Path>,
    package: &str,
    path: &str,
) -> Result<Response<Body>, ServeError> {
    let dir = web.ok_or_else(|| ServeError::NotFound("no web directory configured".into()))?;
    file(
        &dir.join("node_modules").join(package).join(path),
        "public, max-age=3600",
    )
    .await
}

async fn file(path: &Path, cache: &str) -> Result<Response<Body>, ServeError> {
    let data = tokio::fs::read(path)
        .await
        .map_err(|_| ServeError::NotFound(format!("{} (run scripts/setup.sh)", path.display())))?;
    let ct = match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("map") | Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    Ok(ok(ct, cache, full(data)))
}
