//! Requests for media that does not exist yet: held until it arrives, 503 after three
//! target durations, 404 at once when it never can arrive.
//!
//! All tests run on tokio's paused clock with real loopback sockets. The runtime
//! auto-advances the clock to the next timer whenever it goes idle, so:
//! - a request expected to time out is simply awaited (the only timer is the hold's);
//! - a request expected to be *satisfied* must never leave the runtime idle while its
//!   hold timer is pending, or the clock would jump past the hold limit at the first
//!   wait for socket I/O. Those waits spin on `yield_now` (which polls the I/O driver
//!   without advancing the clock) and observe the server through its state instead.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    Body, Conn, FRAME_TICKS, TestOrigin, VIDEO_EVERY_FRAME, decode, get, ingest_payload, put, split,
};
use common::{spawn_get, spin_until};
use tokio::time::Instant;

/// Three target durations at the default 2 s target.
const HOLD_LIMIT: Duration = Duration::from_secs(6);

/// An origin holding all of `VIDEO_EVERY_FRAME` as track `live/v1`: segment 1 in
/// progress (no second key frame), parts 1.0 to 1.4 complete.
async fn with_one_upload() -> TestOrigin {
    let o = TestOrigin::start().await;
    let r = put(o.ingest, "/ingest/live/v1", VIDEO_EVERY_FRAME).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = o.track("live", "v1");
    assert_eq!(t.segments.len(), 1);
    assert_eq!(t.segments[0].msn, 1);
    assert!(!t.segments[0].complete);
    assert_eq!(t.segments[0].parts.len(), 5);
    o
}

#[tokio::test(start_paused = true)]
async fn media_that_never_arrives_is_503_after_the_hold_limit() {
    let o = with_one_upload().await;
    let newest = o.track("live", "v1").segments.back().expect("segment").msn;

    // The segment after the newest, a part of it, and the next part of the segment in
    // progress: all plausible, all held, none ever arrives.
    let next = newest + 1;
    for (path, what) in [
        (
            format!("/live/v1/seg-{next}.m4s"),
            format!("segment {next} of 'v1'"),
        ),
        (
            format!("/live/v1/part-{next}.0.m4s"),
            format!("part {next}.0 of 'v1'"),
        ),
        (
            format!("/live/v1/part-{newest}.5.m4s"),
            format!("part {newest}.5 of 'v1'"),
        ),
        // The furthest segment still worth holding for.
        (
            format!("/live/v1/seg-{}.m4s", newest + 2),
            format!("segment {} of 'v1'", newest + 2),
        ),
    ] {
        let t0 = Instant::now();
        let r = get(o.playback, &path).await;
        let waited = t0.elapsed();
        let reason = r.assert_reason(503, "did not become available in time");
        assert!(reason.starts_with(&what), "{reason} names {what}");
        assert!(
            waited >= HOLD_LIMIT && waited < HOLD_LIMIT + Duration::from_secs(1),
            "{path} held for {waited:?}, expected the 6 s hold limit"
        );
    }

    // The segment in progress is answered at once and streamed; when nothing more
    // comes within the hold limit its body ends with an error, never a clean end.
    let t0 = Instant::now();
    let mut c = Conn::open(o.playback).await;
    c.send_head("GET", &format!("/live/v1/seg-{newest}.m4s"), &[])
        .await;
    let (status, headers) = c.response_head().await;
    assert_eq!((status, t0.elapsed()), (200, Duration::ZERO));
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v == "chunked"),
        "{headers:?}"
    );
    let mut got = Vec::new();
    let end = loop {
        match c.next_chunk().await {
            Some(Ok(data)) => got.extend(data),
            other => break other,
        }
    };
    assert_eq!(end, Some(Err(())), "the body ends with an error");
    assert_eq!(
        got,
        o.channel("live")
            .object("v1", newest)
            .expect("held")
            .chunks()
            .concat()
    );
    let waited = t0.elapsed();
    assert!(
        waited >= HOLD_LIMIT && waited < HOLD_LIMIT + Duration::from_secs(1),
        "streamed for {waited:?}, expected the 6 s hold limit"
    );

    // Playlists wait for a complete segment just as long, then say why not.
    for (path, reason) in [
        (
            "/live/v1/index.m3u8",
            "first segment of 'v1' did not become available in time",
        ),
        ("/live/master.m3u8", "no complete segment yet"),
        ("/live/manifest.mpd", "no complete segment yet"),
    ] {
        let t0 = Instant::now();
        let r = get(o.playback, path).await;
        r.assert_reason(503, reason);
        assert!(t0.elapsed() >= HOLD_LIMIT, "{path} was held");
    }

    // What can never arrive is refused at once, without holding.
    let far = newest + 50;
    for (path, status, needle) in [
        (
            format!("/live/v1/seg-{}.m4s", newest + 3),
            404,
            "too far ahead; newest is 1".to_string(),
        ),
        (
            format!("/live/v1/seg-{far}.m4s"),
            404,
            "too far ahead; newest is 1".to_string(),
        ),
        (
            format!("/live/v1/part-{far}.0.m4s"),
            404,
            "too far ahead".to_string(),
        ),
        (
            "/live/v1/seg-0.m4s".to_string(),
            404,
            "expired; oldest is 1".to_string(),
        ),
        (
            "/nochannel/master.m3u8".to_string(),
            404,
            "channel 'nochannel'".to_string(),
        ),
        (
            "/nochannel/v1/seg-1.m4s".to_string(),
            404,
            "channel 'nochannel'".to_string(),
        ),
        (
            "/live/nope/seg-1.m4s".to_string(),
            404,
            "track 'nope'".to_string(),
        ),
        (
            "/live/nope/index.m3u8".to_string(),
            404,
            "unknown rendition 'nope'".to_string(),
        ),
        (
            "/live/v1/part-1.m4s".to_string(),
            404,
            "not found".to_string(),
        ),
    ] {
        let t0 = Instant::now();
        let r = get(o.playback, &path).await;
        r.assert_reason(status, &needle);
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "{path} answered without holding"
        );
    }

    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn held_part_is_answered_when_its_media_arrives() {
    let o = TestOrigin::start().await;
    let fx = split(VIDEO_EVERY_FRAME);
    let ch = o.channel("live");

    // One long chunked upload, of which only the init and 15 frames are sent for now:
    // parts 1.0 and 1.1 complete (6 frames each), part 1.2 has 3 of its 6 frames.
    let mut ingest = Conn::open(o.ingest).await;
    ingest
        .send_head(
            "PUT",
            "/ingest/live/v1",
            &[("Transfer-Encoding", "chunked")],
        )
        .await;
    let first: Vec<u8> = [fx.init.clone(), fx.chunks[..15].concat()].concat();
    ingest.send_chunks(&first, 777).await;
    o.wait_for("live", |s| {
        s.track("v1")
            .and_then(|t| t.segments.back())
            .is_some_and(|g| g.duration == 15 * FRAME_TICKS)
    })
    .await;
    let seg = o.track("live", "v1").segments[0].clone();
    assert_eq!(seg.parts.len(), 3);
    assert!(seg.parts[1].complete && !seg.parts[2].complete);

    // Earlier parts are served at once.
    let r = get(o.playback, "/live/v1/part-1.1.m4s").await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Ask for the part in progress. The handler holds a clone of the channel while it
    // waits, which is how the test knows the request is being held.
    let base = Arc::strong_count(&ch);
    let t0 = Instant::now();
    let held = spawn_get(o.playback, "/live/v1/part-1.2.m4s");
    spin_until("the part request is held", || Arc::strong_count(&ch) > base).await;
    assert!(!held.is_finished(), "an incomplete part is not answered");

    // The rest of the upload completes the part and releases the request.
    ingest.send_chunks(&fx.chunks[15..].concat(), 777).await;
    spin_until("the held request is answered", || held.is_finished()).await;
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, not by timeout"
    );
    let r = held.await.expect("get task");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    let init = get(o.playback, "/live/v1/init.mp4").await.body;
    let part = decode(&init, &r.body);
    let dts: Vec<u64> = part.samples.iter().map(|s| s.0).collect();
    let want: Vec<u64> = (12..18).map(|i| i * FRAME_TICKS).collect();
    assert_eq!(dts, want, "part 1.2 is frames 12 to 17");
    assert_eq!(part.payload, ingest_payload(VIDEO_EVERY_FRAME, 12..18));
    // Served again from the store: the same bytes.
    let again = get(o.playback, "/live/v1/part-1.2.m4s").await;
    assert_eq!(again.body, r.body);

    ingest.finish_chunks().await;
    let r = ingest.response(false).await;
    assert_eq!(r.status, 201, "{}", r.text());

    o.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn held_segment_is_answered_when_the_encoder_restarts() {
    let o = with_one_upload().await;
    let ch = o.channel("live");

    // Segment 1 is in progress; it ends only when a later key frame starts segment 2.
    // Its request is answered at once and streamed: it waits for the rest.
    let g = ch.object("v1", 1).expect("segment 1 in progress");
    let t0 = Instant::now();
    let held = spawn_get(o.playback, "/live/v1/seg-1.m4s");
    // The same segment as DASH and as HESP's continuation address it (Period 0).
    let dash = spawn_get(o.playback, "/live/v1/p0/seg-1.m4s");
    let in_period = spawn_get(o.playback, "/live/v1/p0/hesp-seg-1.m4s");
    spin_until("the segment requests are streaming", || g.readers() > 2).await;
    assert!(!held.is_finished());

    // The encoder reconnects and sends the same stream again (init + media from time
    // zero): the origin continues at the next segment boundary, closing segment 1.
    let mut conn = Conn::open(o.ingest).await;
    let _ = conn
        .send(&{
            let mut req = format!(
                "PUT /ingest/live/v1 HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                o.ingest
            )
            .into_bytes();
            req.extend(common::chunked(VIDEO_EVERY_FRAME, 777));
            req.extend_from_slice(b"0\r\n\r\n");
            req
        })
        .await;
    spin_until("the held segment request is answered", || {
        held.is_finished()
    })
    .await;
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "answered by media, not by timeout"
    );
    let r = held.await.expect("get task");
    assert_eq!(r.status, 200, "{}", r.text());

    let init = get(o.playback, "/live/v1/init.mp4").await.body;
    let seg = decode(&init, &r.body);
    assert_eq!(seg.samples.len(), 30);
    assert!(seg.samples[0].2, "segment starts with a key frame");
    assert_eq!(seg.payload, ingest_payload(VIDEO_EVERY_FRAME, 0..30));
    // The restart ended Period 0 with this segment: HESP's continuation ends with the
    // in-band `manifestupdate` (emsg v0, urn:theo:hesp:2020) after the same media; the
    // DASH URL serves the media alone.
    assert_eq!(dash.await.expect("get task").body, r.body);
    let p = in_period.await.expect("get task");
    assert_eq!(p.status, 200);
    assert_eq!(&p.body[..r.body.len()], &r.body[..], "the same media");
    let event = &p.body[r.body.len()..];
    assert!(event.len() > 12 && &event[4..8] == b"emsg", "{event:?}");
    assert_eq!(event[8], 0, "version 0");
    let text = String::from_utf8_lossy(&event[12..]);
    assert!(
        text.starts_with("urn:theo:hesp:2020\0manifestupdate\0"),
        "{text:?}"
    );
    let again = get(o.playback, "/live/v1/p0/hesp-seg-1.m4s").await;
    assert_eq!(again.body, p.body, "served complete, with the event");
    assert_eq!(get(o.playback, "/live/v1/p0/seg-1.m4s").await.body, r.body);

    let r = conn.response(false).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = o.track("live", "v1");
    assert_eq!(t.segments.len(), 2);
    assert!(t.segments[0].complete && t.segments[1].discontinuity);

    // Sanity for the helpers: a plain request on a fresh connection still works.
    let r = Conn::open(o.playback)
        .await
        .request("GET", "/live/v1/index.m3u8", Body::None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    o.shutdown().await;
}

/// Regression: an encoder that reconnects and sends only non-key frames first closes
/// the segment in progress without storing a sample; that closure must be published at
/// once (it used to wait for the next key frame, so `seg-1` was held until 503).
#[tokio::test(start_paused = true)]
async fn restart_without_key_frame_publishes_the_closed_segment() {
    let o = with_one_upload().await;
    let parts = split(VIDEO_EVERY_FRAME);
    let mut body = parts.init.clone();
    for c in &parts.chunks[1..] {
        body.extend_from_slice(c);
    }
    let r = put(o.ingest, "/ingest/live/v1", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = o.track("live", "v1");
    assert!(
        t.segments[0].complete,
        "restart closed segment 1 in the published snapshot"
    );
    let t0 = Instant::now();
    let seg = get(o.playback, "/live/v1/seg-1.m4s").await;
    assert_eq!(seg.status, 200, "{}", seg.text());
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "served at once, not after a hold"
    );
    get(o.playback, "/live/v1/part-1.5.m4s")
        .await
        .assert_reason(404, "part 1.5");
}
