//! `weir edge --env WEIR_ORIGIN=... --allow ...` in front of a separate `weir origin`,
//! both the real binary in their own processes, with ffmpeg pushing a live channel:
//! 200 concurrent requests for the preload-hinted part, and 200 for the same blocking
//! playlist reload, reach the origin as one request each, by the origin's own counters
//! (`weir_requests_total` on its `/metrics`).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::http::get;
use support::process::weir;
use support::tools;

const LIMIT: Duration = Duration::from_secs(60);

/// The origin's `weir_requests_total{route=kind}`.
async fn origin_requests(origin: SocketAddr, kind: &str) -> u64 {
    let m = get(origin, "/metrics").await.text();
    let name = format!("weir_requests_total{{route=\"{kind}\"}} ");
    m.lines()
        .find_map(|l| l.strip_prefix(&name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics:\n{m}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_viewers_of_a_part_and_of_a_blocking_reload_make_one_origin_request_each() {
    let (_origin, o) = weir(&[
        "origin",
        "--ingest",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0",
    ])
    .await;
    let (ingest, origin) = (o[0], o[1]);
    let allow = format!("http://{origin}");
    let env = format!("WEIR_ORIGIN=http://{origin}");
    let spin = tools::repo().join("spin.toml").display().to_string();
    let (_edge, e) = weir(&[
        "edge",
        "--listen",
        "127.0.0.1:0",
        "--spin",
        &spin,
        "--env",
        &env,
        "--allow",
        &allow,
    ])
    .await;
    let edge = e[0];
    let _encoder = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{ingest}/ingest/live"),
        60,
    ));
    // The origin's playlist once it lists a complete segment: the hinted part and the
    // blocking reload that asks for it.
    let playlist = tokio::time::timeout(LIMIT, async {
        // Another process: no signal reaches the test when ffmpeg's first bytes land,
        // so the channel's appearance is polled (404 until then); from then on the
        // blocking reload itself waits for segment 1.
        let mut poll = tokio::time::interval(Duration::from_millis(20));
        loop {
            let r = get(origin, "/live/v360/index.m3u8?_HLS_msn=1").await;
            if r.status == 200 {
                return r.text();
            }
            poll.tick().await;
        }
    })
    .await
    .expect("a playlist within the limit");
    let hint = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:"))
        .and_then(|l| l.split("URI=\"").nth(1)?.split('"').next())
        .expect("a preload hint")
        .to_string();
    // part-{msn}.{part}.m4s: the reload that blocks until exactly that part exists.
    let (msn, part) = hint
        .trim_start_matches("part-")
        .trim_end_matches(".m4s")
        .split_once('.')
        .expect("part-{msn}.{part}.m4s");
    let part_url = format!("/live/v360/{hint}");
    let reload = format!("/live/v360/index.m3u8?_HLS_msn={msn}&_HLS_part={part}");
    let before = (
        origin_requests(origin, "part").await,
        origin_requests(origin, "timeline").await,
    );
    let mut viewers = Vec::new();
    for _ in 0..200 {
        let (p, r) = (part_url.clone(), reload.clone());
        viewers.push(tokio::spawn(async move { (true, get(edge, &p).await) }));
        viewers.push(tokio::spawn(async move { (false, get(edge, &r).await) }));
    }
    let (mut parts, mut playlists) = (Vec::new(), Vec::new());
    for v in viewers {
        let (is_part, r) = tokio::time::timeout(LIMIT, v)
            .await
            .expect("answered within the limit")
            .expect("viewer");
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.complete);
        if is_part {
            parts.push(r.body)
        } else {
            playlists.push(r.text())
        }
    }
    assert!(
        parts.iter().all(|b| !b.is_empty() && *b == parts[0]),
        "one part for all"
    );
    assert!(
        playlists.iter().all(|p| *p == playlists[0]),
        "one playlist for all"
    );
    assert!(
        playlists[0].contains(&hint),
        "the reload answered once the hinted part exists"
    );
    let after = (
        origin_requests(origin, "part").await,
        origin_requests(origin, "timeline").await,
    );
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 1),
        "200 viewers of the part and 200 of the reload: one origin request each"
    );
    // The edge's own account agrees: two fetches for 400 requests.
    let m = get(edge, "/metrics").await;
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text; version=1.0.0")),
        "the edge's /metrics is OpenMetrics, as the origin's"
    );
    let m = m.text();
    assert!(m.ends_with("# EOF\n"), "{m}");
    let value = |name: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} "))?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in the edge's /metrics:\n{m}"))
    };
    assert_eq!(value("weir_edge_cache_origin_fetches_total"), 2.0);
    assert_eq!(value("weir_edge_cache_misses_total"), 2.0);
    assert_eq!(value("weir_edge_cache_hits_total"), 398.0);
    assert_eq!(value("weir_edge_cache_offload_ratio"), 1.0 - 2.0 / 400.0);
    assert_eq!(
        value("weir_edge_cache_origin_ttfb_seconds_count"),
        2.0,
        "each origin fetch's time to head is in the histogram"
    );
    // The held part's head came once the part existed: after at most a part target
    // and the origin's hold, never the edge's 65 s head timeout.
    assert!(value("weir_edge_cache_origin_ttfb_max_seconds") < 10.0);
    // A histogram's buckets are cumulative and end at +Inf with its count.
    assert_eq!(
        value("weir_edge_cache_origin_ttfb_seconds_bucket{le=\"+Inf\"}"),
        2.0
    );
}
