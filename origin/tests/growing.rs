//! Growing objects through the real ingest path: a reader that attaches to a segment
//! while it is produced gets bytes identical to the finished segment, and a thousand
//! readers of one growing segment cost one stored copy.

mod common;

use common::{Conn, TestOrigin, VIDEO_EVERY_FRAME, get, split, synthetic_chunk};
use origin::store::{Granularity, Step};

/// Frame `i` (512 ticks at 15360 Hz, key frame every 30) as one chunk of 700 bytes.
fn frame(i: u64) -> Vec<u8> {
    let key = i.is_multiple_of(30);
    synthetic_chunk(i as u32 + 1, i * 512, 1, |_| key, 700, (i % 251) as u8)
}

#[tokio::test]
async fn late_readers_of_a_growing_segment_get_the_finished_bytes() {
    let o = TestOrigin::start().await;
    let mut conn = Conn::open(o.ingest).await;
    conn.send_head(
        "POST",
        "/ingest/live/v1",
        &[("Transfer-Encoding", "chunked")],
    )
    .await;
    conn.send_chunks(&split(VIDEO_EVERY_FRAME).init, 1 << 20)
        .await;
    // Segment 1 complete (frames 0-59), segment 2 half done (frames 60-89).
    for i in 0..90 {
        conn.send_chunks(&frame(i), 1 << 20).await;
    }
    o.wait_for("live", |s| {
        s.track("v1")
            .and_then(|t| t.segment(2))
            .is_some_and(|s| s.duration >= 30 * 512)
    })
    .await;
    let ch = o.origin.channel("live").expect("channel");
    let g = ch.object("v1", 2).expect("segment 2 is a growing object");
    let held = ch.held_bytes();
    let mut late = g.reader(0, Granularity::Chunk);
    let mut crowd: Vec<_> = (0..1000).map(|_| g.reader(0, Granularity::Chunk)).collect();
    // Every reader drains what is there: no copy is made for any of them.
    let mut first = Vec::new();
    for (k, r) in crowd.iter_mut().enumerate() {
        match r.poll_now() {
            Some(Step::Bytes(b)) => {
                if k == 0 {
                    first = b;
                } else {
                    assert!(b.iter().zip(&first).all(|(x, y)| x.as_ptr() == y.as_ptr()));
                }
            }
            s => panic!("{s:?}"),
        }
    }
    assert_eq!(ch.held_bytes(), held, "1,000 readers, one stored copy");
    assert!(ch.waiting() >= 1001, "the readers are attached");
    // The rest of segment 2 and the key frame that completes it.
    let reading = tokio::spawn(async move {
        let mut got = Vec::new();
        loop {
            match late.next().await {
                Step::Bytes(b) => b.iter().for_each(|c| got.extend_from_slice(c)),
                Step::Done => return got,
                Step::Aborted => panic!("aborted"),
            }
        }
    });
    for i in 90..121 {
        conn.send_chunks(&frame(i), 1 << 20).await;
    }
    let got = reading.await.expect("reader");
    let finished = get(o.playback, "/live/v1/seg-2.m4s").await;
    assert_eq!(finished.status, 200);
    assert_eq!(
        got, finished.body,
        "the late reader got the finished segment"
    );
    drop(crowd);
    conn.finish_chunks().await;
    o.shutdown().await;
}
