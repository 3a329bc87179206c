//! The edge component, built for wasm32-wasip2 and run under `wasmtime serve -Scli`
//! (an independent wasi:http host, not weir's), in front of an in-process origin that
//! real ffmpeg fed before it was stopped, leaving a fixed state.
//!
//! For every format, delivery directive, delta and error case, the component's answer
//! equals the origin's own native rendering: same status, content type, cache lifetime
//! and body (gzip included), and only the component names itself in `x-weir-render`.
//! Media requests pass through the component unchanged, `Range` included.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::TestOrigin;
use support::http::{Resp, get, get_with};
use support::tools::{self, Killed};

/// Starts `wasmtime serve` on the component, with `env` added to its environment;
/// returns once it prints its address.
fn wasmtime_serve(origin: SocketAddr, env: &[(&str, &str)]) -> (Killed, SocketAddr) {
    let repo = tools::repo();
    let wasmtime = repo.join(".tools/bin/wasmtime");
    let component = repo.join("target/wasm32-wasip2/edge/edge_wasm.wasm");
    assert!(
        component.exists(),
        "build the component first (`make edge`, part of `make test`)"
    );
    let mut child = Command::new(&wasmtime)
        .args(["serve", "-Scli", "--addr", "127.0.0.1:0", "--env"])
        .arg(format!("WEIR_ORIGIN=http://{origin}"))
        .args(
            env.iter()
                .flat_map(|(k, v)| ["--env".to_string(), format!("{k}={v}")]),
        )
        .arg(&component)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); `make test` installs it",
                wasmtime.display()
            )
        });
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    // Readiness: wasmtime prints "Serving HTTP on http://ADDR/" once it listens.
    let addr = loop {
        let line = lines
            .next()
            .expect("wasmtime serve exited")
            .expect("stderr line");
        if let Some(rest) = line.split("http://").nth(1) {
            break rest
                .trim_end_matches('/')
                .parse::<SocketAddr>()
                .expect("address");
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (Killed(child), addr)
}

fn gunzip(body: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut s)
        .expect("gzip");
    s
}

/// Asserts that the component's answer equals the origin's.
fn assert_same(path: &str, native: &Resp, wasm: &Resp) {
    assert_eq!(
        native.status,
        wasm.status,
        "{path}: status ({})",
        wasm.text()
    );
    for h in [
        "content-type",
        "cache-control",
        "content-encoding",
        "vary",
        "access-control-allow-origin",
        "access-control-expose-headers",
    ] {
        assert_eq!(native.header(h), wasm.header(h), "{path}: {h}");
    }
    let text = |r: &Resp| {
        if r.header("content-encoding") == Some("gzip") {
            gunzip(&r.body)
        } else {
            r.text()
        }
    };
    assert_eq!(text(native), text(wasm), "{path}: body");
    assert_eq!(
        native.header("x-weir-render"),
        None,
        "the origin renders natively"
    );
}

/// An origin whose `channel` real ffmpeg fed (3 renditions) until each had `segments`
/// complete segments, then stopped (killed and reaped): nothing changes the channel
/// after this, so the origin and the edge render the same state. Then the component
/// under `wasmtime serve` in front of it, with `env` added.
async fn fixed_channel(
    channel: &str,
    segments: usize,
    env: &'static [(&'static str, &'static str)],
) -> (TestOrigin, Killed, SocketAddr) {
    let o = TestOrigin::start().await;
    let enc = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{}/ingest/{channel}", o.ingest),
        60,
    ));
    o.wait_segments(
        channel,
        &["v360", "v180", "audio"],
        segments,
        Duration::from_secs(60),
    )
    .await;
    tokio::task::spawn_blocking(move || drop(enc))
        .await
        .expect("encoder");
    let (edge, addr) = tokio::task::spawn_blocking({
        let origin = o.playback;
        move || wasmtime_serve(origin, env)
    })
    .await
    .expect("wasmtime serve");
    (o, edge, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_component_under_wasmtime_serve_equals_native_rendering() {
    let (o, _edge, edge) = fixed_channel("eq", 3, &[]).await;

    let playlist = get(o.playback, "/eq/v360/index.m3u8").await.text();
    let last = playlist
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("#EXT-X-PART:"))
        .expect("parts");
    let uri = last.split("URI=\"part-").nth(1).expect("part uri");
    let (msn, part) = uri
        .split_once(".m4s")
        .expect("part")
        .0
        .split_once('.')
        .expect("msn.part");
    let (msn, part): (u64, u32) = (msn.parse().unwrap(), part.parse().unwrap());
    let host = [("Host", "weir.test")];
    let evil = [("Host", "evil.example")];
    let gzip = [("Accept-Encoding", "gzip")];
    let cases: Vec<(String, &[(&str, &str)])> = vec![
        ("/eq/master.m3u8".into(), &[]),
        ("/eq/master.m3u8".into(), &gzip),
        ("/eq/manifest.mpd".into(), &host),
        ("/eq/v360/index.m3u8".into(), &[]),
        ("/eq/v180/index.m3u8".into(), &gzip),
        ("/eq/audio/index.m3u8".into(), &[]),
        ("/eq/v360/index.m3u8?_HLS_skip=YES".into(), &[]),
        ("/eq/audio/index.m3u8?_HLS_skip=v2".into(), &[]),
        (
            format!("/eq/v360/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"),
            &[],
        ),
        (
            format!("/eq/v360/index.m3u8?_HLS_msn={msn}&_HLS_part={part}&_HLS_skip=YES"),
            &gzip,
        ),
        ("/eq/v360/index.m3u8?_HLS_msn=1&_HLS_part=0".into(), &[]),
        ("/eq/v360/index.m3u8?_HLS_part=1".into(), &[]),
        ("/eq/v360/index.m3u8?_HLS_msn=x".into(), &[]),
        ("/eq/v360/index.m3u8?_HLS_skip=maybe".into(), &[]),
        (format!("/eq/v360/index.m3u8?_HLS_msn={}", msn + 5), &[]),
        (
            format!("/eq/v360/index.m3u8?_HLS_msn={msn}&_HLS_part={}", part + 40),
            &[],
        ),
        ("/eq/nope/index.m3u8".into(), &[]),
        ("/eq/nope/index.m3u8?_HLS_msn=1".into(), &[]),
        ("/nochannel/master.m3u8".into(), &[]),
        ("/nochannel/manifest.mpd".into(), &[]),
        ("/nochannel/v1/index.m3u8?_HLS_msn=1".into(), &[]),
        ("/nochannel/v1/index.m3u8?_HLS_part=1".into(), &[]),
        // Directives mean nothing to the master; other parameters nothing to anyone.
        ("/eq/master.m3u8?_HLS_msn=1&_HLS_part=x".into(), &[]),
        (
            format!("/eq/v360/index.m3u8?cb=7&_HLS_msn={}", msn - 1),
            &[],
        ),
        // The MPD never names the client's Host.
        ("/eq/manifest.mpd".into(), &evil),
        // Start-over: the span rides on the timeline request, the variants carry it;
        // the same refusals, in the same order (syntax first, `end` on the always
        // dynamic manifests once the channel is known).
        ("/eq/master.m3u8?start=0".into(), &[]),
        ("/eq/v360/index.m3u8?start=0&cb=1".into(), &gzip),
        ("/eq/v360/index.m3u8?start=0&_HLS_skip=YES".into(), &[]),
        ("/eq/manifest.mpd?start=0".into(), &[]),
        ("/eq/hesp.json?start=0".into(), &[]),
        ("/eq/lhls.m3u8?start=0".into(), &[]),
        ("/eq/v360/index.m3u8?start=yesterday".into(), &[]),
        ("/eq/manifest.mpd?start=0&end=5".into(), &[]),
        ("/nochannel/manifest.mpd?start=0&end=5".into(), &[]),
        ("/nochannel/master.m3u8?end=5".into(), &[]),
    ];
    for (path, headers) in &cases {
        let native = get_with(o.playback, path, headers).await;
        let wasm = get_with(edge, path, headers).await;
        assert_same(path, &native, &wasm);
        assert!(
            wasm.header("x-weir-render")
                .is_some_and(|v| v.starts_with("wasm/")),
            "{path}: the component names itself"
        );
    }
    // Media passes through unchanged, ranges included.
    for (path, headers) in [
        ("/eq/v360/init.mp4", &[][..]),
        ("/eq/v180/seg-2.m4s", &[][..]),
        ("/eq/audio/part-2.3.m4s", &[][..]),
        ("/eq/v360/seg-2.m4s", &[("Range", "bytes=100-299")][..]),
        ("/time", &[][..]),
    ] {
        let native = get_with(o.playback, path, headers).await;
        let wasm = get_with(edge, path, headers).await;
        assert_eq!(native.status, wasm.status, "{path}");
        if path != "/time" {
            assert_eq!(native.body, wasm.body, "{path}: bytes");
            assert_eq!(
                native.header("content-range"),
                wasm.header("content-range"),
                "{path}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_component_checks_signed_urls_where_it_is_the_edge() {
    const KEY: &str = "component key";
    let (o, _edge, edge) = fixed_channel("sig", 2, &[("WEIR_PLAYBACK_KEY", KEY)]).await;
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 600;
    let sign =
        |p: &str| manifest::signed::sign_path(KEY.as_bytes(), p, expires).expect("a channel path");

    let refused = get(edge, "/sig/master.m3u8").await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.text().contains("signed URL is required"));
    let expired = get(
        edge,
        &manifest::signed::sign_path(KEY.as_bytes(), "/sig/master.m3u8", 1)
            .expect("a channel path"),
    )
    .await;
    assert_eq!(expired.status, 403);
    assert!(expired.text().contains("expired"), "{}", expired.text());

    // Signed: the same answer as the origin's native rendering of the plain path
    // (manifest and media alike).
    let seg = {
        let snap = o.origin.channel("sig").expect("channel").snapshot();
        let msn = snap
            .track("v180")
            .and_then(|t| t.segments.front())
            .expect("segment")
            .msn;
        format!("/sig/v180/seg-{msn}.m4s")
    };
    for path in [
        "/sig/master.m3u8",
        "/sig/v180/index.m3u8",
        "/sig/manifest.mpd",
        seg.as_str(),
    ] {
        let native = get(o.playback, path).await;
        let wasm = get(edge, &sign(path)).await;
        assert_eq!(wasm.status, 200, "{path}: {}", wasm.text());
        assert_eq!(wasm.body, native.body, "{path}");
    }
}
