//! `weir edge` (the wasmtime host in `crates/edge-host`) running the real edge component
//! (`make edge` builds it; the repository's spin.toml names it).
//!
//! Rendering: fed recorded timelines (the golden scenarios) by a stand-in origin,
//! answered in-process through the node's local short-cut, that serves their wire form
//! as the origin's timeline API does (trimmed per rendition). Every manifest the
//! component renders must equal the native renderer's golden file byte for byte.
//!
//! Response policy (statuses, cache lifetimes, start-up hold, headers): in front of the
//! real in-process origin fed by ffmpeg, every answer of the component equals the
//! origin's own answer to the same request. No stand-in decides these.
//!
//! Also: the outbound allow-list, the instance limit and request collapsing.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use edge_host::{EdgeNode, EdgeOptions, LocalService, local_service};
use http_body_util::{BodyExt, Empty, Full};
use manifest::headers::{DASH_MPD, HLS_PLAYLIST};
use manifest::policy::{cache_failure, cache_success};
use support::http::{Resp, get_with};
use support::tools;
use support::{TestEdge, TestOrigin};
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

/// One request to the component (no cache).
async fn get(node: &EdgeNode, path_query: &str) -> Got {
    let path = path_query.split('?').next().unwrap_or("/");
    let hosted = node.route(path).expect("routed");
    got(hosted.handle(request(path_query)).await).await
}

/// One request through the node's front door (through its cache).
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
    // The pool's use, as /metrics reports it.
    assert_eq!(node.instances(), (1, 1));
    let m = edge_host::metrics::text(&node);
    assert!(m.contains("weir_edge_instances_busy 1"), "{m}");
    assert!(m.contains("weir_edge_instances_limit 1"), "{m}");
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
    let cache = node.cache().expect("the node caches").clone();
    // Every viewer has joined once 49 count as collapsed onto the first one's fill.
    while cache.counts().collapsed < 49 && !viewers.iter().all(|v| v.is_finished()) {
        tokio::task::yield_now().await;
    }
    release.notify_one();
    for v in viewers {
        let got = v.await.expect("viewer");
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.body, golden("steady", "v360.m3u8"));
    }
    assert_eq!(origin_calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let c = cache.counts();
    assert_eq!((c.misses, c.fetches, c.collapsed), (1, 1, 49));
    // [HLS B.1] kept for 6 target durations: a later viewer with the same directives
    // (in another order, with a token of its own) is a hit, not an origin request.
    let url = format!("/steady/v360/index.m3u8?token=x&_HLS_msn={last}");
    let late = answer(&node, &url).await;
    assert_eq!(late.body, golden("steady", "v360.m3u8"));
    assert_eq!(origin_calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(cache.counts().hits, 50);
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
            (
                Resource::Hesp(weir_tests::mpd_options().time_url),
                plain,
                "hesp.json".to_string(),
            ),
            (Resource::LhlsMaster, plain, "lhls-master.m3u8".to_string()),
        ];
        for t in &snap.tracks {
            let id = t.meta.id.clone();
            cases.push((Resource::Media(id.clone()), plain, format!("{id}.m3u8")));
            cases.push((
                Resource::LhlsMedia(id.clone()),
                plain,
                format!("{id}.lhls.m3u8"),
            ));
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
    assert!(checked >= 60, "{checked}");
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
    let r2 = call(media, blocking, wire.clone()).await.expect("renders");
    assert_eq!(
        r2.cache_control,
        cache_success(snap.target_duration_secs(), true)
    );
    // An empty time URL is the component's own, the one the origin renders.
    let own = call(Resource::Mpd(String::new()), plain, wire.clone())
        .await
        .expect("renders");
    assert_eq!(own.body, golden("steady", "manifest.mpd"));
    let own = call(Resource::Hesp(String::new()), plain, wire.clone())
        .await
        .expect("renders");
    assert_eq!(own.body, golden("steady", "hesp.json"));
    // L-HLS playlists take no directives and never block (the origin's policy): a
    // directive is ignored, and the answer keeps the non-blocking lifetime.
    let lhls = call(Resource::LhlsMedia("v360".into()), blocking, wire.clone())
        .await
        .expect("renders");
    assert_eq!(lhls.body, golden("steady", "v360.lhls.m3u8"));
    assert_eq!(
        lhls.cache_control,
        cache_success(snap.target_duration_secs(), false)
    );
}

/// The body as text, gunzipped when it is gzip-encoded.
fn body_text(r: &Resp) -> String {
    if r.header("content-encoding") == Some("gzip") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut s)
            .expect("gzip body");
        s
    } else {
        r.text()
    }
}

/// Asserts that the component's answer (`edge`) equals the origin's own (`native`):
/// status, every header the response policy decides, and the body.
fn assert_same_answer(what: &str, native: &Resp, edge: &Resp) {
    assert_eq!(
        native.status,
        edge.status,
        "{what}: status ({})",
        edge.text()
    );
    for h in [
        "content-type",
        "cache-control",
        "content-encoding",
        "vary",
        "access-control-allow-origin",
        "access-control-expose-headers",
    ] {
        assert_eq!(native.header(h), edge.header(h), "{what}: {h}");
    }
    assert_eq!(body_text(native), body_text(edge), "{what}: body");
    assert!(
        edge.header("x-weir-render")
            .is_some_and(|v| v.starts_with("wasm/")),
        "{what}: rendered by the component"
    );
}

/// The URIs a playlist lists (its non-tag lines and `URI="..."` attributes), sorted.
fn listed_uris(playlist: &str) -> Vec<String> {
    let mut uris: Vec<String> = playlist
        .lines()
        .filter_map(|l| {
            if l.starts_with('#') {
                l.split("URI=\"")
                    .nth(1)?
                    .split('"')
                    .next()
                    .map(String::from)
            } else {
                (!l.is_empty()).then(|| l.to_string())
            }
        })
        .collect();
    uris.sort();
    uris
}

/// Every manifest answer the shared response policy decides, asked of the real origin
/// and of the component in front of it (through both of the node's ways of running it):
/// the same status, Cache-Control, headers and body. Covers the start-up hold of the
/// master and the MPD (a rendition without a segment yet), malformed and too-far
/// directives, unknown renditions and channels, stray directives on the master, the
/// Host header (never in the MPD), several Accept-Encoding fields and the 503 of a
/// blocking request that cannot be satisfied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_component_answers_exactly_as_the_origin_by_one_policy() {
    let o = TestOrigin::start().await;
    let ingest = |ch: &str| format!("http://{}/ingest/{ch}", o.ingest);
    // `eq`: every rendition at once, then stopped (a fixed state). `startup`: video
    // first, audio later.
    let eq = tools::spawn_encoder(tools::ffmpeg_long_post(&ingest("eq"), 60));
    let startup_video =
        tools::spawn_encoder(tools::ffmpeg_long_post_one(&ingest("startup"), 60, "v180"));
    let edges = [
        TestEdge::start_with(o.playback, true).await,
        TestEdge::start_with(o.playback, false).await,
    ];
    let limit = Duration::from_secs(60);

    // --- The start-up hold: the audio rendition exists (its init arrived) but has no
    // complete segment yet. The origin holds its master and MPD until it has one; the
    // component must not render a master without the audio group meanwhile.
    o.wait_segments("startup", &["v180"], 1, limit).await;
    let startup_audio =
        tools::spawn_encoder(tools::ffmpeg_long_post_one(&ingest("startup"), 60, "audio"));
    let ch = o.origin.channel("startup").expect("channel");
    let mut rx = ch.subscribe();
    let snap = tokio::time::timeout(limit, rx.wait_for(|s| s.track("audio").is_some()))
        .await
        .expect("audio init within the limit")
        .expect("channel alive")
        .clone();
    assert!(
        snap.track("audio")
            .is_some_and(|t| t.last_complete_msn().is_none()),
        "asked while the audio rendition has no segment"
    );
    let ask = |addr, path: &'static str| async move { get_with(addr, path, &[]).await };
    for path in ["/startup/master.m3u8", "/startup/manifest.mpd"] {
        let (native, fast, wasi) = tokio::join!(
            ask(o.playback, path),
            ask(edges[0].addr, path),
            ask(edges[1].addr, path)
        );
        for (mode, edge) in [("manifest-handler", &fast), ("wasi:http", &wasi)] {
            let what = format!("{path} via {mode}");
            for r in [&native, edge] {
                assert_eq!(r.status, 200, "{what}: {}", r.text());
                let text = r.text();
                if path.ends_with(".m3u8") {
                    assert!(
                        text.contains("TYPE=AUDIO") && text.contains("AUDIO=\"audio\""),
                        "{what}: held until the audio rendition has a segment:\n{text}"
                    );
                } else {
                    assert!(
                        text.contains("contentType=\"audio\""),
                        "{what}: held until the audio rendition has a segment:\n{text}"
                    );
                }
            }
            assert_eq!(native.header("cache-control"), edge.header("cache-control"));
            if path.ends_with(".m3u8") {
                // The same renditions (bandwidths may be measured a segment apart).
                assert_eq!(
                    listed_uris(&native.text()),
                    listed_uris(&edge.text()),
                    "{what}"
                );
            }
        }
    }
    tokio::task::spawn_blocking(move || drop((startup_video, startup_audio)))
        .await
        .expect("encoders stopped");

    // --- Everything else on a fixed state.
    o.wait_segments("eq", &["v360", "v180", "audio"], 3, limit)
        .await;
    tokio::task::spawn_blocking(move || drop(eq))
        .await
        .expect("encoder stopped");
    // The killed encoder's uploads break: each rendition's segment in progress ends
    // where it is (weir truncates it). From then on the state is fixed.
    let mut rx = o.origin.channel("eq").expect("eq").subscribe();
    let snap = tokio::time::timeout(
        limit,
        rx.wait_for(|s| {
            s.tracks
                .iter()
                .all(|t| t.segments.back().is_some_and(|seg| seg.complete))
        }),
    )
    .await
    .expect("the broken uploads end their segments")
    .expect("channel alive")
    .clone();
    let td = snap.target_duration_secs();
    let unknown_td = o.origin.config().timing.target_duration_secs();
    let v360 = snap.track("v360").expect("v360");
    let newest = v360.segments.back().expect("segments").msn;
    let (msn, part) = manifest::hls::last_part(v360).expect("parts");
    let complete = v360.last_complete_msn().expect("a complete segment");
    let gzip: &[(&str, &str)] = &[("Accept-Encoding", "gzip")];
    let split: &[(&str, &str)] = &[("Accept-Encoding", "br"), ("Accept-Encoding", "gzip")];
    let evil: &[(&str, &str)] = &[("Host", "evil.example")];
    let ok = |blocking| (200, cache_success(td, blocking));
    let failed = |status, blocking| (status, cache_failure(td, blocking));
    // (path and query, request headers, expected (status, Cache-Control)).
    type Case<'a> = (String, &'a [(&'a str, &'a str)], (u16, String));
    let cases: Vec<Case> = vec![
        // [HLS §6.2.5.2] malformed directives: 400, blocking when they name a blocking one.
        (
            "/eq/v360/index.m3u8?_HLS_skip=maybe".into(),
            &[],
            failed(400, false),
        ),
        (
            "/eq/v360/index.m3u8?_HLS_msn=x".into(),
            &[],
            failed(400, true),
        ),
        (
            "/eq/v360/index.m3u8?_HLS_msn=1&_HLS_part=-1".into(),
            &[],
            failed(400, true),
        ),
        (
            "/eq/v360/index.m3u8?_HLS_part=1".into(),
            &[],
            failed(400, true),
        ),
        // Too far ahead: 400 at once.
        (
            format!("/eq/v360/index.m3u8?_HLS_msn={}", newest + 10),
            &[],
            failed(400, true),
        ),
        (
            format!("/eq/v360/index.m3u8?_HLS_msn={}&_HLS_part=40", newest + 1),
            &[],
            failed(400, true),
        ),
        // Unknown rendition and channel: 404.
        ("/eq/nope/index.m3u8".into(), &[], failed(404, false)),
        (
            "/eq/nope/index.m3u8?_HLS_msn=1".into(),
            &[],
            failed(404, true),
        ),
        (
            "/nochannel/master.m3u8".into(),
            &[],
            (404, cache_failure(unknown_td, false)),
        ),
        (
            "/nochannel/manifest.mpd".into(),
            &[],
            (404, cache_failure(unknown_td, false)),
        ),
        (
            "/nochannel/v1/index.m3u8?_HLS_msn=1".into(),
            &[],
            (404, cache_failure(unknown_td, true)),
        ),
        // The directives are checked before the channel.
        (
            "/nochannel/v1/index.m3u8?_HLS_part=1".into(),
            &[],
            (400, cache_failure(unknown_td, true)),
        ),
        // Directives mean nothing to the master: ignored, not refused, not blocking.
        (
            "/eq/master.m3u8?_HLS_msn=1&_HLS_part=x".into(),
            &[],
            ok(false),
        ),
        ("/eq/master.m3u8".into(), gzip, ok(false)),
        ("/eq/manifest.mpd".into(), evil, ok(false)),
        // L-HLS: no directives, never blocking.
        ("/eq/lhls.m3u8".into(), gzip, ok(false)),
        ("/eq/v180/lhls.m3u8?_HLS_msn=1".into(), &[], ok(false)),
        ("/eq/nope/lhls.m3u8".into(), &[], failed(404, false)),
        // HESP: held and cached as the MPD.
        ("/eq/hesp.json".into(), gzip, ok(false)),
        ("/eq/hesp.json?_HLS_msn=1".into(), evil, ok(false)),
        ("/eq/v180/index.m3u8".into(), split, ok(false)),
        ("/eq/audio/index.m3u8?_HLS_skip=v2".into(), &[], ok(false)),
        (
            format!("/eq/v360/index.m3u8?_HLS_msn={msn}&_HLS_part={part}&_HLS_skip=YES"),
            gzip,
            ok(true),
        ),
        // Other parameters neither matter nor reach the origin's timeline API.
        (
            format!("/eq/v360/index.m3u8?cb=1&_HLS_msn={complete}"),
            &[],
            ok(true),
        ),
    ];
    for (path, headers, (status, cache)) in &cases {
        let native = get_with(o.playback, path, headers).await;
        assert_eq!(native.status, *status, "{path}: {}", native.text());
        assert_eq!(
            native.header("cache-control"),
            Some(cache.as_str()),
            "{path}"
        );
        for edge in &edges {
            let answer = get_with(edge.addr, path, headers).await;
            assert_same_answer(path, &native, &answer);
        }
    }
    for r in [
        get_with(o.playback, "/eq/manifest.mpd", evil).await,
        get_with(edges[0].addr, "/eq/manifest.mpd", evil).await,
    ] {
        let mpd = r.text();
        assert!(!mpd.contains("evil.example"), "{mpd}");
        assert!(mpd.contains(r#"value="../time""#), "{mpd}");
    }
    for edge in &edges {
        let r = get_with(edge.addr, "/eq/v180/index.m3u8", split).await;
        assert_eq!(
            r.header("content-encoding"),
            Some("gzip"),
            "two Accept-Encoding fields"
        );
    }

    // [HLS §6.2.5.2] a blocking request that cannot be satisfied (the encoder stopped):
    // 503 after three target durations, from both, with the blocking failure lifetime.
    let path = format!("/eq/v360/index.m3u8?_HLS_msn={}", newest + 2);
    let (native, fast, wasi) = tokio::join!(
        get_with(o.playback, &path, &[]),
        get_with(edges[0].addr, &path, &[]),
        get_with(edges[1].addr, &path, &[])
    );
    assert_eq!(native.status, 503, "{}", native.text());
    assert_eq!(
        native.header("cache-control"),
        Some(cache_failure(td, true).as_str())
    );
    assert_same_answer(&path, &native, &fast);
    assert_same_answer(&path, &native, &wasi);
}

/// LL-DASH through `weir edge`: the segment in progress reaches the player chunk by
/// chunk through the component's pass-through, byte for byte what the origin serves,
/// in many reads spread over the segment's duration (streamed, not buffered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_segment_streams_through_the_edge_chunk_by_chunk() {
    let o = TestOrigin::start().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_long_post_one(
        &format!("http://{}/ingest/grow", o.ingest),
        30,
        "v180",
    ));
    o.wait_segments("grow", &["v180"], 2, Duration::from_secs(60))
        .await;
    let edge = TestEdge::start(o.playback).await;
    // The moment the next segment begins, one reader through the edge and one at the
    // origin ask for it.
    let ch = o.origin.channel("grow").expect("channel");
    let mut rx = ch.subscribe();
    let now = rx
        .borrow_and_update()
        .track("v180")
        .and_then(|t| t.segments.back().map(|s| s.msn));
    let next = now.expect("a segment in progress") + 1;
    tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| s.track("v180").is_some_and(|t| t.segment(next).is_some())),
    )
    .await
    .expect("the next segment begins")
    .expect("channel alive");
    let path = format!("/grow/v180/p0/seg-{next}.m4s");
    let (via_edge, direct) = tokio::join!(
        support::http::get_timed(edge.addr, &path),
        support::http::get_timed(o.playback, &path)
    );
    let ((edge_resp, edge_reads), (origin_resp, origin_reads)) = (via_edge, direct);
    assert_eq!(edge_resp.status, 200, "{}", edge_resp.text());
    assert_eq!(origin_resp.status, 200);
    let finished = support::http::get(o.playback, &path).await;
    assert_eq!(
        edge_resp.body, finished.body,
        "through the edge: the finished segment"
    );
    assert_eq!(
        origin_resp.body, finished.body,
        "at the origin: the finished segment"
    );
    let span = |reads: &[(std::time::Instant, usize)]| {
        reads.last().expect("reads").0 - reads.first().expect("reads").0
    };
    eprintln!(
        "segment {next}: {} reads over {:?} through the edge, {} over {:?} at the origin",
        edge_reads.len(),
        span(&edge_reads),
        origin_reads.len(),
        span(&origin_reads)
    );
    // A 2 s segment of 30 fps frames, one CMAF chunk each.
    assert!(
        edge_reads.len() >= 20 && span(&edge_reads) >= Duration::from_secs(1),
        "streamed through the edge, not buffered: {} reads over {:?}",
        edge_reads.len(),
        span(&edge_reads)
    );
}
