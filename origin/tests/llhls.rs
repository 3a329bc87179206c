//! Apple Low-Latency HLS over HTTP: the playlist tags of the low-latency profile,
//! rendition reports, delivery directives (blocking reload, delta updates) and their
//! errors, cache lifetimes, gzip, preload-hinted parts, render-once under concurrency,
//! and h2c.
//!
//! Most tests run on tokio's paused clock with real loopback sockets (see `hold.rs`):
//! a request expected to time out is simply awaited; a request expected to be
//! *satisfied* must never leave the runtime idle while its hold timer is pending, so
//! those waits spin on `yield_now` and observe the server through its state.
//!
//! Media: `VIDEO_EVERY_FRAME` is 30 one-frame chunks (1 s, one key frame). Longer
//! streams re-send its chunks with shifted decode times: frame `n` is chunk `n % 30`
//! stamped `n × 512`, so there is a key frame every second and segments are cut every
//! 2 s (10 parts of 6 frames each).

mod common;

use std::collections::HashMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{
    AUDIO_AAC, Conn, FRAME_TICKS, Response, TestOrigin, VIDEO_EVERY_FRAME, attrs, decode, get,
    ingest_payload, open_upload, put, split, tag, until_frames, with_decode_time,
};
use common::{SPIN_LIMIT, settle, spawn_get, spin_until, video_frames};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Three target durations at the default 2 s target.
const HOLD_LIMIT: Duration = Duration::from_secs(6);

/// [HLS B.1] cache lifetimes at TD = 2 s.
const BLOCKING_OK: &str = "public, max-age=12";
const NON_BLOCKING_OK: &str = "public, max-age=1";
const BLOCKING_FAILED: &str = "public, max-age=8";
const NON_BLOCKING_FAILED: &str = "public, max-age=2";

const PLAYLIST: &str = "/live/v1/index.m3u8";

// ---------------------------------------------------------------------------------
// Helpers.

/// GET with extra request headers, on a fresh connection.
async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut c = Conn::open(addr).await;
    c.send_head("GET", path, headers).await;
    c.response(false).await
}

/// Init + `chunks` chunks of 10 AAC frames (10240 ticks at 48 kHz), from time zero.
fn audio_body(chunks: u64) -> Vec<u8> {
    let fx = split(AUDIO_AAC);
    let mut body = fx.init.clone();
    for k in 0..chunks {
        body.extend(with_decode_time(&fx.chunks[0], k * 10240));
    }
    body
}

/// An origin with track `live/v1` fed frames `0..frames` (at least 30): the fixture
/// as is, then the rest as one media-only upload.
async fn live(frames: u64) -> TestOrigin {
    assert!(frames >= 30);
    let o = TestOrigin::start().await;
    let r = put(o.ingest, "/ingest/live/v1", VIDEO_EVERY_FRAME).await;
    assert_eq!(r.status, 201, "{}", r.text());
    if frames > 30 {
        let r = put(o.ingest, "/ingest/live/v1", &video_frames(30..frames)).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let t = o.track("live", "v1");
    assert_eq!(t.end(), Some(frames * FRAME_TICKS), "all frames placed");
    o
}

/// 72 frames: segment 1 complete (parts 1.0–1.9), segment 2 in progress with parts
/// 2.0 and 2.1 complete; the next part is 2.2.
async fn live_72() -> TestOrigin {
    let o = live(72).await;
    let t = o.track("live", "v1");
    assert_eq!(t.segments.len(), 2);
    assert!(t.segments[0].complete && t.segments[0].parts.len() == 10);
    let s2 = &t.segments[1];
    assert!(!s2.complete && s2.parts.len() == 2 && s2.parts.iter().all(|p| p.complete));
    o
}

fn secs(v: &str) -> f64 {
    v.parse().unwrap_or_else(|_| panic!("decimal seconds: {v}"))
}

/// The URIs of the EXT-X-PART lines, with their attributes.
fn parts(text: &str) -> Vec<HashMap<String, String>> {
    text.lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-PART:"))
        .map(attrs)
        .collect()
}

fn assert_playlist(r: &Response, cache: &str, what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.apple.mpegurl"),
        "{what}"
    );
    assert_eq!(r.header("cache-control"), Some(cache), "{what}");
    assert!(r.text().starts_with("#EXTM3U\n"), "{what}");
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

// ---------------------------------------------------------------------------------
// Playlist contents.

#[tokio::test(start_paused = true)]
async fn full_playlist_has_the_low_latency_tags() {
    let o = live_72().await;
    let t0 = Instant::now();
    let r = get(o.playback, PLAYLIST).await;
    assert_eq!(t0.elapsed(), Duration::ZERO, "answered at once");
    assert_playlist(&r, NON_BLOCKING_OK, "non-blocking playlist");
    let text = r.text();

    assert_eq!(tag(&text, "#EXT-X-VERSION:"), Some("6"), "{text}");
    let td: f64 = secs(tag(&text, "#EXT-X-TARGETDURATION:").expect("TD"));
    assert_eq!(td, 2.0);
    let sc = attrs(tag(&text, "#EXT-X-SERVER-CONTROL:").expect("SERVER-CONTROL"));
    assert_eq!(sc["CAN-BLOCK-RELOAD"], "YES", "{sc:?}");
    assert_eq!(sc["PART-HOLD-BACK"], "0.600", "{sc:?}");
    let infs: Vec<_> = text
        .lines()
        .filter(|l| l.starts_with("#EXT-X-PART-INF:"))
        .collect();
    assert_eq!(infs.len(), 1, "one PART-INF: {text}");
    let part_target = secs(&attrs(&infs[0]["#EXT-X-PART-INF:".len()..])["PART-TARGET"]);
    assert_eq!(part_target, 0.2);
    // [HLS §4.4.3.8] and Apple: PART-HOLD-BACK ≥ 3 × PART-TARGET; HOLD-BACK ≥ 3 × TD;
    // CAN-SKIP-UNTIL ≥ 6 × TD.
    assert!(secs(&sc["PART-HOLD-BACK"]) >= 3.0 * part_target - 1e-9);
    assert!(secs(&sc["HOLD-BACK"]) >= 3.0 * td);
    assert!(secs(&sc["CAN-SKIP-UNTIL"]) >= 6.0 * td);
    let msn: u64 = tag(&text, "#EXT-X-MEDIA-SEQUENCE:")
        .expect("MEDIA-SEQUENCE")
        .parse()
        .expect("number");
    assert!(msn >= 1, "media sequence numbers start at 1");
    assert_eq!(msn, 1);
    assert!(!text.contains("#EXT-X-ENDLIST"), "live");
    assert!(!text.contains("#EXT-X-SKIP"), "not a delta");

    // Parts: all of segment 1, then the complete parts of segment 2.
    let ps = parts(&text);
    let uris: Vec<&str> = ps.iter().map(|p| p["URI"].as_str()).collect();
    let mut want: Vec<String> = (0..10).map(|i| format!("part-1.{i}.m4s")).collect();
    want.extend(["part-2.0.m4s".to_string(), "part-2.1.m4s".to_string()]);
    assert_eq!(uris, want, "{text}");
    for p in &ps {
        let d = secs(&p["DURATION"]);
        assert!(d <= part_target && d >= 0.85 * part_target, "{p:?}");
    }
    // INDEPENDENT=YES exactly on parts that start with a key frame (every second).
    let independent: Vec<&str> = ps
        .iter()
        .filter(|p| p.get("INDEPENDENT").is_some_and(|v| v == "YES"))
        .map(|p| p["URI"].as_str())
        .collect();
    assert_eq!(
        independent,
        ["part-1.0.m4s", "part-1.5.m4s", "part-2.0.m4s"],
        "{text}"
    );

    // Order: PDT before each parent's first part; parts before their parent's URI;
    // one PART hint for the next part after the last part; nothing but reports after.
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(lines[at("part-1.0.m4s") - 1].starts_with("#EXT-X-PROGRAM-DATE-TIME:"));
    assert!(lines[at("part-2.0.m4s") - 1].starts_with("#EXT-X-PROGRAM-DATE-TIME:"));
    assert!(at("#EXT-X-MAP:") < at("part-1.0.m4s"));
    assert!(at("part-1.9.m4s") < at("seg-1.m4s") && at("seg-1.m4s") < at("part-2.0.m4s"));
    assert!(lines[at("seg-1.m4s") - 1].starts_with("#EXTINF:"));
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("#EXTINF:")).count(),
        1
    );
    let hints: Vec<_> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:"))
        .collect();
    assert_eq!(hints.len(), 1, "{text}");
    let hint = attrs(hints[0]);
    assert_eq!(hint["TYPE"], "PART");
    assert_eq!(hint["URI"], "part-2.2.m4s");
    assert_eq!(at("#EXT-X-PRELOAD-HINT"), at("part-2.1.m4s") + 1);
    assert!(
        !text.contains("#EXT-X-RENDITION-REPORT"),
        "a single rendition has no other to report"
    );

    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rendition_reports_name_the_other_renditions_live_edge() {
    let o = live_72().await;
    // 13 chunks of 10 AAC frames: segment 1 ends at the first frame at or after 2 s
    // (frame 94); segment 2 holds frames 94..130 = 4 parts of 9 frames, all complete.
    let r = put(o.ingest, "/ingest/live/a1", &audio_body(13)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let a = o.track("live", "a1");
    assert_eq!(a.last_complete_msn(), Some(1));
    let s2 = a.segments.back().expect("segment 2");
    assert_eq!(s2.msn, 2);
    assert_eq!(s2.parts.len(), 4);
    assert!(s2.parts.iter().all(|p| p.complete));

    let v = get(o.playback, PLAYLIST).await;
    let a = get(o.playback, "/live/a1/index.m3u8").await;
    assert_playlist(&v, NON_BLOCKING_OK, "v1");
    assert_playlist(&a, NON_BLOCKING_OK, "a1");
    let (v, a) = (v.text(), a.text());

    let reports = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("#EXT-X-RENDITION-REPORT:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        reports(&v),
        [r#"URI="../a1/index.m3u8",LAST-MSN=2,LAST-PART=3"#],
        "{v}"
    );
    assert_eq!(
        reports(&a),
        [r#"URI="../v1/index.m3u8",LAST-MSN=2,LAST-PART=1"#],
        "{a}"
    );
    // Each report names the other playlist's own last part.
    let last_part = |text: &str| parts(text).last().expect("parts")["URI"].clone();
    assert_eq!(last_part(&a), "part-2.3.m4s");
    assert_eq!(last_part(&v), "part-2.1.m4s");
    assert_eq!(
        tag(&a, "#EXT-X-PRELOAD-HINT:"),
        Some(r#"TYPE=PART,URI="part-2.4.m4s""#)
    );

    // [HLS §6.2.4] SERVER-CONTROL (and the target durations) identical across renditions.
    for prefix in [
        "#EXT-X-SERVER-CONTROL:",
        "#EXT-X-TARGETDURATION:",
        "#EXT-X-PART-INF:",
    ] {
        assert!(tag(&v, prefix).is_some(), "{prefix}");
        assert_eq!(tag(&v, prefix), tag(&a, prefix), "{prefix}");
    }

    o.shutdown().await;
}

// ---------------------------------------------------------------------------------
// Directive errors and blocking failures.

#[tokio::test(start_paused = true)]
async fn bad_directives_are_400_at_once() {
    let o = live_72().await;
    // (query, reason, blocking failure whose Cache-Control is checked)
    for (query, reason, check_cache) in [
        ("_HLS_part=1", "_HLS_part requires _HLS_msn", false),
        (
            "_HLS_part=1&_HLS_skip=YES",
            "_HLS_part requires _HLS_msn",
            false,
        ),
        ("_HLS_msn=-1", "invalid value for _HLS_msn", false),
        ("_HLS_msn=+1", "invalid value for _HLS_msn", false),
        ("_HLS_msn=01", "invalid value for _HLS_msn", false),
        ("_HLS_msn=x", "invalid value for _HLS_msn", false),
        ("_HLS_msn=", "invalid value for _HLS_msn", false),
        (
            "_HLS_msn=2&_HLS_part=x",
            "invalid value for _HLS_part",
            false,
        ),
        (
            "_HLS_msn=2&_HLS_part=01",
            "invalid value for _HLS_part",
            false,
        ),
        ("_HLS_skip=yes", "invalid value for _HLS_skip", false),
        // The newest MSN is 2: 5 is more than two segments beyond it.
        ("_HLS_msn=5", "too far ahead", true),
        ("_HLS_msn=18446744073709551615", "too far ahead", true),
        // Last part 2.1; the Advance Part Limit at 0.2 s is 15 parts (2.16 or 3.6).
        (
            "_HLS_msn=2&_HLS_part=17",
            "too far ahead of the live edge (2.1)",
            true,
        ),
        ("_HLS_msn=3&_HLS_part=7", "too far ahead", true),
        ("_HLS_msn=4&_HLS_part=0", "too far ahead", true),
        (
            "_HLS_msn=5&_HLS_part=0&_HLS_skip=YES",
            "too far ahead",
            true,
        ),
    ] {
        let path = format!("{PLAYLIST}?{query}");
        let t0 = Instant::now();
        let r = get(o.playback, &path).await;
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "{path} refused without holding"
        );
        r.assert_reason(400, reason);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        if check_cache {
            // [HLS B.1] failed blocking playlist request: 4 × TD.
            assert_eq!(r.header("cache-control"), Some(BLOCKING_FAILED), "{path}");
        }
    }
    o.shutdown().await;
}

/// Directive parse errors (400) carry the playlist failure lifetimes of the LL-HLS
/// profile: 4 x TD when the request meant to block (`_HLS_msn` or `_HLS_part`), else 1 x TD.
#[tokio::test(start_paused = true)]
async fn directive_parse_errors_carry_playlist_failure_lifetimes() {
    let o = live_72().await;
    for (query, cache) in [
        ("_HLS_part=1", BLOCKING_FAILED),
        ("_HLS_msn=x", BLOCKING_FAILED),
        ("_HLS_msn=2&_HLS_part=-1", BLOCKING_FAILED),
        ("_HLS_skip=maybe", NON_BLOCKING_FAILED),
    ] {
        let path = format!("{PLAYLIST}?{query}");
        let r = get(o.playback, &path).await;
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.header("cache-control"), Some(cache), "{path}");
    }
    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unsatisfied_blocking_request_is_503_after_the_hold_limit() {
    let o = live_72().await;
    for (query, what) in [
        // The next part.
        ("_HLS_msn=2&_HLS_part=2", "2.2"),
        // Exactly at the Advance Part Limit: held, not refused.
        ("_HLS_msn=3&_HLS_part=6", "3.6"),
        // A whole segment two beyond the newest.
        ("_HLS_msn=4", "4.0"),
        // The open segment as a whole (its parts exist, it is not complete).
        ("_HLS_msn=2", "2.0"),
    ] {
        let path = format!("{PLAYLIST}?{query}");
        let t0 = Instant::now();
        let r = get(o.playback, &path).await;
        assert_eq!(t0.elapsed(), HOLD_LIMIT, "{path} held for exactly 3 × TD");
        r.assert_reason(
            503,
            &format!("playlist of 'v1' with {what} did not become available in time"),
        );
        assert_eq!(r.header("cache-control"), Some(BLOCKING_FAILED), "{path}");
    }

    // Failures that do not block are cached 1 × TD; a blocking one 4 × TD.
    for (path, cache, reason) in [
        (
            "/live/nope/index.m3u8",
            NON_BLOCKING_FAILED,
            "unknown rendition 'nope'",
        ),
        (
            "/live/nope/index.m3u8?_HLS_skip=YES",
            NON_BLOCKING_FAILED,
            "'nope'",
        ),
        (
            "/live/nope/index.m3u8?_HLS_msn=1",
            BLOCKING_FAILED,
            "'nope'",
        ),
        (
            "/nochannel/v1/index.m3u8",
            NON_BLOCKING_FAILED,
            "channel 'nochannel'",
        ),
    ] {
        let t0 = Instant::now();
        let r = get(o.playback, path).await;
        assert_eq!(t0.elapsed(), Duration::ZERO, "{path}");
        r.assert_reason(404, reason);
        assert_eq!(r.header("cache-control"), Some(cache), "{path}");
    }
    o.shutdown().await;
}

// ---------------------------------------------------------------------------------
// Blocking reload.

#[tokio::test(start_paused = true)]
async fn blocking_request_is_answered_when_the_part_lands() {
    let o = live_72().await;
    let ch = o.channel("live");

    // Two frames of part 2.2 arrive; the part is still open.
    let mut ingest = open_upload(&o).await;
    ingest.send_chunks(&video_frames(72..74), 777).await;
    until_frames(&o, 74).await;

    let base = Arc::strong_count(&ch);
    let t0 = Instant::now();
    let held = spawn_get(o.playback, &format!("{PLAYLIST}?_HLS_msn=2&_HLS_part=2"));
    spin_until("the playlist request is held", || {
        Arc::strong_count(&ch) > base
    })
    .await;
    settle(10_000).await;
    assert!(!held.is_finished(), "held while part 2.2 is incomplete");

    // One more frame: still incomplete, still held.
    ingest.send_chunks(&video_frames(74..75), 777).await;
    until_frames(&o, 75).await;
    settle(10_000).await;
    assert!(!held.is_finished(), "held while part 2.2 is incomplete");

    // The part's last three frames complete it and release the request at once.
    ingest.send_chunks(&video_frames(75..78), 777).await;
    spin_until("the held request is answered", || held.is_finished()).await;
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, not by timeout"
    );
    let r = held.await.expect("get task");
    assert_playlist(&r, BLOCKING_OK, "blocking success");
    let text = r.text();
    assert!(text.contains(r#"URI="part-2.2.m4s""#), "{text}");
    assert!(
        text.contains(r#"#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-2.3.m4s""#),
        "{text}"
    );

    // The same playlist without directives: identical body, non-blocking lifetime.
    let plain = get(o.playback, PLAYLIST).await;
    assert_playlist(&plain, NON_BLOCKING_OK, "non-blocking");
    assert_eq!(plain.body, r.body);
    // A blocking request already satisfied is answered at once, 6 × TD.
    let t1 = Instant::now();
    let again = get(o.playback, &format!("{PLAYLIST}?_HLS_msn=2&_HLS_part=2")).await;
    assert_eq!(t1.elapsed(), Duration::ZERO);
    assert_playlist(&again, BLOCKING_OK, "satisfied blocking");
    assert_eq!(again.body, r.body);

    ingest.finish_chunks().await;
    let r = ingest.response(false).await;
    assert_eq!(r.status, 201, "{}", r.text());
    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn part_index_past_a_complete_segment_means_the_next_segment() {
    // Segment 1 complete (the key frame at 2 s arrived), part 2.0 open.
    let o = live(61).await;
    let ch = o.channel("live");
    let mut ingest = open_upload(&o).await;
    let base = Arc::strong_count(&ch);
    let t0 = Instant::now();
    // 1.10 does not exist (1.0–1.9): it means 2.0.
    let held = spawn_get(o.playback, &format!("{PLAYLIST}?_HLS_msn=1&_HLS_part=10"));
    spin_until("held", || Arc::strong_count(&ch) > base).await;
    settle(10_000).await;
    assert!(!held.is_finished(), "waits for 2.0");
    ingest.send_chunks(&video_frames(61..66), 777).await;
    spin_until("answered", || held.is_finished()).await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    let r = held.await.expect("get task");
    assert_playlist(&r, BLOCKING_OK, "1.10 = 2.0");
    assert!(r.text().contains(r#"URI="part-2.0.m4s""#), "{}", r.text());
    ingest.finish_chunks().await;
    assert_eq!(ingest.response(false).await.status, 201);
    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn concurrent_blocking_requests_get_one_rendering() {
    let o = live_72().await;
    let ch = o.channel("live");
    let mut ingest = open_upload(&o).await;
    ingest.send_chunks(&video_frames(72..73), 777).await;
    until_frames(&o, 73).await;

    let base = Arc::strong_count(&ch);
    let t0 = Instant::now();
    let path = format!("{PLAYLIST}?_HLS_msn=2&_HLS_part=2");
    let held: Vec<_> = (0..10).map(|_| spawn_get(o.playback, &path)).collect();
    spin_until("all ten requests are held", || {
        Arc::strong_count(&ch) >= base + 10
    })
    .await;
    settle(1_000).await;
    assert!(held.iter().all(|h| !h.is_finished()));

    ingest.send_chunks(&video_frames(73..78), 777).await;
    spin_until("all ten are answered", || {
        held.iter().all(JoinHandle::is_finished)
    })
    .await;
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, not by timeout"
    );
    let mut bodies = Vec::new();
    for h in held {
        let r = h.await.expect("get task");
        assert_playlist(&r, BLOCKING_OK, "concurrent blocking");
        bodies.push(r.body);
    }
    assert!(
        String::from_utf8_lossy(&bodies[0]).contains("part-2.2.m4s"),
        "contains the part"
    );
    assert!(bodies.iter().all(|b| *b == bodies[0]), "identical bodies");

    ingest.finish_chunks().await;
    assert_eq!(ingest.response(false).await.status, 201);
    o.shutdown().await;
}

// ---------------------------------------------------------------------------------
// Long streams: stale directives and delta updates.

/// 912 frames (30.4 s): segments 1–15 complete, 16 open with parts 16.0 and 16.1.
/// The store keeps 13 complete segments (window 10 + 3), so 1 and 2 are gone; the
/// playlist lists 6–15.
async fn live_30s() -> TestOrigin {
    let o = live(912).await;
    let t = o.track("live", "v1");
    assert_eq!(
        t.segments.front().map(|s| s.msn),
        Some(3),
        "1 and 2 evicted"
    );
    assert_eq!(t.last_complete_msn(), Some(15));
    o
}

#[tokio::test(start_paused = true)]
async fn stale_msn_gets_the_current_playlist_at_once() {
    let o = live_30s().await;
    let full = get(o.playback, PLAYLIST).await;
    assert_playlist(&full, NON_BLOCKING_OK, "full");
    assert_eq!(tag(&full.text(), "#EXT-X-MEDIA-SEQUENCE:"), Some("6"));

    for query in [
        // Gone from the store.
        "_HLS_msn=1",
        "_HLS_msn=1&_HLS_part=0",
        "_HLS_msn=2&_HLS_part=9",
        // Stored but no longer listed.
        "_HLS_msn=4",
        "_HLS_msn=5&_HLS_part=3",
    ] {
        let path = format!("{PLAYLIST}?{query}");
        let t0 = Instant::now();
        let r = get(o.playback, &path).await;
        assert_eq!(t0.elapsed(), Duration::ZERO, "{path} not held");
        assert_playlist(&r, BLOCKING_OK, &path);
        assert_eq!(r.body, full.body, "{path}: the entire current playlist");
    }
    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn skip_yes_returns_a_delta_update() {
    let o = live_30s().await;
    let full = get(o.playback, PLAYLIST).await.text();
    for query in ["_HLS_skip=YES", "_HLS_msn=16&_HLS_part=1&_HLS_skip=YES"] {
        let path = format!("{PLAYLIST}?{query}");
        let r = get(o.playback, &path).await;
        let cache = if query.contains("_HLS_msn") {
            BLOCKING_OK
        } else {
            NON_BLOCKING_OK
        };
        assert_playlist(&r, cache, &path);
        let delta = r.text();
        // [HLS §8] EXT-X-SKIP needs version 9.
        assert_eq!(tag(&delta, "#EXT-X-VERSION:"), Some("9"), "{delta}");
        // Listed 6–15 (ending at 30 s); the Skip Boundary is 6 × TD = 12 s, so the
        // segments ending at or before 18 s (6–9) are skipped.
        assert_eq!(
            tag(&delta, "#EXT-X-SKIP:"),
            Some("SKIPPED-SEGMENTS=4"),
            "{delta}"
        );
        // MEDIA-SEQUENCE still names the first (skipped) segment.
        assert_eq!(tag(&delta, "#EXT-X-MEDIA-SEQUENCE:"), Some("6"));
        for prefix in [
            "#EXT-X-TARGETDURATION:",
            "#EXT-X-SERVER-CONTROL:",
            "#EXT-X-PART-INF:",
            "#EXT-X-DISCONTINUITY-SEQUENCE:",
        ] {
            assert_eq!(tag(&delta, prefix), tag(&full, prefix), "{prefix}");
        }
        for msn in 6..10 {
            assert!(!delta.contains(&format!("seg-{msn}.m4s")), "{msn} skipped");
        }
        // Everything after the skipped segments is exactly what the full playlist has.
        let (_, kept_full) = full.split_once("seg-9.m4s\n").expect("seg-9 listed");
        let map = delta
            .lines()
            .find(|l| l.starts_with("#EXT-X-MAP:URI=\"init-"))
            .expect("MAP");
        let (_, kept_delta) = delta.split_once(&format!("{map}\n")).expect("MAP");
        assert!(kept_delta.starts_with("#EXT-X-PROGRAM-DATE-TIME:"));
        assert_eq!(kept_delta, kept_full, "delta keeps every later tag");
        assert!(kept_delta.contains("seg-10.m4s\n"));
    }
    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn skip_with_nothing_to_skip_is_the_full_playlist() {
    let o = live_72().await;
    let full = get(o.playback, PLAYLIST).await;
    for query in ["_HLS_skip=YES", "_HLS_skip=v2"] {
        let path = format!("{PLAYLIST}?{query}");
        let r = get(o.playback, &path).await;
        assert_playlist(&r, NON_BLOCKING_OK, &path);
        let text = r.text();
        assert_eq!(tag(&text, "#EXT-X-VERSION:"), Some("6"), "{text}");
        assert!(!text.contains("#EXT-X-SKIP"), "{text}");
        assert_eq!(r.body, full.body, "{path} is the full playlist");
    }
    o.shutdown().await;
}

// ---------------------------------------------------------------------------------
// Transfer: gzip, preload-hinted parts, HTTP/2.

#[tokio::test(start_paused = true)]
async fn playlists_are_gzipped_when_accepted() {
    let o = live_72().await;
    for path in [
        PLAYLIST.to_string(),
        format!("{PLAYLIST}?_HLS_msn=2&_HLS_part=1"),
    ] {
        let plain = get(o.playback, &path).await;
        assert_eq!(plain.status, 200, "{path}");
        assert_eq!(plain.header("content-encoding"), None, "{path}");
        assert_eq!(plain.header("vary"), Some("Accept-Encoding"), "{path}");
        assert!(plain.text().starts_with("#EXTM3U"));

        for accept in ["gzip", "br, gzip;q=0.5", "GZIP", "*"] {
            let gz = get_with(o.playback, &path, &[("Accept-Encoding", accept)]).await;
            assert_eq!(gz.status, 200, "{path} {accept}");
            assert_eq!(
                gz.header("content-encoding"),
                Some("gzip"),
                "{path} {accept}"
            );
            assert_eq!(
                gz.header("vary"),
                Some("Accept-Encoding"),
                "{path} {accept}"
            );
            assert_eq!(
                gz.header("cache-control"),
                plain.header("cache-control"),
                "{path}"
            );
            assert_ne!(gz.body, plain.body, "compressed");
            assert_eq!(gunzip(&gz.body), plain.body, "{path} {accept}");
        }
        for accept in ["identity", "gzip;q=0", "br"] {
            let r = get_with(o.playback, &path, &[("Accept-Encoding", accept)]).await;
            assert_eq!(r.header("content-encoding"), None, "{path} {accept}");
            assert_eq!(r.body, plain.body, "{path} {accept}");
        }
    }
    o.shutdown().await;
}

/// Reads what `s` has until the peer closes, spinning (never idling the runtime).
async fn spin_read_to_end(s: &TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut tmp = [0u8; 16 * 1024];
    for _ in 0..SPIN_LIMIT {
        match s.try_read(&mut tmp) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&tmp[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => tokio::task::yield_now().await,
            Err(e) => panic!("read: {e}"),
        }
    }
    panic!("response never ended; got {} bytes", out.len());
}

#[tokio::test(start_paused = true)]
async fn preload_hinted_part_is_held_then_served_whole() {
    let o = live_72().await;
    let ch = o.channel("live");
    let text = get(o.playback, PLAYLIST).await.text();
    let hint = attrs(tag(&text, "#EXT-X-PRELOAD-HINT:").expect("hint"));
    assert_eq!(hint["URI"], "part-2.2.m4s");
    let path = format!("/live/v1/{}", hint["URI"]);

    // Half of the hinted part arrives.
    let mut ingest = open_upload(&o).await;
    ingest.send_chunks(&video_frames(72..75), 777).await;
    until_frames(&o, 75).await;

    // Ask for it on a raw socket, so that any early byte would be seen.
    let base = Arc::strong_count(&ch);
    let t0 = Instant::now();
    let mut s = TcpStream::connect(o.playback).await.expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        o.playback
    );
    s.write_all(req.as_bytes()).await.expect("write");
    spin_until("the part request is held", || Arc::strong_count(&ch) > base).await;
    settle(10_000).await;
    let mut probe = [0u8; 64];
    match s.try_read(&mut probe) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("no byte of an incomplete part may be sent: {other:?}"),
    }

    // The rest of the part lands: the whole part is sent.
    ingest.send_chunks(&video_frames(75..78), 777).await;
    let raw = spin_read_to_end(&s).await;
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, not by timeout"
    );
    let split_at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split_at]).to_string();
    let body = &raw[split_at + 4..];
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let len = format!("content-length: {}", body.len());
    assert!(head.to_ascii_lowercase().contains(&len), "{head}");

    let later = get(o.playback, &path).await;
    assert_eq!(later.status, 200);
    assert_eq!(later.body, body, "held answer is the whole part");
    let init = get(o.playback, "/live/v1/init.mp4").await.body;
    let part = decode(&init, body);
    let dts: Vec<u64> = part.samples.iter().map(|s| s.0).collect();
    let want: Vec<u64> = (72..78).map(|i| i * FRAME_TICKS).collect();
    assert_eq!(dts, want, "part 2.2 is frames 72 to 77");
    assert_eq!(part.payload, ingest_payload(VIDEO_EVERY_FRAME, 12..18));

    ingest.finish_chunks().await;
    assert_eq!(ingest.response(false).await.status, 201);
    o.shutdown().await;
}

/// curl's `-V` lists HTTP2 among its features when it can speak h2c.
fn curl_with_http2() -> Result<(), String> {
    let out = std::process::Command::new("curl")
        .arg("-V")
        .output()
        .map_err(|e| format!("curl not runnable: {e}"))?;
    let v = String::from_utf8_lossy(&out.stdout);
    let features = v
        .lines()
        .find_map(|l| l.strip_prefix("Features:"))
        .unwrap_or("");
    if features.split_whitespace().any(|f| f == "HTTP2") {
        Ok(())
    } else {
        Err(format!("curl lacks HTTP2: {features}"))
    }
}

#[tokio::test]
async fn playlists_are_served_over_h2c_prior_knowledge() {
    if let Err(why) = curl_with_http2() {
        eprintln!("SKIPPED playlists_are_served_over_h2c_prior_knowledge: {why}");
        return;
    }
    let o = live_72().await;
    let url = format!("http://{}{PLAYLIST}", o.playback);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["--http2-prior-knowledge", "-sS", "-i", "--max-time", "20"])
            .arg(&url)
            .output()
    })
    .await
    .expect("curl task")
    .expect("curl runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("HTTP/2 200"), "{stdout}");
    let lower = stdout.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/vnd.apple.mpegurl"),
        "{stdout}"
    );
    let body = stdout.split_once("\r\n\r\n").expect("head and body").1;
    let h1 = get(o.playback, PLAYLIST).await;
    assert_eq!(
        body.as_bytes(),
        h1.body,
        "same playlist over h2c and HTTP/1.1"
    );
    o.shutdown().await;
}

/// The start-up hold the edge asks for with `hold=startup` (for a master or MPD) is
/// the origin's own: while a rendition has no complete segment, the master, the MPD and
/// the timeline with `hold=startup` are held, for at most 3 × TD, then answered from
/// what exists; once every rendition has a segment they are answered at once, the
/// master with the audio group. Without the flag the timeline is answered at once.
#[tokio::test(start_paused = true)]
async fn timeline_startup_hold_is_the_master_hold() {
    let o = live_72().await;
    let ch = o.channel("live");
    // An audio rendition whose init arrived, and no media yet.
    let fx = split(AUDIO_AAC);
    let mut audio = Conn::open(o.ingest).await;
    audio
        .send_head(
            "PUT",
            "/ingest/live/a1",
            &[("Transfer-Encoding", "chunked")],
        )
        .await;
    audio.send_chunks(&fx.init, 777).await;
    spin_until("a1 exists", || ch.snapshot().track("a1").is_some()).await;

    let t0 = Instant::now();
    let r = get(o.playback, "/live/timeline.json").await;
    assert_eq!(t0.elapsed(), Duration::ZERO, "no hold without the flag");
    assert_eq!(r.status, 200);
    for path in [
        "/live/master.m3u8",
        "/live/manifest.mpd",
        "/live/timeline.json?hold=startup",
    ] {
        let t0 = Instant::now();
        let r = get(o.playback, path).await;
        assert_eq!(t0.elapsed(), HOLD_LIMIT, "{path} held for exactly 3 × TD");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("cache-control"), Some(NON_BLOCKING_OK), "{path}");
    }
    let master = get(o.playback, "/live/master.m3u8").await.text();
    assert!(!master.contains("TYPE=AUDIO"), "{master}");

    // Held while a1 has no segment; released by its first one, at once.
    let t0 = Instant::now();
    let held = [
        spawn_get(o.playback, "/live/master.m3u8"),
        spawn_get(o.playback, "/live/timeline.json?hold=startup"),
    ];
    spin_until("both requests are held", || ch.waiting() >= 2).await;
    settle(1000).await;
    assert!(held.iter().all(|h| !h.is_finished()));
    // 11 chunks of 10 AAC frames: the one starting at 2.13 s completes segment 1.
    let mut media = Vec::new();
    for k in 0..11u64 {
        media.extend(with_decode_time(&fx.chunks[0], k * 10240));
    }
    audio.send_chunks(&media, 777).await;
    spin_until("answered", || held.iter().all(|h| h.is_finished())).await;
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, not by timeout"
    );
    let [master, timeline] = held;
    let master = master.await.expect("task").text();
    assert!(master.contains("TYPE=AUDIO,GROUP-ID=\"audio\""), "{master}");
    let t = timeline.await.expect("task");
    assert_eq!(t.header("cache-control"), Some(NON_BLOCKING_OK));
    let snap = timeline::wire::decode(&t.body).expect("wire snapshot");
    assert!(
        manifest::policy::ready_to_render(
            &snap,
            manifest::policy::Resource::Master,
            &Default::default()
        ),
        "the snapshot the master is rendered from"
    );
    assert_eq!(
        manifest::hls::multivariant_playlist(&snap).expect("renders"),
        master
    );
    audio.finish_chunks().await;
    assert_eq!(audio.response(false).await.status, 201);
    o.shutdown().await;
}

/// The timeline API the edge renders from: the snapshot of one rendition decodes and
/// renders to exactly the playlist the origin serves (full and delta), it blocks on
/// directives like the playlist, and refuses bad directives with 400.
#[tokio::test(start_paused = true)]
async fn timeline_api_renders_the_same_playlist_and_blocks() {
    let o = live(900).await;
    for (skip, query) in [
        (manifest::hls::Skip::No, ""),
        (manifest::hls::Skip::Yes, "?_HLS_skip=YES"),
    ] {
        let t = get(o.playback, "/live/timeline.json?rendition=v1").await;
        assert_eq!(t.status, 200, "{}", t.text());
        assert_eq!(t.header("content-type"), Some(timeline::wire::CONTENT_TYPE));
        let snap = timeline::wire::decode(&t.body).expect("wire snapshot");
        let rendered = manifest::hls::media_playlist(&snap, "v1", skip).expect("renders");
        let served = get(o.playback, &format!("{PLAYLIST}{query}")).await;
        assert_eq!(
            rendered,
            served.text(),
            "edge rendering equals origin rendering"
        );
    }
    // Blocking: held until the next part exists, then the snapshot contains it.
    let held = spawn_get(
        o.playback,
        "/live/timeline.json?rendition=v1&_HLS_msn=16&_HLS_part=0",
    );
    let ch = o.channel("live");
    spin_until("the timeline request is held", || ch.waiting() > 0).await;
    settle(1000).await;
    assert!(!held.is_finished());
    let r = put(o.ingest, "/ingest/live/v1", &video_frames(900..906)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = held.await.expect("task");
    assert_eq!(t.status, 200);
    assert_eq!(t.header("cache-control"), Some(BLOCKING_OK));
    let snap = timeline::wire::decode(&t.body).expect("wire snapshot");
    assert_eq!(
        manifest::hls::last_part(snap.track("v1").expect("v1")),
        Some((16, 0))
    );
    // Errors as for playlists.
    let r = get(o.playback, "/live/timeline.json?rendition=v1&_HLS_part=1").await;
    r.assert_reason(400, "_HLS_part requires _HLS_msn");
    assert_eq!(r.header("cache-control"), Some(BLOCKING_FAILED));
    get(o.playback, "/live/timeline.json?rendition=nope")
        .await
        .assert_reason(404, "unknown rendition");
    o.shutdown().await;
}
