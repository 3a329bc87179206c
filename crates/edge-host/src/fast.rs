//! Manifests through the component's `weir:edge/manifest-handler` export: one fresh
//! instance asks which timeline it needs (`plan`), the node fetches it under the same
//! outbound rules (allow-list, in-process origin), and the instance answers from it
//! (`respond`). Same component code and bytes as the wasi:http path, without its
//! per-request resources and streams (see BENCHMARKS.md).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::outbound::Outbound;
use crate::render::{Answer, RenderHost, RequestHead};
use crate::request::{header_text, is_manifest_path, path_and_query};

/// What the component sees of `req`; `None` for requests that are not manifests (by
/// method, and by the playlist/MPD file extensions, so media requests do not pay for an
/// instance that would only say "not mine"; the component's `plan` still decides).
pub fn head_of<B>(req: &http::Request<B>) -> Option<RequestHead> {
    if !matches!(*req.method(), http::Method::GET | http::Method::HEAD)
        || !is_manifest_path(req.uri().path())
    {
        return None;
    }
    // As wasi:http does: the authority of the request, else its Host header.
    let host = req
        .uri()
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_else(|| header_text(req, http::header::HOST));
    Some(RequestHead {
        method: req.method().as_str().to_string(),
        path_with_query: path_and_query(req),
        host,
        accept_encoding: header_text(req, http::header::ACCEPT_ENCODING),
    })
}

/// The answer to `head` if it is a manifest request; `None` hands it to wasi:http.
pub async fn manifest(
    r: &RenderHost,
    outbound: &Outbound,
    head: RequestHead,
) -> wasmtime::Result<Option<http::Response<HyperOutgoingBody>>> {
    let mut store = r.store();
    let inst = r.pre.instantiate_async(&mut store).await?;
    let handler = inst.weir_edge_manifest_handler();
    let Some(plan) = handler.call_plan(&mut store, &head).await? else {
        return Ok(None);
    };
    let origin = outbound
        .get(&plan.url, &plan.accept)
        .await
        .map(|(status, headers, body)| Answer {
            status,
            headers,
            body: body.to_vec(),
        });
    let origin = origin.as_ref().map_err(String::as_str);
    let answer = handler.call_respond(&mut store, &head, origin).await?;
    Ok(Some(response(answer)))
}

fn response(a: Answer) -> http::Response<HyperOutgoingBody> {
    let mut r = http::Response::new(
        Full::new(Bytes::from(a.body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = http::StatusCode::from_u16(a.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (k, v) in a.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_bytes(&v),
        ) {
            r.headers_mut().append(k, v);
        }
    }
    r
}
