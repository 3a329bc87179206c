//! The DVR end to end: real ffmpeg pushing to the real `weir origin` binary with a
//! short memory window and a DVR window on disk, for a few minutes.
//!
//! - old files are deleted on time, and the origin's memory stays flat while the DVR
//!   holds many times what memory does;
//! - a client walks the whole DVR window through the start-over playlist and every
//!   segment decodes with ffprobe; the MPD's start-over reaches as far back;
//! - `kill -9` mid-stream and a restart: the window is intact (same URLs, same bytes)
//!   and the live edge resumes, after a discontinuity, when the encoder reconnects;
//! - a disk that fails (a real I/O error: the channel's directory replaced by a file)
//!   never stops live serving, and writing resumes when the disk is back.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use origin::dvr::layout::SegmentName;
use support::TestOrigin;
use support::http::{get, get_with};
use support::process::weir;
use support::tools;

/// The DVR window of the end-to-end run, in seconds (the 60 s).
const DVR_WINDOW_S: u64 = 60;
/// How long the encoder pushes before the restart: several minutes' worth of
/// deletions at 1 s segments, the window full for more than a minute of it.
const RUN_S: u64 = 150;
/// A safety net for one blocking wait, not a timing assumption.
const LIMIT: Duration = Duration::from_secs(30);

/// A fresh DVR directory for `test`.
fn dvr_dir(test: &str) -> PathBuf {
    let d = tools::repo()
        .join("target/test-dvr")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The segment files under `dir` (recursively): name fields and path.
fn stored_files(dir: &Path) -> Vec<(SegmentName, PathBuf)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(stored_files(&p));
        } else if let Some(n) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(SegmentName::parse)
        {
            out.push((n, p));
        }
    }
    out.sort_by_key(|(n, _)| n.msn);
    out
}

/// Waits (by blocking playlist reloads, which the origin holds until the segment
/// exists) until rendition `track` of channel `live` lists segment `msn`; returns the
/// playlist.
async fn wait_msn(origin: SocketAddr, track: &str, msn: u64) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(RUN_S + 60);
    loop {
        let r = get(origin, &format!("/live/{track}/index.m3u8?_HLS_msn={msn}")).await;
        if r.status == 200 && r.text().contains(&format!("seg-{msn}.m4s")) {
            return r.text();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "segment {msn} of {track} never came: {} {}",
            r.status,
            r.text()
        );
        if r.status != 503 {
            // Not held (the channel is not there yet): poll the other process gently.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The (msn, EXTINF seconds, init URI in effect) of every segment a media playlist lists.
fn listed(playlist: &str) -> Vec<(u64, f64, String)> {
    let mut out = Vec::new();
    let (mut dur, mut map) = (0.0, String::new());
    for l in playlist.lines() {
        if let Some(u) = l.strip_prefix("#EXT-X-MAP:URI=\"") {
            map = u.trim_end_matches('"').to_string();
        } else if let Some(d) = l.strip_prefix("#EXTINF:") {
            dur = d.trim_end_matches(',').parse().expect("EXTINF");
        } else if let Some(m) = l.strip_prefix("seg-").and_then(|m| m.strip_suffix(".m4s")) {
            out.push((m.parse().expect("msn"), dur, map.clone()));
        }
    }
    out
}

/// The newest listed segment number of a playlist.
fn last_msn(playlist: &str) -> u64 {
    listed(playlist).last().expect("a segment").0
}

/// Resident memory of process `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    weir_tests::bench::rss_kib(&pid.to_string()).expect("VmRSS")
}

/// A counter of the origin's `/metrics`.
async fn metric(origin: SocketAddr, name: &str) -> u64 {
    let m = get(origin, "/metrics").await.text();
    m.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} "))?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

fn origin_args(dir: &Path) -> Vec<String> {
    [
        "origin",
        "--ingest",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0",
        "--target-duration-ms",
        "1000",
        "--window",
        "3",
        "--dvr-window",
        &DVR_WINDOW_S.to_string(),
        "--dvr-dir",
        &dir.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dvr_window_on_disk_survives_kill_9_and_serves_start_over() {
    let dir = dvr_dir("e2e");
    let args = origin_args(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (mut a, addrs) = weir(&args).await;
    let (ingest, origin) = (addrs[0], addrs[1]);
    let encoder = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{ingest}/ingest/live"),
        (RUN_S + 30) as u32,
    ));
    let first = last_msn(&wait_msn_first(origin).await);
    let video_dir = dir.join("live/v360");

    // Memory once the DVR window is full, and again after more than a window later:
    // the DVR holds 60 s, memory 6 segments.
    let _ = wait_msn(origin, "v360", first + DVR_WINDOW_S + 10).await;
    let pid = a.0.id().expect("origin pid");
    let rss_full = rss_kib(pid);
    let live = wait_msn(origin, "v360", first + RUN_S - 5).await;
    let rss_end = rss_kib(pid);
    let newest = last_msn(&live);

    // Deleted on time, by the wall clock the segments are placed on (the channel's
    // anchor in `channel.json`: an encoder running behind real time puts fewer than
    // 60 s of media in the last 60 s): the oldest file left ended less than a window
    // ago, give or take the sweep's period (1 s) and one segment; the one before it,
    // gone, ended more than a window ago.
    let files = stored_files(&video_dir);
    let oldest = &files.first().expect("stored segments").0;
    let channel: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("live/channel.json")).expect("channel.json"),
    )
    .expect("channel.json parses");
    let track: serde_json::Value =
        serde_json::from_slice(&std::fs::read(video_dir.join("track.json")).expect("track.json"))
            .expect("track.json parses");
    let epoch = channel["epoch_us"].as_i64().expect("epoch_us");
    let ts = track["timescale"].as_u64().expect("timescale");
    let wall = |ticks: u64| epoch + (u128::from(ticks) * 1_000_000 / u128::from(ts)) as i64;
    let window_us = (DVR_WINDOW_S * 1_000_000) as i64;
    let age = origin::clock::now_us() - wall(oldest.start + oldest.duration);
    assert!(
        age <= window_us + 2_000_000 && age >= window_us - 3_000_000,
        "the oldest stored segment ({}) ended {age} µs ago; the window is {window_us} µs",
        oldest.msn
    );
    assert!(
        newest - oldest.msn <= DVR_WINDOW_S + 3,
        "older files were not deleted"
    );
    assert!(!files.iter().any(|(n, _)| n.msn <= first + 1));
    assert!(
        metric(origin, "weir_dvr_segments_deleted_total").await >= 3 * (RUN_S - DVR_WINDOW_S - 20)
    );
    assert_eq!(metric(origin, "weir_dvr_write_errors_total").await, 0);
    // Flat: the DVR grows on disk, not in memory.
    assert!(
        rss_end < rss_full + 8 * 1024,
        "RSS {rss_full} KiB with the window full, {rss_end} KiB {} s later",
        RUN_S - DVR_WINDOW_S - 15
    );
    eprintln!("RSS with the DVR window full {rss_full} KiB, at the end {rss_end} KiB");

    // The start-over playlist reaches back over the whole window, carried from the
    // multivariant playlist, and starts playback at its beginning.
    let master = get(origin, "/live/master.m3u8?start=0").await;
    assert_eq!(master.status, 200);
    assert!(
        master.text().contains("v360/index.m3u8?start=0"),
        "{}",
        master.text()
    );
    let so = get(origin, "/live/v360/index.m3u8?start=0").await.text();
    assert!(so.contains("#EXT-X-START:TIME-OFFSET=0"), "{so}");
    let segs = listed(&so);
    let msns: Vec<u64> = segs.iter().map(|s| s.0).collect();
    assert!(msns.windows(2).all(|w| w[1] == w[0] + 1), "{msns:?}");
    assert!(
        msns[0] <= oldest.msn + 2 && msns.len() + 3 >= files.len(),
        "start-over lists {}..{} of stored {}..",
        msns[0],
        msns[msns.len() - 1],
        oldest.msn
    );
    // Every segment of the window decodes: all of its frames.
    let probe = dir.join("probe.mp4");
    let mut init_bytes = std::collections::HashMap::new();
    let mut kept = Vec::new();
    for (i, (msn, secs, init)) in segs.iter().enumerate() {
        if !init_bytes.contains_key(init) {
            let r = get(origin, &format!("/live/v360/{init}")).await;
            assert_eq!(r.status, 200, "{init}");
            init_bytes.insert(init.clone(), r.body);
        }
        let r = get(origin, &format!("/live/v360/seg-{msn}.m4s")).await;
        assert_eq!(r.status, 200, "segment {msn}: {}", r.text());
        let frames = tools::probe_frames(&init_bytes[init], &r.body, &probe);
        assert_eq!(
            frames,
            (secs * 30.0).round() as u64,
            "segment {msn} ({secs} s)"
        );
        // The walk takes a while: the oldest segments may leave the window before it
        // ends. The middle one and the newest are looked at again below.
        if i == segs.len() / 2 || i + 1 == segs.len() {
            kept.push((*msn, r.body));
        }
    }
    // A stored segment is immutable: DASH's URL names the same bytes, ranges and
    // revalidation work.
    let (old, old_bytes) = &kept[0];
    let dash = get(origin, &format!("/live/v360/p0/seg-{old}.m4s")).await;
    assert_eq!(dash.status, 200, "{}", dash.text());
    assert!(&dash.body == old_bytes, "DASH's URL names other bytes");
    let etag = dash.header("etag").expect("an ETag").to_string();
    assert!(dash.header("last-modified").is_some());
    assert!(
        dash.header("cache-control")
            .unwrap_or("")
            .contains("immutable")
    );
    let ranged = get_with(
        origin,
        &format!("/live/v360/seg-{old}.m4s"),
        &[("Range", "bytes=8-99")],
    )
    .await;
    assert_eq!(ranged.status, 206);
    assert!(ranged.body == old_bytes[8..100], "the range's bytes");
    let again = get_with(
        origin,
        &format!("/live/v360/seg-{old}.m4s"),
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(again.status, 304);
    // The MPD's start-over reaches as far back.
    let mpd = get(origin, "/live/manifest.mpd?start=0").await.text();
    let depth: f64 = mpd
        .split("timeShiftBufferDepth=\"PT")
        .nth(1)
        .and_then(|s| s.split('S').next())
        .and_then(|s| s.parse().ok())
        .expect("timeShiftBufferDepth");
    assert!(
        depth >= msns.len() as f64 - 3.0,
        "timeShiftBufferDepth {depth} s"
    );
    let bad = get(origin, "/live/manifest.mpd?start=0&end=5").await;
    assert_eq!(bad.status, 400);

    // kill -9 mid-stream, and a restart on the same directory.
    a.0.start_kill().expect("SIGKILL");
    let _ = a.0.wait().await;
    drop(encoder);
    let before: Vec<u64> = msns.clone();
    let (_b, addrs) = weir(&args).await;
    let (ingest, origin) = (addrs[0], addrs[1]);
    let so = get(origin, "/live/v360/index.m3u8?start=0").await;
    assert_eq!(so.status, 200, "{}", so.text());
    let after: Vec<u64> = listed(&so.text()).iter().map(|s| s.0).collect();
    let restored_last = *after.last().expect("restored segments");
    // Same numbers (the few oldest may have expired meanwhile), and more: the
    // segments completed after the walk.
    assert!(after.windows(2).all(|w| w[1] == w[0] + 1));
    assert!(
        before
            .iter()
            .filter(|m| **m >= after[0])
            .all(|m| after.contains(m))
    );
    assert!(restored_last >= *before.last().unwrap());
    for (msn, bytes) in &kept {
        let r = get(origin, &format!("/live/v360/seg-{msn}.m4s")).await;
        assert_eq!(
            r.status,
            200,
            "segment {msn} after the restart: {}",
            r.text()
        );
        assert!(
            &r.body == bytes,
            "segment {msn} has other bytes after the restart"
        );
    }

    // The encoder reconnects: the live edge resumes after a discontinuity.
    let _encoder = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{ingest}/ingest/live"),
        30,
    ));
    let _ = wait_msn(origin, "v360", restored_last + 3).await;
    // The start-over playlist spans both runs: the restored segment, the discontinuity,
    // the new encoder's segments, numbered on.
    let live = get(origin, "/live/v360/index.m3u8?start=0").await.text();
    let resumed = live
        .split(&format!("seg-{restored_last}.m4s"))
        .nth(1)
        .expect("the restored segment is still listed");
    let next_head = resumed.split("#EXTINF").next().unwrap_or("");
    assert!(
        next_head.contains("#EXT-X-DISCONTINUITY"),
        "a discontinuity after the restored segment:\n{live}"
    );
    let (msn, secs, init) = listed(&live)
        .into_iter()
        .find(|s| s.0 == restored_last + 1)
        .expect("the next segment");
    let init_b = get(origin, &format!("/live/v360/{init}")).await.body;
    let seg = get(origin, &format!("/live/v360/seg-{msn}.m4s")).await.body;
    assert_eq!(
        tools::probe_frames(&init_b, &seg, &probe),
        (secs * 30.0).round() as u64
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The first playlist of channel `live`'s v360 rendition (the other process has no
/// signal for the channel's creation: polled until it exists).
async fn wait_msn_first(origin: SocketAddr) -> String {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let r = get(origin, "/live/v360/index.m3u8").await;
        if r.status == 200 {
            return r.text();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no playlist: {}",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_disk_never_stops_live_serving() {
    let dir = dvr_dir("disk-fault");
    let mut config = origin::Config::default();
    config.timing.target_duration_ms = 1000;
    config.timing.window_segments = 3;
    config.dvr = Some(origin::dvr::DvrConfig {
        dir: dir.clone(),
        window_s: 60,
    });
    let o = TestOrigin::start_config(config).await;
    let dvr = o.origin.dvr().expect("a DVR").clone();
    let _encoder = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{}/ingest/live", o.ingest),
        40,
    ));
    until(&dvr, "segments stored", |s| written(s) >= 6).await;

    // The disk fails: the channel's directory becomes a file, so every write errors.
    let channel_dir = dir.join("live");
    std::fs::rename(&channel_dir, dir.join("live.away")).expect("move away");
    std::fs::write(&channel_dir, b"not a directory").expect("block");
    let (done, errors) = (written(dvr.stats()), failed(dvr.stats()));
    until(&dvr, "writes failing", |s| failed(s) >= errors + 6).await;
    // Live serving went on meanwhile: a blocking reload for two segments ahead, and
    // the segment itself, are answered.
    let playlist = get(o.playback, "/live/v360/index.m3u8").await.text();
    let next = last_msn(&playlist) + 2;
    let r = get(
        o.playback,
        &format!("/live/v360/index.m3u8?_HLS_msn={next}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seg = get(o.playback, &format!("/live/v360/seg-{next}.m4s")).await;
    assert_eq!(seg.status, 200);
    assert!(seg.complete && !seg.body.is_empty());
    let m = get(o.playback, "/metrics").await.text();
    assert!(m.contains("weir_dvr_write_errors_total "), "{m}");
    assert!(
        written(dvr.stats()) <= done + 1,
        "writes kept succeeding on a failed disk"
    );

    // The disk is back: writing resumes.
    std::fs::remove_file(&channel_dir).expect("unblock");
    std::fs::rename(dir.join("live.away"), &channel_dir).expect("move back");
    let done = written(dvr.stats());
    until(&dvr, "writes resumed", |s| written(s) >= done + 3).await;
    let newest = stored_files(&channel_dir.join("v360"))
        .last()
        .map(|(n, _)| n.msn)
        .expect("stored");
    assert!(newest >= next, "stored up to {newest}, live passed {next}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn written(s: &origin::dvr::DvrStats) -> u64 {
    s.segments_written
        .load(std::sync::atomic::Ordering::Relaxed)
}

fn failed(s: &origin::dvr::DvrStats) -> u64 {
    s.write_errors.load(std::sync::atomic::Ordering::Relaxed)
}

/// Waits until `done` holds of the DVR's counters, woken by each segment the writer
/// handles (the encoder keeps producing them).
async fn until(dvr: &origin::dvr::Dvr, what: &str, done: impl Fn(&origin::dvr::DvrStats) -> bool) {
    let mut rx = dvr.handled();
    tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|_| done(dvr.stats())))
        .await
        .unwrap_or_else(|_| panic!("{what}"))
        .expect("writer alive");
}

/// A channel removed as idle and pushed to again, while the DVR still holds it,
/// continues its numbering after a discontinuity (starting over would give stored
/// numbers to new media), and its start-over playlist spans both runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_created_again_continues_from_the_dvr() {
    let dir = dvr_dir("again");
    let mut config = origin::Config::default();
    config.timing.target_duration_ms = 1000;
    config.timing.window_segments = 3;
    config.dvr = Some(origin::dvr::DvrConfig {
        dir: dir.clone(),
        window_s: 600,
    });
    let o = TestOrigin::start_config(config).await;
    let dvr = o.origin.dvr().expect("a DVR").clone();
    let ingest = format!("http://{}/ingest/again", o.ingest);
    let first = tokio::task::spawn_blocking({
        let ingest = ingest.clone();
        move || {
            let mut e = tools::spawn_encoder(tools::ffmpeg_single(&ingest, 5, "320x180"));
            e.0.wait().expect("first encoder")
        }
    })
    .await
    .expect("first run");
    assert!(first.success());
    let last = o
        .origin
        .channel("again")
        .expect("channel")
        .snapshot()
        .track("v")
        .and_then(|t| t.last_complete_msn())
        .expect("segments");
    // Every completed segment stored, then the channel removed as idle (the reaper's
    // own call, past the idle timeout).
    until(&dvr, "the first run stored", |_| {
        dvr.lookup("again", "v", last).is_some()
    })
    .await;
    let idle_us = 1_000_000 * (o.origin.config().limits.idle_timeout_s as i64 + 1);
    let removed = o.origin.reap(origin::clock::now_us() + idle_us);
    assert_eq!(removed, ["again"]);
    assert!(o.origin.channel("again").is_none());

    let _second = tools::spawn_encoder(tools::ffmpeg_single(&ingest, 20, "320x180"));
    o.wait_segments("again", &["v"], 3, Duration::from_secs(60))
        .await;
    let playlist = get(o.playback, "/again/v/index.m3u8?start=0").await.text();
    let msns: Vec<u64> = listed(&playlist).iter().map(|s| s.0).collect();
    assert!(
        msns.windows(2).all(|w| w[1] == w[0] + 1),
        "{msns:?}\n{playlist}"
    );
    assert!(
        msns.contains(&last) && msns.contains(&(last + 2)),
        "{msns:?}"
    );
    let after = playlist
        .split(&format!("seg-{last}.m4s"))
        .nth(1)
        .expect("the first run's last segment");
    assert!(
        after
            .split("#EXTINF")
            .next()
            .unwrap_or("")
            .contains("#EXT-X-DISCONTINUITY"),
        "{playlist}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
