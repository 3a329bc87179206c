//! Real players in a real browser: weir's own player page, served by weir, opened in
//! Debian's Chromium, playing a channel that real ffmpeg pushes: hls.js in low-latency
//! mode (blocking playlist reloads, parts) for 30 s with a rendition switch, then Shaka.
//!
//! hls.js runs with a target latency of [`TARGET_LATENCY_S`] instead of the playlists'
//! PART-HOLD-BACK (0.6 s): the test machine (2 cores) also encodes three renditions in
//! real time, runs Chromium and a debug weir, and its scheduling hiccups exceed 0.6 s of
//! buffer whatever the server does (CI saw such stalls). The latency at PART-HOLD-BACK is
//! measured by `make bench` (bench-llhls), on a quiet machine.

mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{TestEdge, TestOrigin, tools};

/// hls.js's target latency in this test (s): low-latency mode all the same (blocking
/// reloads, parts), with room for a loaded machine's hiccups.
const TARGET_LATENCY_S: f64 = 1.5;

/// How far (s) the encoder must fall behind real time before a stall is blamed on the
/// machine rather than on weir: a real-time encoder that late means the 2 cores were
/// starved, Chromium's fetch and decode threads with it.
const STARVED_SOURCE_S: f64 = 0.4;

/// One browser test at a time: each runs a real-time encoder, Chromium and weir on a
/// 2-core machine, and latency figures mean nothing when four of them share it.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs the page driver; returns (samples, page errors, level switched to).
async fn play(
    url: String,
    seconds: u32,
    switch_at: Option<u32>,
) -> (Vec<Value>, Vec<Value>, Value) {
    play_seeking(url, seconds, switch_at, "").await
}

/// [`play`], with the driver's `SEEKS` plan (see `tests/browser/play.mjs`).
async fn play_seeking(
    url: String,
    seconds: u32,
    switch_at: Option<u32>,
    seeks: &str,
) -> (Vec<Value>, Vec<Value>, Value) {
    let script = tools::repo().join("tests/browser/play.mjs");
    let seeks = seeks.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut c = Command::new("node");
        c.env("SEEKS", seeks);
        c.arg(script).arg(url).arg(seconds.to_string());
        if let Some(s) = switch_at {
            c.arg(s.to_string());
        }
        tools::output(&mut c)
    })
    .await
    .expect("driver task");
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .expect("driver RESULT line");
    let v: Value = serde_json::from_str(line).expect("RESULT json");
    (
        v["samples"].as_array().cloned().unwrap_or_default(),
        v["pageErrors"].as_array().cloned().unwrap_or_default(),
        v["switchedTo"].clone(),
    )
}

/// One publish of the followed track, as the origin made it.
#[derive(Clone, Copy)]
struct Publish {
    /// Wall clock at the publish, Unix µs.
    wall_us: i64,
    /// Newest media time of the track, µs.
    media_us: i64,
    /// Program date-time of that media time (the channel's anchor + media time), Unix µs.
    edge_pdt_us: Option<i64>,
}

/// Follows the origin's live edge: records every publish of `track` on `channel` until
/// dropped, to tell how far the encoder fell behind real time and how far a player sits
/// behind what weir had published.
struct SourceClock {
    points: Arc<Mutex<Vec<Publish>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SourceClock {
    fn follow(o: &TestOrigin, channel: &str, track: &'static str) -> SourceClock {
        let points = Arc::new(Mutex::new(Vec::new()));
        let ch = o.origin.channel(channel).expect("channel is live");
        let mut rx = ch.subscribe();
        let sink = points.clone();
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let snap = rx.borrow_and_update().clone();
                let Some(t) = snap.track(track) else { continue };
                let Some(end) = t.end() else { continue };
                let media_us = timeline::time::rescale(end, t.meta.timescale, 1_000_000) as i64;
                sink.lock().unwrap().push(Publish {
                    wall_us: origin::clock::now_us(),
                    media_us,
                    edge_pdt_us: snap.epoch_us.map(|e| e + media_us),
                });
            }
        });
        SourceClock { points, task }
    }

    /// Forgets what was recorded (a new phase of the test starts).
    fn reset(&self) {
        self.points.lock().unwrap().clear();
    }

    /// The largest amount of real time by which the source fell behind its own media
    /// clock over any interval so far, in seconds (a starved player stalls then, whatever
    /// the server does).
    fn worst_lag(&self) -> f64 {
        let points = self.points.lock().unwrap();
        let mut ahead_max = i64::MIN;
        let mut worst = 0i64;
        for p in points.iter() {
            let ahead = p.media_us - p.wall_us;
            ahead_max = ahead_max.max(ahead);
            worst = worst.max(ahead_max - ahead);
        }
        worst as f64 / 1e6
    }

    /// How far (s) the frame shown at wall clock `now_ms` (Unix ms) with program date
    /// `playing_ms` was behind the newest media the origin had published by then: the
    /// latency weir and the player add, without the encoder's own lag.
    fn behind_edge(&self, now_ms: f64, playing_ms: f64) -> Option<f64> {
        let now_us = (now_ms * 1000.0) as i64;
        let points = self.points.lock().unwrap();
        let last = points.iter().rev().find(|p| p.wall_us <= now_us)?;
        Some((last.edge_pdt_us? as f64 / 1000.0 - playing_ms) / 1000.0)
    }
}

impl Drop for SourceClock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How strictly playback must be continuous.
#[derive(Clone, Copy, PartialEq)]
enum Continuity {
    /// The playhead advances in every 1 s sample after the start; a stalled second is
    /// accepted only when the source itself fell behind real time by at least this many
    /// seconds during the run (CPU starvation of the encoder on a loaded 2-core machine,
    /// reported), never when weir had the media.
    EverySecond { starved_source: bool },
    /// Overall the playhead covers at least 80 % of the wall time after the start (a
    /// brief rebuffer is tolerated and reported).
    Overall,
}

/// No page error, no fatal player error, no media error of the video element.
fn assert_no_errors(name: &str, samples: &[Value], page_errors: &[Value]) {
    assert!(
        page_errors.is_empty(),
        "{name}: page errors {page_errors:?}"
    );
    for s in samples {
        let fatal: Vec<_> = s["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["fatal"] == true)
            .collect();
        assert!(fatal.is_empty(), "{name}: fatal errors {fatal:?}");
    }
    // A media error of the video element (a decode failure) is fatal too, whether or
    // not the player reports it.
    if let Some(last) = samples.last() {
        assert_eq!(
            last["mediaErrors"].as_u64(),
            Some(0),
            "{name}: the video element reported an error"
        );
    }
}

/// Checks playback: no fatal player error, a start within 10 s, continuity as asked,
/// frames decoded. The frame floor (half the 30 fps source) leaves room for a 2-core
/// machine that also encodes and serves.
fn assert_plays(
    name: &str,
    samples: &[Value],
    page_errors: &[Value],
    continuity: Continuity,
) -> usize {
    assert_no_errors(name, samples, page_errors);
    let t = |s: &Value| s["currentTime"].as_f64().unwrap_or(0.0);

    let start = samples
        .iter()
        .position(|s| t(s) > 0.0 && s["readyState"].as_u64().unwrap_or(0) >= 3)
        .unwrap_or_else(|| panic!("{name}: never started playing: {samples:?}"));
    assert!(start <= 10, "{name}: took {start} s to start");
    for w in samples[start..].windows(2) {
        let advanced = t(&w[1]) - t(&w[0]);
        if advanced <= 0.5 {
            eprintln!(
                "{name}: playhead advanced {advanced:.2} s in 1 s at {:.2}",
                t(&w[0])
            );
            assert!(
                continuity
                    != Continuity::EverySecond {
                        starved_source: false
                    },
                "{name}: playhead stalled ({advanced:.2} s in 1 s) at {} while the source kept up; sample {}",
                t(&w[0]),
                w[1]
            );
        }
    }
    let wall = (samples.len() - 1 - start) as f64;
    let covered = t(samples.last().expect("samples")) - t(&samples[start]);
    assert!(
        covered >= 0.8 * wall,
        "{name}: playhead covered {covered:.1} s in {wall} s"
    );
    let frames = |s: &Value| s["decodedFrames"].as_u64().unwrap_or(0);
    let played = frames(samples.last().expect("samples")) - frames(&samples[start]);
    let secs = (samples.len() - 1 - start) as u64;
    assert!(
        played >= secs * 15,
        "{name}: decoded {played} frames in {secs} s"
    );
    start
}

/// Checks that the rendition switch the driver asked for (`switched`) happened: the
/// player reports it among its switches and plays that rendition at the end.
fn assert_switched(name: &str, last: &Value, switched: &Value) {
    let to = switched.as_u64().expect("a rendition switch was requested");
    let switches: Vec<u64> = last["levelSwitches"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    assert!(
        switches.contains(&to),
        "{name} switched to level {to}: {switches:?}"
    );
    assert_eq!(
        last["level"].as_u64(),
        Some(to),
        "{name} plays the new rendition"
    );
}

/// How far (s) beyond its own target latency a low-latency player may sit behind weir's
/// live edge, on average: joining a live stream starts at an independent part, up to one
/// GOP (1 s) before the target position, plus a part (0.2 s) in flight, plus 0.3 s for a
/// loaded machine. Seen: 0.7-0.8 s on a quiet machine; up to 1.55 s with a busy loop
/// hogging one core (the encoder then fell 0.4-0.9 s behind, which the bound adds).
const MAX_BEYOND_TARGET_S: f64 = 1.5;

/// Checks that the player reports the playing date (PDT) and its target latency, and that
/// on average the frame shown is within [`MAX_BEYOND_TARGET_S`] of that target behind the
/// newest media weir had published at that moment. The target is ours (the page's
/// `latency`) plus hls.js's own back-off after a stall (stalls are judged apart). The
/// bound grows by the encoder's worst fall-behind in the phase: what starves a real-time
/// encoder on this machine starves the player's fetch and decode too (with both cores
/// hogged by busy loops the encoder fell 0.99 s behind and hls.js sat 1.36 s beyond its
/// target, without a stall). Prints both and the live latency (wall clock − PDT, which
/// also holds the encoder's own lag).
fn assert_low_latency(name: &str, samples: &[Value], source: &SourceClock) {
    let mut latency = Vec::new();
    let mut behind = Vec::new();
    let mut beyond = Vec::new();
    for s in samples {
        let (Some(now), Some(playing)) = (s["now"].as_f64(), s["playingDate"].as_f64()) else {
            continue;
        };
        latency.push((now - playing) / 1000.0);
        let (Some(b), Some(target)) = (
            source.behind_edge(now, playing),
            s["targetLatency"].as_f64(),
        ) else {
            continue;
        };
        behind.push(b);
        beyond.push(b - target);
    }
    assert!(
        !beyond.is_empty(),
        "{name} reports the playing date (PDT) and its target latency: {samples:?}"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (latency, behind, beyond) = (mean(&latency), mean(&behind), mean(&beyond));
    let bound = MAX_BEYOND_TARGET_S + source.worst_lag();
    eprintln!(
        "{name}: live latency (wall clock - PDT of the frame shown) mean {latency:.2} s; \
         behind weir's live edge mean {behind:.2} s, {beyond:.2} s beyond the player's \
         target, over {} s",
        samples.len()
    );
    assert!(
        beyond < bound,
        "{name}: low-latency playback stays within {bound:.2} s of its target behind \
         weir's live edge: {beyond:.2} s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_js_low_latency_and_shaka_play_in_chromium() {
    let _one = ONE_AT_A_TIME.lock().await;
    let o = TestOrigin::start_with_web().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{}/ingest/live", o.ingest),
        120,
    ));
    o.wait_segments(
        "live",
        &["v360", "v180", "audio"],
        2,
        Duration::from_secs(60),
    )
    .await;

    // hls.js, low-latency mode, 32 s, switching rendition after 15 s.
    let url = format!(
        "http://{}/?channel=live&player=hls&latency={TARGET_LATENCY_S}",
        o.playback
    );
    let source = SourceClock::follow(&o, "live", "v360");
    let (samples, errors, switched) = play(url, 32, Some(15)).await;
    let lag = source.worst_lag();
    eprintln!("source: worst fall-behind of the encoder vs real time {lag:.2} s");
    let starved_source = lag >= STARVED_SOURCE_S;
    // No stall before the rendition switch; across it, overall continuity. The page
    // switches with hls.js's non-destructive `loadLevel` (`nextLevel` flushed the
    // forward buffer and stalled at the next segment boundary in about half the runs),
    // but hls.js still stalls for a few seconds at the first segment boundary after
    // the switch in some runs (1 of 3 full runs on 2026-12-06): an open problem, noted.
    let start = assert_plays(
        "hls.js before the switch",
        &samples[..samples.len().min(15)],
        &errors,
        Continuity::EverySecond { starved_source },
    );
    assert_plays("hls.js", &samples, &errors, Continuity::Overall);
    let last = samples.last().expect("samples");
    assert_eq!(last["canBlockReload"], true, "hls.js saw CAN-BLOCK-RELOAD");
    assert_eq!(
        last["partTarget"].as_f64(),
        Some(0.2),
        "hls.js saw the part target"
    );
    assert_switched("hls.js", last, &switched);
    assert_low_latency("hls.js", &samples[start..], &source);

    // Shaka Player on the same page, 20 s.
    let url = format!("http://{}/?channel=live&player=shaka", o.playback);
    let (samples, errors, _) = play(url, 20, None).await;
    assert_plays("shaka", &samples, &errors, Continuity::Overall);

    // hls.js through `weir edge`: the Wasm component renders every playlist (blocking
    // reloads included) from the origin's timeline API over HTTP; media and the page
    // pass through it.
    let edge = TestEdge::start(o.playback).await;
    let before = (edge.node.stats.requests(), edge.node.stats.blocking());
    source.reset();
    let url = format!(
        "http://{}/?channel=live&player=hls&latency={TARGET_LATENCY_S}",
        edge.addr
    );
    let (samples, errors, _) = play(url, 20, None).await;
    let lag = source.worst_lag();
    eprintln!("source (edge phase): worst fall-behind {lag:.2} s");
    let start = assert_plays(
        "hls.js via weir edge",
        &samples,
        &errors,
        Continuity::EverySecond {
            starved_source: lag >= STARVED_SOURCE_S,
        },
    );
    assert_low_latency("hls.js via weir edge", &samples[start..], &source);
    let last = samples.last().expect("samples");
    assert_eq!(
        last["canBlockReload"], true,
        "hls.js saw CAN-BLOCK-RELOAD via the edge"
    );
    let requests = edge.node.stats.requests() - before.0;
    let blocking = edge.node.stats.blocking() - before.1;
    eprintln!("weir edge: {requests} requests, {blocking} blocking reloads in 20 s");
    // Two renditions (video + audio) reloading about every part (0.2 s) for ~15 s.
    assert!(
        blocking >= 40,
        "blocking reloads went through the component: {blocking}"
    );
}

/// Plays `player` (the page's `?player=`) on `channel` for 26 s while its encoder
/// reconnects: 12 s at 320x180, then a second encoder at 640x360 (a new init, its clock
/// restarted), so most of what plays comes from the second one. Returns the samples,
/// the page errors and the second encoder (killed when dropped).
async fn play_across_a_reconnect(
    o: &TestOrigin,
    channel: &str,
    player: &str,
) -> (Vec<Value>, Vec<Value>, tools::Killed) {
    let ingest = format!("http://{}/ingest/{channel}", o.ingest);
    let mut first = tools::spawn_encoder(tools::ffmpeg_single(&ingest, 12, "320x180"));
    o.wait_segments(channel, &["v", "a"], 2, Duration::from_secs(60))
        .await;
    let url = format!("http://{}/?channel={channel}&player={player}", o.playback);
    let playing = tokio::spawn(play(url, 26, None));
    let status = tokio::task::spawn_blocking(move || {
        let s = first.0.wait();
        (s, first)
    })
    .await
    .expect("wait task");
    assert!(status.0.expect("first encoder").success(), "first encoder");
    let second = tools::spawn_encoder(tools::ffmpeg_single(&ingest, 40, "640x360"));
    let (samples, errors, _) = playing.await.expect("player");
    (samples, errors, second)
}

/// An encoder reconnect with another resolution (a new init, its clock restarted): hls.js
/// keeps playing across the EXT-X-DISCONTINUITY and the new EXT-X-MAP, into the media of
/// the second encoder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_js_plays_across_an_encoder_reconnect() {
    let _one = ONE_AT_A_TIME.lock().await;
    let o = TestOrigin::start_with_web().await;
    // hls.js at its defaults: this test measures no latency, only that playback
    // continues across the change.
    let (samples, errors, _second) = play_across_a_reconnect(&o, "re", "hls").await;
    assert_plays(
        "hls.js across a reconnect",
        &samples,
        &errors,
        Continuity::Overall,
    );
    let snap = o.origin.channel("re").expect("channel").snapshot();
    let v = snap.track("v").expect("video");
    let inits: std::collections::BTreeSet<u32> = v.segments.iter().map(|s| s.init).collect();
    assert_eq!(inits.len(), 2, "both inits are held");
    assert_eq!(v.meta.height, 360, "the second encoder's rendition is live");
}

/// Seconds dash.js plays weir's LL-DASH in the long phase: at least 60 s after a start
/// that may take up to 10 s.
const DASH_SECONDS: u32 = 72;

/// The `q`-quantile (0..=1) of `v`, by nearest rank.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() as f64 - 1.0) * q).round() as usize;
    s.get(i).copied().unwrap_or(f64::NAN)
}

/// Checks that dash.js turned on its low-latency mode from the MPD alone (no setting
/// on the page) and took the MPD's latency target; returns the live latencies it
/// reported (`getCurrentLiveLatency()`, s) after the start.
fn assert_dash_low_latency(name: &str, samples: &[Value]) -> Vec<f64> {
    let target = manifest::policy::dash_service::LATENCY_TARGET_MS as f64 / 1000.0;
    let last = samples.last().expect("samples");
    assert_eq!(
        last["lowLatency"], true,
        "{name}: dash.js detected low latency from the MPD (availabilityTimeComplete=false)"
    );
    assert_eq!(
        last["targetLatency"].as_f64(),
        Some(target),
        "{name}: dash.js took the MPD's ServiceDescription latency target"
    );
    samples
        .iter()
        .filter_map(|s| s["latency"].as_f64())
        .filter(|l| *l > 0.0)
        .collect()
}

/// LL-DASH: dash.js (npm, at its defaults) plays weir's MPD for over 60 s in low-latency
/// mode, which it must detect from the MPD alone, without a stall while the source
/// keeps up; Shaka plays the same MPD; dash.js plays it again through `weir edge`, where
/// the Wasm component renders the MPD and the segment in progress streams through it.
/// Every MPD fetched validates against the DASH schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_js_plays_ll_dash_at_low_latency_then_shaka_and_through_the_edge() {
    let _one = ONE_AT_A_TIME.lock().await;
    let o = TestOrigin::start_with_web().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_long_post(
        &format!("http://{}/ingest/live", o.ingest),
        240,
    ));
    o.wait_segments(
        "live",
        &["v360", "v180", "audio"],
        2,
        Duration::from_secs(60),
    )
    .await;

    let source = SourceClock::follow(&o, "live", "v360");
    let url = format!("http://{}/?channel=live&player=dash", o.playback);
    let (samples, errors, _) = play(url, DASH_SECONDS, None).await;
    let lag = source.worst_lag();
    eprintln!("source: worst fall-behind of the encoder vs real time {lag:.2} s");
    let start = assert_plays(
        "dash.js",
        &samples,
        &errors,
        Continuity::EverySecond {
            starved_source: lag >= STARVED_SOURCE_S,
        },
    );
    assert!(
        samples.len() - start > 60,
        "dash.js played {} s",
        samples.len() - start
    );
    let latency = assert_dash_low_latency("dash.js", &samples[start..]);
    let (median, p95) = (quantile(&latency, 0.5), quantile(&latency, 0.95));
    eprintln!(
        "dash.js LL-DASH live latency (getCurrentLiveLatency) over {} s: median {median:.3} s, \
         p95 {p95:.3} s",
        latency.len()
    );
    let target = manifest::policy::dash_service::LATENCY_TARGET_MS as f64 / 1000.0;
    assert!(
        median < target + MAX_BEYOND_TARGET_S + lag,
        "dash.js holds the MPD's target: median {median:.3} s"
    );

    // Shaka Player, same MPD, 20 s.
    let url = format!(
        "http://{}/?channel=live&player=shaka&format=dash",
        o.playback
    );
    let (samples, errors, _) = play(url, 20, None).await;
    assert_plays("shaka (DASH)", &samples, &errors, Continuity::Overall);

    // dash.js through `weir edge`, 20 s.
    let edge = TestEdge::start(o.playback).await;
    let mpd = support::http::get(edge.addr, "/live/manifest.mpd").await;
    assert!(
        mpd.header("x-weir-render")
            .is_some_and(|v| v.starts_with("wasm/")),
        "the component rendered the MPD"
    );
    source.reset();
    let url = format!("http://{}/?channel=live&player=dash", edge.addr);
    let (samples, errors, _) = play(url, 20, None).await;
    let lag = source.worst_lag();
    let start = assert_plays(
        "dash.js via weir edge",
        &samples,
        &errors,
        Continuity::EverySecond {
            starved_source: lag >= STARVED_SOURCE_S,
        },
    );
    let latency = assert_dash_low_latency("dash.js via weir edge", &samples[start..]);
    eprintln!(
        "dash.js via weir edge: median live latency {:.3} s",
        quantile(&latency, 0.5)
    );

    // The MPDs of this run, from the origin and from the component, are schema-valid.
    let dir = std::env::temp_dir().join(format!("weir-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    for (name, addr) in [("origin", o.playback), ("edge", edge.addr)] {
        let r = support::http::get(addr, "/live/manifest.mpd").await;
        assert_eq!(r.status, 200);
        let file = dir.join(format!("{name}.mpd"));
        std::fs::write(&file, &r.body).expect("write MPD");
        tokio::task::spawn_blocking(move || tools::xmllint_mpd(&file))
            .await
            .expect("xmllint task");
    }
}

/// An encoder reconnect with another resolution under dash.js: the MPD gains a Period
/// (its own init and presentationTimeOffset) and dash.js, in low-latency mode, keeps
/// playing into the second encoder's media.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_js_plays_across_an_encoder_reconnect() {
    let _one = ONE_AT_A_TIME.lock().await;
    let o = TestOrigin::start_with_web().await;
    let (samples, errors, _second) = play_across_a_reconnect(&o, "rd", "dash").await;
    let start = assert_plays(
        "dash.js across a reconnect",
        &samples,
        &errors,
        Continuity::Overall,
    );
    assert_dash_low_latency("dash.js across a reconnect", &samples[start..]);
    let mpd = support::http::get(o.playback, "/rd/manifest.mpd")
        .await
        .text();
    // A Period per encoder: the second encoder's media is in Period 1 (the first's may
    // have left the 20 s window by the time the run ends, on a loaded machine).
    assert!(
        mpd.contains("<Period id=\"1\""),
        "a Period per encoder: {mpd}"
    );
    let last = samples.last().expect("samples");
    assert!(
        last["height"].as_u64() == Some(360) || last["videoHeight"].as_u64() == Some(360),
        "dash.js plays the second encoder's 360p: {last}"
    );
}

/// An encoder whose clock jumps 30 s ahead of real time after 12 s (a source switched
/// to another time base), under dash.js at its defaults: weir continues the media at
/// the channel's clock in a new Period (the old one closed by `endNumber`), so dash.js
/// plays on across the jump instead of waiting 30 s for segments the clock does not
/// reach, or asking the old Period for a segment it never had (which dash.js kept
/// doing for the 20 s and more we watched).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_js_plays_across_a_jump_of_the_encoder_clock() {
    let _one = ONE_AT_A_TIME.lock().await;
    let o = TestOrigin::start_with_web().await;
    let ingest = format!("http://{}/ingest/jump", o.ingest);
    let _enc = tools::spawn_encoder(tools::ffmpeg_clock_jump(&ingest, 40, 12, 30));
    o.wait_segments("jump", &["v", "a"], 2, Duration::from_secs(60))
        .await;
    let url = format!("http://{}/?channel=jump&player=dash", o.playback);
    let (samples, errors, _) = play(url, 26, None).await;
    let mpd = support::http::get(o.playback, "/jump/manifest.mpd")
        .await
        .text();
    assert!(
        mpd.contains("<Period id=\"1\""),
        "a Period after the jump: {mpd}"
    );
    // No fatal error; one brief wait is expected at the jump (dash.js asks the old
    // Period for its next segment until its MPD shows the new one), so continuity is
    // judged by how far playback went.
    assert_no_errors("dash.js across a clock jump", &samples, &errors);
    // Playback went on well past the jump (the encoder's 12th second), not stuck at it
    // for the 30 s it would take the clock to catch up.
    let first = samples
        .first()
        .and_then(|s| s["currentTime"].as_f64())
        .unwrap_or(0.0);
    let last = samples
        .last()
        .and_then(|s| s["currentTime"].as_f64())
        .unwrap_or(0.0);
    assert!(
        last - first > 12.0,
        "dash.js played {:.1} s of 26 across the jump: {samples:?}",
        last - first
    );
}

/// The mean live latency (s) a HESP run may show: the client plays from the newest
/// packet with its own catch-up (no player latency setting is overridden); the bound
/// is the LL-HLS test's target, for a 2-core machine that also encodes five streams.
const HESP_MAX_MEAN_LATENCY_S: f64 = 1.5;

/// weir's HESP reference client (`web/hesp.js`, written from the draft) plays 62 s in
/// Chromium with a rendition switch at 20 s: no stall while the source keeps up, the
/// switch happens, the first frame comes quickly, latency stays low.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hesp_reference_client_plays_a_minute_with_a_rendition_switch() {
    let _one = ONE_AT_A_TIME.lock().await;
    let o = TestOrigin::start_with_web().await;
    let _enc = tools::spawn_encoder(tools::ffmpeg_hesp(
        &format!("http://{}/ingest/hesp", o.ingest),
        120,
        &["v360", "v180"],
    ));
    o.wait_segments(
        "hesp",
        &["v360", "v180", "audio"],
        2,
        Duration::from_secs(60),
    )
    .await;
    let source = SourceClock::follow(&o, "hesp", "v360");
    let url = format!("http://{}/?channel=hesp&player=hesp", o.playback);
    let (samples, errors, switched) = play(url, 62, Some(20)).await;
    let lag = source.worst_lag();
    eprintln!("source: worst fall-behind of the encoder vs real time {lag:.2} s");
    let start = assert_plays(
        "HESP",
        &samples,
        &errors,
        Continuity::EverySecond {
            starved_source: lag >= STARVED_SOURCE_S,
        },
    );
    let last = samples.last().expect("samples");
    assert_switched("HESP", last, &switched);
    let first_frame = last["firstFrameMs"].as_f64().expect("firstFrameMs");
    let latencies: Vec<f64> = samples[start..]
        .iter()
        .filter_map(|s| s["latency"].as_f64())
        .collect();
    assert!(!latencies.is_empty(), "the client reports its latency");
    let mean = latencies.iter().sum::<f64>() / latencies.len() as f64;
    let worst = latencies.iter().cloned().fold(0.0, f64::max);
    eprintln!(
        "HESP: first frame {first_frame:.0} ms after the manifest request; live latency \
         mean {mean:.2} s, worst {worst:.2} s over {} s",
        latencies.len()
    );
    assert!(
        mean < HESP_MAX_MEAN_LATENCY_S,
        "HESP live latency mean {mean:.2} s"
    );
}

/// Start-over from the DVR in Chromium, hls.js at its defaults: the start-over playlist
/// (`?start=0`) of a channel with a minute on disk and 12 s in memory starts at its
/// beginning (`EXT-X-START`), a seek goes near the live edge, then one 45 s back (into
/// segments served from disk), and playback goes on from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_js_seeks_back_45_s_into_the_dvr() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tools::repo()
        .join("target/test-dvr")
        .join(format!("browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = origin::Config {
        web: Some(tools::repo().join("web")),
        ..origin::Config::default()
    };
    config.timing.window_segments = 3;
    config.dvr = Some(origin::dvr::DvrConfig {
        dir: dir.clone(),
        window_s: 120,
    });
    let o = TestOrigin::start_config(config).await;
    let ingest = format!("http://{}/ingest/dvr", o.ingest);
    let _encoder = tools::spawn_encoder(tools::ffmpeg_long_post(&ingest, 150));
    // A minute of each rendition on disk (2 s segments), by the DVR's own signal.
    let dvr = o.origin.dvr().expect("a DVR").clone();
    let mut handled = dvr.handled();
    let written = || {
        dvr.stats()
            .segments_written
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    tokio::time::timeout(
        Duration::from_secs(120),
        handled.wait_for(|_| written() >= 3 * 30),
    )
    .await
    .expect("a minute stored")
    .expect("writer alive");
    let url = format!("http://{}/?channel=dvr&player=hls&start=0", o.playback);
    let (samples, errors, _) = play_seeking(url, 26, None, "6:end-4,14:back-45").await;
    assert!(errors.is_empty(), "page errors: {errors:?}");
    let behind = |s: &Value| {
        let now = s["now"].as_f64().unwrap_or(0.0);
        s["playingDate"].as_f64().map(|d| (now - d) / 1000.0)
    };
    let at = |i: usize| {
        samples
            .get(i)
            .unwrap_or_else(|| panic!("sample {i}: {samples:?}"))
    };
    // Started at the beginning of the window, a minute behind live.
    let start = behind(at(4)).expect("playing after 5 s");
    assert!(start >= 50.0, "start-over began {start:.1} s behind live");
    // Near the live edge after the first seek.
    let near = behind(at(12)).expect("playing after the jump");
    assert!(
        near <= 20.0,
        "{near:.1} s behind live after seeking to the end"
    );
    // 45 s back, and playing on from there: frames decode, the position advances.
    let (a, b) = (at(18), at(25));
    let back = behind(b).expect("playing after the seek back");
    assert!(
        (near + 35.0..=near + 60.0).contains(&back),
        "{back:.1} s behind live after seeking 45 s back from {near:.1}"
    );
    let advanced =
        b["currentTime"].as_f64().unwrap_or(0.0) - a["currentTime"].as_f64().unwrap_or(0.0);
    let frames =
        b["decodedFrames"].as_u64().unwrap_or(0) - a["decodedFrames"].as_u64().unwrap_or(0);
    assert!(
        advanced >= 5.0,
        "played {advanced:.1} s in 7 s after the seek back"
    );
    assert!(
        frames >= 150,
        "{frames} frames decoded in 7 s after the seek back"
    );
    assert!(
        dvr.stats()
            .served
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "segments came from disk"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
