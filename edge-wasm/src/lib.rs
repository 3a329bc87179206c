//! # edge-wasm
//!
//! weir's edge function as a WebAssembly component (wasm32-wasip2, WASI 0.2
//! `wasi:http/incoming-handler` via spin-sdk 5.2 `#[http_component]`).
//!
//! - Playlists and MPDs: fetch the channel's timeline snapshot from the origin
//!   (`GET {WEIR_ORIGIN}/{channel}/timeline.json`, carrying the client's delivery
//!   directives so the origin holds blocking reloads), render it with the same pure
//!   `manifest` crate the origin uses, and answer with the same headers (content type,
//!   cache lifetimes of the LL-HLS profile, CORS, gzip) plus `x-weir-render:
//!   wasm/<version>`. Origin errors (400, 404, 503) are passed on unchanged.
//! - Everything else (init segments, segments, parts, the time source, the player page)
//!   is passed through to the origin with a streaming body.
//!
//! Configuration: the environment variable `WEIR_ORIGIN` (default
//! `http://127.0.0.1:8082`), portable across Spin, `wasmtime serve --env` and `weir edge`.

mod headers;
mod render_export;
mod route;

use futures::{SinkExt, StreamExt};
use spin_sdk::http::{
    Fields, IncomingRequest, IncomingResponse, Method, OutgoingResponse, Request, ResponseOutparam,
};
use spin_sdk::http_component;

use route::Resource;

/// Default origin when `WEIR_ORIGIN` is not set.
const DEFAULT_ORIGIN: &str = "http://127.0.0.1:8082";

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let origin = std::env::var("WEIR_ORIGIN").unwrap_or_else(|_| DEFAULT_ORIGIN.to_string());
    let origin = origin.trim_end_matches('/').to_string();
    let path_query = req.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = path_query.split_once('?').unwrap_or((&path_query, ""));
    let header = |name: &str| {
        req.headers()
            .get(name)
            .first()
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let gzip = header("accept-encoding").is_some_and(|v| manifest::headers::accepts_gzip(&v));
    match route::parse(path) {
        Some((channel, resource))
            if req.method() == Method::Get || req.method() == Method::Head =>
        {
            // wasi:http carries the client's Host as the request authority.
            let host = req
                .authority()
                .or_else(|| header("host"))
                .unwrap_or_else(|| "127.0.0.1".into());
            manifest_response(&origin, &channel, resource, query, &host, gzip, out).await
        }
        _ => pass_through(&origin, &req, &path_query, out).await,
    }
}

/// Renders a manifest from the origin's timeline.
async fn manifest_response(
    origin: &str,
    channel: &str,
    resource: Resource,
    query: &str,
    host: &str,
    gzip: bool,
    out: ResponseOutparam,
) {
    let url = match &resource {
        Resource::Media(id) if query.is_empty() => {
            format!("{origin}/{channel}/timeline.json?rendition={id}")
        }
        Resource::Media(id) => format!("{origin}/{channel}/timeline.json?rendition={id}&{query}"),
        _ => format!("{origin}/{channel}/timeline.json"),
    };
    // The compact binary form: decoding it is most of the component's work otherwise.
    let req = Request::get(url)
        .header("accept", timeline::wire::BINARY_CONTENT_TYPE)
        .build();
    let resp = match fetch(req).await {
        Ok(r) => r,
        Err(a) => return respond(out, a, None).await,
    };
    let status = resp.status();
    let origin_headers = resp.headers().entries();
    let body = match resp.into_body().await {
        Ok(b) => b,
        Err(e) => {
            return respond(out, headers::error(502, &format!("origin body: {e}")), None).await;
        }
    };
    if status != 200 {
        // The origin's answer (400 bad directive, 404 unknown, 503 timeout) stands,
        // with its reason and cache lifetime.
        let keep = ["content-type", "cache-control"];
        let hs = origin_headers
            .into_iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .collect();
        return respond(out, headers::Answer::raw(status, hs, body), None).await;
    }
    let answer = match timeline::wire::decode(&body) {
        Ok(snap) => headers::render(&snap, &resource, query, &format!("http://{host}/time")),
        Err(e) => headers::error(502, &e.to_string()),
    };
    respond(out, answer, Some(gzip)).await
}

/// Sends `req` to the origin; an unreachable origin becomes a 502 answer.
async fn fetch(req: Request) -> Result<IncomingResponse, headers::Answer> {
    spin_sdk::http::send(req)
        .await
        .map_err(|e: spin_sdk::http::SendError| {
            headers::error(502, &format!("origin unreachable: {e}"))
        })
}

/// Sends `answer`; `gzip` Some(accepted) marks a rendered manifest (Vary, gzip).
async fn respond(out: ResponseOutparam, answer: headers::Answer, gzip: Option<bool>) {
    let (status, hs, body) = answer.finish(gzip);
    let fields = Fields::from_list(&hs).unwrap_or_else(|_| Fields::new());
    let resp = OutgoingResponse::new(fields);
    let _ = resp.set_status_code(status);
    let mut sink = resp.take_body();
    out.set(resp);
    let _ = sink.send(body).await;
}

/// Streams any other request to the origin and its response back.
async fn pass_through(
    origin: &str,
    req: &IncomingRequest,
    path_query: &str,
    out: ResponseOutparam,
) {
    let mut hs: Vec<(String, Vec<u8>)> = req.headers().entries();
    hs.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "host" | "connection" | "transfer-encoding" | "content-length"
        )
    });
    let fwd = Request::builder()
        .method(req.method())
        .uri(format!("{origin}{path_query}"))
        .headers(
            hs.iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect::<std::collections::HashMap<String, String>>(),
        )
        .build();
    let resp = match fetch(fwd).await {
        Ok(r) => r,
        Err(a) => return respond(out, a, None).await,
    };
    let mut hs = resp.headers().entries();
    hs.retain(|(k, _)| !matches!(k.as_str(), "connection" | "transfer-encoding"));
    let fields = Fields::from_list(&hs).unwrap_or_else(|_| Fields::new());
    let o = OutgoingResponse::new(fields);
    let _ = o.set_status_code(resp.status());
    let mut sink = o.take_body();
    out.set(o);
    let mut stream = resp.take_body_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => {
                if sink.send(c).await.is_err() {
                    return;
                }
            }
            // A broken origin body must not look like a complete one: drop the sink
            // without finishing (the host then aborts the response).
            Err(_) => return,
        }
    }
}
