//! Hostile and broken input over real sockets: each is refused with a 4xx and a
//! one-line reason, or bounded, and memory stays bounded whatever arrives.

mod common;

use common::{TestOrigin, VIDEO_EVERY_FRAME, put, split, synthetic_chunk};
use origin::Config;

/// One chunk of `n` video frames of 512 ticks from `dts`, `size` bytes each.
fn chunk(seq: u32, dts: u64, n: usize, sync_first: bool, size: u32) -> Vec<u8> {
    synthetic_chunk(seq, dts, n, |i| i == 0 && sync_first, size, 0x42)
}

/// Resident set size of this test process, kB.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_trun_declaring_2_pow_32_samples_is_refused() {
    let o = TestOrigin::start().await;
    let init = split(VIDEO_EVERY_FRAME).init;
    let mut c = chunk(1, 0, 1, true, 10);
    let at = c.windows(4).position(|w| w == b"trun").expect("trun") + 8;
    c[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let before = rss_kb();
    let r = put(o.ingest, "/ingest/live/v1", &[init, c].concat()).await;
    let reason = r.assert_reason(400, "samples");
    assert!(reason.contains("4294967295"), "{reason}");
    assert!(rss_kb() < before + 64 * 1024, "no gigabytes asked for");
    let t = o.track("live", "v1");
    assert!(
        t.segments.is_empty(),
        "nothing stored from the refused chunk"
    );
    o.shutdown().await;
}

#[tokio::test]
async fn a_decode_time_near_2_pow_64_is_refused() {
    let o = TestOrigin::start().await;
    let init = split(VIDEO_EVERY_FRAME).init;
    let good = chunk(1, 0, 30, true, 10);
    let r = put(o.ingest, "/ingest/live/v1", &[init.clone(), good].concat()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let stored = o.track("live", "v1");
    for dts in [u64::MAX - 10, u64::MAX - 600] {
        let bad = chunk(2, dts, 2, true, 10);
        let r = put(o.ingest, "/ingest/live/v1", &[init.clone(), bad].concat()).await;
        r.assert_reason(400, "overflow");
    }
    assert_eq!(o.track("live", "v1"), stored, "what was stored is intact");
    o.shutdown().await;
}

/// 60 s of video without a key frame after the first: the channel falls back to the
/// target cadence, cuts without key frames within the target duration, and holds only
/// its window.
#[tokio::test]
async fn video_without_key_frames_for_60_s_is_bounded() {
    let o = TestOrigin::start().await;
    let mut body = split(VIDEO_EVERY_FRAME).init;
    for i in 0..1800u64 {
        body.extend(chunk(i as u32 + 1, i * 512, 1, i == 0, 1000));
    }
    let r = put(o.ingest, "/ingest/live/v1", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let ch = o.origin.channel("live").expect("channel");
    let snap = ch.snapshot();
    assert_eq!(snap.target_duration_secs(), 2);
    let t = snap.track("v1").expect("track");
    let keep = (snap.config.window_segments + Config::default().limits.extra_segments) as usize;
    assert!(t.complete_count() <= keep, "{} held", t.complete_count());
    let max = snap.cadence.expect("cadence").max_segment_ticks(15_360);
    assert!(t.segments.iter().all(|s| s.duration <= max));
    assert!(t.segments.iter().any(|s| !s.independent()));
    // Media held: the window, not 60 s (1800 frames of 1000 bytes = 1.8 MB).
    assert!(
        ch.held_bytes() < 1_000_000,
        "{} bytes held",
        ch.held_bytes()
    );
    // The multivariant playlist no longer promises independent segments.
    let r = common::get(o.playback, "/live/master.m3u8").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("INDEPENDENT-SEGMENTS"), "{}", r.text());
    o.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_channel_names_are_bounded() {
    let o = TestOrigin::start().await;
    let init = split(VIDEO_EVERY_FRAME).init;
    let limit = Config::default().limits.max_channels;
    let before = rss_kb();
    // Garbage under 2,000 names creates nothing.
    for i in 0..2_000 {
        let r = put(o.ingest, &format!("/ingest/junk{i}/v"), b"not mp4 at all").await;
        assert_eq!(r.status, 415);
    }
    assert!(
        o.origin.channel_names().is_empty(),
        "refused uploads create nothing"
    );
    // Valid inits under 10,000 names: the first `limit` make channels, the rest 429.
    let mut refused = 0;
    for i in 0..10_000 {
        let r = put(o.ingest, &format!("/ingest/ch{i}/v"), &init).await;
        match r.status {
            201 => assert!(i < limit),
            429 => {
                refused += 1;
                if refused == 1 {
                    r.assert_reason(429, "channels");
                }
            }
            s => panic!("status {s}: {}", r.text()),
        }
    }
    assert_eq!(refused, 10_000 - limit);
    assert_eq!(o.origin.channel_names().len(), limit);
    let grown = rss_kb().saturating_sub(before);
    assert!(grown < 32 * 1024, "RSS grew {grown} kB");
    o.shutdown().await;
}

#[tokio::test]
async fn tracks_per_channel_are_bounded_and_idle_channels_removed() {
    let o = TestOrigin::start().await;
    let init = split(VIDEO_EVERY_FRAME).init;
    let limit = Config::default().limits.max_tracks;
    for i in 0..limit + 5 {
        let r = put(o.ingest, &format!("/ingest/live/t{i}"), &init).await;
        if i < limit {
            assert_eq!(r.status, 201, "{}", r.text());
        } else {
            r.assert_reason(429, "tracks");
        }
    }
    assert_eq!(
        o.origin.channel("live").unwrap().snapshot().tracks.len(),
        limit
    );
    // Nothing removed while active; everything once idle for the timeout.
    let now = origin::clock::now_us();
    assert!(o.origin.reap(now).is_empty());
    let idle = i64::try_from(Config::default().limits.idle_timeout_s).unwrap() * 1_000_000;
    assert_eq!(
        o.origin.reap(now + idle + 1_000_000),
        vec!["live".to_string()]
    );
    assert!(o.origin.channel("live").is_none());
    let r = common::get(o.playback, "/live/t0/index.m3u8").await;
    r.assert_reason(404, "channel");
    o.shutdown().await;
}
