//! End to end: real ffmpeg pushes two video renditions and one audio rendition into an
//! in-process origin, in each ingest mode; real clients read what weir serves.
//!
//! Checked: ffprobe opens `master.m3u8` and `manifest.mpd`; ffmpeg decodes frames of
//! every rendition from both; the MPD validates against the DASH MPD schema; every
//! playlist parses with Python `m3u8` and follows the HLS rules in `support::rules`;
//! renditions of the channel share media sequence numbers and program date-times.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::{TestOrigin, http, rules, tools};

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("weir-e2e-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Runs a blocking tool call off the runtime's worker threads (the origin under test
/// is served by this same runtime).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("tool task")
}

async fn check_channel(o: &TestOrigin, channel: &str, videos: &[&str], audio: &str, dir: PathBuf) {
    let base = format!("http://{}/{channel}", o.playback);

    // Multivariant playlist: one variant per video rendition, audio as a group.
    let master = http::get(o.playback, &format!("/{channel}/master.m3u8")).await;
    assert_eq!(master.status, 200);
    assert_eq!(
        master.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    let text = master.text();
    assert_eq!(
        text.matches("#EXT-X-STREAM-INF:").count(),
        videos.len(),
        "{text}"
    );
    assert_eq!(text.matches("#EXT-X-MEDIA:TYPE=AUDIO").count(), 1, "{text}");
    for line in text.lines().filter(|l| l.starts_with("#EXT-X-STREAM-INF:")) {
        assert!(
            line.contains(",mp4a.40.2\""),
            "CODECS lists the audio codec: {line}"
        );
        assert!(line.contains("CODECS=\"avc1.64"), "{line}");
        assert!(
            line.contains("RESOLUTION=") && line.contains("AUDIO=\"audio\""),
            "{line}"
        );
    }
    std::fs::write(dir.join("master.m3u8"), &master.body).unwrap();

    // Media playlists: HLS rules, aligned numbering and dates across renditions.
    let mut files = vec![dir.join("master.m3u8")];
    let mut listed = Vec::new();
    for t in videos.iter().chain([&audio]) {
        let r = http::get(o.playback, &format!("/{channel}/{t}/index.m3u8")).await;
        assert_eq!(r.status, 200, "{t}: {}", r.text());
        let segs = rules::check_media_playlist(&r.text());
        let f = dir.join(format!("{t}.m3u8"));
        std::fs::write(&f, &r.body).unwrap();
        files.push(f);
        listed.push(segs.segments);
    }
    let (v0, v1, a) = (&listed[0], &listed[1], &listed[2]);
    for (x, y) in v0.iter().zip(v1.iter()) {
        assert_eq!(
            (x.0, &x.3),
            (y.0, &y.3),
            "video renditions: same MSN, same PDT"
        );
    }
    for (x, y) in v0.iter().zip(a.iter()).filter(|(x, y)| x.0 == y.0) {
        // Audio frames (21.3 ms) do not fall exactly on video boundaries.
        let ms =
            |p: &str| p[20..23].parse::<i64>().unwrap() + 1000 * p[17..19].parse::<i64>().unwrap();
        assert!(
            (ms(&x.3) - ms(&y.3)).abs() <= 25,
            "audio and video PDT of MSN {} differ: {} {}",
            x.0,
            x.3,
            y.3
        );
    }

    // An independent parser agrees on what the playlists say.
    let parsed = blocking(move || tools::python_m3u8(&files)).await;
    let variants = parsed[dir.join("master.m3u8").to_str().unwrap()]["playlists"].as_u64();
    assert_eq!(variants, Some(videos.len() as u64), "{parsed}");
    for (t, segs) in videos.iter().chain([&audio]).zip(&listed) {
        let p = &parsed[dir.join(format!("{t}.m3u8")).to_str().unwrap()];
        assert_eq!(p["segments"].as_u64(), Some(segs.len() as u64), "{t}: {p}");
        assert_eq!(p["media_sequence"].as_u64(), Some(segs[0].0), "{t}: {p}");
    }

    // Follow every rendition like a low-latency player for a while: chained blocking
    // reloads for the next part, a delta update every fifth reload. Every playlist
    // received is checked against the rules, and the sequence against reload rules.
    let follows: Vec<_> = videos
        .iter()
        .chain([&audio])
        .map(|t| tokio::spawn(follow(o.playback, channel.to_string(), t.to_string(), 25)))
        .collect();
    for (t, task) in videos.iter().chain([&audio]).zip(follows) {
        let got = task.await.expect("follow task");
        assert_eq!(got.len(), 25, "{t}: every blocking reload answered");
        let reports = videos.len(); // one per other rendition
        assert!(
            got.iter().all(|p| p.reports == reports),
            "{t}: rendition reports"
        );
        assert!(
            got.iter().any(|p| p.skipped.is_some()),
            "{t}: a delta update skipped segments"
        );
        rules::check_reloads(t, &got);
    }

    // The MPD validates against the DASH MPD schema.
    let mpd = http::get(o.playback, &format!("/{channel}/manifest.mpd")).await;
    assert_eq!(mpd.status, 200);
    assert_eq!(mpd.header("content-type"), Some("application/dash+xml"));
    assert!(
        mpd.text()
            .contains("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"")
    );
    let mpd_file = dir.join("manifest.mpd");
    std::fs::write(&mpd_file, &mpd.body).unwrap();
    blocking(move || tools::xmllint_mpd(&mpd_file)).await;

    // ffprobe opens both entry points; ffmpeg decodes every rendition through them.
    let (hls_url, dash_url) = (
        format!("{base}/master.m3u8"),
        format!("{base}/manifest.mpd"),
    );
    let (hls, dash) = blocking(move || {
        (
            tools::probe_streams(&hls_url),
            tools::probe_streams(&dash_url),
        )
    })
    .await;
    for streams in [&hls, &dash] {
        assert!(
            streams.contains(&("video".into(), "h264".into())),
            "{streams:?}"
        );
        assert!(
            streams.contains(&("audio".into(), "aac".into())),
            "{streams:?}"
        );
    }
    assert_eq!(
        dash.len(),
        3,
        "DASH exposes 2 video + 1 audio representations: {dash:?}"
    );
    for t in videos.iter().chain([&audio]) {
        let url = format!("{base}/{t}/index.m3u8");
        let frames = blocking(move || tools::decoded_frames(&url, 2)).await;
        assert!(
            frames.first().copied().unwrap_or(0) > 10,
            "{t}: decoded {frames:?}"
        );
    }
    let url = format!("{base}/manifest.mpd");
    let frames = blocking(move || tools::decoded_frames(&url, 2)).await;
    assert_eq!(
        frames.len(),
        3,
        "every DASH representation decodes: {frames:?}"
    );
    assert!(frames.iter().all(|n| *n > 10), "{frames:?}");
}

/// Reloads the media playlist of `track` `n` times as hls.js does in low-latency mode:
/// each request blocks for the part after the newest one listed (`_HLS_msn`/`_HLS_part`),
/// every fifth asks for a delta (`_HLS_skip=YES`). Returns the checked playlists.
async fn follow(
    playback: std::net::SocketAddr,
    channel: String,
    track: String,
    n: usize,
) -> Vec<rules::Playlist> {
    let mut out: Vec<rules::Playlist> = Vec::new();
    let mut query = String::new();
    for i in 0..n {
        let r = http::get(playback, &format!("/{channel}/{track}/index.m3u8{query}")).await;
        assert_eq!(r.status, 200, "{track}{query}: {}", r.text());
        let p = rules::check_media_playlist(&r.text());
        let (msn, part) = match p.parts.last() {
            Some(&(m, i, ..)) => (m, i + 1),
            None => (p.segments.last().expect("segments").0 + 1, 0),
        };
        let skip = if (i + 1) % 5 == 0 {
            "&_HLS_skip=YES"
        } else {
            ""
        };
        query = format!("?_HLS_msn={msn}&_HLS_part={part}{skip}");
        out.push(p);
    }
    out
}

/// Media needed before checking: 6 complete 2 s segments per rendition (12 s).
const SEGMENTS: usize = 6;
/// Safety net for a slow machine; the wait ends as soon as the media is there.
const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_dash_muxer_low_latency_put() {
    let o = TestOrigin::start().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_dash(
        &format!("http://{}/ingest/dashch", o.ingest),
        40,
    ));
    o.wait_segments(
        "dashch",
        &["stream0", "stream1", "stream2"],
        SEGMENTS,
        LIMIT,
    )
    .await;
    check_channel(
        &o,
        "dashch",
        &["stream0", "stream1"],
        "stream2",
        workdir("dash"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_long_chunked_post_per_rendition() {
    let o = TestOrigin::start().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{}/ingest/postch", o.ingest),
        40,
    ));
    o.wait_segments("postch", &["v360", "v180", "audio"], SEGMENTS, LIMIT)
        .await;
    check_channel(&o, "postch", &["v360", "v180"], "audio", workdir("post")).await;
}
