//! Playback response headers: CORS, content types, the time source.

mod common;

use origin::Config;

use common::{AUDIO_AAC, Body, Conn, Response, TestOrigin, VIDEO_EVERY_FRAME, decode, get, put};

/// Asserts the CORS headers every playback response carries.
fn assert_cors(r: &Response, path: &str) {
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("*"),
        "{path}: {:?}",
        r.headers
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("Age, Date"),
        "{path}: {:?}",
        r.headers
    );
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_iso8601_utc_millis(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
    b.len() == 24
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && b[23] == b'Z'
}

/// An origin with channel `live`, track `v1`: segment 1 complete (the stream was sent
/// twice, as by an encoder that restarted), segment 2 in progress.
async fn live_with_a_complete_segment() -> TestOrigin {
    live_with_a_complete_segment_config(Config::default()).await
}

/// [`live_with_a_complete_segment`] with `config`.
async fn live_with_a_complete_segment_config(config: Config) -> TestOrigin {
    let o = TestOrigin::with_config(config).await;
    for _ in 0..2 {
        let r = put(o.ingest, "/ingest/live/v1", VIDEO_EVERY_FRAME).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let t = o.track("live", "v1");
    assert_eq!(t.last_complete_msn(), Some(1));
    o
}

#[tokio::test]
async fn content_types_and_cors_headers() {
    let o = live_with_a_complete_segment().await;

    for (path, content_type, starts) in [
        (
            "/live/master.m3u8",
            "application/vnd.apple.mpegurl",
            &b"#EXTM3U\n"[..],
        ),
        (
            "/live/v1/index.m3u8",
            "application/vnd.apple.mpegurl",
            b"#EXTM3U\n",
        ),
        ("/live/manifest.mpd", "application/dash+xml", b"<?xml"),
        ("/live/v1/init.mp4", "video/mp4", b"\0\0\0\x1cftyp"),
        ("/live/v1/seg-1.m4s", "video/mp4", b""),
        ("/live/v1/part-1.0.m4s", "video/mp4", b""),
        ("/live/v1/part-2.0.m4s", "video/mp4", b""),
    ] {
        let r = get(o.playback, path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert!(r.body.starts_with(starts), "{path}: {:?}", r.text());
        assert!(r.header("date").is_some(), "{path} has a Date header");
        assert!(r.header("cache-control").is_some(), "{path}");
        assert_cors(&r, path);
    }

    // The MPD's UTCTiming names the time source relative to the MPD (no public URL
    // configured), never the client's Host: a cached MPD must not carry one client's
    // header to the next, nor `http://` behind HTTPS.
    let mpd = get(o.playback, "/live/manifest.mpd").await.text();
    assert!(mpd.contains("<MPD"), "{mpd}");
    assert!(
        mpd.contains(r#"schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="../time""#),
        "{mpd}"
    );
    let mut c = Conn::open(o.playback).await;
    let _ = c
        .send(b"GET /live/manifest.mpd HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        .await;
    let injected = c.response(false).await.text();
    assert!(!injected.contains("evil.example"), "{injected}");
    assert!(injected.contains(r#"value="../time""#), "{injected}");

    // Media is whole CMAF: segment 1 decodes to all 30 frames.
    let init = get(o.playback, "/live/v1/init.mp4").await.body;
    let seg = get(o.playback, "/live/v1/seg-1.m4s").await.body;
    assert_eq!(decode(&init, &seg).samples.len(), 30);

    // Errors carry the CORS headers too (players must read the status cross-origin).
    let r = get(o.playback, "/nochannel/master.m3u8").await;
    r.assert_reason(404, "channel 'nochannel'");
    assert_cors(&r, "404");
    let r = get(o.playback, "/live/v1/other.txt").await;
    r.assert_reason(404, "not found");
    assert_cors(&r, "404");
    let r = common::send(o.playback, "POST", "/live/master.m3u8", Body::Fixed(b"x")).await;
    r.assert_reason(405, "method POST not allowed");
    assert_cors(&r, "405");

    // CORS preflight.
    let r = common::send(o.playback, "OPTIONS", "/live/master.m3u8", Body::None).await;
    assert_eq!(r.status, 204);
    assert_cors(&r, "OPTIONS");
    let methods = r.header("access-control-allow-methods").unwrap_or("");
    assert!(
        methods.contains("GET") && methods.contains("HEAD"),
        "{methods}"
    );

    // HEAD: same headers, no body.
    let mut conn = Conn::open(o.playback).await;
    let r = conn.request("HEAD", "/live/v1/init.mp4", Body::None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    assert_cors(&r, "HEAD");
    assert!(r.body.is_empty());
    let len = init.len().to_string();
    assert_eq!(r.header("content-length"), Some(len.as_str()));
    // The connection is still in sync after a HEAD.
    let r = conn.request("GET", "/live/v1/init.mp4", Body::None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, init);

    o.shutdown().await;
}

/// With `--public-url`, the MPD names the time source there (HTTPS, behind a CDN), and
/// still never the client's Host.
#[tokio::test]
async fn utc_timing_uses_the_public_url() {
    let o = live_with_a_complete_segment_config(Config {
        public_url: Some("https://cdn.example/live".into()),
        ..Config::default()
    })
    .await;
    let mut c = Conn::open(o.playback).await;
    let _ = c
        .send(b"GET /live/manifest.mpd HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        .await;
    let r = c.response(false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mpd = r.text();
    assert!(
        mpd.contains(
            r#"schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="https://cdn.example/live/time""#
        ),
        "{mpd}"
    );
    assert!(!mpd.contains("evil.example"), "{mpd}");
}

#[tokio::test]
async fn audio_media_is_audio_mp4() {
    let o = TestOrigin::start().await;
    let r = put(o.ingest, "/ingest/radio/a1.cmfa", AUDIO_AAC).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = o.track("radio", "a1");
    let seg = t.segments.front().expect("a segment");
    assert!(seg.parts.first().is_some_and(|p| p.complete));

    let r = get(o.playback, "/radio/a1/init.mp4").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("audio/mp4"));
    assert_cors(&r, "audio init");
    let init = r.body;

    let path = format!("/radio/a1/part-{}.0.m4s", seg.msn);
    let r = get(o.playback, &path).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("audio/mp4"));
    assert!(!decode(&init, &r.body).samples.is_empty());

    o.shutdown().await;
}

#[tokio::test]
async fn time_source_is_iso8601_utc() {
    let o = TestOrigin::start().await;
    let before = timeline::time::format_iso8601_micros(origin::clock::now_us());
    let r = get(o.playback, "/time").await;
    let after = timeline::time::format_iso8601_micros(origin::clock::now_us());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_cors(&r, "/time");
    let t = r.text();
    assert!(is_iso8601_utc_millis(&t), "{t:?}");
    assert!(t.ends_with('Z'));
    // Fixed-width ISO 8601 sorts like time.
    assert!(before <= t && t <= after, "{before} <= {t} <= {after}");

    // `/` lists channels (none yet) and is plain text.
    let r = get(o.playback, "/").await;
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("weir"));
    assert_cors(&r, "/");

    o.shutdown().await;
}

/// `/metrics` reports each channel's held bytes, its waiting requests (a held blocking
/// reload is counted while it waits), and per rendition the segments and newest MSN;
/// `/channels.json` lists the channel with its entry points.
#[tokio::test(start_paused = true)]
async fn metrics_and_channel_list() {
    let o = TestOrigin::start().await;
    let r = put(o.ingest, "/ingest/live/v1", VIDEO_EVERY_FRAME).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let m = get(o.playback, "/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text; version=1.0.0"))
    );
    let text = m.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    // Per rendition: the ingest counters.
    let value = |text: &str, series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} in {text}"))
    };
    let labels = "{channel=\"live\",rendition=\"v1\"}";
    assert!(value(&text, &format!("weir_ingest_bytes_total{labels}")) > 0.0);
    // Published: exactly what the snapshot holds complete (nothing was evicted yet).
    let snap = o.channel("live").snapshot();
    let t = snap.track("v1").expect("track");
    let complete_parts = t
        .segments
        .iter()
        .flat_map(|s| &s.parts)
        .filter(|p| p.complete)
        .count();
    assert!(complete_parts > 0);
    assert_eq!(
        value(&text, &format!("weir_segments_published_total{labels}")),
        t.segments.iter().filter(|s| s.complete).count() as f64
    );
    assert_eq!(
        value(&text, &format!("weir_parts_published_total{labels}")),
        complete_parts as f64
    );
    assert!(
        value(
            &text,
            &format!("weir_ingest_chunk_gap_seconds_count{labels}")
        ) >= 0.0
    );
    assert!(
        text.contains("weir_waiting_requests{channel=\"live\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("weir_segments{channel=\"live\",rendition=\"v1\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("weir_last_msn{channel=\"live\",rendition=\"v1\"} 1"),
        "{text}"
    );
    let held = text
        .lines()
        .find_map(|l| l.strip_prefix("weir_held_bytes{channel=\"live\"} "))
        .and_then(|v| v.parse::<usize>().ok())
        .expect("held bytes");
    assert!(held > VIDEO_EVERY_FRAME.len() / 2, "{held}");

    // A request held for a segment that has not begun yet is counted while it waits.
    let ch = o.channel("live");
    let playback = o.playback;
    let held_req = tokio::spawn(async move { get(playback, "/live/v1/seg-2.m4s").await });
    while ch.waiting() == 0 {
        tokio::task::yield_now().await;
    }
    let text = get(o.playback, "/metrics").await.text();
    assert!(
        text.contains("weir_waiting_requests{channel=\"live\"} 1"),
        "{text}"
    );
    assert_eq!(held_req.await.expect("task").status, 503);
    // The held request: one hold, one 503 by its reason; bytes counted by protocol.
    let seg = get(o.playback, "/live/v1/part-1.0.m4s").await;
    assert_eq!(seg.status, 200);
    let text = get(o.playback, "/metrics").await.text();
    assert_eq!(
        value(
            &text,
            "weir_hold_seconds_count{channel=\"live\",kind=\"media\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "weir_responses_total{channel=\"live\",protocol=\"hls\",status=\"503\",reason=\"hold_timeout\"}"
        ),
        1.0
    );
    assert!(
        value(
            &text,
            "weir_sent_bytes_total{channel=\"live\",protocol=\"hls\"}"
        ) >= seg.body.len() as f64
    );

    let list = get(o.playback, "/channels.json").await;
    assert_eq!(list.status, 200);
    let v: serde_json::Value = serde_json::from_str(&list.text()).expect("json");
    assert_eq!(v["channels"][0]["name"], "live");
    assert_eq!(v["channels"][0]["hls"], "/live/master.m3u8");
    assert_eq!(v["channels"][0]["dash"], "/live/manifest.mpd");
    o.shutdown().await;
}

/// `[channels.NAME]` target and part durations: each channel is cut and announced on
/// its own.
#[tokio::test]
async fn channels_take_their_own_target_and_part_durations() {
    let mut config = Config::default();
    config.channels.insert(
        "long".into(),
        origin::config::ChannelSettings {
            target_duration_ms: Some(4000),
            part_target_ms: Some(500),
            ..Default::default()
        },
    );
    let o = TestOrigin::with_config(config).await;
    // 12 s of 30 fps video with a key frame every second, to both channels.
    let mut body = common::split(VIDEO_EVERY_FRAME).init;
    for n in 0..360u64 {
        body.extend(common::synthetic_chunk(
            n as u32 + 1,
            n * 512,
            1,
            |_| n.is_multiple_of(30),
            100,
            0x42,
        ));
    }
    for ch in ["live", "long"] {
        let r = put(o.ingest, &format!("/ingest/{ch}/v1"), &body).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    for (ch, target, part) in [("live", 2u64, "0.200"), ("long", 4, "0.500")] {
        let text = get(o.playback, &format!("/{ch}/v1/index.m3u8"))
            .await
            .text();
        assert!(
            text.contains(&format!("#EXT-X-TARGETDURATION:{target}\n")),
            "{ch}: {text}"
        );
        assert!(
            text.contains(&format!("#EXT-X-PART-INF:PART-TARGET={part}")),
            "{ch}: {text}"
        );
        let snap = o.channel(ch).snapshot();
        let t = snap.track("v1").expect("track");
        let seconds = target * 15_360;
        assert!(
            t.segments
                .iter()
                .filter(|s| s.complete)
                .all(|s| s.duration == seconds),
            "{ch}: segments of {target} s"
        );
    }
    o.shutdown().await;
}
