//! Chunked CMAF delivery (LL-DASH): the segment in progress served over HTTP while it
//! grows, through the real ingest and playback listeners.
//!
//! - two clients of one growing segment, one joining late, get identical bytes, equal
//!   to the finished segment, and the first gets each chunk before the next is sent;
//! - a request a moment before its segment exists is held until the first chunk;
//! - an encoder that dies mid-segment ends its readers' bodies with an error, and the
//!   truncated segment stays served.

mod common;

use common::{Conn, TestOrigin, VIDEO_EVERY_FRAME, get, spin_until, split, synthetic_chunk};

/// Frame `i` (512 ticks at 15360 Hz, key frame every 30: 2 s segments of 60 frames)
/// as one chunk of 700 bytes.
fn frame(i: u64) -> Vec<u8> {
    let key = i.is_multiple_of(30);
    synthetic_chunk(i as u32 + 1, i * 512, 1, |_| key, 700, (i % 251) as u8)
}

/// An upload of `live/v1` with its init and frames `0..n` sent.
async fn upload(o: &TestOrigin, n: u64) -> Conn {
    let mut conn = Conn::open(o.ingest).await;
    conn.send_head(
        "POST",
        "/ingest/live/v1",
        &[("Transfer-Encoding", "chunked")],
    )
    .await;
    conn.send_chunks(&split(VIDEO_EVERY_FRAME).init, 1 << 20)
        .await;
    for i in 0..n {
        conn.send_chunks(&frame(i), 1 << 20).await;
    }
    conn
}

/// A GET of `path` whose head has been read: 200 with a chunked body.
async fn streaming_get(o: &TestOrigin, path: &str) -> Conn {
    let mut c = Conn::open(o.playback).await;
    c.send_head("GET", path, &[]).await;
    let (status, headers) = c.response_head().await;
    assert_eq!(status, 200, "{path}");
    let has = |k: &str, v: &str| headers.iter().any(|(hk, hv)| hk == k && hv == v);
    assert!(has("transfer-encoding", "chunked"), "{headers:?}");
    assert!(
        !headers.iter().any(|(k, _)| k == "content-length"),
        "{headers:?}"
    );
    c
}

/// Reads chunks until `want` body bytes are in; returns how many chunks it took.
async fn read_until(c: &mut Conn, body: &mut Vec<u8>, want: usize) -> usize {
    let mut reads = 0;
    while body.len() < want {
        match c.next_chunk().await {
            Some(Ok(data)) => {
                body.extend(data);
                reads += 1;
            }
            other => panic!("body ended at {} of {want} bytes: {other:?}", body.len()),
        }
    }
    reads
}

/// Reads the rest of the body; `Ok` for a clean end, `Err` for an error end.
async fn read_to_end(c: &mut Conn, body: &mut Vec<u8>) -> Result<(), ()> {
    loop {
        match c.next_chunk().await {
            Some(Ok(data)) => body.extend(data),
            None => return Ok(()),
            Some(Err(())) => return Err(()),
        }
    }
}

#[tokio::test]
async fn a_growing_segment_streams_chunk_by_chunk_to_early_and_late_readers() {
    let o = TestOrigin::start().await;
    // Segment 1 is frames 0-59; frame 60 opens segment 2.
    let mut enc = upload(&o, 61).await;
    o.wait_for("live", |s| {
        s.track("v1").and_then(|t| t.segment(2)).is_some()
    })
    .await;
    let g = o.channel("live").object("v1", 2).expect("segment 2");

    let mut early = streaming_get(&o, "/live/v1/seg-2.m4s").await;
    let mut early_body = Vec::new();
    read_until(&mut early, &mut early_body, g.len() as usize).await;
    // Each chunk reaches the reader before the encoder sends the next one, as one
    // HTTP chunk holding its `moof` and `mdat` (a cache in front wakes its viewers
    // once per CMAF chunk, not once per box).
    for i in 61..90 {
        enc.send_chunks(&frame(i), 1 << 20).await;
        spin_until(&format!("frame {i} is stored"), || {
            g.len() as usize > early_body.len()
        })
        .await;
        let at = early_body.len();
        let reads = read_until(&mut early, &mut early_body, g.len() as usize).await;
        assert_eq!(reads, 1, "frame {i}: one HTTP chunk per CMAF chunk");
        assert_eq!(&early_body[at + 4..at + 8], b"moof", "frame {i}");
        let moof = u32::from_be_bytes(early_body[at..at + 4].try_into().expect("size")) as usize;
        assert_eq!(
            &early_body[at + moof + 4..at + moof + 8],
            b"mdat",
            "frame {i}"
        );
    }

    // A late joiner gets the segment from byte 0.
    let mut late = streaming_get(&o, "/live/v1/seg-2.m4s").await;
    // Frames 90-119, and the key frame 120 that completes segment 2.
    for i in 90..=120 {
        enc.send_chunks(&frame(i), 1 << 20).await;
    }
    let mut late_body = Vec::new();
    assert_eq!(read_to_end(&mut early, &mut early_body).await, Ok(()));
    assert_eq!(read_to_end(&mut late, &mut late_body).await, Ok(()));

    let finished = get(o.playback, "/live/v1/seg-2.m4s").await;
    assert_eq!(finished.status, 200);
    assert!(finished.header("content-length").is_some());
    assert_eq!(early_body, finished.body, "the early reader");
    assert_eq!(late_body, finished.body, "the late reader");
    enc.finish_chunks().await;
    o.shutdown().await;
}

#[tokio::test]
async fn a_request_just_before_its_segment_is_held_until_the_first_chunk() {
    let o = TestOrigin::start().await;
    let mut enc = upload(&o, 100).await;
    o.wait_for("live", |s| {
        s.track("v1").and_then(|t| t.end()) == Some(100 * 512)
    })
    .await;
    let ch = o.channel("live");
    let before = ch.waiting();
    // Segment 3 begins with frame 120.
    let mut c = Conn::open(o.playback).await;
    c.send_head("GET", "/live/v1/seg-3.m4s", &[]).await;
    spin_until("the request for segment 3 is held", || {
        ch.waiting() > before
    })
    .await;
    for i in 100..=120 {
        enc.send_chunks(&frame(i), 1 << 20).await;
    }
    let (status, _) = c.response_head().await;
    assert_eq!(status, 200, "held, then answered: not 404");
    let mut body = Vec::new();
    read_until(&mut c, &mut body, 1).await;
    let g = ch.object("v1", 3).expect("segment 3");
    assert_eq!(body, g.chunks().concat()[..body.len()]);
    enc.finish_chunks().await;
    o.shutdown().await;
}

#[tokio::test]
async fn an_encoder_dying_mid_segment_ends_its_readers_with_an_error() {
    let o = TestOrigin::start().await;
    let enc = upload(&o, 75).await;
    o.wait_for("live", |s| {
        s.track("v1").and_then(|t| t.end()) == Some(75 * 512)
    })
    .await;
    let mut reader = streaming_get(&o, "/live/v1/seg-2.m4s").await;
    let g = o.channel("live").object("v1", 2).expect("segment 2");
    let mut body = Vec::new();
    read_until(&mut reader, &mut body, g.len() as usize).await;

    // The encoder's connection drops in the middle of the upload.
    drop(enc);
    assert_eq!(
        read_to_end(&mut reader, &mut body).await,
        Err(()),
        "a reader of the broken segment sees an error, not a clean short end"
    );

    // Nothing stored is lost: segment 1 whole, segment 2 as far as it got (listed
    // complete, 15 frames), served to later requests.
    let snap = o
        .wait_for("live", |s| {
            s.track("v1")
                .and_then(|t| t.segment(2))
                .is_some_and(|s| s.complete)
        })
        .await;
    let seg2 = snap.track("v1").and_then(|t| t.segment(2)).expect("listed");
    assert_eq!(seg2.duration, 15 * 512);
    let after = get(o.playback, "/live/v1/seg-2.m4s").await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body, body, "the truncated segment, as streamed");
    assert_eq!(get(o.playback, "/live/v1/seg-1.m4s").await.status, 200);
    o.shutdown().await;
}

#[tokio::test]
async fn l_hls_prefetches_the_segment_in_progress_and_the_next() {
    let o = TestOrigin::start().await;
    let mut enc = upload(&o, 75).await;
    o.wait_for("live", |s| {
        s.track("v1").and_then(|t| t.end()) == Some(75 * 512)
    })
    .await;
    let r = get(o.playback, "/live/v1/lhls.m3u8").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let tail: Vec<&str> = text.lines().rev().take(3).collect();
    assert_eq!(
        tail,
        [
            "#EXT-X-PREFETCH:seg-3.m4s",
            "#EXT-X-PREFETCH:seg-2.m4s",
            "seg-1.m4s"
        ],
        "{text}"
    );
    assert!(!text.contains("#EXT-X-PART"), "plain HLS: {text}");
    // The prefetched segment in progress streams; the multivariant names the L-HLS
    // playlists; the channel list has the entry point.
    let mut c = streaming_get(&o, "/live/v1/seg-2.m4s").await;
    let mut body = Vec::new();
    read_until(&mut c, &mut body, 1).await;
    let master = get(o.playback, "/live/lhls.m3u8").await.text();
    assert!(master.lines().any(|l| l == "v1/lhls.m3u8"), "{master}");
    let list = get(o.playback, "/channels.json").await.text();
    assert!(list.contains("\"lhls\":\"/live/lhls.m3u8\""), "{list}");
    enc.finish_chunks().await;
    o.shutdown().await;
}
