//! The soak run (a benchmark, not a test): `weir up` (release build) for a long time
//! under a steady audience, to show that nothing grows and nothing fails.
//!
//! `cargo run --release -p weir-tests --bin soak [MINUTES] [LLHLS_VIEWERS] [LLDASH_VIEWERS]`
//! (defaults 30, 100, 20; `make soak`).
//!
//! - Ingest: one ffmpeg, in real time, 3 renditions (`weir_tests::bench::live_ladder`:
//!   640x360 and 320x180 x264 with a 1 s GOP, AAC audio), one long chunked POST each,
//!   CMAF chunk per frame.
//! - LL-HLS viewers, split over the two video renditions, each as a low-latency player
//!   does it: the blocking reload for the part the preload hint names
//!   (`_HLS_msn`/`_HLS_part`) and, at the same time, that part itself.
//! - LL-DASH viewers on v360: the MPD every 10 s and each next segment asked for before
//!   it begins, streamed chunk by chunk as the origin writes it.
//! - Every 10 s: weir's RSS (`/proc/PID/status`), answers by status class, and the
//!   wake-up spread of that interval: for each part, how long after the first viewer
//!   woken for it each other viewer of the same rendition got its blocking reload
//!   (the origin's fan-out, free of encoder delay), and the PDT lag: arrival of the
//!   reload minus the wall-clock end of the newest part by the playlist's
//!   PROGRAM-DATE-TIME. The origin anchors PROGRAM-DATE-TIME on the wall clock once,
//!   at the channel's first chunk, so the lag's level depends on that anchor; what the
//!   soak looks at is that it stays level (a drift would mean media time and the wall
//!   clock part ways, and players' latency with them).
//!
//! At the end: a table per 5 minutes, the RSS slope per hour (least squares over the
//! samples after the first 5 minutes) beside the same slope of the ffmpeg encoder
//! feeding it (the reference: a long-running real-time process measured in the same
//! run), and the totals. Exit status 1 when any answer was a 5xx or a body was cut.
//!
//! Needs: target/release/weir (`make build`), the edge component (`make edge`), ffmpeg.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const PLAYERS: &str = "127.0.0.1:19380";
const INGEST: &str = "127.0.0.1:19381";
const ORIGIN: &str = "127.0.0.1:19382";
const CHANNEL: &str = "soak";
const SAMPLE: Duration = Duration::from_secs(10);

type Http = Client<HttpConnector, Empty<Bytes>>;

/// Counters shared by every viewer.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    cut: AtomicU64,
    bytes: AtomicU64,
    /// Per (rendition, msn, part): when each viewer's blocking reload arrived.
    woken: Mutex<HashMap<(usize, u64, u32), Vec<Instant>>>,
    /// Part latencies (ms) of this interval.
    latency_ms: Mutex<Vec<f64>>,
}

impl Tally {
    fn status(&self, s: u16) {
        match s {
            200..=399 => &self.ok,
            400..=499 => &self.client_errors,
            _ => &self.server_errors,
        }
        .fetch_add(1, Relaxed);
    }
}

/// A child process killed (by its own handle) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let arg = |i: usize, d: u64| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let (minutes, hls_viewers, dash_viewers) = (arg(1, 30), arg(2, 100), arg(3, 20));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf();
    let weir = Proc(
        Command::new(repo.join("target/release/weir"))
            .current_dir(&repo)
            .args(["up", "--listen", PLAYERS, "--ingest", INGEST])
            .args(["--origin-listen", ORIGIN])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("target/release/weir (run `make build`)"),
    );
    wait_port(PLAYERS);
    let pid = weir.0.id();
    let run = Duration::from_secs(minutes * 60);
    let ffmpeg = Proc(
        weir_tests::bench::live_ladder(
            &format!("http://{INGEST}/ingest/{CHANNEL}"),
            run.as_secs() + 60,
        )
        .spawn()
        .expect("ffmpeg (scripts/setup.sh installs it)"),
    );
    let ffmpeg_pid = ffmpeg.0.id();
    let http: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build_http();
    // Start-up: the channel is live once its media playlist answers.
    let started = Instant::now();
    while get(&http, &format!("/{CHANNEL}/v360/index.m3u8")).await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the channel never went live"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "soak: {minutes} min, {hls_viewers} LL-HLS + {dash_viewers} LL-DASH viewers through weir up (pid {pid})"
    );
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + run;
    let mut viewers = Vec::new();
    for i in 0..hls_viewers {
        viewers.push(tokio::spawn(llhls_viewer(
            http.clone(),
            tally.clone(),
            (i % 2) as usize,
            deadline,
        )));
    }
    for _ in 0..dash_viewers {
        viewers.push(tokio::spawn(lldash_viewer(
            http.clone(),
            tally.clone(),
            deadline,
        )));
    }
    let samples = sample((pid, ffmpeg_pid), &tally, deadline).await;
    for v in viewers {
        let _ = v.await;
    }
    report(&samples, &tally);
}

/// `GET path` on the player listener: status and whole body (`None` when cut).
async fn get(http: &Http, path: &str) -> (u16, Option<Bytes>) {
    let Ok(uri) = format!("http://{PLAYERS}{path}").parse::<http::Uri>() else {
        return (0, None);
    };
    match http.get(uri).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.ok().map(|b| b.to_bytes());
            (status, body)
        }
        Err(_) => (0, None),
    }
}

/// Records an answer; its body when it came whole.
fn record(tally: &Tally, (status, body): (u16, Option<Bytes>)) -> Option<Bytes> {
    if status == 0 {
        tally.server_errors.fetch_add(1, Relaxed);
        return None;
    }
    tally.status(status);
    match body {
        Some(b) => {
            tally.bytes.fetch_add(b.len() as u64, Relaxed);
            (status == 200).then_some(b)
        }
        None => {
            tally.cut.fetch_add(1, Relaxed);
            None
        }
    }
}

/// The part a playlist's preload hint names.
fn hinted(playlist: &str) -> Option<(u64, u32)> {
    let line = playlist
        .lines()
        .find(|l| l.starts_with("#EXT-X-PRELOAD-HINT:TYPE=PART"))?;
    let uri = line.split("URI=\"part-").nth(1)?.split(".m4s").next()?;
    let (m, p) = uri.split_once('.')?;
    Some((m.parse().ok()?, p.parse().ok()?))
}

/// The wall-clock end (Unix µs) of the newest complete part: the last
/// PROGRAM-DATE-TIME plus the durations listed after it (segments and parts).
fn newest_part_end_us(playlist: &str) -> Option<i64> {
    let lines: Vec<&str> = playlist.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| l.starts_with("#EXT-X-PROGRAM-DATE-TIME:"))?;
    let pdt = timeline::time::parse_instant_us(
        lines[at].trim_start_matches("#EXT-X-PROGRAM-DATE-TIME:"),
    )?;
    let mut us = 0.0;
    for l in &lines[at + 1..] {
        if let Some(d) = l.strip_prefix("#EXT-X-PART:DURATION=") {
            us += d.split(',').next()?.parse::<f64>().ok()? * 1e6;
        }
    }
    Some(pdt + us as i64)
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// One LL-HLS viewer of rendition `r` (0: v360, 1: v180).
async fn llhls_viewer(http: Http, tally: Arc<Tally>, r: usize, deadline: Instant) {
    let name = ["v360", "v180"][r];
    let playlist = format!("/{CHANNEL}/{name}/index.m3u8");
    let mut next: Option<(u64, u32)> = None;
    while Instant::now() < deadline {
        let Some((m, p)) = next else {
            next = record(&tally, get(&http, &playlist).await)
                .and_then(|b| hinted(&String::from_utf8_lossy(&b)));
            if next.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            continue;
        };
        let reload = format!("{playlist}?_HLS_msn={m}&_HLS_part={p}");
        let part = format!("/{CHANNEL}/{name}/part-{m}.{p}.m4s");
        let (reloaded, part_answer) = tokio::join!(
            async {
                let a = get(&http, &reload).await;
                (Instant::now(), now_us(), a)
            },
            get(&http, &part)
        );
        let (arrived, arrived_us, answer) = reloaded;
        record(&tally, part_answer);
        next = match record(&tally, answer) {
            Some(b) => {
                let text = String::from_utf8_lossy(&b);
                tally
                    .woken
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry((r, m, p))
                    .or_default()
                    .push(arrived);
                if let Some(end) = newest_part_end_us(&text) {
                    tally
                        .latency_ms
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((arrived_us - end) as f64 / 1e3);
                }
                hinted(&text)
            }
            None => None,
        };
    }
}

/// One LL-DASH viewer of v360: the MPD every 10 s, and each next segment asked for
/// before it begins.
async fn lldash_viewer(http: Http, tally: Arc<Tally>, deadline: Instant) {
    let mpd = format!("/{CHANNEL}/manifest.mpd");
    let mut refreshed = Instant::now() - SAMPLE;
    let mut period = 0u64;
    let mut next: Option<u64> = None;
    while Instant::now() < deadline {
        if refreshed.elapsed() >= SAMPLE {
            refreshed = Instant::now();
            if let Some(b) = record(&tally, get(&http, &mpd).await) {
                let text = String::from_utf8_lossy(&b);
                if let Some(p) = text
                    .rsplit("<Period ")
                    .next()
                    .and_then(|p| p.split("id=\"p").nth(1))
                    .and_then(|p| p.split('"').next())
                    .and_then(|p| p.parse().ok())
                {
                    period = p;
                }
            }
        }
        let n = match next {
            Some(n) => n,
            None => {
                // Start at the segment after the newest one the HLS playlist lists.
                let b = record(
                    &tally,
                    get(&http, &format!("/{CHANNEL}/v360/index.m3u8")).await,
                );
                let newest = b.and_then(|b| {
                    String::from_utf8_lossy(&b).lines().rev().find_map(|l| {
                        l.strip_prefix("seg-")?
                            .strip_suffix(".m4s")?
                            .parse::<u64>()
                            .ok()
                    })
                });
                match newest {
                    Some(m) => m + 1,
                    None => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
        };
        let seg = format!("/{CHANNEL}/v360/p{period}/seg-{n}.m4s");
        next = record(&tally, get(&http, &seg).await).map(|_| n + 1);
    }
}

/// One 10 s sample.
struct Sample {
    at: Duration,
    rss_kb: u64,
    /// The encoder's RSS: the reference.
    ffmpeg_rss_kb: u64,
    ok: u64,
    client_errors: u64,
    server_errors: u64,
    cut: u64,
    spread_ms: Vec<f64>,
    latency_ms: Vec<f64>,
}

/// Samples every 10 s until `deadline`, printing each.
async fn sample((pid, ffmpeg): (u32, u32), tally: &Tally, deadline: Instant) -> Vec<Sample> {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(SAMPLE);
    tick.tick().await;
    while Instant::now() < deadline {
        tick.tick().await;
        // Parts at least 5 s old: every viewer that will be woken for them has been.
        let old = Instant::now() - Duration::from_secs(5);
        let mut spread = Vec::new();
        tally
            .woken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, times| {
                let done = times.iter().max().is_some_and(|t| *t < old);
                if done && let Some(first) = times.iter().min() {
                    spread.extend(times.iter().map(|t| (*t - *first).as_secs_f64() * 1e3));
                }
                !done
            });
        let latency =
            std::mem::take(&mut *tally.latency_ms.lock().unwrap_or_else(|e| e.into_inner()));
        let s = Sample {
            at: start.elapsed(),
            rss_kb: rss_kb(pid),
            ffmpeg_rss_kb: rss_kb(ffmpeg),
            ok: tally.ok.load(Relaxed),
            client_errors: tally.client_errors.load(Relaxed),
            server_errors: tally.server_errors.load(Relaxed),
            cut: tally.cut.load(Relaxed),
            spread_ms: spread,
            latency_ms: latency,
        };
        println!(
            "  {:>5.0} s  RSS {:>6.1} MB  answers {:>8}  4xx {:>4}  5xx {:>3}  cut {:>3}  \
             spread p99 {:>6.2} ms  pdt lag p50 {:>5.0} ms p99 {:>5.0} ms",
            s.at.as_secs_f64(),
            s.rss_kb as f64 / 1024.0,
            s.ok,
            s.client_errors,
            s.server_errors,
            s.cut,
            pct(&s.spread_ms, 0.99),
            pct(&s.latency_ms, 0.50),
            pct(&s.latency_ms, 0.99),
        );
        out.push(s);
    }
    out
}

fn rss_kb(pid: u32) -> u64 {
    weir_tests::bench::rss_kib(&pid.to_string()).unwrap_or(0)
}

fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// The table per 5 minutes, the RSS slope, the totals; exit 1 on any failure.
fn report(samples: &[Sample], tally: &Tally) {
    println!("\nper 5 minutes:");
    println!("  minutes  RSS MB (end)  spread p50/p99 ms  pdt lag p50/p99 ms  5xx  cut");
    for chunk in samples.chunks(30) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let spread: Vec<f64> = chunk.iter().flat_map(|s| s.spread_ms.clone()).collect();
        let latency: Vec<f64> = chunk.iter().flat_map(|s| s.latency_ms.clone()).collect();
        println!(
            "  {:>3}-{:<3}  {:>12.1}  {:>7.2} / {:<7.2}  {:>7.0} / {:<7.0}  {:>4} {:>4}",
            (first.at.as_secs() - 10) / 60,
            last.at.as_secs().div_ceil(60),
            last.rss_kb as f64 / 1024.0,
            pct(&spread, 0.5),
            pct(&spread, 0.99),
            pct(&latency, 0.5),
            pct(&latency, 0.99),
            last.server_errors - first.server_errors,
            last.cut - first.cut,
        );
    }
    // Least squares of RSS over time, after the first 5 minutes (warm-up: the window
    // and the DVR-less store fill, connection pools grow).
    let slope = |rss: fn(&Sample) -> u64| -> Option<(f64, f64, f64)> {
        let pts: Vec<(f64, f64)> = samples
            .iter()
            .filter(|s| s.at >= Duration::from_secs(300))
            .map(|s| (s.at.as_secs_f64() / 3600.0, rss(s) as f64 / 1024.0))
            .collect();
        if pts.len() < 2 {
            return None;
        }
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let (lo, hi) = pts
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        Some((lo, hi, sxy / sxx.max(f64::MIN_POSITIVE)))
    };
    for (who, rss) in [
        ("weir up", (|s: &Sample| s.rss_kb) as fn(&Sample) -> u64),
        ("ffmpeg (reference)", |s: &Sample| s.ffmpeg_rss_kb),
    ] {
        if let Some((lo, hi, per_hour)) = slope(rss) {
            println!("{who}: RSS after 5 min {lo:.1}-{hi:.1} MB, slope {per_hour:+.2} MB/hour");
        }
    }
    let (ok, e4, e5, cut) = (
        tally.ok.load(Relaxed),
        tally.client_errors.load(Relaxed),
        tally.server_errors.load(Relaxed),
        tally.cut.load(Relaxed),
    );
    println!(
        "answers: {ok} ok, {e4} 4xx, {e5} 5xx or failed, {cut} bodies cut; {:.1} GB served",
        tally.bytes.load(Relaxed) as f64 / 1e9
    );
    if e5 > 0 || cut > 0 {
        std::process::exit(1);
    }
}

/// Waits until something listens on `addr` (start-up, not a test).
fn wait_port(addr: &str) {
    for _ in 0..400 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("nothing listens on {addr}");
}
