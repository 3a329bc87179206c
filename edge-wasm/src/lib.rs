//! # edge-wasm
//!
//! weir's edge function as a WebAssembly component (wasm32-wasip2, WASI 0.2
//! `wasi:http/incoming-handler` via spin-sdk 5.2 `#[http_component]`).
//!
//! - Playlists and MPDs: fetch the channel's timeline snapshot from the origin
//!   (`GET {WEIR_ORIGIN}/{channel}/timeline.json`, carrying the client's delivery
//!   directives so the origin holds blocking reloads, or `hold=startup` for the master
//!   and the MPD so it applies the start-up hold), render it with the same pure
//!   `manifest` crate the origin uses, and answer by the same `manifest::policy`
//!   (statuses, cache lifetimes of the LL-HLS profile) with the same headers (content
//!   type, CORS, gzip) plus `x-weir-render: wasm/<version>`. Origin errors (400, 404,
//!   503) are passed on unchanged. No answer depends on the client's Host.
//! - Everything else (init segments, segments, parts, the time source, the player page)
//!   is passed through to the origin with a streaming body.
//!
//! Configuration: the environment variables `WEIR_ORIGIN` (default
//! `http://127.0.0.1:8082`), `WEIR_PUBLIC_URL` (the origin's `--public-url`, for the
//! MPD's UTCTiming; default the relative `../time`) and `WEIR_PLAYBACK_KEY` (signed
//! playback URLs, `manifest::signed`; unset: playback is open), portable across Spin,
//! `wasmtime serve --env` and `weir edge`.

mod flow;
mod headers;
mod render_export;
mod route;

use futures::{SinkExt, StreamExt};
use spin_sdk::http::{
    Fields, IncomingRequest, IncomingResponse, Method, OutgoingResponse, Request, ResponseOutparam,
};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let origin = flow::origin();
    let path_query = req.path_with_query().unwrap_or_else(|| "/".into());
    // Signed playback URLs, when a key is set: checked and stripped first, so nothing
    // below (routing, the origin's request) sees the token.
    let path_query = match flow::unsigned(&path_query) {
        Ok(p) => p,
        Err(refused) => return send(out, refused).await,
    };
    // Several fields of one name form one comma-separated list (RFC 9110 §5.3), as the
    // origin reads them.
    let header = |name: &str| {
        let values: Vec<String> = req
            .headers()
            .get(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    let method = match req.method() {
        Method::Get => "GET",
        Method::Head => "HEAD",
        _ => "",
    };
    let accept_encoding = header("accept-encoding").unwrap_or_default();
    match flow::Head::parse(method, &path_query, &accept_encoding) {
        Some(head) => manifest_response(&origin, &head, out).await,
        None => pass_through(&origin, &req, &path_query, out).await,
    }
}

/// Renders a manifest from the origin's timeline.
async fn manifest_response(origin: &str, head: &flow::Head, out: ResponseOutparam) {
    // The compact binary form: decoding it is most of the component's work otherwise.
    let req = Request::get(head.timeline_url(origin))
        .header("accept", timeline::wire::BINARY_CONTENT_TYPE)
        .build();
    let resp = match fetch(req).await {
        Ok(r) => r,
        Err(reason) => return send(out, flow::origin_failed(&reason)).await,
    };
    let status = resp.status();
    let origin_headers = resp.headers().entries();
    match resp.into_body().await {
        Ok(body) => send(out, head.answer(status, origin_headers, body)).await,
        Err(e) => send(out, flow::origin_failed(&format!("origin body: {e}"))).await,
    }
}

/// Sends `req` to the origin; why it failed otherwise.
async fn fetch(req: Request) -> Result<IncomingResponse, String> {
    spin_sdk::http::send(req)
        .await
        .map_err(|e: spin_sdk::http::SendError| format!("origin unreachable: {e}"))
}

/// Sends a finished answer.
async fn send(out: ResponseOutparam, (status, hs, body): (u16, headers::HeaderList, Vec<u8>)) {
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
        Err(reason) => return send(out, flow::origin_failed(&reason)).await,
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
