//! The `weir:edge/render` and `weir:edge/manifest-handler` exports (wit/weir.wit):
//! rendering without wasi:http, for hosts that fetch the timeline themselves and call
//! the component directly (cheaper than a wasi:http round trip per request; see
//! BENCHMARKS.md). They answer exactly as the HTTP entry point does: the same flow,
//! directive rules, renderers and header policy.

#![allow(missing_docs, unsafe_code)]

spin_sdk::wit_bindgen::generate!({
    world: "renderer",
    path: "../wit",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

use exports::weir::edge::manifest_handler::{self, Answer, OriginRequest, RequestHead};
use exports::weir::edge::render::{Directives, Guest, RenderError, Rendered, Resource, Skip};

use crate::flow;
use crate::headers;
use crate::route;

struct RenderExport;

impl Guest for RenderExport {
    fn render(
        snapshot: Vec<u8>,
        what: Resource,
        directives: Directives,
    ) -> Result<Rendered, RenderError> {
        let snap = timeline::wire::decode(&snapshot)
            .map_err(|e| RenderError::BadSnapshot(e.to_string()))?;
        let (resource, time_url) = match what {
            Resource::Master => (route::Resource::Master, String::new()),
            Resource::Media(id) => (route::Resource::Media(id), String::new()),
            // An empty URL: the component's own (`WEIR_PUBLIC_URL` or relative), the
            // one its HTTP entry point and the origin render.
            Resource::Mpd(url) if url.is_empty() => (route::Resource::Mpd, flow::time_url()),
            Resource::Mpd(url) => (route::Resource::Mpd, url),
            Resource::LhlsMaster => (route::Resource::LhlsMaster, String::new()),
            Resource::LhlsMedia(id) => (route::Resource::LhlsMedia(id), String::new()),
            Resource::Hesp(url) if url.is_empty() => (route::Resource::Hesp, flow::time_url()),
            Resource::Hesp(url) => (route::Resource::Hesp, url),
        };
        let answer = headers::render(&snap, &resource, &query(&directives), &time_url);
        let reason = || answer.text().trim_end().to_string();
        match answer.status() {
            200 => Ok(Rendered {
                content_type: answer.header("content-type"),
                cache_control: answer.header("cache-control"),
                body: answer.text(),
            }),
            400 => Err(RenderError::BadRequest(reason())),
            404 => Err(RenderError::NotFound(reason())),
            503 => Err(RenderError::NotReady(reason())),
            _ => Err(RenderError::BadSnapshot(reason())),
        }
    }
}

/// The query string the directives stand for, parsed again by the one directive
/// parser, so both entry points apply the same rules.
fn query(d: &Directives) -> String {
    let mut q = Vec::new();
    if let Some(m) = d.msn {
        q.push(format!("_HLS_msn={m}"));
    }
    if let Some(p) = d.part {
        q.push(format!("_HLS_part={p}"));
    }
    match d.skip {
        Skip::No => {}
        Skip::Yes => q.push("_HLS_skip=YES".into()),
        Skip::V2 => q.push("_HLS_skip=v2".into()),
    }
    q.join("&")
}

impl manifest_handler::Guest for RenderExport {
    fn plan(head: RequestHead) -> Option<OriginRequest> {
        let h = flow::Head::parse(&head.method, &head.path_with_query, &head.accept_encoding)?;
        Some(OriginRequest {
            url: h.timeline_url(&flow::origin()),
            accept: timeline::wire::BINARY_CONTENT_TYPE.to_string(),
        })
    }

    fn respond(head: RequestHead, origin: Result<Answer, String>) -> Answer {
        let (status, headers, body) =
            match flow::Head::parse(&head.method, &head.path_with_query, &head.accept_encoding) {
                None => flow::origin_failed("not a manifest request"),
                Some(h) => match origin {
                    Ok(a) => h.answer(a.status, a.headers, a.body),
                    Err(reason) => flow::origin_failed(&reason),
                },
            };
        Answer {
            status,
            headers,
            body,
        }
    }
}

export!(RenderExport);
