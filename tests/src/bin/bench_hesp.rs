//! HESP against LL-HLS and LL-DASH on one channel: time to first frame and live latency
//! of weir's HESP reference client, hls.js (LL-HLS) and dash.js (LL-DASH), each at its
//! defaults, in headless Chromium, rounds interleaved (the machine's load drifts).
//!
//! One weir origin (release, in process) and one real-time ffmpeg: v360 and v180 with
//! their key-frame companions (`{r}.kf`) and AAC, one CMAF chunk per frame, 1 s GOP.
//! Per run: a fresh page; time to first frame = ms from navigation start to the first
//! video frame presented (`pageFirstFrameMs`, player script loading included); latency
//! = wall clock − wall-clock time of the frame shown (hls.js: its program date-time;
//! dash.js: `getCurrentLiveLatency`; HESP: Manifest time), sampled each second after
//! the first 5 s. Env: `BENCH_HESP_ROUNDS` (default 3), `BENCH_HESP_SECONDS` (25).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use weir_tests::bench::{FRAG, InProcessOrigin, X264_LIVE};

/// Seconds of each run's samples skipped before measuring latency (start-up).
const SETTLE_S: usize = 5;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The encoder: as `make demo` runs it (companions included), for `seconds`.
fn encoder(ingest: &str, seconds: u64) -> Killed {
    let t = seconds.to_string();
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(weir_tests::bench::LIVE_SOURCE);
    for (size, rate, kf_rate, name) in [
        ("640x360", "800k", "2400k", "v360"),
        ("320x180", "300k", "900k", "v180"),
    ] {
        for (gop, br, file) in [
            ("30", rate, name.to_string()),
            ("1", kf_rate, format!("{name}.kf")),
        ] {
            c.args([
                "-t", &t, "-map", "0:v", "-c:v", "libx264", "-b:v", br, "-s", size,
            ])
            .args(X264_LIVE)
            .args(["-g", gop, "-keyint_min", gop])
            .args(FRAG)
            .arg(format!("{ingest}/{file}.mp4"));
        }
    }
    c.args([
        "-t", &t, "-map", "1:a", "-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2",
    ])
    .args(FRAG)
    .arg(format!("{ingest}/audio.mp4"));
    c.stdin(Stdio::null()).stdout(Stdio::null());
    Killed(c.spawn().expect("ffmpeg (scripts/setup.sh installs it)"))
}

/// One run of the page driver; returns its samples.
fn play(repo: &Path, url: &str, seconds: u64) -> Vec<Value> {
    let out = Command::new("node")
        .arg(repo.join("tests/browser/play.mjs"))
        .arg(url)
        .arg(seconds.to_string())
        .output()
        .expect("node (scripts/setup.sh --test installs tests/browser)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .expect("driver RESULT line");
    let v: Value = serde_json::from_str(line).expect("RESULT json");
    v["samples"].as_array().cloned().unwrap_or_default()
}

/// The latency a sample shows, on one definition for every player.
fn latency(kind: &str, s: &Value) -> Option<f64> {
    match kind {
        "hls" => Some((s["now"].as_f64()? - s["playingDate"].as_f64()?) / 1000.0),
        _ => s["latency"].as_f64().filter(|l| l.is_finite()),
    }
}

/// Median of `v` (sorted in place).
fn median(v: &mut [f64]) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}

#[tokio::main]
async fn main() {
    let repo: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf();
    let rounds = env_num("BENCH_HESP_ROUNDS", 3);
    let seconds = env_num("BENCH_HESP_SECONDS", 25);
    let weir = InProcessOrigin::start(&repo).await;
    let (ia, pa, origin) = (weir.ingest, weir.playback, weir.origin.clone());
    let total = rounds * 3 * (seconds + 8) + 30;
    let _enc = encoder(&format!("http://{ia}/ingest/bench"), total);
    // Until every rendition has a segment: the players then all find a live stream.
    let ch = origin.wait_channel("bench").await;
    let mut rx = ch.subscribe();
    let _ = rx
        .wait_for(|s| {
            ["v360", "v180", "audio"].iter().all(|t| {
                s.track(t)
                    .is_some_and(|t| t.segments.iter().filter(|s| s.complete).count() >= 2)
            })
        })
        .await;

    let players = [
        ("hesp", "HESP (weir's client)"),
        ("hls", "LL-HLS (hls.js)"),
        ("dash", "LL-DASH (dash.js)"),
    ];
    let mut first: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut lat: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut waits = [0u64; 3];
    for round in 1..=rounds {
        for (i, (kind, _)) in players.iter().enumerate() {
            let url = format!("http://{pa}/?channel=bench&player={kind}");
            let repo = repo.clone();
            let samples = tokio::task::spawn_blocking(move || play(&repo, &url, seconds))
                .await
                .expect("driver");
            let ff = samples.last().and_then(|s| s["pageFirstFrameMs"].as_f64());
            let mut l: Vec<f64> = samples
                .iter()
                .skip(SETTLE_S)
                .filter_map(|s| latency(kind, s))
                .collect();
            let w = samples
                .last()
                .and_then(|s| s["waits"].as_u64())
                .unwrap_or(0);
            eprintln!(
                "round {round} {kind}: first frame {ff:?} ms, latency median {:?} s, {w} waits",
                median(&mut l)
            );
            first[i].extend(ff);
            lat[i].extend(l);
            waits[i] += w;
        }
    }
    println!(
        "| player (defaults) | first frame, median of {rounds} runs (ms) | live latency, median (s) | waiting events |"
    );
    println!("|---|---|---|---|");
    for (i, (_, name)) in players.iter().enumerate() {
        println!(
            "| {name} | {} | {} | {} |",
            median(&mut first[i]).map_or("–".into(), |v| format!("{v:.0}")),
            median(&mut lat[i]).map_or("–".into(), |v| format!("{v:.2}")),
            waits[i]
        );
    }
}
