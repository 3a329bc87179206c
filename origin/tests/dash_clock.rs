//! The wall clock of a channel as the MPD announces it: epoch-based encoder clocks are
//! anchored at exactly 1970-01-01T00:00:00Z (so every origin announces one MPD), and
//! `ProducerReferenceTime@type` says whose clock anchors the channel.

mod common;

use common::{
    Conn, DASH_CHUNK, DASH_INIT, TestOrigin, VIDEO_EVERY_FRAME, get, put, split, synthetic_chunk,
};

/// The value of attribute `name` in the first element that has it.
fn attr<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let at = xml.find(&format!(" {name}=\""))? + name.len() + 3;
    xml[at..].split('"').next()
}

#[tokio::test]
async fn an_epoch_based_encoder_clock_anchors_the_mpd_at_1970() {
    let o = TestOrigin::start().await;
    // Decode times are wall-clock time since 1970 (15360 Hz), from a whole second.
    let now_s = u64::try_from(origin::clock::now_us() / 1_000_000).expect("after 1970");
    let base = now_s * 15360;
    let mut conn = Conn::open(o.ingest).await;
    conn.send_head(
        "POST",
        "/ingest/wall/v1",
        &[("Transfer-Encoding", "chunked")],
    )
    .await;
    conn.send_chunks(&split(VIDEO_EVERY_FRAME).init, 1 << 20)
        .await;
    // Three 2 s segments (key frame every 30 frames of 512 ticks).
    for i in 0..181u64 {
        let chunk = synthetic_chunk(i as u32 + 1, base + i * 512, 1, |_| i % 30 == 0, 500, 7);
        conn.send_chunks(&chunk, 1 << 20).await;
    }
    let snap = o
        .wait_for("wall", |s| {
            s.track("v1").is_some_and(|t| t.complete_count() >= 2)
        })
        .await;
    assert_eq!(snap.epoch_us, Some(0), "anchored at the Unix epoch itself");
    assert_eq!(snap.epoch_source, Some(timeline::ClockSource::Ingest));
    // Numbers are grid cells since 1970: two origins fed by this encoder agree.
    let first = snap
        .track("v1")
        .and_then(|t| t.segments.front())
        .expect("segment");
    assert_eq!(first.msn, base / 30720 + 1);

    let mpd = get(o.playback, "/wall/manifest.mpd").await;
    assert_eq!(mpd.status, 200, "{}", mpd.text());
    let text = mpd.text();
    assert_eq!(
        attr(&text, "availabilityStartTime"),
        Some("1970-01-01T00:00:00.000Z")
    );
    assert_eq!(attr(&text, "type"), Some("dynamic"));
    // The clock is weir's ingest clock, not the encoder's own statement.
    assert!(
        text.contains("<ProducerReferenceTime id=\"0\" type=\"application\""),
        "{text}"
    );
    assert_eq!(attr(&text, "startNumber"), Some("1"));
    conn.finish_chunks().await;
    o.shutdown().await;
}

#[tokio::test]
async fn an_encoder_prft_makes_the_producer_reference_time_the_encoders() {
    let o = TestOrigin::start().await;
    // ffmpeg's DASH muxer with `-write_prft 1`: a prft box before every moof.
    assert_eq!(
        put(o.ingest, "/ingest/enc/init-stream0.m4s", DASH_INIT)
            .await
            .status,
        201
    );
    assert_eq!(
        put(o.ingest, "/ingest/enc/chunk-stream0-00001.m4s", DASH_CHUNK)
            .await
            .status,
        201
    );
    let snap = o.channel("enc").snapshot();
    assert_eq!(snap.epoch_source, Some(timeline::ClockSource::Encoder));
    assert!(snap.epoch_us.is_some_and(|e| e > 0), "{:?}", snap.epoch_us);
    o.shutdown().await;
}
