//! Operating weir: ingest access control with real ffmpeg, listener limits (a client
//! that trickles its request head is cut; thousands of idle connections do not keep
//! new viewers out), an encoder that stalls mid-upload is cut and its segment closed,
//! `/health` and `/ready`.

mod support;

use std::time::Duration;

use support::TestOrigin;
use support::http::{get, get_with};
use support::tools;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET: &str = "s3cret-for-tests";

fn secured() -> origin::Config {
    let mut c = origin::Config {
        ingest_secret: Some(SECRET.into()),
        ..Default::default()
    };
    c.channels.insert(
        "own".into(),
        origin::config::ChannelSettings {
            ingest_secret: Some("channel-secret".into()),
            ..Default::default()
        },
    );
    c
}

/// A raw ingest request with `headers`; returns the status line's code and the head.
async fn raw_ingest(addr: std::net::SocketAddr, path: &str, headers: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let body = b"\0\0\0\x08free";
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write body");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_needs_the_secret_and_a_refusal_stores_nothing() {
    let o = TestOrigin::start_config(secured()).await;
    // No credentials, wrong ones, another channel's: 401 with a challenge, nothing created.
    for (path, headers) in [
        ("/ingest/live/v.mp4", ""),
        ("/ingest/live/v.mp4", "Authorization: Bearer wrong\r\n"),
        (
            "/ingest/live/v.mp4",
            "Authorization: Basic d2VpcjpzM2NyZXQ=\r\n",
        ),
        (
            "/ingest/own/v.mp4",
            &format!("Authorization: Bearer {SECRET}\r\n"),
        ),
    ] {
        let (code, head) = raw_ingest(o.ingest, path, headers).await;
        assert_eq!(code, 401, "{path} {headers:?}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{head}"
        );
        assert!(head.contains("unauthorized"), "{head}");
    }
    assert!(
        o.origin.channel_names().is_empty(),
        "a refused upload created a channel"
    );

    // ffmpeg without credentials fails; with them (URL credentials sent at once, and a
    // bearer header), it streams.
    let base = format!("127.0.0.1:{}", o.ingest.port());
    let refused = tokio::task::spawn_blocking({
        let url = format!("http://{base}/ingest/live");
        move || {
            tools::spawn_encoder(tools::ffmpeg_single(&url, 2, "320x180"))
                .0
                .wait()
        }
    })
    .await
    .expect("ffmpeg ran");
    assert!(
        !refused.expect("exit status").success(),
        "ffmpeg without credentials succeeded"
    );
    assert!(o.origin.channel_names().is_empty());

    let basic = tools::ffmpeg_single(
        &format!("http://weir:{SECRET}@{base}/ingest/live"),
        20,
        "320x180",
    );
    let _basic = tools::spawn_encoder(with_global_option(basic, &["-auth_type", "basic"]));
    o.wait_segments("live", &["v", "a"], 2, Duration::from_secs(60))
        .await;

    let bearer = with_global_option(
        tools::ffmpeg_single(&format!("http://{base}/ingest/own"), 20, "320x180"),
        &["-headers", "Authorization: Bearer channel-secret\r\n"],
    );
    let _bearer = tools::spawn_encoder(bearer);
    o.wait_segments("own", &["v", "a"], 2, Duration::from_secs(60))
        .await;
}

/// `cmd` with `opt` placed before each output URL, so that every output's protocol
/// gets it (ffmpeg's protocol options are per output).
fn with_global_option(cmd: std::process::Command, opt: &[&str]) -> std::process::Command {
    let program = cmd.get_program().to_owned();
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut out = std::process::Command::new(program);
    for a in args {
        if a.starts_with("http://") {
            out.args(opt);
        }
        out.arg(a);
    }
    out.stdout(std::process::Stdio::null());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_request_head_is_cut_and_idle_connections_do_not_keep_viewers_out() {
    let mut config = origin::Config::default();
    config.limits.header_timeout_s = 2;
    let o = TestOrigin::start_config(config).await;

    // One byte a second: cut once the head took longer than the timeout.
    let mut s = TcpStream::connect(o.playback).await.expect("connect");
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut cut = false;
    for b in b"GET /channels.json HTTP/1.1\r\nHost: x\r\n\r\n" {
        tick.tick().await;
        if s.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "a head trickled for 40 s was never cut");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "cut after {took:?} (timeout 2 s)"
    );

    // Thousands of idle connections (as many as this process may open), and a new viewer
    // is still answered at once.
    raise_fd_limit();
    let n = idle_budget();
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        match TcpStream::connect(o.playback).await {
            Ok(c) => idle.push(c),
            Err(_) => break,
        }
    }
    assert!(
        idle.len() >= n * 9 / 10,
        "only {} of {n} idle connections opened",
        idle.len()
    );
    let t = tokio::time::Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), get(o.playback, "/channels.json"))
        .await
        .expect("a viewer answered while idle connections are held");
    assert_eq!(r.status, 200);
    eprintln!(
        "{} idle connections held; a new viewer answered in {:?}",
        idle.len(),
        t.elapsed()
    );
}

/// Lifts this process's soft open-file limit to its hard limit.
fn raise_fd_limit() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
}

/// Idle connections to open: 10,000, or what the open-file limit leaves room for
/// (each costs two descriptors here, the client's and the server's).
fn idle_budget() -> usize {
    let (soft, _) = rlimit::Resource::NOFILE.get().unwrap_or((1024, 1024));
    usize::try_from(soft.saturating_sub(256) / 2)
        .unwrap_or(10_000)
        .min(10_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_is_cut_and_its_segment_closed() {
    let mut config = origin::Config::default();
    config.limits.ingest_idle_timeout_s = 1;
    let o = TestOrigin::start_config(config).await;
    // A real ffmpeg track, sent through a connection that then goes silent.
    let data = weir_tests::bench::encode_source(3);
    let mut s = TcpStream::connect(o.ingest).await.expect("connect");
    s.write_all(
        b"POST /ingest/stall/v.mp4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .await
    .expect("head");
    s.write_all(&weir_tests::bench::chunked_frame(&data))
        .await
        .expect("body");
    // Now silent: the origin cuts the upload after 1 s and closes the segment in
    // progress (its readers end; the next segment would start a new period).
    let ch = o.origin.wait_channel("stall").await;
    let mut rx = ch.subscribe();
    // (The watch's guard is dropped at once: held, it would block the origin's writer.)
    let closed = tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| {
            s.track("v")
                .is_some_and(|t| t.segments.iter().all(|g| g.complete))
        }),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(closed, "the stalled upload's segment was never closed");
    // The encoder is told why, and the connection closed.
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("nothing received for 1 s"), "{answer}");
    // The segment is served whole (shorter), and the next upload starts a new period.
    let snap = ch.snapshot();
    let last = snap
        .track("v")
        .and_then(|t| t.segments.back().cloned())
        .expect("a segment");
    let seg = get(o.playback, &format!("/stall/v/seg-{}.m4s", last.msn)).await;
    assert_eq!(seg.status, 200);
    let served: u64 = last.parts.iter().map(|p| p.bytes).sum();
    assert!(
        seg.complete && seg.body.len() as u64 == served,
        "{} of {served} bytes",
        seg.body.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_ready() {
    let o = TestOrigin::start().await;
    let h = get(o.playback, "/health").await;
    assert_eq!((h.status, h.text().as_str()), (200, "ok\n"));
    let r = get(o.playback, "/ready").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("\"channels\":[]"), "{}", r.text());
    assert_eq!(get(o.playback, "/ready?channel=live").await.status, 503);
    let _enc = tools::spawn_encoder(tools::ffmpeg_single(
        &format!("http://{}/ingest/live", o.ingest),
        20,
        "320x180",
    ));
    o.wait_segments("live", &["v", "a"], 1, Duration::from_secs(60))
        .await;
    let r = get_with(o.playback, "/ready?channel=live", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(v["channels"][0]["name"], "live");
    assert_eq!(v["channels"][0]["live"], true);
    assert!(
        v["channels"][0]["since"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
}

/// SIGTERM: the `weir origin` process stops accepting, lets a segment download in
/// flight (the segment in progress, streamed as it grows) finish cleanly, and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_segment_download_finish_and_exits_0() {
    let (mut w, addrs) = support::process::weir(&[
        "origin",
        "--ingest",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0",
        "--target-duration-ms",
        "1000",
    ])
    .await;
    let (ingest, playback) = (addrs[0], addrs[1]);
    let _enc = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{ingest}/ingest/live"),
        30,
    ));
    // The segment in progress: the blocking reload for the next segment returns once it
    // has begun; its download streams until it completes.
    let mut msn = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        let r = get(playback, "/live/v360/index.m3u8").await;
        if r.status == 200 {
            msn = r
                .text()
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("seg-")?
                        .strip_suffix(".m4s")?
                        .parse::<u64>()
                        .ok()
                })
                .max()
                .unwrap_or(0);
            if msn > 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(msn > 0, "no playlist");
    let next = msn + 1;
    let reload = get(
        playback,
        &format!("/live/v360/index.m3u8?_HLS_msn={next}&_HLS_part=0"),
    )
    .await;
    assert_eq!(reload.status, 200);
    let path = format!("/live/v360/seg-{next}.m4s");
    let download = tokio::spawn(async move { get(playback, &path).await });
    // Let the download start (its first bytes are there at once), then SIGTERM.
    let pid = w.0.id().expect("pid").to_string();
    tokio::task::yield_now().await;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let seg = download.await.expect("download task");
    assert_eq!(seg.status, 200);
    assert!(seg.complete, "the download in flight ended cut short");
    assert!(seg.body.len() > 1000);
    let status = tokio::time::timeout(Duration::from_secs(30), w.0.wait())
        .await
        .expect("weir exits within the grace")
        .expect("exit status");
    assert!(status.success(), "weir exited with {status}");
    // Nothing listens any more.
    assert!(TcpStream::connect(playback).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_encoder_on_a_pushed_track_is_refused_and_the_first_goes_on() {
    let o = TestOrigin::start().await;
    let url = format!("http://127.0.0.1:{}/ingest/dup", o.ingest.port());
    let _first = tools::spawn_encoder(tools::ffmpeg_single(&url, 30, "320x180"));
    o.wait_segments("dup", &["v", "a"], 2, Duration::from_secs(60))
        .await;
    let ch = o.origin.channel("dup").expect("channel");
    let before = ch.snapshot();

    // A second real encoder on the same channel and tracks: refused within the
    // hand-over wait (its uploads get 409), so ffmpeg fails.
    let second = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            let started = std::time::Instant::now();
            let status = tools::spawn_encoder(tools::ffmpeg_single(&url, 30, "320x180"))
                .0
                .wait();
            (status, started.elapsed())
        }
    })
    .await
    .expect("ffmpeg ran");
    assert!(
        !second.0.expect("exit status").success(),
        "the second encoder was accepted"
    );
    assert!(
        second.1 < origin::ingest::HANDOVER + Duration::from_secs(10),
        "refused only after {:?}",
        second.1
    );

    // The refusal's reason, as an encoder sees it.
    let (code, head) = raw_ingest(o.ingest, "/ingest/dup/v.mp4", "").await;
    assert_eq!(code, 409, "{head}");
    assert!(head.contains("already being pushed"), "{head}");

    // The first encoder goes on: consecutive numbers, no discontinuity, nothing of the
    // second stored.
    o.wait_segments(
        "dup",
        &["v", "a"],
        before.track("v").unwrap().segments.len() + 2,
        Duration::from_secs(60),
    )
    .await;
    let after = ch.snapshot();
    for id in ["v", "a"] {
        let (b, a) = (before.track(id).unwrap(), after.track(id).unwrap());
        let first_new = b.segments.back().unwrap().msn;
        let msns: Vec<u64> = a
            .segments
            .iter()
            .map(|s| s.msn)
            .filter(|m| *m >= first_new)
            .collect();
        assert!(msns.len() >= 3, "{id}: {msns:?}");
        assert!(msns.windows(2).all(|w| w[1] == w[0] + 1), "{id}: {msns:?}");
        assert_eq!(
            a.discontinuity_sequence, b.discontinuity_sequence,
            "{id}: the second encoder broke the timeline"
        );
        assert!(
            a.segments.iter().all(|s| !s.discontinuity),
            "{id}: a discontinuity appeared"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_playback_urls_are_checked_at_the_edge_and_kept_out_of_the_cache() {
    const KEY: &[u8] = b"playback key for tests";
    let o = TestOrigin::start().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_single(
        &format!("http://{}/ingest/sig", o.ingest),
        40,
        "320x180",
    ));
    o.wait_segments("sig", &["v", "a"], 3, Duration::from_secs(60))
        .await;
    let edge = support::TestEdge::start_signed(o.playback, "playback key for tests").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let sign = |path: &str, expires: u64| {
        manifest::signed::sign_path(KEY, path, expires).expect("a channel path")
    };

    // Refused at the edge with the reason: no token, an expired one, another channel's,
    // a wrong key's.
    let other_channel = sign("/other/master.m3u8", now + 600).replace("/other/", "/sig/");
    let wrong_key = manifest::signed::sign_path(b"not the key", "/sig/master.m3u8", now + 600)
        .expect("a channel path");
    for (path, reason) in [
        ("/sig/master.m3u8".to_string(), "signed URL is required"),
        ("/sig/v/seg-1.m4s".to_string(), "signed URL is required"),
        (sign("/sig/master.m3u8", now - 1), "expired"),
        (other_channel, "does not match"),
        (wrong_key, "does not match"),
    ] {
        let r = get(edge.addr, &path).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(r.text().contains(reason), "{path}: {}", r.text());
    }
    assert_eq!(edge.node.stats.refused_tokens(), 5);

    // One token plays the whole channel: ffmpeg follows the relative URIs of the HLS
    // playlists and of the MPD under the signed prefix.
    let base = format!("http://{}", edge.addr);
    for manifest in ["/sig/master.m3u8", "/sig/manifest.mpd"] {
        let url = format!("{base}{}", sign(manifest, now + 600));
        let frames = tokio::task::spawn_blocking(move || tools::decoded_frames(&url, 2))
            .await
            .expect("ffmpeg ran");
        assert!(
            frames.len() >= 2 && frames.iter().all(|n| *n > 0),
            "{manifest}: decoded {frames:?}"
        );
    }

    // Two viewers with different tokens share one cached object: the token is not in
    // the key, and the origin is asked once.
    let msn = o
        .origin
        .channel("sig")
        .and_then(|c| {
            c.snapshot()
                .track("v")
                .and_then(|t| t.segments.front().map(|s| s.msn))
        })
        .expect("a segment");
    let seg = format!("/sig/v/seg-{msn}.m4s");
    let first = get(edge.addr, &sign(&seg, now + 300)).await;
    let before = edge.node.cache().expect("cache").counts();
    let second = get(edge.addr, &sign(&seg, now + 900)).await;
    let after = edge.node.cache().expect("cache").counts();
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.body, second.body);
    assert_eq!(
        after.fetches, before.fetches,
        "the second token fetched again"
    );
    assert_eq!(after.hits, before.hits + 1);
    // The clock stays open (the MPD's UTCTiming resolves to it under the prefix too).
    assert_eq!(get(edge.addr, "/time").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_each_request_id_which_the_answer_names() {
    use tokio::io::AsyncBufReadExt;
    let bin = tools::repo().join("target/debug/weir");
    let mut child = tokio::process::Command::new(&bin)
        .args([
            "origin",
            "--log-format",
            "json",
            "--listen",
            "127.0.0.1:0",
            "--ingest",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("weir (`make test` builds it)");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            let _ = tx.send(l);
        }
    });
    // Readiness: the start-up line (JSON too) names the listeners.
    let playback: std::net::SocketAddr = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("start-up line")
            .expect("weir running");
        let v: serde_json::Value = serde_json::from_str(&line).expect("every line is JSON");
        let msg = v["fields"]["message"].as_str().unwrap_or("");
        if let Some(rest) = msg.split("playback on http://").nth(1) {
            break rest.trim_end_matches('/').parse().expect("address");
        }
    };
    // A client's own id is kept; one without gets a new one.
    let own = get_with(playback, "/health", &[("x-request-id", "cdn-42.a")]).await;
    assert_eq!(own.header("x-request-id"), Some("cdn-42.a"));
    let fresh = get(playback, "/nothing/here").await;
    assert_eq!(fresh.status, 404);
    let fresh_id = fresh.header("x-request-id").expect("an id").to_string();
    // Both answers are logged as JSON with their id, path and status.
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 2 {
        let line = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("answer logged")
            .expect("weir running");
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        if v["fields"]["message"] == "answered" {
            let id = v["span"]["id"].as_str().unwrap_or("").to_string();
            seen.insert(
                id,
                (v["span"]["path"].clone(), v["fields"]["status"].clone()),
            );
        }
    }
    assert_eq!(
        seen["cdn-42.a"],
        (serde_json::json!("/health"), serde_json::json!(200))
    );
    assert_eq!(
        seen[&fresh_id],
        (serde_json::json!("/nothing/here"), serde_json::json!(404))
    );
}

/// The metric names a PromQL expression uses (identifiers followed by `{`, `[` or
/// `)`-free use; functions and keywords excluded).
fn promql_metrics(expr: &str) -> Vec<String> {
    const NOT_METRICS: [&str; 6] = [
        "rate",
        "sum",
        "by",
        "histogram_quantile",
        "le",
        "label_values",
    ];
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_quotes = false;
    for c in expr.chars().chain([' ']) {
        if c == '"' {
            in_quotes = !in_quotes;
        }
        if !in_quotes && (c.is_ascii_alphanumeric() || c == '_') {
            word.push(c);
            continue;
        }
        if word.starts_with("weir_") && !NOT_METRICS.contains(&word.as_str()) {
            out.push(word.clone());
        }
        word.clear();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_queries_only_metrics_weir_exports() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tools::repo().join("ops/grafana/weir.json")).expect("dashboard"),
    )
    .expect("the dashboard is JSON");
    let mut queried = std::collections::BTreeSet::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().into_iter().flatten() {
            queried.extend(promql_metrics(t["expr"].as_str().expect("expr")));
        }
    }
    assert!(queried.len() >= 20, "{queried:?}");

    // A live origin with a DVR and an edge node in front of it, after some traffic.
    let dir = tools::repo()
        .join("target/test-ops")
        .join(format!("dashboard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = origin::Config {
        dvr: Some(origin::dvr::DvrConfig {
            dir: dir.clone(),
            window_s: 60,
        }),
        ..Default::default()
    };
    let o = TestOrigin::start_config(config).await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_single(
        &format!("http://{}/ingest/dash", o.ingest),
        20,
        "320x180",
    ));
    o.wait_segments("dash", &["v", "a"], 2, Duration::from_secs(60))
        .await;
    let edge = support::TestEdge::start(o.playback).await;
    assert_eq!(get(edge.addr, "/dash/v/index.m3u8").await.status, 200);
    assert_eq!(get(edge.addr, "/dash/nothing.m3u8").await.status, 404);
    let exported: String = [
        get(o.playback, "/metrics").await.text(),
        get(edge.addr, "/metrics").await.text(),
    ]
    .concat();
    // A histogram is queried by its `_bucket` series, a counter by `_total`: each must
    // be a series name of the exposition.
    let series: std::collections::BTreeSet<&str> = exported
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let missing: Vec<_> = queried
        .iter()
        .filter(|m| !series.contains(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "queried but not exported: {missing:?}\n{exported}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rendition_that_stops_while_others_go_on_is_no_longer_offered() {
    let o = TestOrigin::start().await;
    let url = format!("http://{}/ingest/stop", o.ingest);
    // Two encoders: v and a for 40 s; v180 for 6 s only (its encoder then ends).
    let _main = tools::spawn_encoder(tools::ffmpeg_single(&url, 40, "640x360"));
    let _short = tools::spawn_encoder(tools::ffmpeg_long_post_one(&url, 6, "v180"));
    o.wait_segments("stop", &["v", "a", "v180"], 2, Duration::from_secs(60))
        .await;
    let master = get(o.playback, "/stop/master.m3u8").await.text();
    assert!(master.contains("v180/index.m3u8"), "{master}");

    // 3 target durations after its last chunk, v180 is marked stopped.
    let ch = o.origin.channel("stop").expect("channel");
    let mut rx = ch.subscribe();
    tokio::time::timeout(
        Duration::from_secs(40),
        rx.wait_for(|s| s.track("v180").is_some_and(|t| t.stalled)),
    )
    .await
    .expect("v180 marked stopped")
    .expect("channel alive");
    let snap = ch.snapshot();
    assert!(!snap.track("v").expect("v").stalled && !snap.track("a").expect("a").stalled);

    // The multivariant playlist, the rendition reports and the MPD no longer offer it;
    // the renditions that go on are offered as before.
    let master = get(o.playback, "/stop/master.m3u8").await.text();
    assert!(!master.contains("v180/"), "{master}");
    assert!(master.contains("v/index.m3u8"), "{master}");
    let v = get(o.playback, "/stop/v/index.m3u8").await.text();
    assert!(
        v.contains("#EXT-X-RENDITION-REPORT:URI=\"../a/index.m3u8\""),
        "{v}"
    );
    assert!(!v.contains("../v180/"), "{v}");
    let mpd = get(o.playback, "/stop/manifest.mpd").await.text();
    assert!(!mpd.contains("id=\"v180\""), "{mpd}");
    assert!(mpd.contains("id=\"v\""), "{mpd}");
    // Playback of the channel goes on: ffmpeg reads the master and decodes both streams.
    let url = format!("http://{}/stop/master.m3u8", o.playback);
    let frames = tokio::task::spawn_blocking(move || tools::decoded_frames(&url, 2))
        .await
        .expect("ffmpeg ran");
    assert!(
        frames.len() == 2 && frames.iter().all(|n| *n > 0),
        "decoded {frames:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoder_clock_that_goes_back_mid_upload_plays_on_across_a_discontinuity() {
    use weir_tests::bench::{encode_source, split};
    let o = TestOrigin::start().await;
    // Real ffmpeg output: 32 s (more than the 26 s a track holds), then another
    // encode whose clock starts at 0 again, sent in one upload after the first (a
    // looping source, a reset encoder clock).
    let (first, second) = tokio::task::spawn_blocking(|| (encode_source(32), encode_source(8)))
        .await
        .expect("ffmpeg");
    let ((init, a), (_, b)) = (split(&first), split(&second));
    let mut body = init.clone();
    for (chunk, _) in a.iter().chain(&b) {
        body.extend_from_slice(chunk);
    }
    let r = support::http::post(o.ingest, "/ingest/jump/v.mp4", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let snap = o.origin.channel("jump").expect("channel").snapshot();
    let t = snap.track("v").expect("track");
    // Nothing of the second encode was dropped: the held segments cover what is listed
    // without a gap but the discontinuity.
    let listed: u64 = t.segments.iter().map(|s| s.duration).sum();
    let first_start = t.segments.front().map_or(0, |s| s.start);
    assert_eq!(t.end().map(|e| e - first_start), Some(listed));
    assert_eq!(
        t.segments.iter().filter(|s| s.discontinuity).count(),
        1,
        "one discontinuity"
    );
    // Every complete segment on both sides decodes with ffprobe, with the frames its
    // duration holds.
    let playlist = get(o.playback, "/jump/v/index.m3u8").await.text();
    assert!(playlist.contains("#EXT-X-DISCONTINUITY\n"), "{playlist}");
    let dir = tools::repo()
        .join("target/test-ops")
        .join(format!("jump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let ts = u64::from(t.meta.timescale);
    let mut frames = 0;
    for s in t.segments.iter().filter(|s| s.complete) {
        let seg = get(o.playback, &format!("/jump/v/seg-{}.m4s", s.msn)).await;
        assert_eq!(seg.status, 200);
        let n = tools::probe_frames(&init, &seg.body, &dir.join("probe.mp4"));
        assert_eq!(n, s.duration * 30 / ts, "segment {}", s.msn);
        frames += n;
    }
    assert!(frames >= 15 * 30, "{frames} frames decoded");
    let _ = std::fs::remove_dir_all(&dir);
}
