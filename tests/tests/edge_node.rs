//! `weir edge` (the wasmtime host in `crates/edge-host`) running the real edge component
//! (`make edge` builds it; the repository's spin.toml names it), fed recorded timelines.
//!
//! The recorded timelines are the golden scenarios: a stand-in origin, answered
//! in-process through the node's local short-cut, serves their wire form exactly as the
//! origin's timeline API does (trimmed per rendition). Every manifest the component
//! renders must equal the native renderer's golden file byte for byte, with the native
//! header policy. Also: the outbound allow-list, and the instance limit.

use std::sync::Arc;

use bytes::Bytes;
use edge_host::{EdgeNode, EdgeOptions, LocalService, local_service};
use http_body_util::{BodyExt, Empty, Full};
use manifest::headers::{DASH_MPD, HLS_PLAYLIST};
use manifest::hls::Directives;
use manifest::policy::{cache_failure, cache_success};
use timeline::ChannelSnapshot;
use tokio::sync::Notify;
use weir_tests::Scenario;

/// The authority the component is pointed at; answered in-process.
const RECORDED: &str = "recorded.invalid:8082";

fn spin_toml() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml")
}

/// Loads the repository's spin.toml with the component pointed at `origin`.
fn node(origin: &str, local: Option<LocalService>, max_instances: u32) -> EdgeNode {
    node_with(origin, local, max_instances, true)
}

/// [`node`], choosing whether manifests go through the component's
/// `manifest-handler` export (`fast`) or through wasi:http.
fn node_with(
    origin: &str,
    local: Option<LocalService>,
    max_instances: u32,
    fast: bool,
) -> EdgeNode {
    let mut o = EdgeOptions::new(spin_toml());
    o.fast_manifests = fast;
    o.env = vec![("WEIR_ORIGIN".into(), format!("http://{origin}"))];
    o.allow = vec![format!("http://{RECORDED}")];
    o.local = local.map(|l| (RECORDED.to_string(), l));
    o.max_instances = max_instances;
    EdgeNode::load(o).expect("the edge component loads (run `make edge`)")
}

/// A stand-in origin serving `/{scenario}/timeline.json[?rendition=ID]` from recorded
/// snapshots, as the origin's timeline API does.
fn recorded_origin(scenarios: Vec<(String, ChannelSnapshot)>) -> LocalService {
    let scenarios = Arc::new(scenarios);
    local_service(move |req: http::Request<()>| {
        let scenarios = scenarios.clone();
        async move {
            let path = req.uri().path().to_string();
            let query = req.uri().query().unwrap_or("").to_string();
            let channel = path
                .strip_prefix('/')
                .and_then(|p| p.strip_suffix("/timeline.json"))
                .unwrap_or("");
            let Some((_, snap)) = scenarios.iter().find(|(n, _)| n == channel) else {
                let mut r =
                    http::Response::new(Full::new(Bytes::from_static(b"no such channel\n")));
                *r.status_mut() = http::StatusCode::NOT_FOUND;
                return r;
            };
            let rendition = query.split('&').find_map(|p| p.strip_prefix("rendition="));
            let snap = match rendition {
                Some(id) => snap.for_rendition(id),
                None => snap.clone(),
            };
            // As the origin: the encoding the component asks for.
            let accept = req
                .headers()
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let format = timeline::wire::Format::negotiate(accept);
            assert_eq!(
                format,
                timeline::wire::Format::Binary,
                "the component asks for binary"
            );
            http::Response::new(Full::new(Bytes::from(timeline::wire::encode_as(
                &snap, format,
            ))))
        }
    })
}

/// One answer of the component.
struct Got {
    status: u16,
    content_type: String,
    cache: String,
    render: String,
    body: String,
}

/// One request to the component (no collapsing).
async fn get(node: &EdgeNode, path_query: &str) -> Got {
    let path = path_query.split('?').next().unwrap_or("/");
    let hosted = node.route(path).expect("routed");
    got(hosted.handle(request(path_query)).await).await
}

/// One request through the node's front door (collapsing on).
async fn answer(node: &EdgeNode, path_query: &str) -> Got {
    got(node.answer(request(path_query)).await).await
}

fn request(path_query: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(path_query)
        .header("host", "127.0.0.1:8080")
        .body(Empty::<Bytes>::new())
        .expect("request")
}

async fn got(resp: http::Response<edge_host::HyperOutgoingBody>) -> Got {
    let (status, content_type, cache, render) = {
        let h = |n: &str| {
            resp.headers()
                .get(n)
                .map(|v| v.to_str().unwrap_or("").to_string())
                .unwrap_or_default()
        };
        (
            resp.status().as_u16(),
            h("content-type"),
            h("cache-control"),
            h("x-weir-render"),
        )
    };
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Got {
        status,
        content_type,
        cache,
        render,
        body: String::from_utf8(body.to_vec()).expect("utf-8 manifest"),
    }
}

fn golden(scenario: &str, file: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(scenario)
        .join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_timelines_render_through_weir_edge_as_the_native_renderer_does() {
    let scenarios: Vec<Scenario> = weir_tests::golden_scenarios().expect("scenarios");
    let mut recorded: Vec<(String, ChannelSnapshot)> = scenarios
        .iter()
        .map(|s| (s.name.to_string(), s.snapshot.clone()))
        .collect();
    recorded.push(("empty".into(), weir_tests::no_media().expect("no_media")));
    // Both ways the node can run the component: its manifest-handler export, and its
    // wasi:http entry point (the one Spin and `wasmtime serve` use).
    for fast in [true, false] {
        let node = node_with(RECORDED, Some(recorded_origin(recorded.clone())), 64, fast);
        check_recorded(&node, &scenarios).await;
    }
}

async fn check_recorded(node: &EdgeNode, scenarios: &[Scenario]) {
    let mut checked = 0;
    for s in scenarios {
        let td = s.snapshot.target_duration_secs();
        let plain = cache_success(td, false);
        let mut cases = vec![
            (
                format!("/{}/master.m3u8", s.name),
                "master.m3u8".to_string(),
                HLS_PLAYLIST,
                plain.clone(),
            ),
            (
                format!("/{}/manifest.mpd", s.name),
                "manifest.mpd".to_string(),
                DASH_MPD,
                plain.clone(),
            ),
        ];
        for t in &s.snapshot.tracks {
            let id = &t.meta.id;
            let last = t.last_complete_msn().expect("complete segments");
            cases.push((
                format!("/{}/{id}/index.m3u8", s.name),
                format!("{id}.m3u8"),
                HLS_PLAYLIST,
                plain.clone(),
            ));
            cases.push((
                format!("/{}/{id}/index.m3u8?_HLS_skip=YES", s.name),
                format!("{id}.delta.m3u8"),
                HLS_PLAYLIST,
                plain.clone(),
            ));
            // A blocking reload of what exists: the same playlist, the blocking lifetime.
            cases.push((
                format!("/{}/{id}/index.m3u8?_HLS_msn={last}", s.name),
                format!("{id}.m3u8"),
                HLS_PLAYLIST,
                cache_success(td, true),
            ));
        }
        for (url, file, ct, cache) in cases {
            let got = get(node, &url).await;
            assert_eq!(got.status, 200, "{url}: {}", got.body);
            assert_eq!(got.render, "wasm/0.1.0", "{url}: rendered by the component");
            assert_eq!(got.content_type, ct, "{url}");
            assert_eq!(got.cache, cache, "{url}");
            let want = golden(s.name, &file);
            if let Some(d) = weir_tests::first_difference(&want, &got.body) {
                panic!("{url} differs from golden {}/{file}: {d}", s.name);
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} manifests compared");

    // Failures: the native directive parser's reason, the native status and lifetimes.
    let td = scenarios[0].snapshot.target_duration_secs();
    for q in [
        "_HLS_part=1",
        "_HLS_msn=x",
        "_HLS_skip=maybe",
        "_HLS_msn=1&_HLS_part=-1",
    ] {
        let got = get(node, &format!("/steady/v360/index.m3u8?{q}")).await;
        let reason = Directives::parse(q)
            .expect_err("native parser refuses it")
            .to_string();
        assert_eq!(got.status, 400, "{q}");
        assert_eq!(got.body, format!("{reason}\n"), "{q}");
        assert_eq!(
            got.cache,
            cache_failure(td, manifest::policy::names_blocking_directive(q)),
            "{q}"
        );
    }
    let got = get(node, "/steady/nope/index.m3u8").await;
    assert_eq!(
        (got.status, got.cache.as_str()),
        (404, cache_failure(td, false).as_str())
    );
    let got = get(node, "/empty/master.m3u8").await;
    assert_eq!(got.status, 503, "no complete segment yet: {}", got.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_outside_allowed_hosts_are_refused() {
    // The component is pointed at a host spin.toml does not allow: the node refuses the
    // request before connecting and the component answers 502 naming the refusal.
    let node = node("127.0.0.1:9", None, 8);
    let got = get(&node, "/live/master.m3u8").await;
    assert_eq!(got.status, 502, "{}", got.body);
    assert!(got.body.contains("HttpRequestDenied"), "{}", got.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_instance_limit_get_503_and_the_held_one_completes() {
    let release = Arc::new(Notify::new());
    let entered = Arc::new(Notify::new());
    let (r, e) = (release.clone(), entered.clone());
    let snap = weir_tests::steady().expect("steady").snapshot;
    // A stand-in origin that holds every request until released (a blocking reload).
    let held = local_service(move |_req: http::Request<()>| {
        let (r, e, snap) = (r.clone(), e.clone(), snap.clone());
        async move {
            e.notify_one();
            r.notified().await;
            http::Response::new(Full::new(Bytes::from(timeline::wire::encode(&snap))))
        }
    });
    let node = Arc::new(node(RECORDED, Some(held), 1));
    let first = tokio::spawn({
        let node = node.clone();
        async move { get(&node, "/steady/master.m3u8").await }
    });
    entered.notified().await;
    let second = get(&node, "/steady/master.m3u8").await;
    assert_eq!(second.status, 503, "{}", second.body);
    assert!(second.body.contains("instance limit"), "{}", second.body);
    release.notify_one();
    let first = first.await.expect("first request");
    assert_eq!(first.status, 200);
    assert_eq!(first.body, golden("steady", "master.m3u8"));
    // The slot is free again once the first instance is gone (it may outlive its
    // response by a moment: the component finishes after its body is out).
    let hosted = node.route("/steady/master.m3u8").expect("routed");
    while hosted.free_instances() == 0 {
        tokio::task::yield_now().await;
    }
    let again = tokio::spawn({
        let node = node.clone();
        async move { get(&node, "/steady/master.m3u8").await }
    });
    entered.notified().await;
    release.notify_one();
    assert_eq!(again.await.expect("third request").status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_blocking_reloads_share_one_instance_and_one_origin_request() {
    let release = Arc::new(Notify::new());
    let origin_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (r, calls) = (release.clone(), origin_calls.clone());
    let snap = weir_tests::steady().expect("steady").snapshot;
    let last = snap.tracks[0].last_complete_msn().expect("segments");
    // The origin holds the blocking reload until released.
    let held = local_service(move |_req: http::Request<()>| {
        let (r, calls, snap) = (r.clone(), calls.clone(), snap.clone());
        async move {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            r.notified().await;
            http::Response::new(Full::new(Bytes::from(timeline::wire::encode(
                &snap.for_rendition("v360"),
            ))))
        }
    });
    // One instance only: without collapsing, all but one viewer would get 503.
    let node = Arc::new(node(RECORDED, Some(held), 1));
    let url = format!("/steady/v360/index.m3u8?_HLS_msn={last}");
    let viewers: Vec<_> = (0..50)
        .map(|_| {
            let (node, url) = (node.clone(), url.clone());
            tokio::spawn(async move { answer(&node, &url).await })
        })
        .collect();
    // Every viewer has joined once 49 count as collapsed.
    while node.stats.collapsed_requests() < 49 && !viewers.iter().all(|v| v.is_finished()) {
        tokio::task::yield_now().await;
    }
    release.notify_one();
    for v in viewers {
        let got = v.await.expect("viewer");
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.body, golden("steady", "v360.m3u8"));
    }
    assert_eq!(origin_calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(node.collapse.as_ref().map(|c| c.in_flight()), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_render_export_renders_recorded_timelines_as_the_native_renderer_does() {
    use edge_host::render::{Directives, RenderError, Resource, Skip};
    let node = node(RECORDED, None, 8);
    let r = node
        .route("/")
        .expect("routed")
        .renderer()
        .expect("the component exports weir:edge/render")
        .clone();
    let plain = Directives {
        msn: None,
        part: None,
        skip: Skip::No,
    };
    let mut warm = r.warm().await.expect("warm instance");
    let mut checked = 0;
    for s in weir_tests::golden_scenarios().expect("scenarios") {
        let snap = &s.snapshot;
        let wire = timeline::wire::encode_as(snap, timeline::wire::Format::Binary);
        let json = timeline::wire::encode(snap);
        let mut cases = vec![
            (Resource::Master, plain, "master.m3u8".to_string()),
            (
                Resource::Mpd(weir_tests::mpd_options().time_url),
                plain,
                "manifest.mpd".to_string(),
            ),
        ];
        for t in &snap.tracks {
            let id = t.meta.id.clone();
            cases.push((Resource::Media(id.clone()), plain, format!("{id}.m3u8")));
            let delta = Directives {
                skip: Skip::Yes,
                ..plain
            };
            cases.push((
                Resource::Media(id.clone()),
                delta,
                format!("{id}.delta.m3u8"),
            ));
        }
        for (what, d, file) in cases {
            let fresh = r.render_fresh(&wire, &what, d).await.expect("call");
            let rendered = fresh.unwrap_or_else(|e| panic!("{} {file}: {e:?}", s.name));
            assert_eq!(rendered.body, golden(s.name, &file), "{} {file}", s.name);
            assert_eq!(
                rendered.cache_control,
                cache_success(snap.target_duration_secs(), false)
            );
            // The same from JSON, on a warm instance reused across calls.
            let again = warm
                .render(&json, &what, d)
                .await
                .expect("call")
                .expect("renders");
            assert_eq!(again.body, rendered.body);
            checked += 1;
        }
    }
    assert!(checked >= 35, "{checked}");
    let snap = weir_tests::steady().expect("steady").snapshot;
    let wire = timeline::wire::encode_as(&snap, timeline::wire::Format::Binary);
    let media = Resource::Media("v360".into());
    let call = |what: Resource, d: Directives, bytes: Vec<u8>| {
        let r = r.clone();
        async move { r.render_fresh(&bytes, &what, d).await.expect("call") }
    };
    let part_only = Directives {
        part: Some(1),
        ..plain
    };
    assert!(
        matches!(call(media.clone(), part_only, wire.clone()).await, Err(RenderError::BadRequest(m)) if m.contains("_HLS_msn"))
    );
    assert!(matches!(
        call(Resource::Media("nope".into()), plain, wire.clone()).await,
        Err(RenderError::NotFound(_))
    ));
    let empty = timeline::wire::encode(&weir_tests::no_media().expect("no_media"));
    assert!(matches!(
        call(Resource::Master, plain, empty).await,
        Err(RenderError::NotReady(_))
    ));
    assert!(matches!(
        call(media.clone(), plain, b"<html>".to_vec()).await,
        Err(RenderError::BadSnapshot(_))
    ));
    let blocking = Directives {
        msn: Some(snap.tracks[0].last_complete_msn().unwrap()),
        ..plain
    };
    let r2 = call(media, blocking, wire).await.expect("renders");
    assert_eq!(
        r2.cache_control,
        cache_success(snap.target_duration_secs(), true)
    );
}
