//! The live core end to end with real ffmpeg: cutting and numbering as functions of
//! media time for key-frame intervals that do and do not divide the target duration, a
//! fixed EXT-X-TARGETDURATION, two origins that agree on every number, and an encoder
//! reconnect with a new resolution (a new init with its own URL, the old segments
//! keeping theirs).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{TestOrigin, http, rules, tools};
use timeline::{ChannelSnapshot, TrackSnapshot};

/// Safety net for a slow machine; every wait ends as soon as the media is there.
const LIMIT: Duration = Duration::from_secs(120);

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("weir-core-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Runs a blocking tool call off the runtime's worker threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("tool task")
}

/// ffmpeg inputs: `seconds` of a 30 fps test pattern at `size` and a 48 kHz tone (both
/// sources end, so every output does), read as fast as the encoder goes.
fn source(seconds: u32, size: &str) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut a = s(&["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
    a.extend(s(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=size={size}:rate=30:duration={seconds}"),
    ]));
    a.extend(s(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency=1000:sample_rate=48000:duration={seconds}"),
    ]));
    a
}

fn video_out(gop: u32) -> Vec<String> {
    let g = gop.to_string();
    [
        "-map",
        "0:v",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-b:v",
        "300k",
        "-g",
        &g,
        "-keyint_min",
        &g,
        "-sc_threshold",
        "0",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect()
}

fn audio_out() -> Vec<String> {
    [
        "-map", "1:a", "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-ac", "2",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect()
}

/// ffmpeg pushing one long chunked POST per rendition (`v` and `a`) to `ingest`.
fn push_command(ingest: &str, seconds: u32, gop: u32) -> Command {
    let mut c = Command::new("ffmpeg");
    // Four times real time: a live push whose playlists the test can follow.
    let mut args = source(seconds, "320x180");
    for at in [5, 11] {
        args.splice(at..at, ["-readrate".to_string(), "4".to_string()]);
    }
    c.args(args);
    c.args(video_out(gop))
        .args(tools::FRAG)
        .arg(format!("{ingest}/v.mp4"));
    c.args(audio_out())
        .args(tools::FRAG)
        .arg(format!("{ingest}/a.mp4"));
    c.stdin(std::process::Stdio::null());
    c
}

/// ffmpeg writing the same renditions to files `dir/v.mp4` and `dir/a.mp4`.
fn encode_files(dir: &Path, seconds: u32, size: &str, gop: u32) -> (Vec<u8>, Vec<u8>) {
    let (v, a) = (
        dir.join(format!("v-{size}.mp4")),
        dir.join(format!("a-{size}.mp4")),
    );
    let mut c = Command::new("ffmpeg");
    c.args(source(seconds, size));
    c.args(video_out(gop)).args(tools::FRAG).arg(&v);
    c.args(audio_out()).args(tools::FRAG).arg(&a);
    let ok = c.status().expect("ffmpeg runs").success();
    assert!(ok, "ffmpeg encode failed");
    (std::fs::read(v).unwrap(), std::fs::read(a).unwrap())
}

/// The init and the chunks of `file` whose media starts at or after `from_secs`.
fn from_time(file: &[u8], timescale: u64, from_secs: u64) -> Vec<u8> {
    let (init, chunks) = weir_tests::bench::split(file);
    let mut body = init;
    let mut start = 0u64;
    for (chunk, end) in chunks {
        if start >= from_secs * timescale {
            body.extend_from_slice(&chunk);
        }
        start = end;
    }
    body
}

/// Start of a segment in microseconds.
fn start_us(t: &TrackSnapshot, start: u64) -> u64 {
    timeline::time::to_micros(start, t.meta.timescale)
}

/// Checks cutting and numbering in a snapshot: every video segment starts in the cell
/// of its number, renditions start each shared number at the same media time (audio
/// at its first frame at or after the video's cut), numbers are consecutive.
fn check_aligned(snap: &ChannelSnapshot) {
    let c = snap.cadence.expect("a cadence is chosen");
    let (v, a) = (snap.track("v").expect("v"), snap.track("a").expect("a"));
    for t in [v, a] {
        let msns: Vec<u64> = t.segments.iter().map(|s| s.msn).collect();
        assert!(msns.windows(2).all(|w| w[1] == w[0] + 1), "{msns:?}");
    }
    for s in v.segments.iter() {
        assert_eq!(
            s.msn,
            c.cell(s.start, v.meta.timescale) + 1,
            "video {}",
            s.msn
        );
    }
    // The first two audio segments may be cut late at start-up (audio ahead of the
    // video key frame that chose the cadence).
    let first_audio = a.segments.front().expect("audio").msn;
    let mut shared = 0;
    for s in a.segments.iter().filter(|s| s.msn > first_audio + 1) {
        let Some(vs) = v.segment(s.msn) else { continue };
        let (va, aa) = (start_us(v, vs.start), start_us(a, s.start));
        assert!(
            aa >= va && aa - va < 21_334,
            "MSN {}: audio starts at {aa} µs, video at {va} µs",
            s.msn
        );
        shared += 1;
    }
    assert!(shared >= 3, "renditions share numbers: {shared}");
}

/// Key-frame intervals of 1 s, 2 s, 3 s and 1.5 s at a 2 s target: segments of 2, 2,
/// 3 and 3 s, EXT-X-TARGETDURATION fixed from the first playlist on, EXTINF within it,
/// numbers from media time in every rendition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_frame_intervals_choose_a_fixed_cadence() {
    let o = TestOrigin::start().await;
    // (GOP in frames at 30 fps, expected TARGETDURATION).
    let cases = [(30u32, 2u64), (60, 2), (90, 3), (45, 3)];
    let mut encoders = Vec::new();
    let mut checks = Vec::new();
    for (gop, td) in cases {
        let ingest = format!("http://{}/ingest/g{gop}", o.ingest);
        encoders.push(tools::spawn_encoder(push_command(&ingest, 28, gop)));
        checks.push(tokio::spawn(follow_channel(
            o.origin.clone(),
            o.playback,
            gop,
            td,
        )));
    }
    for c in checks {
        c.await.expect("channel check");
    }
    drop(encoders);
}

/// Follows channel `g{gop}` while ffmpeg pushes it: every playlist announces `td`, and
/// the final state is cut and numbered from media time.
async fn follow_channel(
    origin: std::sync::Arc<origin::Origin>,
    playback: std::net::SocketAddr,
    gop: u32,
    td: u64,
) {
    let name = format!("g{gop}");
    let ch = tokio::time::timeout(LIMIT, origin.wait_channel(&name))
        .await
        .expect("channel appears");
    let mut rx = ch.subscribe();
    let mut seen_tds = Vec::new();
    let mut last_complete = 0;
    let mut ruled = 0;
    loop {
        let snap = ch.snapshot();
        let complete = snap.track("v").map_or(0, |t| t.complete_count());
        let ready = ["v", "a"]
            .iter()
            .all(|t| snap.track(t).is_some_and(|t| t.complete_count() > 0));
        if ready && complete != last_complete {
            last_complete = complete;
            for t in ["v", "a"] {
                let r = http::get(playback, &format!("/{name}/{t}/index.m3u8")).await;
                assert_eq!(r.status, 200, "{name}/{t}: {}", r.text());
                let text = r.text();
                let td_tag = text
                    .lines()
                    .find_map(|l| l.strip_prefix("#EXT-X-TARGETDURATION:"))
                    .and_then(|v| v.parse::<u64>().ok())
                    .expect("TARGETDURATION");
                seen_tds.push(td_tag);
                // The full rules need the 3 target durations of a settled playlist:
                // 4 complete segments of this track (its first may be short: audio
                // starts after the priming samples, and each track completes its
                // segments at its own pace, so the video's count does not speak for
                // the audio playlist).
                let here = snap.track(t).map_or(0, |t| t.complete_count());
                if here >= 4 {
                    let p = rules::check_media_playlist(&text);
                    assert_eq!(p.target_duration, td_tag);
                    ruled += 1;
                }
            }
        }
        if complete >= 7 {
            break;
        }
        tokio::time::timeout(LIMIT, rx.changed())
            .await
            .expect("the encoder keeps sending")
            .expect("channel alive");
    }
    assert!(seen_tds.len() >= 6, "{name}: playlists seen {seen_tds:?}");
    assert!(
        ruled >= 2,
        "{name}: settled playlists checked by the rules: {ruled}"
    );
    assert!(
        seen_tds.iter().all(|&x| x == td),
        "{name}: TARGETDURATION {td} throughout: {seen_tds:?}"
    );
    let snap = ch.snapshot();
    assert_eq!(snap.target_duration_secs(), td, "{name}");
    check_aligned(&snap);
    let c = snap.cadence.expect("cadence");
    let gop_us = u64::from(gop) * 1_000_000 / 30;
    assert_eq!(c.micros() % gop_us, 0, "{name}: cadence is a GOP multiple");
    assert!(
        c.micros() >= 2_000_000 && c.micros() < 2_000_000 + gop_us,
        "{name}"
    );
}

/// Two origins fed the same encoder output, the second from 10 s later, agree on every
/// number ↔ media time and on TARGETDURATION (1.5 s GOP: 3 s segments).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_origins_agree_on_every_number() {
    let dir = workdir("two");
    let (v, a) = blocking({
        let dir = dir.clone();
        move || encode_files(&dir, 30, "320x180", 45)
    })
    .await;
    let (early, late) = (TestOrigin::start().await, TestOrigin::start().await);
    for (o, from) in [(&early, 0u64), (&late, 10)] {
        // Video first, then audio: each rendition arrives whole, as from a fast encoder.
        let r = http::post(o.ingest, "/ingest/c/v.mp4", &from_time(&v, 15_360, from)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = http::post(o.ingest, "/ingest/c/a.mp4", &from_time(&a, 48_000, from)).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let (se, sl) = (
        early.origin.channel("c").expect("c").snapshot(),
        late.origin.channel("c").expect("c").snapshot(),
    );
    assert_eq!(se.cadence, sl.cadence);
    assert_eq!(se.target_duration_secs(), 3);
    assert_eq!(sl.target_duration_secs(), 3);
    for id in ["v", "a"] {
        let (te, tl) = (se.track(id).unwrap(), sl.track(id).unwrap());
        let mut compared = 0;
        // The late origin's first segment starts where it joined; later ones must match.
        for s in tl.segments.iter().skip(1).filter(|s| s.complete) {
            let e = te
                .segment(s.msn)
                .unwrap_or_else(|| panic!("{id}: {} held", s.msn));
            assert_eq!(
                (e.start, e.duration),
                (s.start, s.duration),
                "{id} {}",
                s.msn
            );
            compared += 1;
        }
        assert!(compared >= 4, "{id}: {compared} segments compared");
    }
    for o in [&early, &late] {
        for t in ["v", "a"] {
            let r = http::get(o.playback, &format!("/c/{t}/index.m3u8")).await;
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(rules::check_media_playlist(&r.text()).target_duration, 3);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// An encoder reconnect with another resolution: the new init gets its own URL after an
/// EXT-X-DISCONTINUITY, old segments keep theirs and still decode with it, and ffmpeg
/// plays across the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_with_a_new_resolution_keeps_old_inits() {
    let dir = workdir("reconnect");
    let (v1, a1) = blocking({
        let dir = dir.clone();
        move || encode_files(&dir, 12, "320x180", 30)
    })
    .await;
    let (v2, a2) = blocking({
        let dir = dir.clone();
        move || encode_files(&dir, 12, "640x360", 30)
    })
    .await;
    let o = TestOrigin::start().await;
    for (v, a) in [(&v1, &a1), (&v2, &a2)] {
        let r = http::post(o.ingest, "/ingest/r/v.mp4", v).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = http::post(o.ingest, "/ingest/r/a.mp4", a).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = http::get(o.playback, "/r/v/index.m3u8").await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let p = rules::check_media_playlist(&text);
    assert_eq!(p.maps, 2, "two inits in effect:\n{text}");
    let maps: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .map(|l| l.trim_end_matches('"').to_string())
        .collect();
    assert_ne!(maps[0], maps[1]);
    // The same init bytes on reconnect would keep the URL; these differ.
    let snap = o.origin.channel("r").unwrap().snapshot();
    let t = snap.track("v").unwrap();
    let first: &timeline::Segment = t.segments.front().unwrap();
    let last = t.complete_segments().next_back().unwrap();
    assert_ne!(first.init, last.init);
    assert!(t.segments.iter().any(|s| s.discontinuity));
    // Each segment decodes with its own init: 320x180 before, 640x360 after.
    for (seg, size) in [(first, "320x180"), (last, "640x360")] {
        let init = http::get(
            o.playback,
            &format!("/r/v/{}", manifest::init_uri(seg.init)),
        )
        .await;
        assert_eq!(init.status, 200);
        assert!(
            init.header("cache-control")
                .is_some_and(|c| c.contains("immutable")),
            "versioned inits are immutable"
        );
        let media = http::get(o.playback, &format!("/r/v/seg-{}.m4s", seg.msn)).await;
        assert_eq!(media.status, 200);
        let file = dir.join(format!("seg-{}.mp4", seg.msn));
        std::fs::write(&file, [init.body, media.body].concat()).unwrap();
        let got = blocking(move || tools::video_size(&file)).await;
        assert_eq!(got, size, "segment {} decodes with its own init", seg.msn);
    }
    // DASH: a new Period at the change, each with its own init; the MPD validates.
    let mpd = http::get(o.playback, "/r/manifest.mpd").await;
    assert_eq!(mpd.status, 200);
    let text = mpd.text();
    assert_eq!(text.matches("<Period ").count(), 2, "{text}");
    for id in [first.init, last.init] {
        assert!(text.contains(&manifest::init_uri(id)), "{text}");
    }
    let mpd_file = dir.join("manifest.mpd");
    std::fs::write(&mpd_file, &mpd.body).unwrap();
    blocking(move || tools::xmllint_mpd(&mpd_file)).await;
    // A DASH segment URL names its Period: a client still on the first Period asking
    // for the second Period's first segment is refused (it would append another
    // init's media); under its own Period it is served.
    let opened = t
        .segments
        .iter()
        .find(|s| s.discontinuity)
        .expect("the segment that opens the second Period");
    let p = t.period_of(opened);
    let stale = http::get(
        o.playback,
        &format!("/r/v/p{}/seg-{}.m4s", p - 1, opened.msn),
    )
    .await;
    assert_eq!(stale.status, 404);
    assert!(stale.text().contains("reload the MPD"), "{}", stale.text());
    let fresh = http::get(o.playback, &format!("/r/v/p{p}/seg-{}.m4s", opened.msn)).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text());

    // ffmpeg plays the playlist from its first segment across the change.
    let url = format!("http://{}/r/v/index.m3u8", o.playback);
    let frames = blocking(move || tools::decoded_frames_from_start(&url, 14)).await;
    assert!(
        frames > 14 * 30 * 9 / 10,
        "decoded {frames} frames across the change"
    );
    let _ = std::fs::remove_dir_all(dir);
}
