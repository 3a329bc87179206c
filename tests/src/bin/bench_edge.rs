//! Per-request cost of a playlist render through the edge component hosted by
//! `weir edge` (crates/edge-host), against the native renderer, in one process and one
//! run (a benchmark, not a test):
//!
//! `cargo run --release -p weir-tests --bin bench-edge`
//!
//! The channel is the golden `steady` scenario (3 renditions, 10-segment window with
//! LL-HLS parts); the request is the v360 media playlist. Paths, each timed per request
//! (sequentially, after a warm-up):
//! - `native render`: `manifest::hls::media_playlist` on the in-memory snapshot (what the
//!   origin does before its render cache);
//! - `native decode+render`: the same work the component does, natively: decode the
//!   binary timeline wire form of the rendition, then render (and the same from JSON);
//! - `render export`: the component's `weir:edge/render` called directly with the same
//!   binary timeline, on a fresh pooled instance per call, and on one warm instance;
//! - `instantiate only`: a fresh store and instance of the component, dropped unused
//!   (what a fresh instance costs before any work);
//! - `manifest-handler, fresh`: the whole request as `weir edge` serves it by default:
//!   a fresh instance, the component's `plan`, the node's in-process fetch, `respond`;
//! - `wasi:http, fresh instance`: a wasi:http request through the hosted component: a fresh
//!   instance from the pooling allocator, the component's outbound timeline fetch
//!   answered in-process from pre-encoded bytes, decode + render inside Wasm, the
//!   response body collected.
//!
//! Needs: `make edge` (the component).

use std::time::{Duration, Instant};

use bytes::Bytes;
use edge_host::{EdgeNode, EdgeOptions, local_service};
use http_body_util::{BodyExt, Empty, Full};
use manifest::hls::Skip;

const WARMUP: usize = 1_000;
const ITERATIONS: usize = 20_000;
const ORIGIN: &str = "bench.invalid:8082";

fn percentiles(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort();
    let us = |x: Duration| x.as_secs_f64() * 1e6;
    let mean = d.iter().map(|x| us(*x)).sum::<f64>() / d.len() as f64;
    (us(d[d.len() / 2]), us(d[d.len() * 99 / 100]), mean)
}

/// Runs `$body` WARMUP times, then times ITERATIONS runs of it one by one; its value is
/// kept from the optimiser. A macro so the body may `.await` (and borrow mutably).
macro_rules! measure {
    ($body:expr) => {{
        for _ in 0..WARMUP {
            std::hint::black_box($body);
        }
        let mut d = Vec::with_capacity(ITERATIONS);
        for _ in 0..ITERATIONS {
            let t = Instant::now();
            std::hint::black_box($body);
            d.push(t.elapsed());
        }
        percentiles(d)
    }};
}

/// Times whole requests for the v360 playlist through `node` (no collapsing: one at a
/// time), checking the first answer.
async fn per_request(node: &EdgeNode, expected: &str) -> (f64, f64, f64) {
    let hosted = node.route("/steady/v360/index.m3u8").expect("routed");
    let one = || async {
        let req = http::Request::get("/steady/v360/index.m3u8")
            .header("host", "127.0.0.1:8080")
            .body(Empty::<Bytes>::new())
            .expect("request");
        let resp = hosted.handle(req).await;
        resp.into_body().collect().await.expect("body").to_bytes()
    };
    assert_eq!(
        one().await,
        expected.as_bytes(),
        "the component renders what native does"
    );
    measure!(one().await)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let snap = weir_tests::steady().expect("steady scenario").snapshot;
    let trimmed = snap.for_rendition("v360");
    let json = Bytes::from(timeline::wire::encode(&trimmed));
    let wire = Bytes::from(timeline::wire::encode_as(
        &trimmed,
        timeline::wire::Format::Binary,
    ));
    let expected = manifest::hls::media_playlist(&snap, "v360", Skip::No).expect("renders");

    let render = |s: &timeline::ChannelSnapshot| {
        manifest::hls::media_playlist(s, "v360", Skip::No).expect("renders")
    };
    let read = |bytes: &[u8]| timeline::wire::decode(bytes).expect("decodes");
    let native = measure!(render(&snap));
    let decode_json = measure!(render(&read(&json)));
    let decode = measure!(render(&read(&wire)));

    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf();
    let options = |fast: bool| {
        let mut o = EdgeOptions::new(repo.join("spin.toml"));
        o.env = vec![("WEIR_ORIGIN".into(), format!("http://{ORIGIN}"))];
        o.allow = vec![format!("http://{ORIGIN}")];
        o.fast_manifests = fast;
        let body = wire.clone();
        o.local = Some((
            ORIGIN.to_string(),
            local_service(move |_req: http::Request<()>| {
                let body = body.clone();
                async move { http::Response::new(Full::new(body)) }
            }),
        ));
        o
    };
    let started = Instant::now();
    let node = EdgeNode::load(options(false)).expect("component (run `make edge`)");
    let load = started.elapsed();
    let wasm = per_request(&node, &expected).await;
    let fast_node = EdgeNode::load(options(true)).expect("component");
    let handler = per_request(&fast_node, &expected).await;
    let hosted = node.route("/steady/v360/index.m3u8").expect("routed");

    // The render export: the host holds the timeline bytes and calls the component.
    let r = hosted.renderer().expect("weir:edge/render export").clone();
    let what = edge_host::render::Resource::Media("v360".into());
    let plain = edge_host::render::Directives {
        msn: None,
        part: None,
        skip: edge_host::render::Skip::No,
    };
    let first = r
        .render_fresh(&wire, &what, plain)
        .await
        .expect("call")
        .expect("renders");
    assert_eq!(
        first.body, expected,
        "the render export renders what native does"
    );
    let export_fresh = measure!(
        r.render_fresh(&wire, &what, plain)
            .await
            .expect("call")
            .expect("renders")
    );
    let instantiate = measure!(r.warm().await.expect("instance"));
    let mut warm = r.warm().await.expect("warm instance");
    let export_warm = measure!(
        warm.render(&wire, &what, plain)
            .await
            .expect("call")
            .expect("renders")
    );

    let size = std::fs::metadata(repo.join("target/wasm32-wasip2/edge/edge_wasm.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "playlist render per request ({} B v360 playlist, timeline {} B binary / {} B JSON; {ITERATIONS} sequential requests):",
        expected.len(),
        wire.len(),
        json.len()
    );
    println!("  path                         p50 µs    p99 µs   mean µs");
    for (name, (p50, p99, mean)) in [
        ("native render", native),
        ("native decode JSON+render", decode_json),
        ("native decode+render", decode),
        ("wasi:http, fresh instance", wasm),
        ("manifest-handler, fresh", handler),
        ("render export, fresh inst.", export_fresh),
        ("render export, warm inst.", export_warm),
        ("instantiate only (no call)", instantiate),
    ] {
        println!("  {name:<28} {p50:>7.1}   {p99:>7.1}   {mean:>7.1}");
    }
    for (name, w) in [
        ("wasi:http, fresh instance", wasm),
        ("manifest-handler, fresh", handler),
        ("render export, fresh inst.", export_fresh),
        ("render export, warm inst.", export_warm),
    ] {
        println!(
            "  {name}: +{:.1} µs at p50 over native decode+render ({:.2}x), +{:.1} µs over native render alone ({:.1}x)",
            w.0 - decode.0,
            w.0 / decode.0,
            w.0 - native.0,
            w.0 / native.0
        );
    }
    println!(
        "  component: {size} B; compile + link at start-up {:.0} ms",
        load.as_secs_f64() * 1e3
    );
}
