//! Ingest of bad input over real sockets: every refusal is a 4xx whose body is one line
//! of reason text, and a refused upload never disturbs what is already stored.

mod common;

use common::{
    AV_MUXED, Body, Conn, DASH_CHUNK, DASH_INIT, FRAME_TICKS, Response, TestOrigin,
    VIDEO_EVERY_FRAME, decode, get, ingest_payload, put, send, split, with_decode_time,
};

#[tokio::test]
async fn non_mp4_unknown_paths_and_methods_are_refused() {
    let o = TestOrigin::start().await;

    // An error page uploaded instead of media.
    let xml = b"<?xml version=\"1.0\"?>\n<Error><Code>AccessDenied</Code></Error>\n";
    let mut conn = Conn::open(o.ingest).await;
    let r = conn
        .request("PUT", "/ingest/live/v1", Body::Fixed(xml))
        .await;
    let reason = r.assert_reason(415, "not an MP4 stream");
    assert!(reason.contains("<?xm"), "shows the first bytes: {reason}");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(
        conn.closed_by_peer().await,
        "refused upload closes the connection"
    );
    assert!(
        o.origin.channel("live").is_none(),
        "a refused upload creates nothing"
    );

    // The same as chunked.
    let r = put(o.ingest, "/ingest/live/v1", xml).await;
    r.assert_reason(415, "not an MP4 stream");

    // Paths that are not ingest endpoints.
    for path in ["/foo/bar", "/ingest/only-channel", "/ingest/live/a/b", "/"] {
        let r = put(o.ingest, path, VIDEO_EVERY_FRAME).await;
        r.assert_reason(404, "no ingest endpoint");
    }
    assert!(o.origin.channel("only-channel").is_none());

    // Names outside [A-Za-z0-9_-].
    let r = put(o.ingest, "/ingest/bad.name/v1", VIDEO_EVERY_FRAME).await;
    r.assert_reason(400, "invalid name");
    let r = put(o.ingest, "/ingest/live/chunk-v1-x1.m4s", VIDEO_EVERY_FRAME).await;
    r.assert_reason(400, "invalid name");

    // Methods other than PUT, POST, DELETE.
    let r = get(o.ingest, "/ingest/live/v1").await;
    r.assert_reason(405, "method GET");

    o.shutdown().await;
}

#[tokio::test]
async fn delete_consumes_its_chunked_body_and_keeps_the_connection() {
    let o = TestOrigin::start().await;
    let mut conn = Conn::open(o.ingest).await;

    // ffmpeg's DASH muxer deletes old segments with an empty chunked body.
    let r = conn
        .request(
            "DELETE",
            "/ingest/live/chunk-v1-00001.m4s",
            Body::Chunked(b"", 1),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_ne!(r.header("connection"), Some("close"));

    // The same connection carries the next requests: a manifest upload (ignored) ...
    let mpd = b"<?xml version=\"1.0\"?><MPD/>";
    let r = conn
        .request("PUT", "/ingest/live/manifest.mpd", Body::Chunked(mpd, 7))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // ... a DELETE with a non-empty chunked body, and one with no body at all ...
    let r = conn
        .request(
            "DELETE",
            "/ingest/live/init-v1.m4s",
            Body::Chunked(b"ignored", 3),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = conn
        .request("DELETE", "/ingest/live/v1.mp4", Body::None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    // ... and real media.
    let r = conn
        .request(
            "PUT",
            "/ingest/live/v1",
            Body::Chunked(VIDEO_EVERY_FRAME, 4096),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(o.track("live", "v1").segments.len() == 1);

    // A DELETE on a path that is not an ingest endpoint is still a 404 with a reason.
    let r = send(o.ingest, "DELETE", "/foo/bar", Body::Chunked(b"", 1)).await;
    r.assert_reason(404, "no ingest endpoint");

    o.shutdown().await;
}

/// What a player sees of track `v1` of channel `live`.
struct Served {
    init: Vec<u8>,
    part0: Vec<u8>,
}

async fn served(o: &TestOrigin) -> Served {
    let init = get(o.playback, "/live/v1/init.mp4").await;
    assert_eq!(init.status, 200, "{}", init.text());
    let part0 = get(o.playback, "/live/v1/part-1.0.m4s").await;
    assert_eq!(part0.status, 200, "{}", part0.text());
    Served {
        init: init.body,
        part0: part0.body,
    }
}

/// Asserts that a refused upload left track v1 and its served bytes as they were.
async fn assert_unchanged(o: &TestOrigin, before: &timeline::TrackSnapshot, bytes: &Served) {
    let now = o.track("live", "v1");
    assert_eq!(now.segments, before.segments, "segments unchanged");
    assert_eq!(now.meta, before.meta, "track description unchanged");
    let again = served(o).await;
    assert_eq!(again.init, bytes.init, "init.mp4 unchanged");
    assert_eq!(again.part0, bytes.part0, "part-1.0.m4s unchanged");
}

#[tokio::test]
async fn refused_uploads_leave_stored_media_unchanged() {
    let o = TestOrigin::start().await;
    let fx = split(VIDEO_EVERY_FRAME);
    assert_eq!(fx.chunks.len(), 30);

    // A good upload, chunked at odd offsets that cut boxes anywhere.
    let r = put(o.ingest, "/ingest/live/v1", VIDEO_EVERY_FRAME).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.body.is_empty());

    // One segment in progress (the fixture has one key frame), five complete parts of
    // six frames (200 ms parts at 30 fps).
    let before = o.track("live", "v1");
    assert_eq!(before.segments.len(), 1);
    let seg = &before.segments[0];
    assert_eq!((seg.msn, seg.start, seg.complete), (1, 0, false));
    assert_eq!(seg.duration, 30 * FRAME_TICKS);
    assert_eq!(seg.parts.len(), 5);
    assert!(seg.parts.iter().all(|p| p.complete));
    assert!(seg.parts.iter().all(|p| p.duration == 6 * FRAME_TICKS));

    let bytes = served(&o).await;
    assert_eq!(bytes.init, fx.init, "init.mp4 is the ftyp+moov as received");
    let part0 = decode(&bytes.init, &bytes.part0);
    assert_eq!(part0.samples.len(), 6);
    assert!(part0.samples[0].2, "part 0 starts with the key frame");
    assert_eq!(part0.payload, ingest_payload(VIDEO_EVERY_FRAME, 0..6));

    // (a) Bodies that end inside a box: in the moof header area, inside the moof,
    // inside the mdat.
    let chunk = &fx.chunks[0];
    for (cut, kind) in [(5, "????"), (50, "moof"), (108 + 100, "mdat")] {
        let r = put(o.ingest, "/ingest/live/v1", &chunk[..cut]).await;
        let reason = r.assert_reason(400, "truncated");
        assert!(reason.contains(kind), "{reason} names '{kind}'");
        assert_unchanged(&o, &before, &bytes).await;
    }
    // A whole moof whose mdat never starts.
    let r = put(o.ingest, "/ingest/live/v1", &chunk[..108]).await;
    r.assert_reason(400, "truncated");
    assert_unchanged(&o, &before, &bytes).await;

    // (b) Declared sizes far above the 16 MiB box limit, refused from the header alone.
    let huge_moof = [&0xFFFF_FFF0u32.to_be_bytes()[..], b"moof"].concat();
    let r = put(o.ingest, "/ingest/live/v1", &huge_moof).await;
    let reason = r.assert_reason(413, "4294967280");
    assert!(reason.contains("moof"), "{reason}");
    assert_unchanged(&o, &before, &bytes).await;

    let styp = &DASH_CHUNK[..24];
    assert_eq!(&styp[4..8], b"styp");
    let huge_mdat = [styp, &0xFFFF_FFF0u32.to_be_bytes()[..], b"mdat"].concat();
    let r = put(o.ingest, "/ingest/live/v1", &huge_mdat).await;
    let reason = r.assert_reason(413, "limit");
    assert!(reason.contains("mdat"), "{reason}");
    assert_unchanged(&o, &before, &bytes).await;

    // A 64-bit largesize.
    let large = [
        &1u32.to_be_bytes()[..],
        b"moof",
        &(1u64 << 40).to_be_bytes()[..],
    ]
    .concat();
    let r = put(o.ingest, "/ingest/live/v1", &large).await;
    r.assert_reason(413, "limit");
    assert_unchanged(&o, &before, &bytes).await;

    // Text garbage right where a box is expected (its "size" is ~1.2 GB) after a
    // repeated chunk, which is recognised as a duplicate and dropped.
    let body = [&fx.chunks[29][..], b"GARBAGE GARBAGE GARBAGE\n"].concat();
    let r = put(o.ingest, "/ingest/live/v1", &body).await;
    assert!((400..500).contains(&r.status), "{}", r.status);
    let reason = r.assert_reason(413, "limit");
    assert!(
        reason.contains("AGE "),
        "{reason} names the would-be box type"
    );
    assert_unchanged(&o, &before, &bytes).await;

    // (c) Valid new media followed by binary garbage in the same request: the chunk that
    // was complete before the garbage is kept (chunks are stored as they complete),
    // the garbage is refused, and nothing before it changes.
    let next = with_decode_time(&fx.chunks[29], 30 * FRAME_TICKS);
    let garbage = [0, 0, 0, 16, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8];
    let body = [&fx.chunks[29][..], &next[..], &garbage[..]].concat();
    let r = put(o.ingest, "/ingest/live/v1", &body).await;
    assert!((400..500).contains(&r.status), "{}", r.status);
    r.assert_reason(400, "not printable");

    let after = o.track("live", "v1");
    assert_eq!(after.segments.len(), 1, "no new segment");
    let (old, new) = (&before.segments[0], &after.segments[0]);
    assert_eq!((new.msn, new.start), (old.msn, old.start));
    assert_eq!(new.duration, old.duration + FRAME_TICKS, "one frame added");
    assert_eq!(new.parts[..5], old.parts[..], "earlier parts unchanged");
    assert_eq!(new.parts.len(), 6);
    assert_eq!(new.parts[5].duration, FRAME_TICKS);
    assert!(!new.parts[5].complete && !new.parts[5].independent);
    let again = served(&o).await;
    assert_eq!(again.init, bytes.init);
    assert_eq!(again.part0, bytes.part0);

    o.shutdown().await;
}

#[tokio::test]
async fn broken_chunked_framing_is_refused() {
    let o = TestOrigin::start().await;
    let fx = split(VIDEO_EVERY_FRAME);
    let r = put(o.ingest, "/ingest/live/v1", VIDEO_EVERY_FRAME).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let before = o.track("live", "v1");

    // A valid chunk of body, then a chunk-size line that is not hex.
    let mut conn = Conn::open(o.ingest).await;
    conn.send_head(
        "PUT",
        "/ingest/live/v1",
        &[("Transfer-Encoding", "chunked")],
    )
    .await;
    conn.send_chunks(&fx.chunks[29][..100], 100).await;
    let _ = conn.send(b"zz\r\nnot a chunk\r\n0\r\n\r\n").await;
    let r = conn.response(false).await;
    r.assert_reason(400, "upload body ended abnormally");
    assert_eq!(o.track("live", "v1").segments, before.segments);

    o.shutdown().await;
}

#[tokio::test]
async fn media_before_init_is_412_then_dash_uploads_work() {
    let o = TestOrigin::start().await;

    // ffmpeg's DASH muxer sends init and chunks as separate requests; a chunk first
    // cannot be decoded.
    let r = put(
        o.ingest,
        "/ingest/live2/chunk-stream0-00001.m4s",
        DASH_CHUNK,
    )
    .await;
    r.assert_reason(412, "init segment");
    assert!(o.origin.channel("live2").is_none(), "nothing created");
    let r = get(o.playback, "/live2/stream0/init.mp4").await;
    r.assert_reason(404, "channel 'live2'");

    let r = put(o.ingest, "/ingest/live2/init-stream0.m4s", DASH_INIT).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = o.track("live2", "stream0");
    assert!(t.segments.is_empty(), "init alone adds no media");
    assert_eq!(t.meta.codec, "avc1.64000b");

    let r = put(
        o.ingest,
        "/ingest/live2/chunk-stream0-00001.m4s",
        DASH_CHUNK,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let snap = o.origin.channel("live2").expect("channel").snapshot();
    assert!(snap.epoch_us.is_some(), "anchored (by the prft boxes)");
    let t = snap.track("stream0").expect("track");
    assert_eq!(t.segments.len(), 1);
    let seg = &t.segments[0];
    assert_eq!(seg.duration, 30 * FRAME_TICKS, "all 30 frames placed");
    assert_eq!(seg.parts.len(), 5);
    assert!(seg.parts.iter().all(|p| p.complete));

    let init = get(o.playback, "/live2/stream0/init.mp4").await;
    assert_eq!(init.status, 200);
    assert_eq!(init.body, DASH_INIT);
    let path = format!("/live2/stream0/part-{}.0.m4s", seg.msn);
    let part = get(o.playback, &path).await;
    assert_eq!(part.status, 200, "{}", part.text());
    let served = decode(&init.body, &part.body);
    let sent = decode(DASH_INIT, DASH_CHUNK);
    assert_eq!(served.samples.len(), 6);
    assert_eq!(served.samples[..], sent.samples[..6]);
    assert!(sent.payload.starts_with(&served.payload));

    o.shutdown().await;
}

#[tokio::test]
async fn multi_track_init_is_415() {
    let o = TestOrigin::start().await;
    let r: Response = put(o.ingest, "/ingest/live/av", AV_MUXED).await;
    let reason = r.assert_reason(415, "tracks");
    assert!(reason.contains('2'), "{reason} says how many");
    assert!(o.origin.channel("live").is_none(), "nothing created");
    let r = get(o.playback, "/live/av/init.mp4").await;
    r.assert_reason(404, "not found");
    o.shutdown().await;
}
