//! L-HLS with real ffmpeg: a client that knows only the community L-HLS rules (not
//! weir's code) reads a rendition's `lhls.m3u8`, requests both prefetched segments at
//! once, and receives each chunk by chunk while it is produced (the next segment held
//! until it begins); the bytes equal the finished segments and ffmpeg decodes them.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{TestOrigin, http, tools};

/// The `#EXT-X-PREFETCH` URIs of an L-HLS playlist, and the URI of its `EXT-X-MAP`.
fn prefetches(playlist: &str) -> (Vec<String>, Option<String>) {
    let uris = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-PREFETCH:"))
        .map(str::to_string)
        .collect();
    let map = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .map(|l| l.trim_end_matches('"').to_string())
        .next_back();
    (uris, map)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_l_hls_client_gets_both_prefetched_segments_chunk_by_chunk() {
    let o = TestOrigin::start().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_long_post_one(
        &format!("http://{}/ingest/lh", o.ingest),
        40,
        "v180",
    ));
    o.wait_segments("lh", &["v180"], 2, Duration::from_secs(60))
        .await;
    let r = http::get(o.playback, "/lh/v180/lhls.m3u8").await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let (uris, map) = prefetches(&text);
    assert_eq!(
        uris.len(),
        2,
        "the segment in progress and the next: {text}"
    );
    let map = map.expect("an EXT-X-MAP before the segments");
    let paths: Vec<String> = uris.iter().map(|u| format!("/lh/v180/{u}")).collect();
    let (now, next) = tokio::join!(
        http::get_timed(o.playback, &paths[0]),
        http::get_timed(o.playback, &paths[1])
    );
    for ((resp, reads), path) in [&now, &next].into_iter().zip(&paths) {
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(resp.header("transfer-encoding"), Some("chunked"), "{path}");
        let finished = http::get(o.playback, path).await;
        assert_eq!(resp.body, finished.body, "{path}: the finished segment");
        let span = reads.last().expect("reads").0 - reads.first().expect("reads").0;
        eprintln!("{path}: {} reads over {span:?}", reads.len());
        assert!(
            reads.len() >= 10 && span >= Duration::from_millis(500),
            "{path} streamed while it grew: {} reads over {span:?}",
            reads.len()
        );
    }
    // The next segment is a full one (2 s of 30 fps): it streamed over most of it.
    let (_, next_reads) = &next;
    let span = next_reads.last().expect("reads").0 - next_reads.first().expect("reads").0;
    assert!(span >= Duration::from_millis(1500), "{span:?}");

    // init + both segments decode as one stream.
    let init = http::get(o.playback, &format!("/lh/v180/{map}")).await;
    assert_eq!(init.status, 200);
    let file = std::env::temp_dir().join(format!("weir-lhls-{}.mp4", std::process::id()));
    std::fs::write(&file, [init.body, now.0.body, next.0.body].concat()).expect("write");
    let f = file.clone();
    let frames = tokio::task::spawn_blocking(move || {
        tools::output(
            Command::new("ffprobe")
                .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
                .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
                .arg(&f),
        )
    })
    .await
    .expect("ffprobe task");
    let _ = std::fs::remove_file(&file);
    let frames: u32 = frames.trim().parse().expect("frame count");
    // Part of the segment in progress (joined mid-way) and all 60 frames of the next.
    assert!(frames > 60, "decoded {frames} frames");
}
